r"""Four policy-gradient algorithms, each one short function: collect -> weights -> loss -> step.

- :func:`reinforce` (Chapter 3): whole episodes, every log-probability weighted by :math:`R(\tau)`.
- :func:`vpg` (Chapter 5): reward-to-go minus a learned value baseline.
- :func:`a2c` (Chapter 7): short n-step rollouts from parallel envs, GAE advantages.
- :func:`ppo` (Chapter 9): the clipped surrogate, several epochs of minibatches per batch;
  ``clip=None`` gives Chapter 8's unclipped importance-weighted surrogate.

Every function has the signature ``fn(env_id, *, total_steps, seed=0, progress=True,
**hyperparameters) -> TrainResult``; the hyperparameters are explicit keyword arguments with
the defaults named in each docstring, so a misspelt one is a ``TypeError`` naming it.

Each function builds a frozen, validated configuration (:mod:`pgkit.algos.configs`, e.g.
:class:`~pgkit.algos.configs.PPOConfig`) from its keyword arguments; its loop reads only that,
and the run stores it (``TrainResult.config``, ``config.json``). :func:`ppo_update`, PPO's
update of one batch, is public so that a chapter can run its own outer loop around it.

The package keeps one file per algorithm (``_reinforce.py``, ``_vpg.py``, ``_a2c.py``,
``_ppo.py``), the shared plumbing in ``_run.py`` (the private ``_Run``: seeding, the progress
bar, the history and the NaN guard) and the configurations in ``configs.py``; everything
public is importable from ``pgkit.algos`` itself, as before the split. Training runs with
``torch.set_num_threads(1)``: the networks are tiny, so a second thread only adds
synchronisation cost and makes timings erratic when anything else runs on the machine
(measured in the book's TOOLCHAIN notes); the previous thread count and torch's global
random state are restored afterwards.

Stopping: Ctrl-C (or a notebook's stop button) raises :class:`TrainingInterrupted`, a
``KeyboardInterrupt`` whose ``.result`` is the partial :class:`TrainResult`, so the
iterations already trained are not lost; ``python -m pgkit train`` saves that partial run.

Reproducibility: all randomness comes from ``seed``: torch's RNG (action sampling,
minibatch shuffling, initial weights), the environments' reset seed, and a numpy generator
that draws the reset seeds of later batches. Same seed, same machine -> identical history
(except ``"time"``).
"""

from __future__ import annotations

from pgkit.algos._a2c import a2c
from pgkit.algos._ppo import PPOUpdateStats, ppo, ppo_update
from pgkit.algos._reinforce import reinforce
from pgkit.algos._run import (
    HISTORY_KEYS,
    TrainingDivergedError,
    TrainingInterrupted,
    TrainResult,
    tqdm,  # noqa: F401  (the silenced progress bar, which pgkit.sweeps uses too)
)
from pgkit.algos._vpg import vpg

# The configurations are importable from here too; they are documented in pgkit.algos.configs.
from pgkit.algos.configs import A2CConfig, PPOConfig, ReinforceConfig, VPGConfig  # noqa: F401

# Looked up here by the loops at call time (see _run._seam); kept importable from
# pgkit.algos as before the package split.
from pgkit.rollout import collect, make_vec_env  # noqa: F401

__all__ = [
    "HISTORY_KEYS",
    "PPOUpdateStats",
    "TrainResult",
    "TrainingDivergedError",
    "TrainingInterrupted",
    "a2c",
    "ppo",
    "ppo_update",
    "reinforce",
    "vpg",
]

# The public objects say they belong here, where they are documented and imported from (as
# before the split into files): tools that look functions up by module find them here.
for _public in (
    PPOUpdateStats, TrainResult, TrainingDivergedError, TrainingInterrupted,
    a2c, ppo, ppo_update, reinforce, vpg,
):  # fmt: skip
    _public.__module__ = __name__
del _public
