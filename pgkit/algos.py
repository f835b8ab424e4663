r"""Four policy-gradient algorithms, each one short function: collect -> weights -> loss -> step.

- :func:`reinforce` (Chapter 3): whole episodes, every log-probability weighted by :math:`R(\tau)`.
- :func:`vpg` (Chapter 5): reward-to-go minus a learned value baseline.
- :func:`a2c` (Chapter 7): short n-step rollouts from parallel envs, GAE advantages.
- :func:`ppo` (Chapter 9): the clipped surrogate, several epochs of minibatches per batch;
  ``clip=None`` gives Chapter 8's unclipped importance-weighted surrogate.

Every function has the signature ``fn(env_id, *, total_steps, seed=0, progress=True,
**hyperparameters) -> TrainResult``; the hyperparameters are explicit keyword arguments with
the defaults named in each docstring, so a misspelt one is a ``TypeError`` naming it.

Shared plumbing lives in the private ``_Run``: seeding, the progress bar, the history
and the NaN guard. Training runs with ``torch.set_num_threads(1)``: the networks are tiny,
so a second thread only adds synchronisation cost and makes timings erratic when anything
else runs on the machine (measured in the book's TOOLCHAIN notes); the previous thread
count and torch's global random state are restored afterwards.

Stopping: Ctrl-C (or a notebook's stop button) raises :class:`TrainingInterrupted`, a
``KeyboardInterrupt`` whose ``.result`` is the partial :class:`TrainResult`, so the
iterations already trained are not lost; ``python -m pgkit train`` saves that partial run.

Reproducibility: all randomness comes from ``seed``: torch's RNG (action sampling,
minibatch shuffling, initial weights), the environments' reset seed, and a numpy generator
that draws the reset seeds of later batches. Same seed, same machine -> identical history
(except ``"time"``).
"""

from __future__ import annotations

import math
import time
import warnings
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from tqdm import TqdmWarning

# The losses' unchecked kernels: every training loop checks its tensors once per batch and
# reports a non-finite loss as TrainingDivergedError, where the public losses would raise
# ValueError for a finite input that overflows.
from pgkit.estimators import _ratio_weighted_loss
from pgkit.losses import (
    _clipped_surrogate,
    _kl_estimate,
    _pg_surrogate,
    _value_mse,
)
from pgkit.policies import ValueFunction, make_policy, observation_dim, unchecked_distributions
from pgkit.returns import (
    discounted_returns,
    gae,
    n_step_returns,
    normalize_advantages,
    trajectory_returns,
)
from pgkit.rollout import collect, collect_episodes, make_vec_env, reset_envs
from pgkit.validation import (
    check_callable,
    check_flag,
    check_hidden,
    check_number,
    check_positive_int,
    check_seed,
    check_unit_interval,
)

with warnings.catch_warnings():
    # In a notebook without ipywidgets, tqdm.auto warns and falls back to a text bar. The text
    # bar is what the book wants: a widget bar stored in a notebook needs JavaScript from the
    # network to render, and the book must work offline.
    warnings.simplefilter("ignore", TqdmWarning)
    from tqdm.auto import tqdm

