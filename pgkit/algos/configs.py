r"""One frozen, validated configuration per algorithm of :mod:`pgkit.algos`.

Each algorithm function builds its configuration from its keyword arguments, and from then
on its training loop reads only the configuration: the value checked is the value used, and
the value used is the value saved (:meth:`AlgoConfig.to_dict` is the run's ``config``, and
``config.json`` in a saved run). Constructing a configuration checks every field, so a bad
hyperparameter is refused before any environment or network is built::

    >>> from pgkit.algos.configs import PPOConfig
    >>> PPOConfig("CartPole-v1", total_steps=10_000).minibatch_size
    256

Numbers are stored as plain Python ``int`` and ``float`` (``np.float32(3e-4)`` is kept as
the float 3e-4) and ``hidden`` as a tuple, so the saved JSON holds no numpy types.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar

import numpy as np

from pgkit.validation import (
    check_flag,
    check_hidden,
    check_number,
    check_positive_int,
    check_seed,
    check_unit_interval,
)

__all__ = ["A2CConfig", "AlgoConfig", "OPTIMIZERS", "PPOConfig", "ReinforceConfig", "VPGConfig"]

# The optimisers a2c and ppo can be asked for by name.
OPTIMIZERS = ("adam", "rmsprop")


class AlgoConfig:
    r"""What the four configurations share: the checks of the common fields, and the dict.

    Parameters
    ----------
    env_id : str
        A gymnasium environment id.
    total_steps : int
        Environment steps to train for.
    seed : int
        The source of all randomness.
    lr : float
        The (policy's) learning rate, > 0.
    gamma : float in [0, 1]
        Discount :math:`\gamma`.
    hidden : sequence of int
        Hidden-layer widths of the networks.
    """

    algo: ClassVar[str]

    def __post_init__(self) -> None:
        # numpy scalars become Python numbers first, so that every check sees one kind
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, np.generic):
                self._set(field.name, value.item())
        if not isinstance(self.env_id, str):
            raise TypeError(f"env_id must be a gymnasium id string, got {type(self.env_id)}")
        self._set("total_steps", check_positive_int("total_steps", self.total_steps))
        self._set("seed", check_seed("seed", self.seed))
        self._set("gamma", check_unit_interval("gamma", self.gamma))
        check_number("lr", self.lr, low=0.0, strict=True)
        self._set("hidden", check_hidden(self.hidden))
        self._check()

    def _check(self) -> None:
        """The checks of one algorithm's own fields."""

    def _set(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)  # the dataclasses are frozen

    def to_dict(self) -> dict[str, Any]:
        """The configuration as the run stores it: ``algo``, then the fields in order.

        Returns
        -------
        dict
            JSON-ready apart from ``hidden``, a tuple.
        """
        return {"algo": self.algo, **{f.name: getattr(self, f.name) for f in fields(self)}}


def _check_count(config: AlgoConfig, *names: str) -> None:
    for name in names:
        config._set(name, check_positive_int(name, getattr(config, name)))


def _check_flags(config: AlgoConfig, *names: str) -> None:
    for name in names:
        check_flag(name, getattr(config, name))


def _check_optimizer(name: Any) -> None:
    if not isinstance(name, str):
        raise TypeError(
            f"optimizer must be the name of an optimiser, one of {OPTIMIZERS}, got "
            f"{type(name).__name__}; to step your own optimiser object, write the loop around "
            "pgkit.algos.ppo_update"
        )
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer must be 'rmsprop' or 'adam', got {name!r}")


def _check_actor_critic(config: A2CConfig | PPOConfig) -> None:
    """The fields a2c and ppo share, checked the same way."""
    _check_count(config, "num_envs", "n_steps")
    _check_flags(config, "normalize_advantages", "anneal_lr")
    _check_optimizer(config.optimizer)
    config._set("lam", check_unit_interval("lam", config.lam))
    check_number("vf_coef", config.vf_coef, low=0.0, strict=True)
    check_number("ent_coef", config.ent_coef, low=0.0)
    check_number("max_grad_norm", config.max_grad_norm, low=0.0, strict=True)


@dataclass(frozen=True)
class ReinforceConfig(AlgoConfig):
    """The configuration of :func:`pgkit.algos.reinforce`; the fields are its arguments.

    Parameters
    ----------
    env_id, total_steps, seed, episodes_per_batch, lr, gamma, reward_to_go
        As for :func:`pgkit.algos.reinforce`.
    normalize_advantages, hidden
        As for :func:`pgkit.algos.reinforce` (runs saved before this name was chosen store
        ``normalize``).
    """

    algo: ClassVar[str] = "reinforce"
    env_id: str
    total_steps: int
    seed: int = 0
    episodes_per_batch: int = 16
    lr: float = 0.01
    gamma: float = 1.0
    reward_to_go: bool = False
    normalize_advantages: bool = False
    hidden: tuple[int, ...] = (64, 64)

    def _check(self) -> None:
        _check_flags(self, "reward_to_go", "normalize_advantages")
        _check_count(self, "episodes_per_batch")


@dataclass(frozen=True)
class VPGConfig(AlgoConfig):
    """The configuration of :func:`pgkit.algos.vpg`; the fields are its arguments.

    Parameters
    ----------
    env_id, total_steps, seed, num_envs, n_steps, lr, value_lr, value_iters, gamma
        As for :func:`pgkit.algos.vpg`.
    normalize_advantages, hidden
        As for :func:`pgkit.algos.vpg`.
    """

    algo: ClassVar[str] = "vpg"
    env_id: str
    total_steps: int
    seed: int = 0
    num_envs: int = 8
    n_steps: int = 250
    lr: float = 0.01
    value_lr: float = 1e-3
    value_iters: int = 40
    gamma: float = 0.99
    normalize_advantages: bool = True
    hidden: tuple[int, ...] = (64, 64)

    def _check(self) -> None:
        _check_count(self, "num_envs")
        _check_flags(self, "normalize_advantages")
        _check_count(self, "n_steps", "value_iters")
        check_number("value_lr", self.value_lr, low=0.0, strict=True)


@dataclass(frozen=True)
class A2CConfig(AlgoConfig):
    """The configuration of :func:`pgkit.algos.a2c`; the fields are its arguments.

    Parameters
    ----------
    env_id, total_steps, seed, num_envs, n_steps, lr, optimizer, gamma, lam
        As for :func:`pgkit.algos.a2c`.
    vf_coef, ent_coef, max_grad_norm, normalize_advantages, anneal_lr, hidden
        As for :func:`pgkit.algos.a2c`.
    """

    algo: ClassVar[str] = "a2c"
    env_id: str
    total_steps: int
    seed: int = 0
    num_envs: int = 8
    n_steps: int = 5
    lr: float = 7e-4
    optimizer: str = "rmsprop"
    gamma: float = 0.99
    lam: float = 1.0
    vf_coef: float = 0.5
    ent_coef: float = 0.0
    max_grad_norm: float = 0.5
    normalize_advantages: bool = False
    anneal_lr: bool = False
    hidden: tuple[int, ...] = (64, 64)

    def _check(self) -> None:
        _check_actor_critic(self)


@dataclass(frozen=True)
class PPOConfig(AlgoConfig):
    """The configuration of :func:`pgkit.algos.ppo`; the fields are its arguments.

    Parameters
    ----------
    env_id, total_steps, seed, num_envs, n_steps, minibatch_size, epochs, lr, optimizer
        As for :func:`pgkit.algos.ppo`.
    anneal_lr, gamma, lam, clip, vf_coef, ent_coef, max_grad_norm, normalize_advantages
        As for :func:`pgkit.algos.ppo`.
    target_kl, hidden
        As for :func:`pgkit.algos.ppo`.

    Raises
    ------
    ValueError
        Also when ``minibatch_size`` does not divide ``num_envs * n_steps``.
    """

    algo: ClassVar[str] = "ppo"
    env_id: str
    total_steps: int
    seed: int = 0
    num_envs: int = 8
    n_steps: int = 32
    minibatch_size: int = 256
    epochs: int = 20
    lr: float = 1e-3
    optimizer: str = "adam"
    anneal_lr: bool = True
    gamma: float = 0.98
    lam: float = 0.8
    clip: float | None = 0.2
    vf_coef: float = 0.5
    ent_coef: float = 0.0
    max_grad_norm: float = 0.5
    normalize_advantages: bool = True
    target_kl: float | None = None
    hidden: tuple[int, ...] = (64, 64)

    @property
    def batch_size(self) -> int:
        """Steps per batch, ``num_envs * n_steps``."""
        return self.num_envs * self.n_steps

    def _check(self) -> None:
        _check_actor_critic(self)
        _check_count(self, "minibatch_size", "epochs")
        if self.clip is not None:
            check_number("clip", self.clip, low=0.0, strict=True)
        if self.target_kl is not None:
            check_number("target_kl", self.target_kl, low=0.0, strict=True)
        if self.batch_size % self.minibatch_size:
            raise ValueError(
                f"minibatch_size={self.minibatch_size} does not divide the batch of "
                f"num_envs * n_steps = {self.num_envs} * {self.n_steps} = {self.batch_size} "
                f"steps; choose a divisor of {self.batch_size}"
            )
