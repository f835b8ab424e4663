"""pgkit's PPO against Stable-Baselines3's, measured side by side in one run.

Three measurements, each a median over seeds, printed as one Markdown table:

(a) Collection throughput. ``pgkit.rollout.collect`` against the raw bound on the same
    native vector CartPole in the same process (one policy forward, one sample and one
    vectorised ``env.step`` per step, nothing stored), N = 8 and 64 sub-environments,
    interleaved, timed in CPU seconds (see ``bench/collect_throughput.py``).

(b) PPO on CartPole-v1 until solved: the environment steps and the wall-clock (and CPU)
    seconds until the first evaluation with mean return >= 475, evaluating every 10k
    environment steps with 10 deterministic episodes (``pgkit.rollout.evaluate`` for both
    libraries, so the protocol is identical: same episodes, same seeds, argmax actions).
    Both use the rl-baselines3-zoo CartPole settings (8 envs, 32 steps, minibatch 256,
    20 epochs, gamma 0.98, lambda 0.8, ent_coef 0, lr 1e-3 annealed linearly to 0) and the
    same total budget (default 100k steps), because both anneal over that budget: running
    k * 10k-step trainings separately would change the schedule. Differences that remain:
    SB3 also anneals the clip range linearly from 0.2 (pgkit keeps 0.2) and uses separate
    policy and value trunks of the same 64x64 shape, as pgkit does.

    How the evaluation hooks in. SB3: a callback that evaluates when ``num_timesteps``
    reaches each multiple of 10k (mid-rollout, with the policy of the last update). pgkit:
    ``ppo``'s ``on_iteration`` hook, called after every update with the run so far,
    evaluates the policy once the steps so far have crossed the next multiple of 10k; that
    is the policy right after the last update, and nothing on the training path changes.
    pgkit's batches are 256 steps, so its evaluations fall at the first batch boundary
    past each multiple (10,240, 20,224, ...); the table reports those true step counts.

    Clocks start before the networks and envs are built and stop at the solving
    evaluation; the time spent evaluating is subtracted for both. A run stops once solved.
    torch runs single-threaded for both.

(c) pgkit PPO with a Gaussian policy on Pendulum-v1 for 200k steps: mean deterministic
    return over 10 episodes at the end, target >= -250. Settings after rl-baselines3-zoo's
    Pendulum ones (4 envs, 10 epochs, gamma 0.9, lambda 0.95, lr 1e-3, clip 0.2,
    ent_coef 0) but with 256 steps per env and minibatches of 128 (4x more updates than
    rl-zoo's 1024 steps, as Chapter 9 uses) and without what pgkit does not have:
    observation and reward normalisation and state-dependent exploration (gSDE).

Stable-Baselines3 lives only in its own virtualenv, never in the book's ``.venv``::

    python3 -m venv .venv-bench
    .venv-bench/bin/pip install "torch==2.13.0" -e ".[bench]"
    .venv-bench/bin/python bench/ppo_vs_sb3.py            # about 5-10 minutes

Usage: python bench/ppo_vs_sb3.py [--seeds 5] [--budget 100000] [--pendulum-seeds 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import torch
from collect_throughput import collect_steps_per_second, raw_steps_per_second

from pgkit import algos
from pgkit.policies import make_policy
from pgkit.rollout import collect, evaluate, make_vec_env

EVAL_EVERY = 10_000
EVAL_EPISODES = 10
TARGET = 475.0
CARTPOLE = dict(
    num_envs=8, n_steps=32, minibatch_size=256, epochs=20, gamma=0.98, lam=0.8,
    ent_coef=0.0, lr=1e-3,
)  # fmt: skip
PENDULUM = dict(
    num_envs=4, n_steps=256, minibatch_size=128, epochs=10, gamma=0.9, lam=0.95, lr=1e-3,
    clip=0.2, ent_coef=0.0,
)  # fmt: skip


class Clock:
    """Wall-clock and CPU seconds since ``start``, less the time spent evaluating."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def elapsed(self) -> tuple[float, float]:
        return time.perf_counter() - self.wall, time.process_time() - self.cpu

    def exclude(self, fn):
        wall, cpu = time.perf_counter(), time.process_time()
        value = fn()
        self.wall += time.perf_counter() - wall
        self.cpu += time.process_time() - cpu
        return value


