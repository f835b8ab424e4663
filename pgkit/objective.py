r"""Monte Carlo estimates of the policy-gradient objective :math:`J(\theta)` (Chapter 1).

Chapter 1 defines the objective as the expected return of a trajectory drawn from the policy,

.. math::

    J(\theta) = \mathbb{E}_{\tau \sim p_\theta}\big[R(\tau)\big], \qquad
    R(\tau) = \sum_{t=0}^{H-1} \gamma^t r_t,

and estimates it by running whole episodes and averaging their returns:

.. math::

    J(\theta) \approx \hat J = \frac1N \sum_{i=1}^N R(\tau_i), \qquad
    \operatorname{SE}(\hat J) = \frac{s}{\sqrt N},

where :math:`s` is the sample standard deviation of the N returns. :func:`episode_returns`
produces the returns :math:`R(\tau_1), \dots, R(\tau_N)`; :func:`mc_estimate` turns them into
:math:`(\hat J, \operatorname{SE})`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

from pgkit import validation
from pgkit.validation import (
    check_finite,
    check_no_overflow,
    check_positive_int,
    check_seed,
    check_unit_interval,
    to_numpy,
)
from pgkit.vec_env import episode_quota, make_vec_env

__all__ = ["episode_returns", "mc_estimate"]

Act = Callable[[np.ndarray, np.random.Generator], Any]


def _env_seed_and_rng(seed: int) -> tuple[int, np.random.Generator]:
    """Split ``seed`` into an environment seed and the policy's random generator.

    Gymnasium seeds an environment with ``Generator(PCG64(SeedSequence(seed)))``,
    which is exactly ``np.random.default_rng(seed)``. Handing the same integer to
    both would make the policy's coin flips a copy of the environment's
    initial-state draws, so both streams are spawned as independent children.
    """
    env_sequence, policy_sequence = np.random.SeedSequence(seed).spawn(2)
    env_seed = int(env_sequence.generate_state(1, dtype=np.uint32)[0])
    return env_seed, np.random.default_rng(policy_sequence)


def episode_returns(
    act: Act,
    env_id: str = "CartPole-v1",
    *,
    episodes: int,
    seed: int = 0,
    gamma: float = 1.0,
    num_envs: int | None = None,
) -> np.ndarray:
    r"""Run whole episodes of a policy and return one return per episode (Chapter 1).

    For each episode :math:`\tau_i` the return is

    .. math::

        R(\tau_i) = \sum_{t=0}^{H_i - 1} \gamma^t r_t,

    with :math:`H_i` the episode's length (it ends when the environment terminates or truncates it).
    ``gamma = 1`` (the default) gives the undiscounted return of Chapter 1; :func:`mc_estimate`
    turns these returns into an estimate of :math:`J(\theta)`.

    Parameters
    ----------
    act : callable ``act(obs, rng) -> actions``
        The policy, a plain function. ``obs`` is a batch of observations, shape
        ``(B, *obs_shape)``, and ``rng`` a ``numpy.random.Generator`` for stochastic policies; it
        must return B actions, shape ``(B, *action_shape)``. It is only ever called on observations
        from which an action is actually taken.
    env_id : str, default "CartPole-v1"
        A registered gymnasium id (``pgkit/...`` ids register themselves).
    episodes : int, at least 1
        N, the number of episodes.
    seed : int, default 0
        Seeds the environment's initial states and ``rng``; equal arguments give identical returns.
    gamma : float in [0, 1], default 1.0
        Discount :math:`\gamma`.
    num_envs : int, optional
        Environment copies stepped side by side; default ``min(episodes, 256)``. Copy k runs a
        fixed quota of consecutive episodes (the quotas add up to ``episodes``), so the returns
        depend on it.

    Returns
    -------
    returns : numpy.ndarray of float64, shape (episodes,)
        Ordered copy by copy and, within a copy, episode by episode. Every episode is a fresh draw
        from :math:`p_\theta`, so any slice of the array is an unbiased sample too.

    Raises
    ------
    ValueError
        When ``episodes`` or ``num_envs`` is below 1, ``gamma`` is outside [0, 1], ``env_id`` is
        unknown, or ``act`` returns the wrong number of actions or actions outside the action space.
    """
    episodes = check_positive_int("episodes", episodes)
    num_envs = min(episodes, 256) if num_envs is None else check_positive_int("num_envs", num_envs)
    gamma = check_unit_interval("gamma", gamma)
    seed = check_seed("seed", seed)
    if not callable(act):
        raise TypeError(
            f"act must be a function act(obs, rng) -> actions, got {type(act).__name__}"
        )

    quota = episode_quota(episodes, num_envs)  # unbiased: fixed before any episode runs
    returns_per_env: list[list[float]] = [[] for _ in range(num_envs)]

    env_seed, rng = _env_seed_and_rng(seed)
    # NEXT_STEP: the step after an episode ends only resets that copy (see below).
    envs = make_vec_env(
        env_id, num_envs, seed=None, autoreset_mode=gym.vector.AutoresetMode.NEXT_STEP
    )
    try:
        obs, _ = envs.reset(seed=env_seed)
        running_return = np.zeros(num_envs)
        discount = np.ones(num_envs)
        # Under NEXT_STEP autoreset the step after an episode ends only resets that
        # copy: its action is ignored and its reward is not part of any episode.
        resetting = np.zeros(num_envs, dtype=bool)
        finished = np.zeros(num_envs, dtype=int)
        episode_steps = np.zeros(num_envs, dtype=np.int64)
        while (finished < quota).any():
            acting = ~resetting
            episode_steps[acting] += 1
            if episode_steps.max() > validation.MAX_EPISODE_STEPS:
                raise validation.endless_episode_error(env_id, int(episode_steps.max()) - 1)
            actions = np.zeros(envs.action_space.shape, dtype=envs.action_space.dtype)
            if acting.any():
                actions[acting] = _checked_actions(act, obs[acting], rng, envs)
            obs, rewards, terminated, truncated, _ = envs.step(actions)

            running_return[acting] += discount[acting] * rewards[acting]
            discount[acting] *= gamma
            ended = acting & (terminated | truncated)
            for k in np.flatnonzero(ended):
                if finished[k] < quota[k]:
                    returns_per_env[k].append(float(running_return[k]))
                finished[k] += 1
            running_return[ended] = 0.0
            discount[ended] = 1.0
            episode_steps[ended] = 0
            resetting = ended
    finally:
        envs.close()
    return np.concatenate([np.asarray(r, dtype=np.float64) for r in returns_per_env])


def _checked_actions(
    act: Act, obs: np.ndarray, rng: np.random.Generator, envs: gym.vector.VectorEnv
) -> np.ndarray:
    actions = np.asarray(act(obs, rng))
    expected = (len(obs), *envs.single_action_space.shape)
    if actions.shape != expected:
        raise ValueError(
            f"act returned actions of shape {actions.shape} for {len(obs)} observations; "
            f"it must return one action per observation, shape {expected}"
        )
    space = envs.single_action_space
    if isinstance(space, gym.spaces.Box):
        # Bounds are the environment's business (many clip); only the dtype must fit.
        return actions.astype(space.dtype, copy=False)
    if isinstance(space, gym.spaces.Discrete):
        # Checked directly: building a batched space every step costs more than the step.
        valid = actions.dtype.kind in "biu" and bool(
            np.all((actions >= space.start) & (actions < space.start + space.n))
        )
    else:
        valid = all(space.contains(a) for a in actions)
    if not valid:
        shown = np.unique(actions)[:5].tolist()
        raise ValueError(
            f"act returned actions outside the action space {space} (dtype {actions.dtype}, "
            f"values include {shown}); return integers (or booleans) that the space contains"
        )
    return actions


def mc_estimate(returns: Any) -> tuple[float, float]:
    r"""Monte Carlo estimate of :math:`J(\theta)` and its standard error from episode returns (Chapter 1).

    .. math::

        \hat J = \frac1N \sum_{i=1}^N R(\tau_i), \qquad
        \operatorname{SE} = \frac{s}{\sqrt N}, \qquad
        s^2 = \frac{1}{N-1} \sum_i \big(R(\tau_i) - \hat J\big)^2.

    SE is the standard deviation of :math:`\hat J` over repeated batches of N episodes, estimated
    from one batch: it shrinks like :math:`1/\sqrt N`.

    Parameters
    ----------
    returns : array_like, shape (N,), N at least 2
        One return per independent episode (numpy array, torch tensor or list).

    Returns
    -------
    J_hat, SE : float
        The estimate and its standard error.

    Raises
    ------
    ValueError
        When ``returns`` is not one-dimensional, has fewer than 2 entries, or holds NaN or infinite
        values.
    """
    returns = to_numpy(returns, "returns", dtype=np.float64)
    if returns.ndim != 1:
        raise ValueError(
            f"returns must be one-dimensional, shape (N,), one return per episode; got shape "
            f"{returns.shape}. Flatten it explicitly if every entry is an episode return"
        )
    if returns.shape[0] < 2:
        raise ValueError(
            f"returns holds {returns.shape[0]} episode return(s); the standard error needs "
            "at least 2 (collect more episodes)"
        )
    check_finite("returns", returns)
    n = returns.shape[0]
    with np.errstate(over="ignore", invalid="ignore"):  # reported by name below
        estimate = (float(returns.mean()), float(returns.std(ddof=1) / np.sqrt(n)))
    return check_no_overflow(estimate, "returns")
