"""Save a training run to a folder and load it back.

A run folder holds everything needed to reproduce or reuse a result:

- ``checkpoint.pt``: the policy's (and value function's) weights, as plain tensors
- ``config.json``: the exact configuration, which is also how the networks are rebuilt
- ``history.csv``: one row per training iteration
- ``learning_curve.png``: mean episode return against environment steps

Loading uses ``torch.load(..., weights_only=True)``, which refuses arbitrary pickled
objects, so opening a checkpoint from somewhere else cannot run code.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

FORMAT_VERSION = 1
CHECKPOINT = "checkpoint.pt"
CONFIG = "config.json"
HISTORY = "history.csv"
CURVE = "learning_curve.png"


@dataclass(frozen=True)
class Run:
    """A loaded run: the rebuilt networks, the configuration and the training history."""

    policy: Any
    value_fn: Any
    config: dict[str, Any]
    history: dict[str, np.ndarray]


def save_run(result: Any, out: str | Path) -> Path:
    """Write ``result`` (a ``pgkit.algos.TrainResult``) into the folder ``out``; return it."""
    import matplotlib.pyplot as plt
    import torch

    from pgkit import plotting

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    state = {
        "format": FORMAT_VERSION,
        "policy": result.policy.state_dict(),
        "value_fn": None if result.value_fn is None else result.value_fn.state_dict(),
    }
    torch.save(state, out / CHECKPOINT)
    config = json.dumps(result.config, indent=2, sort_keys=True, default=_plain)
    (out / CONFIG).write_text(config + "\n")
    _write_history(result.history, out / HISTORY)

    plotting.use_style()
    fig, ax = plt.subplots()
    if np.isfinite(result.history["episode_return"]).any():
        plotting.learning_curve([result.history], ax=ax, label=result.config.get("algo"))
        ax.legend()
    else:  # a run too short for any episode to end still gets its (empty) figure
        ax.text(0.5, 0.5, "no episode ended during training", ha="center", transform=ax.transAxes)
        ax.set_xlabel("environment steps")
        ax.set_ylabel("episode return")
    ax.set_title(f"{result.config.get('algo', 'run')} on {result.config.get('env_id', '?')}")
    fig.tight_layout()
    fig.savefig(out / CURVE)
    plt.close(fig)
    return out


def _plain(value: Any) -> Any:
    """JSON for numpy scalars and arrays in a config (e.g. ``seed=np.int64(3)``)."""
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    raise TypeError(f"config value {value!r} of type {type(value).__name__} is not JSON")


def _write_history(history: dict[str, Any], path: Path) -> None:
    columns = list(history)
    rows = zip(*(np.asarray(history[c]).tolist() for c in columns), strict=True)
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        writer.writerows(rows)


def read_history(path: str | Path) -> dict[str, np.ndarray]:
    """Read ``history.csv`` back into a dict of float arrays (empty cells become NaN)."""
    with Path(path).open(newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        raise ValueError(f"{path} is empty; expected a header row of history columns")
    header, body = rows[0], rows[1:]

    def number(text: str) -> float:
        return float(text) if text else math.nan

    return {name: np.array([number(r[i]) for r in body]) for i, name in enumerate(header)}


def load_run(path: str | Path) -> Run:
    """Rebuild the policy and value function of the run folder ``path`` and load their weights.

    Raises ``FileNotFoundError`` when a file is missing and ``ValueError`` when the
    checkpoint is corrupt or does not fit the networks its configuration describes.
    """
    import gymnasium as gym
    import torch

    import pgkit.envs  # noqa: F401  (registers the "pgkit/..." environment ids)
    from pgkit.policies import ValueFunction, make_policy

    path = Path(path)
    for name in (CHECKPOINT, CONFIG):
        if not (path / name).is_file():
            raise FileNotFoundError(
                f"{path / name} not found: is {path} a folder written by "
                "`python -m pgkit train ... --out FOLDER`?"
            )
    try:
        config = json.loads((path / CONFIG).read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path / CONFIG} is not valid JSON ({e})") from e
    if not isinstance(config, dict):
        raise ValueError(f"{path / CONFIG} must hold a JSON object, got {type(config).__name__}")
    for key in ("env_id", "hidden"):
        if key not in config:
            raise ValueError(f"{path / CONFIG} has no {key!r}; it is not a pgkit run configuration")
    try:
        state = torch.load(path / CHECKPOINT, map_location="cpu", weights_only=True)
    except Exception as e:
        raise ValueError(
            f"{path / CHECKPOINT} could not be read as a pgkit checkpoint (corrupt or "
            f"not saved by pgkit): {e}"
        ) from e
    if (
        not isinstance(state, dict)
        or state.get("format") != FORMAT_VERSION
        or not {"policy", "value_fn"} <= state.keys()
    ):
        raise ValueError(
            f"{path / CHECKPOINT} is not a pgkit checkpoint of format {FORMAT_VERSION} "
            "(a dict with 'format', 'policy' and 'value_fn')"
        )

    try:
        env = gym.make(config["env_id"])
    except gym.error.Error as e:
        raise ValueError(
            f"{path / CONFIG} names the environment {config['env_id']!r}, which gymnasium "
            f"cannot make: {e}"
        ) from e
    hidden = tuple(config["hidden"])
    policy = make_policy(env.observation_space, env.action_space, hidden=hidden)
    _load_weights(policy, state["policy"], "policy", path)
    value_fn = None
    if state["value_fn"] is not None:
        value_fn = ValueFunction(int(np.prod(env.observation_space.shape)), hidden=hidden)
        _load_weights(value_fn, state["value_fn"], "value function", path)
    env.close()
    history = read_history(path / HISTORY) if (path / HISTORY).is_file() else {}
    return Run(policy=policy, value_fn=value_fn, config=config, history=history)


def _load_weights(module: Any, weights: Any, what: str, path: Path) -> None:
    try:
        module.load_state_dict(weights)
    except (RuntimeError, TypeError, AttributeError) as e:
        raise ValueError(
            f"the {what} weights in {path / CHECKPOINT} do not match the network that "
            f"{path / CONFIG} describes (was config.json edited?): {e}"
        ) from e
