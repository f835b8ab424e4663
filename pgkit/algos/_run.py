"""What the four algorithms share: the result type, the errors, and one run's bookkeeping."""

from __future__ import annotations

import math
import sys
import time
import warnings
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from tqdm import TqdmWarning

from pgkit.algos.configs import AlgoConfig
from pgkit.policies import ValueFunction, make_policy, observation_dim, unchecked_distributions
from pgkit.returns import gae, normalize_advantages
from pgkit.validation import check_callable, check_flag

with warnings.catch_warnings():
    # In a notebook without ipywidgets, tqdm.auto warns and falls back to a text bar. The text
    # bar is what the book wants: a widget bar stored in a notebook needs JavaScript from the
    # network to render, and the book must work offline.
    warnings.simplefilter("ignore", TqdmWarning)
    from tqdm.auto import tqdm

HISTORY_KEYS = (
    "steps",
    "time",
    "episode_return",
    "policy_loss",
    "value_loss",
    "entropy",
    "approx_kl",
    "grad_norm",
)


@dataclass
class TrainResult:
    r"""What a training run returns, and what :func:`pgkit.checkpoints.load_run` loads.

    Parameters
    ----------
    policy : torch.nn.Module
        The trained policy (``forward(obs) -> Distribution``).
    value_fn : torch.nn.Module or None
        The trained :class:`~pgkit.policies.ValueFunction`, or None (REINFORCE).
    history : dict of str to numpy.ndarray
        One entry per iteration (arrays of equal length), keys ``HISTORY_KEYS``: ``steps``
        environment steps so far, ``time`` seconds since the start, ``episode_return`` mean
        return of the episodes that ended during the iteration, ``policy_loss``,
        ``value_loss``, ``entropy`` (mean policy entropy), ``approx_kl`` (PPO only: the sample
        estimate of :math:`\mathrm{KL}(\pi_\text{old} \,\|\, \pi_\text{new})` on the last
        minibatch, measured just before that minibatch's gradient step, so 0 when each batch
        gets a single step) and ``grad_norm`` (before clipping); NaN where a quantity does not
        apply or no episode ended. A run loaded with ``history=False`` has an empty dict.
    config : dict
        The run's configuration, :meth:`pgkit.algos.configs.AlgoConfig.to_dict`: ``algo``
        and every field (``env_id``, ``total_steps``, ``seed`` and the hyperparameters); an
        unfinished run adds ``interrupted`` True and ``steps_done``.
    """

    policy: torch.nn.Module
    value_fn: torch.nn.Module | None
    history: dict[str, np.ndarray]
    config: dict[str, Any]


class TrainingDivergedError(FloatingPointError):
    """A loss, reward or parameter became NaN or infinite during training."""


class TrainingInterrupted(KeyboardInterrupt):
    """Training was stopped (Ctrl-C, the notebook's stop button); ``.result`` keeps the run.

    It is a ``KeyboardInterrupt``, so a loop over seeds or a script still stops. In a notebook
    the partial run survives the interrupted cell::

        import sys
        result = sys.last_value.result

    Parameters
    ----------
    result : TrainResult
        The policy and value function as they were when training stopped, the history of
        every finished iteration, and ``config["interrupted"]`` True with
        ``config["steps_done"]``; kept as ``.result``.
    message : str
        The exception's message.
    """

    def __init__(self, result: TrainResult, message: str) -> None:
        super().__init__(message)
        self.result = result


def check_finite(**tensors: torch.Tensor) -> None:
    """Raise :class:`TrainingDivergedError` naming the first tensor that is not all finite."""
    for name, value in tensors.items():
        if not torch.isfinite(value).all():
            shown = value.item() if value.numel() == 1 else "non-finite"
            raise TrainingDivergedError(f"{name.replace('_', ' ')} became {shown}")


def _seam(name: str) -> Any:
    # collect and make_vec_env are looked up on pgkit.algos when called, where the tests of
    # interrupted training replace them to stop a run at a chosen batch.
    return getattr(sys.modules["pgkit.algos"], name)