class Solved(Exception):
    """Raised from inside pgkit's training loop to stop a run once it is solved."""


def pgkit_time_to_solve(seed: int, budget: int) -> tuple[int, float, float] | None:
    """(steps, wall s, cpu s) at pgkit PPO's first evaluation >= TARGET, or None."""
    state = {"steps": 0, "next": EVAL_EVERY, "solved": None}

    def check(policy) -> None:
        if state["steps"] < state["next"]:
            return
        mean = clock.exclude(lambda: evaluate(policy, "CartPole-v1", episodes=EVAL_EPISODES))
        state["next"] += EVAL_EVERY
        if mean.mean() >= TARGET:
            state["solved"] = (state["steps"], *clock.elapsed())
            raise Solved

    def after_update(run) -> None:
        state["steps"] = run.config["steps_done"]
        check(run.policy)

    try:
        clock = Clock()
        algos.ppo(
            "CartPole-v1", total_steps=budget, seed=seed, progress=False,
            on_iteration=after_update, **CARTPOLE,
        )  # fmt: skip
    except Solved:
        pass
    return state["solved"]


def sb3_time_to_solve(seed: int, budget: int) -> tuple[int, float, float] | None:
    """(steps, wall s, cpu s) at SB3 PPO's first evaluation >= TARGET, or None."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env as sb3_make_vec_env

    class Policy(torch.nn.Module):
        """SB3's policy seen as pgkit sees policies: forward(obs) -> torch Distribution."""

        def __init__(self, model) -> None:
            super().__init__()
            self.model = model

        def forward(self, obs):
            return self.model.policy.get_distribution(obs).distribution

    class EvaluateEvery(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.next, self.solved = EVAL_EVERY, None

        def _on_step(self) -> bool:
            if self.num_timesteps < self.next:
                return True
            policy = Policy(self.model)
            mean = clock.exclude(lambda: evaluate(policy, "CartPole-v1", episodes=EVAL_EPISODES))
            self.next += EVAL_EVERY
            if mean.mean() >= TARGET:
                self.solved = (self.num_timesteps, *clock.elapsed())
                return False
            return True

    clock = Clock()
    env = sb3_make_vec_env("CartPole-v1", n_envs=8, seed=seed)
    model = PPO(
        "MlpPolicy", env, n_steps=32, batch_size=256, n_epochs=20, gamma=0.98, gae_lambda=0.8,
        ent_coef=0.0, learning_rate=lambda progress: 1e-3 * progress,
        clip_range=lambda progress: 0.2 * progress, seed=seed, device="cpu", verbose=0,
    )  # fmt: skip
    callback = EvaluateEvery()
    model.learn(total_timesteps=budget, callback=callback)
    if callback.solved is None and callback.num_timesteps >= callback.next:
        callback.on_step()  # the evaluation after the last update
    env.close()
    return callback.solved


def throughput(repeats: int, steps: int) -> list[tuple[int, float, float]]:
    """(N, median raw steps/s, median collect steps/s) on native vector CartPole."""
    torch.manual_seed(0)
    rows = []
    for num_envs in (8, 64):
        raw_envs = make_vec_env("CartPole-v1", num_envs=num_envs, seed=0)
        envs = make_vec_env("CartPole-v1", num_envs=num_envs, seed=0)
        policy = make_policy(envs.single_observation_space, envs.single_action_space)
        collect(envs, policy, steps)  # warm-up
        raw, fast = [], []
        for _ in range(repeats):  # interleaved so both see the same machine load
            raw.append(raw_steps_per_second(raw_envs, policy, steps))
            fast.append(collect_steps_per_second(envs, policy, steps))
        rows.append((num_envs, float(np.median(raw)), float(np.median(fast))))
    return rows


def pendulum(seed: int, steps: int) -> tuple[float, float]:
    """(mean deterministic return of 10 episodes after ``steps``, CPU seconds)."""
    start = time.process_time()
    result = algos.ppo("Pendulum-v1", total_steps=steps, seed=seed, progress=False, **PENDULUM)
    cpu = time.process_time() - start
    return float(evaluate(result.policy, "Pendulum-v1", episodes=EVAL_EPISODES).mean()), cpu


def median_or_dash(values, fmt: str) -> str:
    values = [v for v in values if v is not None]
    return format(float(np.median(values)), fmt) if values else "-"


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="CartPole seeds per library")
    parser.add_argument("--budget", type=int, default=100_000, help="PPO steps on CartPole")
    parser.add_argument("--pendulum-seeds", type=int, default=3)
    parser.add_argument("--pendulum-steps", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=7, help="throughput repeats")
    args = parser.parse_args()
    torch.set_num_threads(1)
    import stable_baselines3

    print(
        f"# {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"torch {torch.__version__}, Stable-Baselines3 {stable_baselines3.__version__}"
    )
    print(f"# load average at start: {load()}", flush=True)

    rows = throughput(args.repeats, 256)
    print(f"# throughput done, load {load()}", flush=True)

    runs = {"pgkit": [], "SB3": []}
    for seed in range(args.seeds):  # alternating, so both libraries see the same load
        for name, fn in (("pgkit", pgkit_time_to_solve), ("SB3", sb3_time_to_solve)):
            solved = fn(seed, args.budget)
            runs[name].append(solved)
            shown = (
                "not solved"
                if solved is None
                else "{} steps, {:.1f} s, {:.1f} s CPU".format(*solved)
            )
            print(f"# CartPole seed {seed} {name}: {shown}", flush=True)

    pendulum_runs = []
    for seed in range(args.pendulum_seeds):
        mean, cpu = pendulum(seed, args.pendulum_steps)
        pendulum_runs.append(mean)
        print(f"# Pendulum seed {seed}: return {mean:.1f} ({cpu:.1f} s CPU)", flush=True)
    print(f"# load average at end: {load()}\n")

    print("| Measurement | pgkit | reference | ratio |")
    print("| --- | ---: | ---: | ---: |")
    for num_envs, raw, fast in rows:
        print(
            f"| (a) collect, CartPole, N={num_envs}: steps/s (CPU) vs raw bound | {fast:,.0f} "
            f"| {raw:,.0f} | {fast / raw:.2f} |"
        )
    for index, what, fmt in ((0, "env steps", ",.0f"), (1, "wall s", ".1f"), (2, "CPU s", ".1f")):
        ours = [None if r is None else r[index] for r in runs["pgkit"]]
        theirs = [None if r is None else r[index] for r in runs["SB3"]]
        a, b = median_or_dash(ours, fmt), median_or_dash(theirs, fmt)
        ratio = "-" if "-" in (a, b) else f"{_number(a) / _number(b):.2f}"
        print(f"| (b) PPO CartPole to first eval >= 475: {what} (median) | {a} | {b} | {ratio} |")
    speeds = [
        median_or_dash([None if r is None else r[0] / r[2] for r in runs[n]], ",.0f")
        for n in ("pgkit", "SB3")
    ]
    ratio = "-" if "-" in speeds else f"{_number(speeds[0]) / _number(speeds[1]):.2f}"
    print(
        f"| (b) PPO CartPole: env steps per CPU second until solved (median) | {speeds[0]} "
        f"| {speeds[1]} | {ratio} |"
    )
    solved = [sum(r is not None for r in runs[n]) for n in ("pgkit", "SB3")]
    print(
        f"| (b) seeds solved within {args.budget:,} steps | {solved[0]}/{args.seeds} "
        f"| {solved[1]}/{args.seeds} | |"
    )
    print(
        f"| (c) PPO Pendulum-v1, return after {args.pendulum_steps:,} steps (median; "
        f"min) | {np.median(pendulum_runs):.0f}; {min(pendulum_runs):.0f} | target -250 | |"
    )
    print(
        "\nreference: (a) the raw bound in the same process; (b) Stable-Baselines3 PPO, "
        "rl-zoo settings, same evaluation protocol."
    )


if __name__ == "__main__":
    main()
