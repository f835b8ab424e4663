r"""Sutton and Barto's random walk, ``pgkit/RandomWalk-v0`` (Chapter 6)."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from pgkit.envs.base import _EpisodicEnv
from pgkit.validation import check_number, check_positive_int, check_seed

__all__ = ["RandomWalkEnv"]


class RandomWalkEnv(_EpisodicEnv):
    r"""Sutton and Barto's random walk: 19 states in a row, start in the middle (Chapter 6).

    Non-terminal states ``s = 0 .. n_states - 1`` (default 19); the walk starts at
    ``n_states // 2`` (state 9) and moves one step left or right with probability 1/2 each,
    whatever the action (the single action 0 exists only to satisfy the API). Stepping left of
    state 0 ends the episode with reward ``left_reward`` (-1); stepping right of the last state
    ends it with ``right_reward`` (+1); every other reward is 0 and :math:`\gamma = 1`.
    Both ends are reported as the one terminal observation ``n_states`` (19), so a value table
    of length ``n_states + 1`` can be indexed by any observation, with ``V[n_states] = 0``.

    With :math:`\gamma = 1`, :math:`V(s)` is linear in :math:`s` between the ends (gambler's
    ruin: the probability of leaving on the right from :math:`s` is :math:`(s + 1)/(n + 1)`):

    .. math::

        V(s) = r_{\text{left}} + (r_{\text{right}} - r_{\text{left}})\,\frac{s + 1}{n + 1},

    which for the default 19 states and rewards -1 / +1 is :math:`V(s) = (s + 1)/10 - 1`,
    i.e. -0.9, -0.8, ..., 0.9, with :math:`V(9) = 0`. ``n_states=5, left_reward=0`` gives
    the 5-state walk with values 1/6, ..., 5/6. :meth:`state_values` returns these numbers.
    ``info`` holds ``side``: ``"left"`` or ``"right"`` on the terminating step, else ``None``.

    Parameters
    ----------
    n_states : int, odd and >= 3
        Number of non-terminal states :math:`n`, odd so there is a middle (default 19).
    left_reward, right_reward : float
        Rewards for leaving on the left / right (default -1, +1).
    """

    def __init__(
        self, n_states: int = 19, left_reward: float = -1.0, right_reward: float = 1.0
    ) -> None:
        n_states = check_positive_int("n_states", n_states)
        if n_states < 3 or n_states % 2 == 0:
            raise ValueError(
                f"n_states must be odd and >= 3 so the walk starts in a unique middle state, "
                f"got {n_states}"
            )
        self.n_states = n_states
        self.start_state = n_states // 2
        self.terminal_state = n_states
        self.left_reward = check_number("left_reward", left_reward)
        self.right_reward = check_number("right_reward", right_reward)
        self.observation_space = spaces.Discrete(n_states + 1)
        self.action_space = spaces.Discrete(1)

    def state_values(self) -> np.ndarray:
        r"""Exact :math:`V(s)` for ``s = 0 .. n_states - 1`` under :math:`\gamma = 1`.

        Returns
        -------
        values : numpy.ndarray, shape (n_states,)
        """
        s = np.arange(self.n_states)
        return self.left_reward + (self.right_reward - self.left_reward) * (s + 1) / (
            self.n_states + 1
        )

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=check_seed("seed", seed, optional=True))
        self._state = self.start_state
        self._done = False
        return self._state, {"side": None}

    def step(self, action: Any):
        self._check_can_step()
        self._check_discrete_action(action)
        self._state += 1 if self.np_random.random() < 0.5 else -1
        side = None
        reward = 0.0
        if self._state < 0:
            side, reward = "left", self.left_reward
        elif self._state >= self.n_states:
            side, reward = "right", self.right_reward
        terminated = side is not None
        if terminated:
            self._state = self.terminal_state
        self._done = terminated
        return self._state, reward, terminated, False, {"side": side}
