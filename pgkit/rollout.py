"""Collecting experience from vectorised gymnasium environments (Chapter 3 onwards).

:func:`collect` steps N environments for T steps with the current policy and returns a
time-major :class:`Batch`: row t holds the transitions :math:`(s_t, a_t, r_t, s_{t+1})` of all N
sub-environments, every one a real transition, with ``terminated`` and ``truncated`` kept
apart so that truncation can be bootstrapped with :math:`V(s_{t+1})` and termination cannot.

Collection continues across calls: the observation each sub-environment waits on and
the return and length of its episode so far are the public state of a
:class:`pgkit.vec_env.RolloutEnv`, the vector env that :func:`pgkit.vec_env.make_vec_env`
returns; resetting it the gymnasium way (``envs.reset(seed=0)``) starts or restarts
collection. ``RolloutEnv``, ``make_vec_env`` and ``reset_envs`` live in :mod:`pgkit.vec_env`
(with how autoreset is handled) and are importable from here as well.
"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch
from gymnasium.vector import AutoresetMode, VectorEnv

from pgkit import validation
from pgkit.policies import unchecked_distributions
from pgkit.validation import check_positive_int, check_seed
from pgkit.vec_env import (  # noqa: F401  (RolloutEnv, make_vec_env, reset_envs: re-exported)
    RolloutEnv,
    _autoreset_mode,
    _reset_finished,
    _started,
    episode_quota,
    make_vec_env,
    reset_envs,
)

__all__ = ["Batch", "collect", "collect_episodes", "evaluate"]


@dataclass(frozen=True)
class Batch:
    r"""Time-major transitions from :func:`collect` (T = steps, N = number of envs).

    Parameters
    ----------
    obs, next_obs : torch.Tensor, shape (T, N) + obs_shape, float32
        :math:`s_t` and :math:`s_{t+1}`: ``next_obs[t]`` is the true successor state (the
        final observation when the episode ended at t).
    actions : torch.Tensor, shape (T, N) long for Discrete, (T, N, act_dim) float32 for Box
        :math:`a_t`, the unclipped sample.
    rewards : torch.Tensor, shape (T, N), float32
        :math:`r_t`.
    terminated, truncated : torch.Tensor, shape (T, N), bool
        Whether the episode terminated / was truncated at step t.
    log_probs : torch.Tensor, shape (T, N), float32
        :math:`\log \pi_\theta(a_t \mid s_t)` under the collecting policy, detached.
    values, next_values : torch.Tensor, shape (T, N), float32, or None
        :math:`V(s_t)` and :math:`V(s_{t+1})` (of ``obs`` and ``next_obs``), or None without
        ``value_fn``.
    episode_returns, episode_lengths : numpy.ndarray, 1-D, float64 and int64
        One entry per episode that ended in this batch, counted from its first step even if
        that step came in an earlier batch.
    """

    obs: torch.Tensor
    actions: torch.Tensor
    rewards: torch.Tensor
    terminated: torch.Tensor
    truncated: torch.Tensor
    next_obs: torch.Tensor
    log_probs: torch.Tensor
    values: torch.Tensor | None
    next_values: torch.Tensor | None
    episode_returns: np.ndarray
    episode_lengths: np.ndarray


def collect(envs: VectorEnv, policy: torch.nn.Module, steps: int, value_fn=None) -> Batch:
    r"""Step ``envs`` for ``steps`` steps with :math:`a_t \sim \pi_\theta(\cdot \mid s_t)`.

    Shapes are (steps, N, ...), see :class:`Batch`. Sampling uses torch's global RNG, so
    ``torch.manual_seed`` plus the env seed make a batch reproducible.
    :math:`\log \pi_\theta(a_t \mid s_t)` and, given ``value_fn``, :math:`V(s_t)` and
    :math:`V(s_{t+1})` come from batched forward passes after the env loop.

    Parameters
    ----------
    envs : RolloutEnv
        From :func:`~pgkit.vec_env.make_vec_env`, or any gymnasium vector env wrapped in
        :class:`~pgkit.vec_env.RolloutEnv`, reset at least once; collection continues where
        the previous call stopped.
    policy : torch.nn.Module
        Maps observations to a distribution over actions, as in :mod:`pgkit.policies`.
    steps : int >= 1
        T, the number of steps.
    value_fn : torch.nn.Module or None
        Maps ``(..., obs_dim)`` to ``(...)``, as :class:`pgkit.policies.ValueFunction` does.

    Returns
    -------
    Batch
    """
    steps = check_positive_int("steps", steps)
    progress, mode, to_env = _started(envs), _autoreset_mode(envs), _action_adapter(envs)
    _check_policy_fits(policy, envs)
    n, space = envs.num_envs, envs.single_action_space
    obs = np.empty((steps, *progress.obs.shape), np.float32)
    next_obs = np.empty_like(obs)
    discrete = isinstance(space, gym.spaces.Discrete)
    actions = np.empty((steps, n, *space.shape), np.int64 if discrete else np.float32)
    rewards = np.empty((steps, n), np.float32)
    terminated, truncated = np.empty((steps, n), bool), np.empty((steps, n), bool)
    episode_return, episode_length = progress.episode_return, progress.episode_length
    returns, lengths = [], []
    with torch.no_grad(), unchecked_distributions():
        for t in range(steps):
            obs[t] = progress.obs
            actions[t] = policy(torch.from_numpy(obs[t])).sample().numpy()
            observation, reward, terminated[t], truncated[t], info = envs.step(to_env(actions[t]))
            rewards[t], next_obs[t] = reward, observation
            episode_return += reward
            episode_length += 1
            done = terminated[t] | truncated[t]
            if done.any():
                returns.append(episode_return[done])
                lengths.append(episode_length[done])
                episode_return[done], episode_length[done] = 0.0, 0
                if mode is AutoresetMode.SAME_STEP:
                    next_obs[t, done] = np.stack(info["final_obs"][done])
                else:
                    _reset_finished(envs, observation, done)
        # One batched pass after the loop costs less than a log_prob call per step.
        obs, actions = torch.from_numpy(obs), torch.from_numpy(actions)
        log_probs = policy(obs).log_prob(actions).float()
    next_obs = torch.from_numpy(next_obs)
    return Batch(
        obs, actions, torch.from_numpy(rewards), torch.from_numpy(terminated),
        torch.from_numpy(truncated), next_obs, log_probs,
        *_values(value_fn, obs, next_obs),
        np.concatenate([np.zeros(0), *returns]), np.concatenate([np.zeros(0, int), *lengths]),
    )  # fmt: skip


def collect_episodes(envs, policy, episodes: int, *, value_fn=None, seed: int = 0) -> Batch:
    """Exactly ``episodes`` whole episodes, concatenated in time: a Batch with N = 1.

    Fields have shape (T_total, 1, ...), ``T_total = episode_lengths.sum()``; each episode's
    rows are contiguous and in order, its last row has terminated or truncated set and no other
    row has, so ``discounted_returns(rewards, terminated | truncated, gamma)`` is each step's
    reward-to-go (Chapter 3). Sub-env i contributes a fixed share of the episodes (env 0's
    first), so short episodes are not over-represented.

    Parameters
    ----------
    envs : gymnasium.vector.VectorEnv or str
        A started VectorEnv (episodes running when the call starts are not kept, and the env
        runs on in chunks of 32 steps, so a few steps past the last kept episode are dropped
        too) or an env id, for which ``make_vec_env(envs, min(episodes, 8), seed)`` is built.
    policy : torch.nn.Module
        As in :func:`collect`.
    episodes : int >= 1
        Number of episodes.
    value_fn : torch.nn.Module or None
        As in :func:`collect`.
    seed : int
        Used only when ``envs`` is an id.

    Returns
    -------
    Batch
    """
    episodes = check_positive_int("episodes", episodes)
    seed = check_seed("seed", seed)
    if isinstance(envs, str):
        envs = make_vec_env(envs, num_envs=min(episodes, 8), seed=seed)
    n = envs.num_envs
    quota = episode_quota(episodes, n)
    running = _started(envs).episode_length > 0  # started before this call: not kept
    batches, ended = [], np.zeros(n, np.int64)
    while True:
        batches.append(collect(envs, policy, 32))
        ended += (batches[-1].terminated | batches[-1].truncated).numpy().sum(0)
        if (ended - running >= quota).all():
            break
        longest = int(envs.episode_length.max())  # the longest episode still running
        if longest > validation.MAX_EPISODE_STEPS:
            raise validation.endless_episode_error(envs, longest)
    done = torch.cat([b.terminated | b.truncated for b in batches]).numpy()
    episode = np.cumsum(done, 0) - done - running  # -1 marks the episode already running
    keep = (episode >= 0) & (episode < quota)
    fields = {}
    for name in ("obs", "actions", "rewards", "terminated", "truncated", "next_obs", "log_probs"):
        column = torch.cat([getattr(b, name) for b in batches])
        fields[name] = torch.cat([column[keep[:, i], i] for i in range(n)])[:, None]
    ends = np.flatnonzero((fields["terminated"] | fields["truncated"]).numpy()) + 1
    rewards = fields["rewards"].double().numpy().ravel()
    values = _values(value_fn, fields["obs"], fields["next_obs"])
    return Batch(**fields, values=values[0], next_values=values[1],
                 episode_returns=np.add.reduceat(rewards, np.r_[0, ends[:-1]]),
                 episode_lengths=np.diff(ends, prepend=0))  # fmt: skip


def evaluate(policy, env_id: str, *, episodes: int = 10, seed: int = 0, deterministic=True):
    r""":math:`R(\tau)` of ``episodes`` episodes: one episode per sub-env.

    Parameters
    ----------
    policy : torch.nn.Module
        As in :func:`collect`.
    env_id : str
        The environment, built with :func:`~pgkit.vec_env.make_vec_env` (``num_envs=episodes``,
        ``seed``).
    episodes : int >= 1
        Number of episodes.
    seed : int
        Seed of the environments and of the torch RNG used when sampling.
    deterministic : bool
        Act with ``dist.mode`` (argmax / Gaussian mean), otherwise sample with a torch RNG
        seeded by ``seed`` (the global RNG is left as it was).

    Returns
    -------
    returns : numpy.ndarray, shape (episodes,)
    """
    episodes = check_positive_int("episodes", episodes)
    seed = check_seed("seed", seed)
    envs = make_vec_env(env_id, num_envs=episodes, seed=seed)
    obs, to_env = envs.obs, _action_adapter(envs)
    _check_policy_fits(policy, envs)
    returns, running = np.zeros(episodes), np.ones(episodes, dtype=bool)
    with torch.random.fork_rng(devices=[]), torch.no_grad(), unchecked_distributions():
        torch.manual_seed(seed)
        steps = 0
        while running.any():
            steps += 1
            if steps > validation.MAX_EPISODE_STEPS:
                envs.close()
                raise validation.endless_episode_error(env_id, steps - 1)
            dist = policy(torch.as_tensor(obs, dtype=torch.float32))
            action = (dist.mode if deterministic else dist.sample()).numpy()
            obs, reward, terminated, truncated, _ = envs.step(to_env(action))
            returns += np.where(running, reward, 0.0)
            running &= ~(terminated | truncated)
    envs.close()
    return returns


def _values(value_fn, obs: torch.Tensor, next_obs: torch.Tensor):
    """(V(obs), V(next_obs)), each (T, N), from one forward pass; (None, None) without value_fn."""
    if value_fn is None:
        return None, None
    with torch.no_grad():
        both = value_fn(torch.cat([obs, next_obs]))
    if tuple(both.shape) != (2 * obs.shape[0], obs.shape[1]):
        raise ValueError(
            "value_fn must map obs of shape (T, N, *obs_shape) to values of shape (T, N); given "
            f"shape {(2 * obs.shape[0], *obs.shape[1:])} it returned {tuple(both.shape)}"
        )
    return both.float().split(obs.shape[0])


def _check_policy_fits(policy, envs) -> None:
    """Refuse a policy whose actions the env cannot take, before a step is sent.

    A categorical policy's integers sent to a Box env would be read as positions, and a
    Gaussian policy's floats would fail deep inside the env; one trial sample on the current
    observations settles it (with torch's RNG state put back, so no numbers move).
    """
    if getattr(envs, "_fitting_policy", None) is policy:
        return  # checked on an earlier call: its output layer has not changed since
    space = envs.single_action_space
    with torch.random.fork_rng(devices=[]), torch.no_grad(), unchecked_distributions():
        sample = policy(torch.from_numpy(np.asarray(envs.obs, np.float32))).sample()
    n = envs.num_envs
    if isinstance(space, gym.spaces.Discrete):
        fits = not sample.is_floating_point() and tuple(sample.shape) == (n,)
        fits = fits and bool(((sample >= space.start) & (sample < space.start + space.n)).all())
        if fits and getattr(policy, "n_actions", space.n) == space.n:
            envs._fitting_policy = policy
            return
        want = f"integer actions in {space} (e.g. CategoricalPolicy(obs_dim, {space.n}))"
    elif isinstance(space, gym.spaces.Box):
        if sample.is_floating_point() and tuple(sample.shape) == (n, *space.shape):
            envs._fitting_policy = policy
            return
        want = (
            f"float actions of shape {space.shape} (e.g. GaussianPolicy(obs_dim, {space.shape[0]}))"
        )
    else:
        return  # other spaces: the env's own checks apply
    raise ValueError(
        f"policy does not fit the environment's action space {space}: it samples "
        f"{sample.dtype} actions of shape {tuple(sample.shape[1:])} for each of the {n} "
        f"sub-envs, but the env takes {want}; pgkit.policies.make_policy(envs."
        "single_observation_space, envs.single_action_space) builds one that fits"
    )


def _action_adapter(envs):
    """Box actions are clipped to the bounds only on their way into the env."""
    space = envs.single_action_space
    if isinstance(space, gym.spaces.Box):
        return lambda action: np.clip(action, space.low, space.high)
    return lambda action: action