class _Run:
    """One training run's bookkeeping: seeding, envs and networks, progress bar, history.

    Used as a context manager so that the thread count and torch's RNG state are restored
    and the progress bar and envs are closed even when training stops with an error.
    """

    def __init__(
        self,
        config: AlgoConfig,
        progress: bool,
        on_iteration: Callable[[TrainResult], None] | None = None,
    ) -> None:
        check_flag("progress", progress)
        if on_iteration is not None:
            check_callable("on_iteration", on_iteration)
        self.on_iteration = on_iteration
        self.config = config
        self.progress = progress
        self.steps = 0
        self.iteration = 0
        self.rows: dict[str, list[float]] = {key: [] for key in HISTORY_KEYS}
        self.recent_returns: deque[float] = deque(maxlen=20)
        self._envs = []
        # The networks being trained, kept so that an interrupted run can still return them.
        self._modules: list[torch.nn.Module | None] = []

    def __enter__(self) -> _Run:
        self._threads = torch.get_num_threads()
        torch.set_num_threads(1)
        # argument checks in torch.distributions cost more than the tiny networks themselves
        self._unchecked = unchecked_distributions()
        self._unchecked.__enter__()
        self._rng_state = torch.random.get_rng_state()
        torch.manual_seed(self.config.seed)
        self.rng = np.random.default_rng(self.config.seed)
        self.bar = tqdm(
            total=self.config.total_steps, unit="step", desc=self.config.algo,
            disable=not self.progress, dynamic_ncols=True,
        )  # fmt: skip
        self.start = time.perf_counter()
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        self.bar.close()
        for envs in self._envs:
            envs.close()
        torch.random.set_rng_state(self._rng_state)
        self._unchecked.__exit__(None, None, None)
        torch.set_num_threads(self._threads)
        stopped = exc_type is not None and issubclass(exc_type, KeyboardInterrupt)
        if stopped and not isinstance(exc, TrainingInterrupted) and self._modules:
            partial = self.result(*self._modules, interrupted=True)
            raise TrainingInterrupted(
                partial,
                f"{self.config.algo} interrupted after {self.steps} of "
                f"{self.config.total_steps} environment steps ({self.iteration} iterations); "
                "the partial run is this exception's .result (in a notebook: "
                "`import sys; result = sys.last_value.result`)",
            ) from None

    def envs(self, num_envs: int):
        envs = _seam("make_vec_env")(self.config.env_id, num_envs=num_envs, seed=self.config.seed)
        self._envs.append(envs)
        return envs

    def collect(self, envs, policy: torch.nn.Module, steps: int, value_fn=None):
        """One batch of ``steps`` steps from every env, its rewards checked."""
        batch = _seam("collect")(envs, policy, steps, value_fn)
        self.check_rewards(batch)
        return batch

    def next_env_seed(self) -> int:
        return int(self.rng.integers(2**31 - 1))

    def policy(self, envs) -> torch.nn.Module:
        spaces = envs.single_observation_space, envs.single_action_space
        policy = make_policy(*spaces, self.config.hidden)
        self._modules = [policy, None]
        return policy

    def value_fn(self, envs) -> ValueFunction:
        value_fn = ValueFunction(observation_dim(envs.single_observation_space), self.config.hidden)
        self._modules[1] = value_fn
        return value_fn

    def check_rewards(self, batch) -> None:
        if not torch.isfinite(batch.rewards).all():
            raise TrainingDivergedError(
                f"the environment returned a non-finite reward at iteration {self.iteration}; "
                "check the environment (or its wrappers): training cannot use NaN/inf rewards"
            )

    def diverged(self, error: TrainingDivergedError) -> TrainingDivergedError:
        """``error`` with the iteration and the learning rate added to its message."""
        return TrainingDivergedError(
            f"{error} at iteration {self.iteration}; lower lr (now {self.config.lr}) or check "
            "the rewards' scale"
        )

    def check_finite(self, **losses: torch.Tensor) -> None:
        try:
            check_finite(**losses)
        except TrainingDivergedError as error:
            raise self.diverged(error) from None

    def end_iteration(self, policy: torch.nn.Module, value_fn=None) -> None:
        """After :meth:`record`: check the networks, then hand the run so far to the hook."""
        self.check_parameters(*(m for m in (policy, value_fn) if m is not None))
        if self.on_iteration is not None:
            self.on_iteration(self.result(policy, value_fn, interrupted=True))

    def check_parameters(self, *modules: torch.nn.Module) -> None:
        """Called after :meth:`record`, so the update that broke them was iteration - 1."""
        for module in modules:
            for name, p in module.named_parameters():
                if not torch.isfinite(p).all():
                    raise TrainingDivergedError(
                        f"{type(module).__name__} parameter {name!r} became non-finite at "
                        f"iteration {self.iteration - 1}; lower lr (now {self.config.lr})"
                    )

    def record(self, batch, **stats: torch.Tensor | float) -> None:
        new_steps = int(batch.rewards.numel())
        self.steps += new_steps
        returns = batch.episode_returns
        self.recent_returns.extend(returns.tolist())
        row = {key: math.nan for key in HISTORY_KEYS}
        row["steps"] = self.steps
        row["time"] = time.perf_counter() - self.start
        row["episode_return"] = float(returns.mean()) if len(returns) else math.nan
        for key, value in stats.items():
            row[key] = (
                float(value.detach().mean()) if isinstance(value, torch.Tensor) else float(value)
            )
        for key, value in row.items():
            self.rows[key].append(value)
        self.iteration += 1
        self.bar.update(new_steps)
        if self.recent_returns:
            recent = sum(self.recent_returns) / len(self.recent_returns)
            self.bar.set_postfix(mean_return=f"{recent:.1f}", refresh=False)

    def result(
        self, policy: torch.nn.Module, value_fn: torch.nn.Module | None, interrupted: bool = False
    ) -> TrainResult:
        # An interruption inside record() can leave one iteration half appended: drop it.
        length = min(len(values) for values in self.rows.values())
        history = {
            key: np.asarray(values[:length], dtype=np.float64) for key, values in self.rows.items()
        }
        history["steps"] = history["steps"].astype(np.int64)
        config = self.config.to_dict()
        if interrupted:
            config = {**config, "interrupted": True, "steps_done": self.steps}
        return TrainResult(policy=policy, value_fn=value_fn, history=history, config=config)


