"""Tests for pgkit.algos: results that must hold, reproducibility, history, errors, divergence.

The "results that must hold" train with fixed seeds and compare the deterministic evaluation
return (``pgkit.rollout.evaluate``, 10 episodes) with a threshold. Each configuration and
budget was run on five or more seeds, not only the tested one; each test's docstring gives
every seed's result, including the few that fell short of the threshold at that budget.
"""

import math

import gymnasium as gym
import numpy as np
import pytest
import torch

import pgkit.envs
from pgkit import algos
from pgkit.algos import HISTORY_KEYS, TrainingDivergedError, TrainResult
from pgkit.policies import CategoricalPolicy, GaussianPolicy, ValueFunction
from pgkit.rollout import evaluate

ALGOS = {"reinforce": algos.reinforce, "vpg": algos.vpg, "a2c": algos.a2c, "ppo": algos.ppo}
# Small settings so that a handful of iterations takes a fraction of a second.
SMALL = {
    "reinforce": dict(episodes_per_batch=4),
    "vpg": dict(num_envs=4, n_steps=32, value_iters=2),
    "a2c": dict(num_envs=4, n_steps=8),
    "ppo": dict(num_envs=4, n_steps=32, minibatch_size=64, epochs=2),
}


def train(name, env_id="CartPole-v1", total_steps=512, seed=0, **overrides):
    settings = {**SMALL[name], **overrides}
    return ALGOS[name](env_id, total_steps=total_steps, seed=seed, progress=False, **settings)


def mean_evaluation_return(result, env_id="CartPole-v1"):
    return float(evaluate(result.policy, env_id, episodes=10, seed=0).mean())


# --- results that must hold ------------------------------------------------------------------


def test_ppo_solves_cartpole_in_50k_steps():
    """Defaults (rl-zoo settings). Seeds 0-4 at 50k evaluated to 500, 500, 500, 500, 419.

    So 475 is not reached by every seed at this budget; the chapter budget is what fits.
    """
    result = algos.ppo("CartPole-v1", total_steps=50_000, seed=0, progress=False)
    assert mean_evaluation_return(result) >= 475


def test_a2c_reaches_400_on_cartpole_in_100k_steps():
    """Defaults (Stable-Baselines3's A2C). Seeds 0-4 at 100k evaluated to 500, 500, 420, 500, 309.

    A2C's single step per small batch makes it the least steady of the four at this budget.
    """
    result = algos.a2c("CartPole-v1", total_steps=100_000, seed=0, progress=False)
    assert mean_evaluation_return(result) >= 400


def test_vpg_reaches_400_on_cartpole_in_60k_steps():
    """Batches of 8 x 128 steps with policy lr 5e-3: seeds 0-5 evaluated to 500 at 60k.

    With the defaults (8 x 250 steps, lr 0.01) only 2 of 4 seeds passed 400 at 100k (130,
    192, 498, 500); the smaller batch gives twice as many policy updates for the same steps.
    Longer is not always better without a schedule: at 80k seeds 6-10 evaluated to 500, at
    100k seed 6 had fallen back to 177.
    """
    result = algos.vpg(
        "CartPole-v1", total_steps=60_000, seed=0, n_steps=128, lr=5e-3, progress=False
    )
    assert mean_evaluation_return(result) >= 400


def test_reinforce_reaches_195_on_cartpole_in_100k_steps():
    """Plain REINFORCE (R(tau) weights, no baseline) with 64 episodes per batch.

    Seeds 0-4 at 100k evaluated to 434-500 (20 episodes); with the default 16 episodes per
    batch the same budget left 3 of 5 seeds below 195, so the larger batch is what makes
    this reliable.
    """
    result = algos.reinforce(
        "CartPole-v1", total_steps=100_000, seed=0, episodes_per_batch=64, progress=False
    )
    assert mean_evaluation_return(result) >= 195


class OptimalLinearPolicy(torch.nn.Module):
    """u = -K* x, the optimal policy of the point-mass LQR (as a distribution, for evaluate)."""

    def __init__(self, gain):
        super().__init__()
        self.gain = gain

    def forward(self, obs):
        mean = -self.gain * torch.as_tensor(obs, dtype=torch.float32)
        return torch.distributions.Independent(
            torch.distributions.Normal(mean, torch.ones_like(mean)), 1
        )


