"""Registering the ``pgkit/...`` ids with gymnasium; ``import pgkit.envs`` does it."""

from __future__ import annotations

import gymnasium

__all__ = ["register_envs"]

_ENTRY_POINTS = {
    "pgkit/Bandit-v0": "pgkit.envs.bandit:BanditEnv",
    "pgkit/Driving-v0": "pgkit.envs.driving:DrivingEnv",
    "pgkit/RandomWalk-v0": "pgkit.envs.random_walk:RandomWalkEnv",
    "pgkit/PointMass-v0": "pgkit.envs.point_mass:PointMassEnv",
}
# Used by gymnasium.make_vec (and so by pgkit.vec_env.make_vec_env) for NEXT_STEP autoreset.
_VECTOR_ENTRY_POINTS = {"pgkit/PointMass-v0": "pgkit.envs.point_mass:PointMassVectorEnv"}


def register_envs() -> None:
    """Register the ``pgkit/...`` ids with gymnasium; calling it again changes nothing.

    Episodes end inside each environment (PointMass truncates itself after ``horizon`` steps),
    so no ``TimeLimit`` is added: ``gymnasium.make("pgkit/PointMass-v0", horizon=50)`` just works.
    """
    for env_id, entry_point in _ENTRY_POINTS.items():
        if env_id not in gymnasium.registry:
            gymnasium.register(
                id=env_id,
                entry_point=entry_point,
                vector_entry_point=_VECTOR_ENTRY_POINTS.get(env_id),
            )
