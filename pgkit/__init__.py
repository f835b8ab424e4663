"""pgkit: the small, tested policy-gradient library behind *Policy Gradients, Executable*.

Each public function is an equation that a chapter of the book derives. Submodules
load on first use (``pgkit.returns``, ``pgkit.envs``, ...), so ``import pgkit`` stays
fast and does not pull in torch until something needs it.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_SUBMODULES = (
    "algos",
    "analytic_problems",
    "checkpoints",
    "claims",
    "cli",
    "cli_train",
    "conjugate_gradient",
    "critic",
    "curves",
    "envs",
    "estimators",
    "exercises",
    "files",
    "importance",
    "losses",
    "objective",
    "plotting",
    "policies",
    "returns",
    "rollout",
    "seeds",
    "signals",
    "staging",
    "sweep_jobs",
    "sweep_results",
    "sweeps",
    "tabular",
    "td",
    "trust_region",
    "validation",
    "variance",
    "vec_env",
    "workbook",
)


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'pgkit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_SUBMODULES])