def test_gaussian_ppo_is_within_5_percent_of_the_lqr_optimum():
    """A linear Gaussian policy (hidden=()) trained by PPO on pgkit/PointMass-v0.

    lam = 1 and batches of whole 20-step episodes (n_steps = 80) make the advantages plain
    Monte Carlo returns minus V: the linear V (hidden=() applies to it too) cannot fit the
    quadratic value, and with lam < 1 its error biased the gain low (0.38-0.56 for K* 0.618,
    up to 13% from the optimum). With these settings seeds 0-4 ended 0.8-3.2% from it.

    The learned mean mu(x) = w x + b is compared with u = -K* x on the same 1000 start
    states (common random numbers), which removes almost all Monte Carlo noise from the
    comparison; the estimate of the optimum is itself checked against the exact J*.
    """
    env = pgkit.envs.PointMassEnv()
    result = algos.ppo(
        "pgkit/PointMass-v0", total_steps=50_000, seed=0, hidden=(), num_envs=8, n_steps=80,
        minibatch_size=128, epochs=10, lr=3e-3, gamma=1.0, lam=1.0, progress=False,
    )  # fmt: skip
    assert isinstance(result.policy, GaussianPolicy)
    learned = evaluate(result.policy, "pgkit/PointMass-v0", episodes=1000, seed=0).mean()
    best = evaluate(
        OptimalLinearPolicy(env.optimal_gain), "pgkit/PointMass-v0", episodes=1000, seed=0
    ).mean()
    assert best == pytest.approx(env.optimal_return, rel=0.05)  # the estimate is sound
    assert learned >= 1.05 * best  # returns are negative: within 5% of the optimum


# --- reproducibility and history --------------------------------------------------------------


