"""What the episodic ``pgkit/`` environments share: a guard against stepping outside an episode."""

from __future__ import annotations

from typing import Any

import gymnasium


class _EpisodicEnv(gymnasium.Env):
    """Shared guard: stepping before ``reset`` or after the episode ended is a usage error."""

    metadata: dict[str, Any] = {"render_modes": []}
    _done = True

    def _check_can_step(self) -> None:
        if self._done:
            raise RuntimeError(
                f"{type(self).__name__}.step() called without a running episode; call reset() "
                "first and again after terminated or truncated is True"
            )

    def _check_discrete_action(self, action: Any) -> int:
        if not self.action_space.contains(action):
            raise ValueError(
                f"action must be an integer in [0, {self.action_space.n - 1}], got {action!r}"
            )
        return int(action)
