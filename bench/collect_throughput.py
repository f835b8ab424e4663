"""Throughput of pgkit.rollout.collect against the raw bound on CartPole-v1.

Raw bound: the tightest loop that still acts with the policy, i.e. per step one policy
forward, one sample and one vectorised env.step, with nothing stored. collect does the
same plus log-probabilities, buffers, episode bookkeeping and partial resets. Both run on
the same native vector env in the same process, interleaved, timed by the CPU time of this
(single-threaded) process so that other load on a shared machine disturbs them less; the
table shows medians over repeats. The last column is collect on CartPole built as a
SyncVectorEnv (SAME_STEP autoreset, no restart of the native env's columns by pgkit.vec_env):
what building CartPole without the native vector env would cost.

Usage: python bench/collect_throughput.py [--repeats 7] [--steps 256]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from gymnasium.vector import AutoresetMode

from pgkit.policies import make_policy, unchecked_distributions
from pgkit.rollout import collect, make_vec_env


def raw_steps_per_second(envs, policy, steps: int) -> float:
    obs, _ = envs.reset(seed=1)
    start = time.process_time()
    with torch.no_grad(), unchecked_distributions():
        for _ in range(steps):
            action = policy(torch.from_numpy(obs)).sample().numpy()
            obs, *_ = envs.step(action)
    return steps * envs.num_envs / (time.process_time() - start)


def collect_steps_per_second(envs, policy, steps: int) -> float:
    start = time.process_time()
    collect(envs, policy, steps)
    return steps * envs.num_envs / (time.process_time() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--steps", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    print(f"CartPole-v1, {args.steps} steps per call, median of {args.repeats} repeats")
    print(
        f"{'N':>4} {'raw steps/s':>12} {'collect steps/s':>16} {'ratio':>6} "
        f"{'collect, sync steps/s':>22}"
    )
    for num_envs in (8, 64):
        raw_envs = make_vec_env("CartPole-v1", num_envs=num_envs, seed=args.seed)
        envs = make_vec_env("CartPole-v1", num_envs=num_envs, seed=args.seed)
        sync_envs = make_vec_env(
            "CartPole-v1", num_envs, seed=args.seed, autoreset_mode=AutoresetMode.SAME_STEP
        )
        policy = make_policy(envs.single_observation_space, envs.single_action_space)
        collect(envs, policy, args.steps)  # warm-up
        collect(sync_envs, policy, args.steps)
        raw, fast, sync = [], [], []
        for _ in range(args.repeats):  # interleaved so all see the same machine load
            raw.append(raw_steps_per_second(raw_envs, policy, args.steps))
            fast.append(collect_steps_per_second(envs, policy, args.steps))
            sync.append(collect_steps_per_second(sync_envs, policy, args.steps))
        raw_median, fast_median = np.median(raw), np.median(fast)
        print(
            f"{num_envs:>4} {raw_median:>12,.0f} {fast_median:>16,.0f} "
            f"{fast_median / raw_median:>6.2f} {np.median(sync):>22,.0f}"
        )


if __name__ == "__main__":
    main()
