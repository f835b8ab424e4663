"""Building vectorised environments and following where each sub-env stands (Chapter 1 onwards).

:func:`make_vec_env` is the one factory of vector envs in pgkit: :func:`pgkit.rollout.collect`,
:func:`pgkit.rollout.evaluate` and :func:`pgkit.objective.episode_returns` all build their
environments with it. It returns a :class:`RolloutEnv`, a gymnasium vector env that keeps, as
public state, the observation each sub-env waits on and the return and length of its episode so
far. It wraps any gymnasium vector env and follows every ``reset`` and ``step`` made through it,
so resetting the gymnasium way (``envs.reset(seed=0)``) is all that starting or restarting
collection takes. :func:`episode_quota` is the rule that shares N episodes among the sub-envs.

Autoreset. In gymnasium's NEXT_STEP mode the call after an episode ends only resets the
sub-env and yields no transition. Collection avoids that phantom step by resetting the finished
sub-envs at once (``envs.reset(options={"reset_mask": done})``, honoured by Sync/Async vector
envs); the native vector CartPole ignores the mask and restarts every sub-env, so for it the
finished columns are restarted the way its own autoreset step restarts them. In SAME_STEP mode
the env resets itself and hands the final observation in ``info["final_obs"]``. DISABLED is
refused.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium.envs.classic_control.cartpole import CartPoleVectorEnv
from gymnasium.vector import AutoresetMode, VectorEnv

import pgkit.envs  # noqa: F401  (registers the "pgkit/..." ids)
from pgkit.validation import check_positive_int, check_seed

__all__ = ["RolloutEnv", "episode_quota", "make_vec_env", "reset_envs"]


class RolloutEnv(gym.vector.VectorWrapper):
    """A vector env that keeps where collection stands, for :func:`pgkit.rollout.collect` (Chapter 3).

    Every ``reset`` and ``step`` goes through to the wrapped env unchanged. On the way back
    the wrapper keeps, in ``envs.obs`` (shape ``(N,) + obs_shape``, float32; None before the
    first reset), the observation each sub-env's next action responds to. A full reset
    starts every episode afresh; a partial one (``options={"reset_mask": mask}``) restarts
    the masked sub-envs only. ``envs.episode_return`` and ``envs.episode_length`` (shape
    ``(N,)``) hold the reward and steps so far of each running episode;
    :func:`pgkit.rollout.collect` adds them up.

    Parameters
    ----------
    env : gymnasium.vector.VectorEnv
        Any vector env, e.g. ``gymnasium.make_vec("CartPole-v1", 4)``; reset it through the
        wrapper (``envs.reset(seed=0)``) before collecting.
    """

    def __init__(self, env: VectorEnv) -> None:
        if not isinstance(env, VectorEnv):
            raise TypeError(
                f"env must be a gymnasium vector env such as gymnasium.make_vec(env_id, n), "
                f"got {type(env).__name__}"
            )
        super().__init__(env)
        self.obs: np.ndarray | None = None
        self.episode_return = np.zeros(self.num_envs)
        self.episode_length = np.zeros(self.num_envs, dtype=np.int64)
        self._fitting_policy = None  # the last policy whose actions were found to fit

    def reset(self, *, seed=None, options=None):
        # read the mask first: SyncVectorEnv.reset pops it from the options
        mask = (options or {}).get("reset_mask")
        fresh = np.ones(self.num_envs, bool) if mask is None else np.array(mask, bool)
        obs, info = self.env.reset(seed=seed, options=options)
        self.restarted(np.asarray(obs, np.float32), fresh)
        return obs, info

    def step(self, actions):
        observation, reward, terminated, truncated, info = self.env.step(actions)
        self.obs = np.asarray(observation, np.float32)
        return observation, reward, terminated, truncated, info

    def restarted(self, obs: np.ndarray, mask: np.ndarray) -> None:
        """Record that the sub-envs in ``mask`` began new episodes, now at ``obs``."""
        self.obs = obs
        self.episode_return[mask], self.episode_length[mask] = 0.0, 0


def make_vec_env(
    env_id: str,
    num_envs: int = 8,
    seed: int | None = 0,
    autoreset_mode=AutoresetMode.NEXT_STEP,
) -> RolloutEnv:
    """N copies of ``env_id`` as one :class:`RolloutEnv`, reset once with ``seed``.

    The native vectorised env is used where there is one (CartPole, pgkit/PointMass; NEXT_STEP
    only), otherwise ``SyncVectorEnv``. "pgkit/..." ids work.

    Parameters
    ----------
    env_id : str
        A registered gymnasium id.
    num_envs : int >= 1
        N, the number of sub-envs.
    seed : int or None
        Seed of the first reset, through :func:`reset_envs`; None builds the env without
        resetting it (reset it yourself, ``envs.reset(seed=...)``, before stepping).
    autoreset_mode : gymnasium.vector.AutoresetMode
        NEXT_STEP (default) or SAME_STEP; DISABLED raises ``ValueError``, and so does an env
        whose vector version resets in another mode than the one asked for.

    Returns
    -------
    RolloutEnv
        Reset with ``seed``, ready for :func:`pgkit.rollout.collect`.

    Raises
    ------
    TypeError
        When ``env_id`` is not a string.
    ValueError
        When ``env_id`` is not registered, or for the autoreset modes above.
    """
    if not isinstance(env_id, str):
        raise TypeError(
            f"env_id must be a string such as 'CartPole-v1', got {type(env_id).__name__}"
        )
    num_envs = check_positive_int("num_envs", num_envs)
    seed = check_seed("seed", seed, optional=True)
    try:
        mode = AutoresetMode(autoreset_mode)
    except ValueError as e:
        raise ValueError(f"autoreset_mode must be an AutoresetMode, got {autoreset_mode!r}") from e
    if mode is AutoresetMode.DISABLED:
        raise ValueError(_DISABLED)
    try:
        spec = gym.spec(env_id)
    except gym.error.Error as e:
        raise ValueError(
            f"unknown environment id {env_id!r} ({e}): {env_id!r} is not a registered "
            "gymnasium environment; check the spelling and version suffix, e.g. 'CartPole-v1'"
        ) from e
    if spec.vector_entry_point is not None and mode is AutoresetMode.NEXT_STEP:
        # One numpy call steps all copies; it resets in its own mode, checked below.
        envs = gym.make_vec(env_id, num_envs, vectorization_mode="vector_entry_point")
    else:
        envs = gym.make_vec(env_id, num_envs, "sync", vector_kwargs={"autoreset_mode": mode})
    built = envs.metadata.get("autoreset_mode")
    if built is None or AutoresetMode(built) is not mode:
        envs.close()
        raise ValueError(
            f"env_id {env_id!r} builds a vector env with autoreset mode {built}, not the "
            f"{mode} asked for"
        )
    envs = RolloutEnv(envs)
    if seed is not None:
        reset_envs(envs, seed)
    return envs


def reset_envs(envs: RolloutEnv, seed: int) -> np.ndarray:
    """Reset every sub-env with ``seed``: ``envs.reset(seed=seed)``, after checking both.

    Parameters
    ----------
    envs : RolloutEnv
        The vector env, e.g. from :func:`make_vec_env`.
    seed : int
        Passed to ``envs.reset(seed=seed)``.

    Returns
    -------
    obs : numpy.ndarray, shape (N,) + obs_shape
        The first observations.
    """
    _rollout_env(envs)
    _autoreset_mode(envs)
    obs, _ = envs.reset(seed=check_seed("seed", seed))
    return obs


def episode_quota(episodes: int, num_envs: int) -> np.ndarray:
    """How many episodes each of ``num_envs`` sub-envs runs so that they add up to ``episodes``.

    Stopping at the first ``episodes`` episodes to finish would over-sample short ones (they
    finish first); a fixed share per sub-env, decided before any episode runs, keeps every
    episode an unbiased draw. Each sub-env runs ``episodes // num_envs`` episodes and the first
    ``episodes % num_envs`` of them one more.

    Parameters
    ----------
    episodes : int >= 1
        The number of episodes wanted.
    num_envs : int >= 1
        N, the number of sub-envs.

    Returns
    -------
    quota : numpy.ndarray of int64, shape (num_envs,)
        Sums to ``episodes``.

    Examples
    --------
    >>> episode_quota(10, 4).tolist()
    [3, 3, 2, 2]
    """
    episodes = check_positive_int("episodes", episodes)
    num_envs = check_positive_int("num_envs", num_envs)
    return np.full(num_envs, episodes // num_envs) + (np.arange(num_envs) < episodes % num_envs)


def _reset_finished(envs: RolloutEnv, obs: np.ndarray, done: np.ndarray) -> None:
    """NEXT_STEP: reset the ``done`` sub-envs now, so the next step is a real transition."""
    if isinstance(envs.env, CartPoleVectorEnv):
        _restart_cartpole_columns(envs, obs, done)
        return
    fresh = np.asarray(envs.reset(options={"reset_mask": done})[0], np.float32)
    if not np.array_equal(fresh[~done], obs[~done]):
        raise RuntimeError(
            f"{envs} changed running sub-envs on reset(options={{'reset_mask': ...}}): it does "
            "not support partial resets. Build it with pgkit.rollout.make_vec_env, use "
            "SyncVectorEnv, or use autoreset_mode=AutoresetMode.SAME_STEP"
        )


def _restart_cartpole_columns(envs: RolloutEnv, obs: np.ndarray, done: np.ndarray) -> None:
    """Restart the ``done`` columns of a native vector CartPole the way its autoreset step does.

    Its ``reset`` restarts every sub-env, whatever the mask, and gymnasium 1.x offers no public
    partial reset for it. So this does, early, what its own NEXT_STEP autoreset would do on the
    next step: one draw of fresh states from its generator for the finished columns, written
    into its state arrays (``state``, ``steps``, ``prev_done``, undocumented attributes of
    ``CartPoleVectorEnv``). The same draw keeps every number that the chapters print; building
    CartPole as a ``SyncVectorEnv`` would instead change them and collect about 1.15x slower
    with 8 sub-envs and 2.5x slower with 64 (``bench/collect_throughput.py``). Only used when
    the native env is the wrapped one directly: a wrapper in between could transform what it
    returns.
    """
    cartpole = envs.env
    if not all(hasattr(cartpole, name) for name in _CARTPOLE_FIELDS):
        raise RuntimeError(
            f"this gymnasium's CartPoleVectorEnv has no {', '.join(_CARTPOLE_FIELDS)}, which "
            "pgkit restarts finished sub-envs through; build it with "
            "make_vec_env(env_id, n, autoreset_mode=AutoresetMode.SAME_STEP) instead"
        )
    fresh = cartpole.np_random.uniform(cartpole.low, cartpole.high, size=(4, int(done.sum())))
    cartpole.state[:, done], cartpole.steps[done], cartpole.prev_done[done] = fresh, 0, False
    obs = np.array(obs, np.float32)
    obs[done] = fresh.T
    envs.restarted(obs, done)


_CARTPOLE_FIELDS = ("state", "steps", "prev_done", "low", "high")
_DISABLED = (
    "autoreset_mode DISABLED is not supported: collect needs the env to reset "
    "finished episodes itself; use AutoresetMode.NEXT_STEP or AutoresetMode.SAME_STEP"
)


def _rollout_env(envs) -> RolloutEnv:
    if not isinstance(envs, RolloutEnv):
        raise TypeError(
            f"envs must be a pgkit.rollout.RolloutEnv, got {type(envs).__name__}: build it with "
            "pgkit.rollout.make_vec_env(env_id, num_envs, seed), or wrap a gymnasium vector env "
            "with envs = RolloutEnv(envs) and reset it with envs.reset(seed=0)"
        )
    return envs


def _started(envs) -> RolloutEnv:
    if _rollout_env(envs).obs is None:
        raise ValueError(
            "envs has not been started: reset it once before collecting, envs.reset(seed=0) "
            "(pgkit.rollout.make_vec_env returns it reset)"
        )
    return envs


def _autoreset_mode(envs) -> AutoresetMode:
    if "autoreset_mode" not in envs.metadata:
        raise ValueError(
            "envs.metadata has no 'autoreset_mode'; build the vector env with "
            "gymnasium.make_vec or set envs.metadata['autoreset_mode']"
        )
    mode = AutoresetMode(envs.metadata["autoreset_mode"])
    if mode is AutoresetMode.DISABLED:
        raise ValueError(_DISABLED)
    return mode
