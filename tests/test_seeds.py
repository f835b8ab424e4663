import os

import numpy as np
import pytest

from pgkit.seeds import run_seeds


def _job(seed, scale=1):
    return seed * scale, os.getpid()


def test_sequential_keeps_order_and_kwargs():
    results = run_seeds(_job, [3, 1, 2], processes=1, scale=10)
    assert [r[0] for r in results] == [30, 10, 20]
    assert {r[1] for r in results} == {os.getpid()}


def test_parallel_gives_the_same_results_in_other_processes():
    results = run_seeds(_job, [0, 1, 2, 3], processes=2, scale=2)
    assert [r[0] for r in results] == [0, 2, 4, 6]
    assert os.getpid() not in {r[1] for r in results}


def test_parallel_accepts_a_closure():
    offset = 5
    assert run_seeds(lambda seed: seed + offset, [1, 2], processes=2) == [6, 7]


@pytest.mark.parametrize(
    "seeds, processes, match",
    [([], None, "empty"), ([1, 1], None, "duplicates"), ([1], 0, "processes must be >= 1")],
)
def test_errors(seeds, processes, match):
    with pytest.raises(ValueError, match=match):
        run_seeds(_job, seeds, processes=processes)


def test_book_seed_adds_the_offset_from_the_environment(monkeypatch):
    from pgkit.seeds import SEED_OFFSET_VARIABLE, book_seed, book_seeds

    monkeypatch.delenv(SEED_OFFSET_VARIABLE, raising=False)
    assert book_seed(0) == 0 and book_seeds(3) == [0, 1, 2]
    monkeypatch.setenv(SEED_OFFSET_VARIABLE, "1000")
    assert book_seed(7) == 1007
    assert book_seeds(2, start=5) == [1005, 1006]
    monkeypatch.setenv(SEED_OFFSET_VARIABLE, " ")
    assert book_seed(3) == 3


@pytest.mark.parametrize("value, match", [("ten", "not an integer"), ("-1", "negative")])
def test_bad_seed_offset_is_named(monkeypatch, value, match):
    from pgkit.seeds import SEED_OFFSET_VARIABLE, book_seed

    monkeypatch.setenv(SEED_OFFSET_VARIABLE, value)
    with pytest.raises(ValueError, match=f"PGKIT_SEED_OFFSET.*{match}"):
        book_seed(0)


@pytest.mark.parametrize("base", [-1, 1.5, True, "0"])
def test_book_seed_rejects_non_seeds(base):
    from pgkit.seeds import book_seed

    # one rule everywhere: a wrong type is a TypeError, a wrong value a ValueError
    with pytest.raises(
        (TypeError, ValueError), match=r"base must be (a non-negative integer|>= 0)"
    ):
        book_seed(base)


@pytest.mark.parametrize("n", [0, -2, 2.0, True])
def test_book_seeds_rejects_a_bad_count(n):
    from pgkit.seeds import book_seeds

    with pytest.raises((TypeError, ValueError), match=r"n must be (a positive integer|>= 1)"):
        book_seeds(n)


# --- one seed check for every entry point (issue: "Seeds" under unhelpful errors) ----------


def _seeded_calls():
    """Every public entry point that takes a seed, as ``name -> call(seed)``, kept cheap."""
    import gymnasium

    import pgkit.envs  # noqa: F401  (registers the pgkit/ ids)
    from pgkit import estimators, objective, rollout, sweeps, td
    from pgkit.policies import CategoricalPolicy
    from pgkit.seeds import book_seed, book_seeds

    policy = CategoricalPolicy(4, 2, (8,))
    return {
        "rollout.make_vec_env": lambda s: rollout.make_vec_env("CartPole-v1", 1, seed=s),
        "rollout.reset_envs": lambda s: rollout.reset_envs(
            rollout.make_vec_env("CartPole-v1", 1), s
        ),
        "rollout.collect_episodes": lambda s: rollout.collect_episodes(
            "CartPole-v1", policy, 1, seed=s
        ),
        "rollout.evaluate": lambda s: rollout.evaluate(policy, "CartPole-v1", episodes=1, seed=s),
        "objective.episode_returns": lambda s: objective.episode_returns(
            lambda obs, rng: np.zeros(len(obs), dtype=np.int64), episodes=1, seed=s
        ),
        "td.tabular_episodes": lambda s: td.tabular_episodes("pgkit/RandomWalk-v0", 1, seed=s),
        "envs reset": lambda s: gymnasium.make("pgkit/Driving-v0").reset(seed=s),
        "envs.DrivingEnv.sample_leg_hours": lambda s: pgkit.envs.DrivingEnv().sample_leg_hours(
            2, seed=s
        ),
        "seeds.book_seed": book_seed,
        "seeds.book_seeds(start)": lambda s: book_seeds(1, start=s),
        "sweeps.Job": lambda s: sweeps.Job("ppo", "CartPole-v1", 64, (), s),
        "sweeps.make_jobs": lambda s: sweeps.make_jobs(
            "ppo", "CartPole-v1", total_steps=64, seeds=[s]
        ),
        "estimators.SoftmaxBandit.sample": lambda s: estimators.SoftmaxBandit((0.0, 1.0)).sample(
            np.zeros(2), 3, seed=s
        ),
    }


CALLS = _seeded_calls()


@pytest.mark.parametrize("entry", sorted(CALLS))
@pytest.mark.parametrize(
    ("seed", "error"), [(-1, ValueError), (1.5, TypeError), (True, TypeError), ("3", TypeError)]
)
def test_every_entry_point_refuses_a_bad_seed_by_name(entry, seed, error):
    with pytest.raises(error, match=r"(seed|base|start)\S* must be"):
        CALLS[entry](seed)


@pytest.mark.parametrize("entry", sorted(CALLS))
def test_every_entry_point_takes_a_numpy_integer_seed(entry):
    CALLS[entry](np.int64(3))