def make_optimizer(name: str, params, lr: float) -> torch.optim.Optimizer:
    """The optimiser ``name`` ("adam" or "rmsprop") of ``params``, as a2c and ppo use them."""
    if name == "adam":
        # eps 1e-5 as in the PPO/A2C reference implementations; fused=True runs the whole
        # update in one kernel, which matters for networks this small (see TOOLCHAIN notes).
        return torch.optim.Adam(params, lr=lr, eps=1e-5, fused=True)
    return torch.optim.RMSprop(params, lr=lr, alpha=0.99, eps=1e-5)


def step(optimizer, loss: torch.Tensor, params, max_grad_norm: float | None) -> torch.Tensor:
    """Backward pass and one optimiser step; returns the gradient norm before clipping."""
    params = list(params)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    limit = math.inf if max_grad_norm is None else max_grad_norm
    grad_norm = torch.nn.utils.clip_grad_norm_(params, limit)
    optimizer.step()
    return grad_norm


def standardized(weights: torch.Tensor) -> torch.Tensor:
    """:func:`pgkit.returns.normalize_advantages`, leaving a single sample as it is."""
    # A single sample has no spread to standardise by.
    return normalize_advantages(weights) if weights.numel() > 1 else weights


def gae_and_returns(
    batch, gamma: float, lam: float, normalize: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""GAE advantages and the lambda-returns they imply, then (optionally) standardised.

    The returns, the value function's targets, are :math:`\hat A_t + V(s_t)` computed before
    the advantages are standardised (the lambda-returns of :mod:`pgkit.returns`).
    """
    advantages = gae(
        batch.rewards, batch.values, batch.next_values,
        batch.terminated, batch.truncated, gamma, lam,
    )  # fmt: skip
    returns = advantages + batch.values
    if normalize:
        advantages = standardized(advantages)
    return advantages, returns
