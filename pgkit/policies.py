r"""Policies and value functions: small MLPs whose ``forward`` returns a distribution.

A policy :math:`\pi_\theta(a \mid s)` is a ``torch.nn.Module`` whose ``forward(obs)`` returns a
``torch.distributions.Distribution`` over actions for a batch of observations
``obs`` of shape ``(B, obs_dim)`` (any leading shape works, e.g. ``(T, N, obs_dim)``).
Algorithms only ever call ``sample``, ``log_prob``, ``entropy`` and ``mode`` on it.

- :class:`CategoricalPolicy` (Chapter 3):
  :math:`\pi_\theta(a \mid s) = \operatorname{softmax}(f_\theta(s))_a`.
- :class:`GaussianPolicy` (Chapter 4):
  :math:`a \sim \mathcal N(\mu_\theta(s), \operatorname{diag}(\sigma^2))` with a learned,
  state-independent :math:`\log\sigma`; ``log_prob`` sums over action dimensions, shape ``(B,)``.
- :class:`ValueFunction` (Chapter 5): :math:`V_\phi(s)`, shape ``(B,)``.

Weights use orthogonal initialisation as in the PPO implementation literature:
gain :math:`\sqrt 2` for hidden layers, 0.01 for the policy head (near-uniform / near-zero-mean
initial policy) and 1.0 for the value head; biases start at zero.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence

import gymnasium as gym
import numpy as np
import torch
from torch import nn
from torch.distributions import Categorical, Independent, Normal

from pgkit.validation import (
    check_hidden,
    check_not_flags,
    check_number,
    check_positive_int,
    is_torch,
    to_numpy,
)

__all__ = [
    "CategoricalPolicy",
    "GaussianPolicy",
    "ValueFunction",
    "make_policy",
    "mlp",
    "observation_dim",
    "unchecked_distributions",
]


def mlp(
    in_dim: int,
    out_dim: int,
    hidden: Sequence[int] = (64, 64),
    activation: type[nn.Module] = nn.Tanh,
    output_gain: float = 1.0,
) -> nn.Sequential:
    r"""Multilayer perceptron ``in_dim -> hidden... -> out_dim``, orthogonally initialised.

    Hidden layers get gain :math:`\sqrt 2` and the output layer ``output_gain``; biases are zero.

    Parameters
    ----------
    in_dim, out_dim : int >= 1
        Input ``(..., in_dim)``, output ``(..., out_dim)``.
    hidden : sequence of int
        Widths of the hidden layers.
    activation : type of torch.nn.Module
        Activation after each hidden layer (default ``nn.Tanh``).
    output_gain : float
        Orthogonal-initialisation gain of the output layer.

    Returns
    -------
    torch.nn.Sequential
    """
    in_dim = check_positive_int("in_dim", in_dim)
    out_dim = check_positive_int("out_dim", out_dim)
    hidden = check_hidden(hidden)
    if not (isinstance(activation, type) and issubclass(activation, nn.Module)):
        raise TypeError(
            f"activation must be a torch.nn.Module class such as nn.Tanh, got {activation!r}; "
            "pass the class itself (nn.ReLU, not nn.ReLU())"
        )
    output_gain = check_number("output_gain", output_gain, low=0.0)
    layers: list[nn.Module] = []
    sizes = (in_dim, *hidden)
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [_linear(fan_in, fan_out, math.sqrt(2.0)), activation()]
    layers.append(_linear(sizes[-1], out_dim, output_gain))
    return nn.Sequential(*layers)


class CategoricalPolicy(nn.Module):
    r"""Softmax policy over ``n_actions`` actions (Chapter 3).

    :math:`\pi_\theta(a \mid s) = \operatorname{softmax}(\text{logits}_\theta(s))_a`.
    ``forward(obs)`` with ``obs`` of shape ``(..., obs_dim)`` returns a ``Categorical``
    with batch shape ``obs.shape[:-1]``; samples are long tensors of that shape and
    ``mode`` is the argmax action.

    Parameters
    ----------
    obs_dim, n_actions : int >= 1
        Observation size and number of actions.
    hidden, activation
        The logits network's hidden widths and activation, as in :func:`mlp`.
    """

    def __init__(
        self,
        obs_dim: int,
        n_actions: int,
        hidden: Sequence[int] = (64, 64),
        activation: type[nn.Module] = nn.Tanh,
    ) -> None:
        super().__init__()
        self.obs_dim = check_positive_int("obs_dim", obs_dim)
        self.n_actions = check_positive_int("n_actions", n_actions)
        self.logits_net = mlp(obs_dim, n_actions, hidden, activation, output_gain=0.01)

    def forward(self, obs: torch.Tensor | np.ndarray) -> Categorical:
        obs = _as_obs(obs, self.obs_dim, like=self.logits_net[0].weight)
        return Categorical(logits=self.logits_net(obs))


class GaussianPolicy(nn.Module):
    r"""Diagonal Gaussian policy, log-prob summed over action dims (Chapter 4).

    :math:`a \sim \mathcal N(\mu_\theta(s), \operatorname{diag}(\sigma)^2)` with
    :math:`\sigma` = ``exp(log_std)``, so

    .. math::

        \log \pi_\theta(a \mid s) = \sum_j \Big[-\frac{(a_j - \mu_j)^2}{2\sigma_j^2}
        - \log\sigma_j - \frac{\log 2\pi}{2}\Big].

    ``forward(obs)`` with ``obs`` of shape ``(..., obs_dim)`` returns
    ``Independent(Normal(mu, sigma), 1)``: samples have shape ``(..., act_dim)`` and
    ``log_prob``/``entropy`` have shape ``(...)``. The mean depends on the state, the
    log standard deviation ``log_std`` (shape ``(act_dim,)``) does not. ``mode`` is ``mu``.
    Samples are unbounded; :func:`pgkit.rollout.collect` clips them only when sending
    them to an environment with a bounded action space.

    Parameters
    ----------
    obs_dim, act_dim : int >= 1
        Observation and action sizes.
    hidden, activation
        The mean network's hidden widths and activation, as in :func:`mlp`.
    log_std_init : float in [-20, 20]
        Initial value of every entry of ``log_std`` (default 0, so :math:`\sigma = 1`).
    """

    def __init__(
        self,
        obs_dim: int,
        act_dim: int,
        hidden: Sequence[int] = (64, 64),
        log_std_init: float = 0.0,
        activation: type[nn.Module] = nn.Tanh,
    ) -> None:
        super().__init__()
        self.obs_dim = check_positive_int("obs_dim", obs_dim)
        self.act_dim = check_positive_int("act_dim", act_dim)
        # sigma = e^20 (or e^-20) is already far outside any useful exploration noise
        log_std_init = check_number(
            "log_std_init", log_std_init, low=-20.0, high=20.0, hint="0 gives sigma = 1"
        )
        self.mean_net = mlp(obs_dim, act_dim, hidden, activation, output_gain=0.01)
        self.log_std = nn.Parameter(torch.full((act_dim,), log_std_init))

    def forward(self, obs: torch.Tensor | np.ndarray) -> Independent:
        obs = _as_obs(obs, self.obs_dim, like=self.log_std)
        mu = self.mean_net(obs)
        sigma = self.log_std.exp().expand_as(mu)
        return Independent(Normal(mu, sigma), 1)


class ValueFunction(nn.Module):
    r"""State-value estimate :math:`V_\phi(s)` (Chapter 5).

    ``forward(obs)`` maps ``obs`` ``(..., obs_dim)`` to values ``(...)``.

    Parameters
    ----------
    obs_dim : int >= 1
        Observation size.
    hidden, activation
        The network's hidden widths and activation, as in :func:`mlp`.
    """

    def __init__(
        self,
        obs_dim: int,
        hidden: Sequence[int] = (64, 64),
        activation: type[nn.Module] = nn.Tanh,
    ) -> None:
        super().__init__()
        self.obs_dim = check_positive_int("obs_dim", obs_dim)
        self.value_net = mlp(obs_dim, 1, hidden, activation, output_gain=1.0)

    def forward(self, obs: torch.Tensor | np.ndarray) -> torch.Tensor:
        obs = _as_obs(obs, self.obs_dim, like=self.value_net[0].weight)
        return self.value_net(obs).squeeze(-1)


def make_policy(
    observation_space: gym.Space,
    action_space: gym.Space,
    hidden: Sequence[int] = (64, 64),
    **kwargs,
) -> CategoricalPolicy | GaussianPolicy:
    """The policy that fits a gymnasium environment's single-env spaces.

    ``Discrete(n)`` actions -> :class:`CategoricalPolicy`; 1-D ``Box`` actions ->
    :class:`GaussianPolicy`. Observations must be a 1-D ``Box``. Extra keyword arguments
    (``activation``, ``log_std_init``) go to the policy's constructor. For a vector env
    pass ``envs.single_observation_space`` and ``envs.single_action_space``.

    Parameters
    ----------
    observation_space : gymnasium.spaces.Box, 1-D
        Single-env observation space.
    action_space : gymnasium.spaces.Discrete or 1-D gymnasium.spaces.Box
        Single-env action space.
    hidden : sequence of int
        Hidden widths, as in :func:`mlp`.
    **kwargs
        Passed to the policy's constructor.

    Raises
    ------
    ValueError
        For any other space.
    """
    obs_dim = observation_dim(observation_space)
    if isinstance(action_space, gym.spaces.Discrete):
        return CategoricalPolicy(obs_dim, int(action_space.n), hidden, **kwargs)
    if isinstance(action_space, gym.spaces.Box) and len(action_space.shape) == 1:
        return GaussianPolicy(obs_dim, action_space.shape[0], hidden, **kwargs)
    raise ValueError(
        f"action_space {action_space} is not supported: make_policy handles Discrete(n) "
        "(categorical policy) and 1-D Box (Gaussian policy) action spaces"
    )


def observation_dim(observation_space: gym.Space) -> int:
    """``obs_dim`` of a 1-D ``Box`` observation space.

    Parameters
    ----------
    observation_space : gymnasium.Space
        The space.

    Raises
    ------
    ValueError
        For anything but a 1-D ``Box``.
    """
    if isinstance(observation_space, gym.spaces.Box) and len(observation_space.shape) == 1:
        return int(observation_space.shape[0])
    raise ValueError(
        f"observation_space {observation_space} is not supported: pgkit's policies take "
        "1-D Box observations of shape (obs_dim,); flatten or one-hot encode other spaces "
        "with a gymnasium observation wrapper first"
    )


def _validation_is_on() -> bool:
    """Whether torch.distributions checks arguments by default now, asked through its public
    behaviour (torch has a setter for the default but no getter)."""
    try:
        torch.distributions.Bernoulli(probs=torch.tensor(2.0))
    except ValueError:
        return True
    return False


@contextlib.contextmanager
def unchecked_distributions() -> Iterator[None]:
    """Turn off torch.distributions' argument checks inside the ``with`` block, then restore.

    The checks (finite parameters, samples in the support) cost more than the small
    networks of this book; pgkit's rollouts and training loops check their tensors
    themselves. This is the one place in pgkit that changes the setting.

    Examples
    --------
    >>> with unchecked_distributions():
    ...     dist = policy(obs)  # doctest: +SKIP
    """
    previous = _validation_is_on()
    torch.distributions.Distribution.set_default_validate_args(False)
    try:
        yield
    finally:
        torch.distributions.Distribution.set_default_validate_args(previous)


def _linear(fan_in: int, fan_out: int, gain: float) -> nn.Linear:
    layer = nn.Linear(fan_in, fan_out)
    nn.init.orthogonal_(layer.weight, gain=gain)
    nn.init.zeros_(layer.bias)
    return layer


def _as_obs(obs: torch.Tensor | np.ndarray, obs_dim: int, like: torch.Tensor) -> torch.Tensor:
    """``obs`` as a tensor with the dtype and device of the parameter ``like``."""
    if is_torch(obs):
        if obs.is_complex() or obs.dtype == torch.bool:
            raise TypeError(f"obs must hold real numbers, got dtype {obs.dtype}")
    else:
        obs = to_numpy(obs, "obs")
        check_not_flags("obs", obs)
    obs = torch.as_tensor(obs, dtype=like.dtype, device=like.device)
    if obs.ndim == 0 or obs.shape[-1] != obs_dim:
        raise ValueError(
            f"obs must have shape (..., {obs_dim}) (last dimension = obs_dim), got shape "
            f"{tuple(obs.shape)}; for a single observation pass obs[None] or keep its "
            "feature dimension"
        )
    return obs