@pytest.mark.parametrize("name", ALGOS)
def test_same_seed_gives_identical_history(name):
    first, second = train(name, seed=3), train(name, seed=3)
    for key in HISTORY_KEYS:
        if key != "time":
            np.testing.assert_array_equal(first.history[key], second.history[key], err_msg=key)
    for a, b in zip(first.policy.parameters(), second.policy.parameters(), strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("name", ALGOS)
def test_different_seeds_give_different_histories(name):
    first, second = train(name, seed=0), train(name, seed=1)
    assert not np.array_equal(first.history["policy_loss"], second.history["policy_loss"])


@pytest.mark.parametrize("name", ALGOS)
def test_history_has_every_key_with_one_entry_per_iteration(name):
    result = train(name, total_steps=700)
    assert isinstance(result, TrainResult)
    assert set(result.history) == set(HISTORY_KEYS)
    lengths = {len(values) for values in result.history.values()}
    assert len(lengths) == 1 and lengths.pop() >= 1
    steps = result.history["steps"]
    assert steps.dtype == np.int64
    assert np.all(np.diff(steps) > 0) and steps[-1] >= 700
    assert np.all(np.diff(result.history["time"]) >= 0)
    for key in ("policy_loss", "entropy", "grad_norm"):
        assert np.isfinite(result.history[key]).all(), key


@pytest.mark.parametrize(
    ("name", "batch_steps"), [("vpg", 4 * 32), ("a2c", 4 * 8), ("ppo", 4 * 32)]
)
def test_steps_grow_by_one_batch_per_iteration(name, batch_steps):
    result = train(name, total_steps=5 * batch_steps)
    np.testing.assert_array_equal(result.history["steps"], batch_steps * np.arange(1, 6))


def test_reinforce_counts_the_transitions_of_whole_episodes():
    history = train("reinforce", total_steps=300).history  # 4 episodes per iteration
    # CartPole pays 1 per step, so 4 x the mean return is the length of the 4 whole episodes
    np.testing.assert_array_equal(
        np.diff(history["steps"], prepend=0), 4 * history["episode_return"]
    )
    assert np.isnan(history["value_loss"]).all()  # no value function


def test_ppo_history_records_kl_and_value_loss():
    history = train("ppo").history
    assert np.isfinite(history["approx_kl"]).all() and np.isfinite(history["value_loss"]).all()


def test_results_hold_the_trained_networks_and_the_config():
    result = train("ppo", seed=2, lr=5e-4)
    assert isinstance(result.policy, CategoricalPolicy)
    assert isinstance(result.value_fn, ValueFunction)
    assert result.config["algo"] == "ppo" and result.config["env_id"] == "CartPole-v1"
    assert result.config["seed"] == 2 and result.config["lr"] == 5e-4
    assert result.config["total_steps"] == 512 and result.config["hidden"] == (64, 64)
    assert "progress" not in result.config
    assert train("reinforce").value_fn is None


def test_continuous_actions_get_a_gaussian_policy():
    result = train("a2c", env_id="Pendulum-v1", total_steps=64)
    assert isinstance(result.policy, GaussianPolicy)


@pytest.mark.parametrize("name", ALGOS)
def test_progress_false_prints_nothing(name, capsys):
    train(name, total_steps=128)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_progress_bar_goes_to_stderr(capsys):
    algos.reinforce("CartPole-v1", total_steps=64, episodes_per_batch=2, progress=True)
    captured = capsys.readouterr()
    assert captured.out == "" and "reinforce" in captured.err


def test_training_restores_threads_rng_and_validation():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    validate = torch.distributions.Distribution._validate_args
    torch.set_num_threads(2)
    try:
        train("a2c", seed=9)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(1)
    assert torch.equal(torch.rand(3), expected)  # the global RNG was left where it was
    assert torch.distributions.Distribution._validate_args == validate


# --- bad hyperparameters -----------------------------------------------------------------------


class MultiDiscreteEnv(gym.Env):
    observation_space = gym.spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
    action_space = gym.spaces.MultiDiscrete([2, 3])

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(2, np.float32), {}

    def step(self, action):
        return np.zeros(2, np.float32), 0.0, False, False, {}


class NanRewardEnv(gym.Wrapper):
    """CartPole whose rewards turn NaN from its 40th step on."""

    def __init__(self):
        super().__init__(gym.make("CartPole-v1"))
        self.t = 0

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.t += 1
        return obs, math.nan if self.t >= 40 else reward, terminated, truncated, info


@pytest.fixture(scope="module", autouse=True)
def registered_test_envs():
    ids = {"pgkit-test/MultiDiscrete-v0": MultiDiscreteEnv, "pgkit-test/NanReward-v0": NanRewardEnv}
    for env_id, entry_point in ids.items():
        gym.register(env_id, entry_point=entry_point, max_episode_steps=500)
    yield
    for env_id in ids:
        del gym.registry[env_id]


@pytest.mark.parametrize("name", ALGOS)
@pytest.mark.parametrize("steps", [0, -100])
def test_non_positive_steps_are_rejected(name, steps):
    with pytest.raises(ValueError, match="total_steps must be >= 1"):
        train(name, total_steps=steps)


@pytest.mark.parametrize("name", ALGOS)
def test_non_integer_steps_are_rejected(name):
    with pytest.raises(TypeError, match="total_steps must be a positive integer"):
        train(name, total_steps=1e5)


def test_minibatch_that_does_not_divide_the_batch_is_rejected():
    with pytest.raises(ValueError, match=r"minibatch_size=100 does not divide .* 128 steps"):
        train("ppo", minibatch_size=100)


@pytest.mark.parametrize("name", ALGOS)
def test_unknown_env_id_is_rejected(name):
    with pytest.raises(ValueError, match="unknown environment id 'CartPool-v1'"):
        train(name, env_id="CartPool-v1")


@pytest.mark.parametrize("name", ALGOS)
def test_env_id_must_be_a_string(name):
    with pytest.raises(TypeError, match="env_id must be a gymnasium id string"):
        train(name, env_id=gym.make("CartPole-v1"))


@pytest.mark.parametrize("name", ALGOS)
def test_unsupported_action_space_is_rejected(name):
    with pytest.raises(ValueError, match=r"MultiDiscrete.* is not supported"):
        train(name, env_id="pgkit-test/MultiDiscrete-v0")


@pytest.mark.parametrize("name", ALGOS)
def test_non_boolean_progress_is_rejected(name):
    with pytest.raises(TypeError, match="progress must be True or False, got 'no'"):
        ALGOS[name]("CartPole-v1", total_steps=64, progress="no")


@pytest.mark.parametrize(
    ("name", "flag"),
    [
        ("reinforce", "reward_to_go"),
        ("reinforce", "normalize"),
        ("reinforce", "normalize_advantages"),
        ("vpg", "normalize_advantages"),
        ("a2c", "normalize_advantages"),
        ("a2c", "anneal_lr"),
        ("ppo", "anneal_lr"),
        ("ppo", "normalize_advantages"),
    ],
)
def test_non_boolean_flags_are_rejected(name, flag):
    with pytest.raises(TypeError, match=f"{flag} must be True or False, got 1"):
        train(name, **{flag: 1})


@pytest.mark.parametrize(
    ("name", "setting", "error", "message"),
    [
        ("ppo", dict(lr=-1e-3), ValueError, "lr must be > 0"),
        ("ppo", dict(lr=math.nan), ValueError, "lr must be finite"),
        ("ppo", dict(lr="fast"), TypeError, "lr must be a real number"),
        ("a2c", dict(gamma=1.5), ValueError, r"gamma must lie in \[0, 1\]"),
        ("ppo", dict(lam=-0.1), ValueError, r"lam must lie in \[0, 1\]"),
        ("ppo", dict(clip=0.0), ValueError, "clip must be > 0"),
        ("ppo", dict(epochs=0), ValueError, "epochs must be >= 1"),
        ("ppo", dict(target_kl=-0.01), ValueError, "target_kl must be > 0"),
        ("ppo", dict(ent_coef=-0.01), ValueError, "ent_coef must be >= 0"),
        ("a2c", dict(max_grad_norm=0), ValueError, "max_grad_norm must be > 0"),
        ("a2c", dict(optimizer="sgd"), ValueError, "optimizer must be 'rmsprop' or 'adam'"),
        ("ppo", dict(optimizer="sgd"), ValueError, "optimizer must be 'rmsprop' or 'adam'"),
        ("ppo", dict(optimizer=torch.optim.Adam), TypeError, "write the loop around .*ppo_update"),
        ("a2c", dict(num_envs=0), ValueError, "num_envs must be >= 1"),
        ("vpg", dict(n_steps=2.5), TypeError, "n_steps must be a positive integer"),
        ("vpg", dict(value_iters=0), ValueError, "value_iters must be >= 1"),
        ("vpg", dict(value_lr=0), ValueError, "value_lr must be > 0"),
        ("reinforce", dict(episodes_per_batch=0), ValueError, "episodes_per_batch must be >= 1"),
        ("reinforce", dict(hidden=(64, 0)), ValueError, "hidden must be >= 1"),
        ("reinforce", dict(hidden=64), TypeError, r"hidden=\(64,\)"),
        ("reinforce", dict(seed=-1), ValueError, "seed must be >= 0"),
        ("reinforce", dict(seed=1.0), TypeError, "seed must be a non-negative integer"),
    ],
)
def test_bad_hyperparameters_are_rejected_with_their_name(name, setting, error, message):
    with pytest.raises(error, match=message):
        train(name, **setting)


@pytest.mark.parametrize("name", ALGOS)
def test_misspelt_hyperparameter_is_a_type_error_naming_it(name):
    with pytest.raises(TypeError, match="learning_rate"):
        train(name, learning_rate=1e-3)


# --- divergence ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALGOS)
def test_nan_rewards_stop_training_naming_the_iteration(name):
    with pytest.raises(TrainingDivergedError, match=r"non-finite reward at iteration \d+"):
        train(name, env_id="pgkit-test/NanReward-v0", total_steps=5_000)


def test_nan_reward_error_names_the_iteration_it_appeared_in():
    # 4 envs x 8 steps per iteration: step 40 of each sub-env falls in iteration 4
    with pytest.raises(TrainingDivergedError, match="non-finite reward at iteration 4;"):
        train("a2c", env_id="pgkit-test/NanReward-v0", total_steps=5_000)


@pytest.mark.parametrize("name", ALGOS)
def test_absurd_learning_rate_stops_training_naming_the_iteration(name):
    with pytest.raises(TrainingDivergedError, match=r"at iteration \d+; lower lr \(now 1e\+38\)"):
        train(name, lr=1e38, total_steps=5_000)


def test_parameter_divergence_names_the_update_that_caused_it():
    # Adam's first step is lr / (1 - beta1) = 1e39 per weight: infinite in float32 at once
    with pytest.raises(TrainingDivergedError, match="became non-finite at iteration 0;"):
        train("reinforce", lr=1e38)


def test_diverged_error_is_a_floating_point_error():
    assert issubclass(TrainingDivergedError, FloatingPointError)