__all__ = [
    "HISTORY_KEYS",
    "TrainResult",
    "TrainingDivergedError",
    "TrainingInterrupted",
    "a2c",
    "ppo",
    "reinforce",
    "vpg",
]

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
    r"""What a training run returns.

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
        apply or no episode ended.
    config : dict
        Every hyperparameter, plus ``algo``, ``env_id``, ``total_steps`` and ``seed``.
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


# ---------------------------------------------------------------------------------------------
# The algorithms
# ---------------------------------------------------------------------------------------------


def reinforce(
    env_id: str,
    *,
    total_steps: int,
    seed: int = 0,
    episodes_per_batch: int = 16,
    lr: float = 0.01,
    gamma: float = 1.0,
    reward_to_go: bool = False,
    normalize: bool = False,
    hidden: Sequence[int] = (64, 64),
    progress: bool = True,
    on_iteration: Callable[[TrainResult], None] | None = None,
) -> TrainResult:
    r"""REINFORCE: one gradient step per batch of whole episodes (Williams, 1992; Chapter 3).

    .. math::

        \begin{aligned}
        \hat g &= \frac{1}{|D|} \sum_{\tau \in D} \sum_t \nabla_\theta \log\pi_\theta(a_t \mid s_t)
        \, \Psi_t, \\ \Psi_t &= R(\tau) \text{ (default) or } G_t \text{ (reward\_to\_go)}.
        \end{aligned}

    The loss averages over steps rather than episodes; the two differ by the factor
    :math:`|D| / (\text{number of steps})`, the inverse of the batch's mean episode length,
    which changes from batch to batch; Adam's per-parameter scaling mostly absorbs it
    (Chapter 3 shows both forms give the same direction). ``episodes_per_batch`` episodes run
    in parallel, one per sub-environment, each starting from a fresh reset; ``steps`` counts
    their transitions. No baseline: that is Chapter 5. ``normalize=True`` standardises the
    weights per batch (a baseline in disguise; off by default to keep REINFORCE plain).

    Defaults: 16 episodes per batch, Adam with ``lr`` 0.01, :math:`\gamma = 1` (the
    undiscounted episodic return of Chapter 1).

    Parameters
    ----------
    env_id : str
        A gymnasium environment id, e.g. ``"CartPole-v1"``.
    total_steps : int
        Environment steps to train for; the batch that reaches it is the last.
    seed : int
        The source of all randomness (see :mod:`pgkit.algos`).
    episodes_per_batch : int
        Episodes per gradient step, run in parallel.
    lr : float
        Adam's learning rate.
    gamma : float in [0, 1]
        Discount :math:`\gamma`.
    reward_to_go : bool
        Weight by :math:`G_t` instead of :math:`R(\tau)`.
    normalize : bool
        Standardise the weights per batch.
    hidden : sequence of int
        Hidden-layer widths of the policy network.
    progress : bool
        Show a progress bar.
    on_iteration : callable or None
        Called after every update with the run so far, a :class:`TrainResult` whose
        ``config["steps_done"]`` counts the steps (marked ``interrupted``, as it is not
        finished); e.g. to save a checkpoint of a long run. Not part of the config.

    Returns
    -------
    TrainResult

    Raises
    ------
    TrainingDivergedError
        When a loss, reward or parameter becomes NaN or infinite.
    TrainingInterrupted
        On Ctrl-C; its ``.result`` holds the partial run.
    """
    config = _config("reinforce", locals())
    check_flag("reward_to_go", reward_to_go)
    check_flag("normalize", normalize)
    episodes_per_batch = check_positive_int("episodes_per_batch", episodes_per_batch)
    with _Run(config, progress, on_iteration) as run:
        envs = run.envs(num_envs=episodes_per_batch)
        policy = run.policy(envs)
        optimizer = _adam(policy.parameters(), lr)
        while run.steps < total_steps:
            reset_envs(envs, run.next_env_seed())
            batch = collect_episodes(envs, policy, episodes_per_batch)
            run.check_rewards(batch)
            dones = batch.terminated | batch.truncated
            if reward_to_go:
                weights = discounted_returns(batch.rewards, dones, gamma)
            else:
                weights = trajectory_returns(batch.rewards, dones, gamma)
            if normalize:
                weights = normalize_advantages(weights)
            dist = policy(batch.obs)
            loss = _pg_surrogate(dist.log_prob(batch.actions), weights)
            run.check_finite(policy_loss=loss)
            grad_norm = _step(optimizer, loss, policy.parameters(), max_grad_norm=None)
            run.record(batch, policy_loss=loss, entropy=dist.entropy(), grad_norm=grad_norm)
            run.end_iteration(policy)
    return run.result(policy, None)


def vpg(
    env_id: str,
    *,
    total_steps: int,
    seed: int = 0,
    num_envs: int = 8,
    n_steps: int = 250,
    lr: float = 0.01,
    value_lr: float = 1e-3,
    value_iters: int = 40,
    gamma: float = 0.99,
    normalize_advantages: bool = True,
    hidden: Sequence[int] = (64, 64),
    progress: bool = True,
    on_iteration: Callable[[TrainResult], None] | None = None,
) -> TrainResult:
    r"""Vanilla policy gradient with a learned baseline (Chapter 5).

    .. math::

        \hat A_t = \hat G_t - V_\phi(s_t), \qquad
        \hat g = \frac{1}{TN}\sum_{t,i} \nabla_\theta \log\pi_\theta(a_t \mid s_t)\,\hat A_t,

    where :math:`\hat G_t` is the discounted reward-to-go, bootstrapped with
    :math:`V_\phi(s_{t+1})` only where an episode is cut off (time limit or batch end),
    never at termination. One policy step per batch, then ``value_iters`` full-batch Adam
    steps on :math:`(V_\phi(s_t) - \hat G_t)^2` with their own optimiser, as in Spinning Up.

    Defaults: 8 envs :math:`\times` 250 steps = 2000 steps per batch, policy ``lr`` 0.01,
    ``value_lr`` 1e-3 (Spinning Up), 40 value steps, :math:`\gamma = 0.99`, advantages
    standardised per batch.

    Parameters
    ----------
    env_id : str
        A gymnasium environment id, e.g. ``"CartPole-v1"``.
    total_steps : int
        Environment steps to train for; the batch that reaches it is the last.
    seed : int
        The source of all randomness (see :mod:`pgkit.algos`).
    num_envs, n_steps : int
        Parallel environments, and steps each collects per batch.
    lr : float
        The policy's Adam learning rate.
    value_lr : float
        The value function's Adam learning rate.
    value_iters : int
        Value steps per batch.
    gamma : float in [0, 1]
        Discount :math:`\gamma`.
    normalize_advantages : bool
        Standardise the advantages per batch.
    hidden : sequence of int
        Hidden-layer widths of the networks.
    progress : bool
        Show a progress bar.
    on_iteration : callable or None
        Called after every update with the run so far, a :class:`TrainResult` whose
        ``config["steps_done"]`` counts the steps (marked ``interrupted``, as it is not
        finished); e.g. to save a checkpoint of a long run. Not part of the config.

    Returns
    -------
    TrainResult

    Raises
    ------
    TrainingDivergedError
        When a loss, reward or parameter becomes NaN or infinite.
    TrainingInterrupted
        On Ctrl-C; its ``.result`` holds the partial run.
    """
    config = _config("vpg", locals())
    check_flag("normalize_advantages", normalize_advantages)
    n_steps = check_positive_int("n_steps", n_steps)
    value_iters = check_positive_int("value_iters", value_iters)
    check_number("value_lr", value_lr, low=0.0, strict=True)
    with _Run(config, progress, on_iteration) as run:
        envs = run.envs(num_envs)
        policy, value_fn = run.policy(envs), run.value_fn(envs)
        policy_optimizer = _adam(policy.parameters(), lr)
        value_optimizer = _adam(value_fn.parameters(), value_lr)
        while run.steps < total_steps:
            batch = collect(envs, policy, n_steps, value_fn)
            run.check_rewards(batch)
            returns = n_step_returns(
                batch.rewards, batch.next_values, batch.terminated, batch.truncated, gamma, n_steps
            )
            advantages = returns - batch.values
            if normalize_advantages:
                advantages = _normalize(advantages)
            dist = policy(batch.obs)
            loss = _pg_surrogate(dist.log_prob(batch.actions), advantages)
            run.check_finite(policy_loss=loss)
            grad_norm = _step(policy_optimizer, loss, policy.parameters(), max_grad_norm=None)
            for _ in range(value_iters):
                v_loss = _value_mse(value_fn(batch.obs), returns)
                run.check_finite(value_loss=v_loss)
                _step(value_optimizer, v_loss, value_fn.parameters(), max_grad_norm=None)
            run.record(
                batch, policy_loss=loss, value_loss=v_loss, entropy=dist.entropy(),
                grad_norm=grad_norm,
            )  # fmt: skip
            run.end_iteration(policy, value_fn)
    return run.result(policy, value_fn)


def a2c(
    env_id: str,
    *,
    total_steps: int,
    seed: int = 0,
    num_envs: int = 8,
    n_steps: int = 5,
    lr: float = 7e-4,
    optimizer: str = "rmsprop",
    gamma: float = 0.99,
    lam: float = 1.0,
    vf_coef: float = 0.5,
    ent_coef: float = 0.0,
    max_grad_norm: float = 0.5,
    normalize_advantages: bool = False,
    anneal_lr: bool = False,
    hidden: Sequence[int] = (64, 64),
    progress: bool = True,
    on_iteration: Callable[[TrainResult], None] | None = None,
) -> TrainResult:
    r"""Advantage actor-critic, the synchronous A3C (Mnih et al., 2016; Chapter 7).

    One gradient step per ``num_envs * n_steps`` batch on

    .. math::

        \begin{aligned}
        L = &-\frac{1}{TN}\sum \log\pi_\theta(a_t \mid s_t)\,\hat A^{GAE}_t \\
            &+ c_V \frac{1}{TN}\sum \big(V_\phi(s_t) - \hat G^\lambda_t\big)^2
            - c_H \frac{1}{TN}\sum \mathcal H[\pi_\theta(\cdot \mid s_t)],
        \end{aligned}

    with :math:`\hat G^\lambda_t = \hat A_t + V_\phi(s_t)`; ``lam = 1`` gives n-step returns
    bootstrapped at the end of each rollout.

    Defaults: Stable-Baselines3's A2C (8 envs, 5 steps, RMSprop ``lr`` 7e-4, alpha 0.99, eps
    1e-5, :math:`\gamma = 0.99`, ``lam`` 1, ``vf_coef`` 0.5, ``ent_coef`` 0, gradient norm
    clipped at 0.5). ``optimizer="adam"`` switches to Adam.

    Parameters
    ----------
    env_id : str
        A gymnasium environment id, e.g. ``"CartPole-v1"``.
    total_steps : int
        Environment steps to train for; the batch that reaches it is the last.
    seed : int
        The source of all randomness (see :mod:`pgkit.algos`).
    num_envs, n_steps : int
        Parallel environments, and steps each collects per batch.
    lr : float
        Learning rate.
    optimizer : {"rmsprop", "adam"}
        The optimiser of both networks.
    gamma, lam : float in [0, 1]
        Discount :math:`\gamma` and GAE parameter :math:`\lambda`.
    vf_coef, ent_coef : float
        :math:`c_V > 0` and :math:`c_H \ge 0`.
    max_grad_norm : float
        Clip the gradient norm at this.
    normalize_advantages : bool
        Standardise the advantages per batch.
    anneal_lr : bool
        Anneal the learning rate linearly to 0.
    hidden : sequence of int
        Hidden-layer widths of the networks.
    progress : bool
        Show a progress bar.
    on_iteration : callable or None
        Called after every update with the run so far, a :class:`TrainResult` whose
        ``config["steps_done"]`` counts the steps (marked ``interrupted``, as it is not
        finished); e.g. to save a checkpoint of a long run. Not part of the config.

    Returns
    -------
    TrainResult

    Raises
    ------
    TrainingDivergedError
        When a loss, reward or parameter becomes NaN or infinite.
    TrainingInterrupted
        On Ctrl-C; its ``.result`` holds the partial run.
    """
    config = _config("a2c", locals())
    check_flag("normalize_advantages", normalize_advantages)
    check_flag("anneal_lr", anneal_lr)
    n_steps = check_positive_int("n_steps", n_steps)
    lam = check_unit_interval("lam", lam)
    check_number("vf_coef", vf_coef, low=0.0, strict=True)
    check_number("ent_coef", ent_coef, low=0.0)
    check_number("max_grad_norm", max_grad_norm, low=0.0, strict=True)
    if optimizer not in ("rmsprop", "adam"):
        raise ValueError(f"optimizer must be 'rmsprop' or 'adam', got {optimizer!r}")
    with _Run(config, progress, on_iteration) as run:
        envs = run.envs(num_envs)
        policy, value_fn = run.policy(envs), run.value_fn(envs)
        params = [*policy.parameters(), *value_fn.parameters()]
        if optimizer == "adam":
            opt = _adam(params, lr)
        else:
            opt = torch.optim.RMSprop(params, lr=lr, alpha=0.99, eps=1e-5)
        while run.steps < total_steps:
            if anneal_lr:
                opt.param_groups[0]["lr"] = lr * (1.0 - run.steps / total_steps)
            batch = collect(envs, policy, n_steps, value_fn)
            run.check_rewards(batch)
            advantages = gae(
                batch.rewards, batch.values, batch.next_values,
                batch.terminated, batch.truncated, gamma, lam,
            )  # fmt: skip
            returns = advantages + batch.values  # the lambda-returns of pgkit.returns
            if normalize_advantages:
                advantages = _normalize(advantages)
            dist = policy(batch.obs)
            pi_loss = _pg_surrogate(dist.log_prob(batch.actions), advantages)
            v_loss = _value_mse(value_fn(batch.obs), returns)
            entropy = dist.entropy().mean()
            run.check_finite(policy_loss=pi_loss, value_loss=v_loss)
            loss = pi_loss + vf_coef * v_loss - ent_coef * entropy
            grad_norm = _step(opt, loss, params, max_grad_norm)
            run.record(
                batch, policy_loss=pi_loss, value_loss=v_loss, entropy=entropy,
                grad_norm=grad_norm,
            )  # fmt: skip
            run.end_iteration(policy, value_fn)
    return run.result(policy, value_fn)


def ppo(
    env_id: str,
    *,
    total_steps: int,
    seed: int = 0,
    num_envs: int = 8,
    n_steps: int = 32,
    minibatch_size: int = 256,
    epochs: int = 20,
    lr: float = 1e-3,
    anneal_lr: bool = True,
    gamma: float = 0.98,
    lam: float = 0.8,
    clip: float | None = 0.2,
    vf_coef: float = 0.5,
    ent_coef: float = 0.0,
    max_grad_norm: float = 0.5,
    normalize_advantages: bool = True,
    target_kl: float | None = None,
    hidden: Sequence[int] = (64, 64),
    progress: bool = True,
    on_iteration: Callable[[TrainResult], None] | None = None,
) -> TrainResult:
    r"""Proximal policy optimisation with the clipped objective (Schulman et al., 2017; Chapter 9).

    Each batch of ``num_envs * n_steps`` steps is reused for ``epochs`` passes of shuffled
    minibatches, minimising

    .. math::

        L = -L^{CLIP}(\theta) + c_V\,\overline{(V_\phi(s_t) - \hat G^\lambda_t)^2}
            - c_H\,\overline{\mathcal H[\pi_\theta(\cdot \mid s_t)]},

    with GAE advantages (standardised over the batch, once), the gradient norm clipped, the
    learning rate annealed linearly to 0 (``anneal_lr``), and the epochs stopped early once
    the approximate KL measured on the last minibatch of an epoch exceeds ``target_kl``
    (None: never); the check runs once per epoch, after its last minibatch step.

    ``clip=None`` replaces :math:`L^{CLIP}` by the unclipped importance-weighted surrogate
    of Chapter 8, :math:`\frac{1}{B}\sum_t \rho_t(\theta)\,\hat A_t` with
    :math:`\rho_t = \pi_\theta(a_t \mid s_t) / \pi_{\theta_\text{old}}(a_t \mid s_t)`
    (:func:`pgkit.estimators.importance_weighted_loss`): nothing then limits how far the
    epochs move the policy except ``target_kl``. So ``clip=None, target_kl=None`` reuses
    each batch ``epochs`` times without any constraint, and ``clip=None, target_kl=0.01``
    does the same with early stopping on the approximate KL.

    Defaults: the rl-baselines3-zoo settings for CartPole-v1 (8 envs, 32 steps, minibatch
    256, 20 epochs, ``lr`` 1e-3 annealed, :math:`\gamma = 0.98`, :math:`\lambda = 0.8`,
    ``clip`` 0.2, ``ent_coef`` 0) with Stable-Baselines3's ``vf_coef`` 0.5 and
    ``max_grad_norm`` 0.5; the zoo also anneals the clip range from 0.2 to 0, while here it
    stays constant.

    Parameters
    ----------
    env_id : str
        A gymnasium environment id, e.g. ``"CartPole-v1"``.
    total_steps : int
        Environment steps to train for; the batch that reaches it is the last.
    seed : int
        The source of all randomness (see :mod:`pgkit.algos`).
    num_envs, n_steps : int
        Parallel environments, and steps each collects per batch.
    minibatch_size : int
        Must divide ``num_envs * n_steps``.
    epochs : int
        Passes over each batch.
    lr : float
        Adam's learning rate.
    anneal_lr : bool
        Anneal the learning rate linearly to 0.
    gamma, lam : float in [0, 1]
        Discount :math:`\gamma` and GAE parameter :math:`\lambda`.
    clip : float or None
        :math:`\epsilon > 0` of :math:`L^{CLIP}`; None for the unclipped surrogate.
    vf_coef, ent_coef : float
        :math:`c_V > 0` and :math:`c_H \ge 0`.
    max_grad_norm : float
        Clip the gradient norm at this.
    normalize_advantages : bool
        Standardise the advantages over the batch.
    target_kl : float or None
        Stop an iteration's epochs once the approximate KL exceeds it.
    hidden : sequence of int
        Hidden-layer widths of the networks.
    progress : bool
        Show a progress bar.
    on_iteration : callable or None
        Called after every update with the run so far, a :class:`TrainResult` whose
        ``config["steps_done"]`` counts the steps (marked ``interrupted``, as it is not
        finished); e.g. to save a checkpoint of a long run. Not part of the config.

    Returns
    -------
    TrainResult

    Raises
    ------
    TrainingDivergedError
        When a loss, reward or parameter becomes NaN or infinite.
    TrainingInterrupted
        On Ctrl-C; its ``.result`` holds the partial run.
    """
    config = _config("ppo", locals())
    check_flag("anneal_lr", anneal_lr)
    check_flag("normalize_advantages", normalize_advantages)
    n_steps = check_positive_int("n_steps", n_steps)
    minibatch_size = check_positive_int("minibatch_size", minibatch_size)
    epochs = check_positive_int("epochs", epochs)
    lam = check_unit_interval("lam", lam)
    for name in ("vf_coef", "max_grad_norm"):
        check_number(name, config[name], low=0.0, strict=True)
    if clip is not None:
        check_number("clip", clip, low=0.0, strict=True)
    check_number("ent_coef", ent_coef, low=0.0)
    if target_kl is not None:
        check_number("target_kl", target_kl, low=0.0, strict=True)
    batch_size = num_envs * n_steps
    if batch_size % minibatch_size:
        raise ValueError(
            f"minibatch_size={minibatch_size} does not divide the batch of num_envs * n_steps = "
            f"{num_envs} * {n_steps} = {batch_size} steps; choose a divisor of {batch_size}"
        )
    with _Run(config, progress, on_iteration) as run:
        envs = run.envs(num_envs)
        policy, value_fn = run.policy(envs), run.value_fn(envs)
        params = [*policy.parameters(), *value_fn.parameters()]
        optimizer = _adam(params, lr)
        iterations = math.ceil(total_steps / batch_size)
        for iteration in range(iterations):
            if anneal_lr:
                optimizer.param_groups[0]["lr"] = lr * (1.0 - iteration / iterations)
            batch = collect(envs, policy, n_steps, value_fn)
            run.check_rewards(batch)
            advantages = gae(
                batch.rewards, batch.values, batch.next_values,
                batch.terminated, batch.truncated, gamma, lam,
            )  # fmt: skip
            returns = advantages + batch.values  # the lambda-returns of pgkit.returns
            if normalize_advantages:
                advantages = _normalize(advantages)
            obs, actions, old_log_probs, advantages, returns = (
                x.flatten(0, 1)
                for x in (batch.obs, batch.actions, batch.log_probs, advantages, returns)
            )
            for _ in range(epochs):
                for index in torch.randperm(batch_size).split(minibatch_size):
                    dist = policy(obs[index])
                    log_probs = dist.log_prob(actions[index])
                    values = value_fn(obs[index])
                    # the losses refuse NaN inputs with a ValueError; a diverged network is
                    # the training's failure, reported as such
                    run.check_finite(log_probs=log_probs.detach(), values=values.detach())
                    if clip is None:
                        pi_loss = _ratio_weighted_loss(
                            log_probs, old_log_probs[index], advantages[index]
                        )
                    else:
                        pi_loss = _clipped_surrogate(
                            log_probs, old_log_probs[index], advantages[index], float(clip)
                        )
                    v_loss = _value_mse(values, returns[index])
                    entropy = dist.entropy().mean()
                    run.check_finite(policy_loss=pi_loss, value_loss=v_loss)
                    loss = pi_loss + vf_coef * v_loss - ent_coef * entropy
                    grad_norm = _step(optimizer, loss, params, max_grad_norm)
                    kl = _kl_estimate(log_probs, old_log_probs[index])
                if target_kl is not None and kl > target_kl:
                    break
            run.record(
                batch, policy_loss=pi_loss, value_loss=v_loss, entropy=entropy,
                approx_kl=kl, grad_norm=grad_norm,
            )  # fmt: skip
            run.end_iteration(policy, value_fn)
    return run.result(policy, value_fn)


# ---------------------------------------------------------------------------------------------
# Shared plumbing
# ---------------------------------------------------------------------------------------------


class _Run:
    """One training run's bookkeeping: seeding, envs and networks, progress bar, history.

    Used as a context manager so that the thread count and torch's RNG state are restored
    and the progress bar and envs are closed even when training stops with an error.
    """

    def __init__(
        self,
        config: dict[str, Any],
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
        torch.manual_seed(self.config["seed"])
        self.rng = np.random.default_rng(self.config["seed"])
        self.bar = tqdm(
            total=self.config["total_steps"], unit="step", desc=self.config["algo"],
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
                f"{self.config['algo']} interrupted after {self.steps} of "
                f"{self.config['total_steps']} environment steps ({self.iteration} iterations); "
                "the partial run is this exception's .result (in a notebook: "
                "`import sys; result = sys.last_value.result`)",
            ) from None

    def envs(self, num_envs: int):
        num_envs = check_positive_int("num_envs", num_envs)
        envs = make_vec_env(self.config["env_id"], num_envs=num_envs, seed=self.config["seed"])
        self._envs.append(envs)
        return envs

    def next_env_seed(self) -> int:
        return int(self.rng.integers(2**31 - 1))

    def policy(self, envs) -> torch.nn.Module:
        hidden = self.config["hidden"]
        policy = make_policy(envs.single_observation_space, envs.single_action_space, hidden)
        self._modules = [policy, None]
        return policy

    def value_fn(self, envs) -> ValueFunction:
        value_fn = ValueFunction(
            observation_dim(envs.single_observation_space), self.config["hidden"]
        )
        self._modules[1] = value_fn
        return value_fn

    def check_rewards(self, batch) -> None:
        if not torch.isfinite(batch.rewards).all():
            raise TrainingDivergedError(
                f"the environment returned a non-finite reward at iteration {self.iteration}; "
                "check the environment (or its wrappers): training cannot use NaN/inf rewards"
            )

    def check_finite(self, **losses: torch.Tensor) -> None:
        for name, value in losses.items():
            if not torch.isfinite(value).all():
                shown = value.item() if value.numel() == 1 else "non-finite"
                raise TrainingDivergedError(
                    f"{name.replace('_', ' ')} became {shown} at iteration "
                    f"{self.iteration}; lower lr (now {self.config['lr']}) or check the "
                    "rewards' scale"
                )

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
                        f"iteration {self.iteration - 1}; lower lr (now {self.config['lr']})"
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
        config = self.config
        if interrupted:
            config = {**config, "interrupted": True, "steps_done": self.steps}
        return TrainResult(policy=policy, value_fn=value_fn, history=history, config=config)


def _config(algo: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """Validate the arguments every algorithm shares; return the run's config dict."""
    # numpy scalars (np.float32(3e-4)) are stored as Python numbers: config.json holds them
    config = {
        "algo": algo,
        **{k: v.item() if isinstance(v, np.generic) else v for k, v in arguments.items()},
    }
    config.pop("progress")
    config.pop("on_iteration")
    if not isinstance(config["env_id"], str):
        raise TypeError(f"env_id must be a gymnasium id string, got {type(config['env_id'])}")
    config["total_steps"] = check_positive_int("total_steps", config["total_steps"])
    config["seed"] = check_seed("seed", config["seed"])
    config["gamma"] = check_unit_interval("gamma", config["gamma"])
    check_number("lr", config["lr"], low=0.0, strict=True)
    config["hidden"] = check_hidden(config["hidden"])
    if "num_envs" in config:
        config["num_envs"] = check_positive_int("num_envs", config["num_envs"])
    return config


def _adam(params, lr: float) -> torch.optim.Adam:
    # eps 1e-5 as in the PPO/A2C reference implementations; fused=True runs the whole update
    # in one kernel, which matters for networks this small (see TOOLCHAIN notes).
    return torch.optim.Adam(params, lr=lr, eps=1e-5, fused=True)


def _step(optimizer, loss: torch.Tensor, params, max_grad_norm: float | None) -> torch.Tensor:
    """Backward pass and one optimiser step; returns the gradient norm before clipping."""
    params = list(params)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    limit = math.inf if max_grad_norm is None else max_grad_norm
    grad_norm = torch.nn.utils.clip_grad_norm_(params, limit)
    optimizer.step()
    return grad_norm


def _normalize(advantages: torch.Tensor) -> torch.Tensor:
    # A single sample has no spread to standardise by; leave it as it is.
    return normalize_advantages(advantages) if advantages.numel() > 1 else advantages
