r"""Proximal policy optimisation (Chapter 9): :func:`ppo` and its update, :func:`ppo_update`."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from pgkit.algos._run import (
    TrainingDivergedError,
    TrainResult,
    _Run,
    check_finite,
    gae_and_returns,
    make_optimizer,
    step,
)
from pgkit.algos.configs import PPOConfig

# The losses' unchecked kernels: ppo_update checks its tensors once per call and reports a
# non-finite loss as TrainingDivergedError, where the public losses would raise ValueError for
# a finite input that overflows.
from pgkit.importance import _ratio_weighted_loss
from pgkit.losses import _clipped_surrogate, _kl_estimate, _value_mse
from pgkit.validation import check_float_tensor, check_number, check_positive_int

__all__ = ["PPOUpdateStats", "ppo", "ppo_update"]


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
    optimizer: str = "adam",
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
    minibatches (:func:`ppo_update`), minimising

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
    (:func:`pgkit.importance.importance_weighted_loss`): nothing then limits how far the
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
        The learning rate.
    optimizer : {"adam", "rmsprop"}
        The name of the optimiser of both networks: Adam (eps 1e-5) by default, or
        RMSprop as :func:`a2c` uses it. To step an optimiser object of your own, write
        the loop around :func:`ppo_update`.
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
    config = PPOConfig(
        env_id, total_steps, seed=seed, num_envs=num_envs, n_steps=n_steps,
        minibatch_size=minibatch_size, epochs=epochs, lr=lr, optimizer=optimizer,
        anneal_lr=anneal_lr, gamma=gamma, lam=lam, clip=clip, vf_coef=vf_coef,
        ent_coef=ent_coef, max_grad_norm=max_grad_norm,
        normalize_advantages=normalize_advantages, target_kl=target_kl, hidden=hidden,
    )  # fmt: skip
    return _train(config, progress, on_iteration)


def _train(
    config: PPOConfig, progress: bool, on_iteration: Callable[[TrainResult], None] | None
) -> TrainResult:
    with _Run(config, progress, on_iteration) as run:
        envs = run.envs(config.num_envs)
        policy, value_fn = run.policy(envs), run.value_fn(envs)
        params = [*policy.parameters(), *value_fn.parameters()]
        optimizer = make_optimizer(config.optimizer, params, config.lr)
        iterations = math.ceil(config.total_steps / config.batch_size)
        for iteration in range(iterations):
            if config.anneal_lr:
                optimizer.param_groups[0]["lr"] = config.lr * (1.0 - iteration / iterations)
            batch = run.collect(envs, policy, config.n_steps, value_fn)
            advantages, returns = gae_and_returns(
                batch, config.gamma, config.lam, config.normalize_advantages
            )
            obs, actions, old_log_probs, advantages, returns = (
                x.flatten(0, 1)
                for x in (batch.obs, batch.actions, batch.log_probs, advantages, returns)
            )
            try:
                stats = ppo_update(
                    policy, optimizer, obs, actions, old_log_probs, advantages,
                    value_fn=value_fn, returns=returns, epochs=config.epochs,
                    minibatch_size=config.minibatch_size, clip=config.clip,
                    vf_coef=config.vf_coef, ent_coef=config.ent_coef,
                    max_grad_norm=config.max_grad_norm, target_kl=config.target_kl,
                )  # fmt: skip
            except TrainingDivergedError as error:
                raise run.diverged(error) from None
            run.record(
                batch, policy_loss=stats.policy_loss, value_loss=stats.value_loss,
                entropy=stats.entropy, approx_kl=stats.approx_kl[-1],
                grad_norm=stats.grad_norm,
            )  # fmt: skip
            run.end_iteration(policy, value_fn)
    return run.result(policy, value_fn)


@dataclass(frozen=True)
class PPOUpdateStats:
    r"""What one :func:`ppo_update` measured.

    Parameters
    ----------
    approx_kl : torch.Tensor, shape (epochs run,)
        Per epoch, the sample estimate of
        :math:`\mathrm{KL}(\pi_\text{old} \,\|\, \pi_\theta)` on the epoch's last minibatch,
        measured just before that minibatch's gradient step.
    clip_fraction : torch.Tensor, shape (epochs run,)
        Per epoch, the fraction of that minibatch with :math:`|\rho - 1| > \epsilon`,
        measured at the same point; NaN with ``clip=None``.
    policy_loss, value_loss, entropy, grad_norm : torch.Tensor
        The last minibatch's policy loss, value loss (None without a value function), mean
        entropy and gradient norm before clipping; detached, 0-dimensional.
    """

    approx_kl: torch.Tensor
    clip_fraction: torch.Tensor
    policy_loss: torch.Tensor
    value_loss: torch.Tensor | None
    entropy: torch.Tensor
    grad_norm: torch.Tensor

    @property
    def epochs(self) -> int:
        """How many epochs ran (fewer than asked when ``target_kl`` stopped them)."""
        return len(self.approx_kl)


def ppo_update(
    policy: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    obs: torch.Tensor,
    actions: torch.Tensor,
    old_log_probs: torch.Tensor,
    advantages: torch.Tensor,
    *,
    value_fn: torch.nn.Module | None = None,
    returns: torch.Tensor | None = None,
    epochs: int = 1,
    minibatch_size: int | None = None,
    clip: float | None = 0.2,
    vf_coef: float = 0.5,
    ent_coef: float = 0.0,
    max_grad_norm: float | None = None,
    target_kl: float | None = None,
) -> PPOUpdateStats:
    r"""PPO's update of one batch: ``epochs`` passes of shuffled minibatch steps (Chapter 9).

    Each minibatch :math:`B` takes one ``optimizer`` step on

    .. math::

        L = -L^{CLIP}(\theta) + c_V\,\overline{(V_\phi(s_t) - \hat G^\lambda_t)^2}
            - c_H\,\overline{\mathcal H[\pi_\theta(\cdot \mid s_t)]},

    with the value term only where ``value_fn`` is given; ``clip=None`` uses the unclipped
    importance-weighted surrogate :math:`\frac{1}{|B|}\sum_t \rho_t(\theta)\,\hat A_t`
    of Chapter 8 instead of :math:`L^{CLIP}`. The epochs stop early once an epoch's
    approximate KL (its last minibatch's) exceeds ``target_kl``. :func:`ppo` calls this for
    every batch it collects; a chapter's own outer loop can call it the same way.

    Parameters
    ----------
    policy : torch.nn.Module
        ``forward(obs) -> Distribution``; updated in place.
    optimizer : torch.optim.Optimizer
        The optimiser of the policy's (and the value function's) parameters.
    obs, actions : torch.Tensor, shape (B, ...)
        The batch, flattened over time and environments.
    old_log_probs, advantages : torch.Tensor, shape (B,)
        :math:`\log\pi_{\theta_\text{old}}(a_t \mid s_t)` and :math:`\hat A_t`.
    value_fn : torch.nn.Module or None
        The value function to fit to ``returns``, or None to update the policy alone.
    returns : torch.Tensor, shape (B,), or None
        The value targets :math:`\hat G^\lambda_t`; given exactly when ``value_fn`` is.
    epochs : int
        Passes over the batch.
    minibatch_size : int or None
        Samples per step; None for the whole batch. The last minibatch of an epoch is
        smaller when it does not divide ``B``.
    clip : float or None
        :math:`\epsilon > 0`, or None for the unclipped surrogate.
    vf_coef, ent_coef : float
        :math:`c_V > 0` and :math:`c_H \ge 0`.
    max_grad_norm : float or None
        Clip the gradient norm of all parameters at this; None: never.
    target_kl : float or None
        Stop the epochs once the approximate KL exceeds it; None: never.

    Returns
    -------
    PPOUpdateStats

    Raises
    ------
    TrainingDivergedError
        When a log-probability, value or loss becomes NaN or infinite.
    TypeError, ValueError
        Naming the argument, for inputs of the wrong kind, shape or range.
    """
    old_log_probs, advantages, returns = _check_update(
        policy, optimizer, obs, actions, old_log_probs, advantages, value_fn, returns
    )
    epochs = check_positive_int("epochs", epochs)
    size = len(old_log_probs) if minibatch_size is None else minibatch_size
    size = check_positive_int("minibatch_size", size)
    if clip is not None:
        clip = check_number("clip", clip, low=0.0, strict=True)
    check_number("vf_coef", vf_coef, low=0.0, strict=True)
    check_number("ent_coef", ent_coef, low=0.0)
    if max_grad_norm is not None:
        check_number("max_grad_norm", max_grad_norm, low=0.0, strict=True)
    if target_kl is not None:
        check_number("target_kl", target_kl, low=0.0, strict=True)
    params = [*policy.parameters(), *(value_fn.parameters() if value_fn is not None else ())]
    kls, fractions = [], []
    v_loss = None
    for _ in range(epochs):
        for index in torch.randperm(len(old_log_probs)).split(size):
            dist = policy(obs[index])
            log_probs = dist.log_prob(actions[index])
            old, adv = old_log_probs[index], advantages[index]
            if value_fn is not None:
                values = value_fn(obs[index])
                # the losses refuse NaN inputs with a ValueError; a diverged network is the
                # training's failure, reported as such
                check_finite(log_probs=log_probs.detach(), values=values.detach())
            else:
                check_finite(log_probs=log_probs.detach())
            if clip is None:
                pi_loss = _ratio_weighted_loss(log_probs, old, adv)
            else:
                pi_loss = _clipped_surrogate(log_probs, old, adv, clip)
            entropy = dist.entropy().mean()
            if value_fn is not None:
                v_loss = _value_mse(values, returns[index])
                check_finite(policy_loss=pi_loss, value_loss=v_loss)
                loss = pi_loss + vf_coef * v_loss - ent_coef * entropy
            else:
                check_finite(policy_loss=pi_loss)
                loss = pi_loss - ent_coef * entropy
            grad_norm = step(optimizer, loss, params, max_grad_norm)
            kl = _kl_estimate(log_probs, old)
        kls.append(kl.detach())
        fractions.append(_clip_fraction(log_probs.detach(), old, clip))
        if target_kl is not None and kl > target_kl:
            break
    return PPOUpdateStats(
        approx_kl=torch.stack(kls), clip_fraction=torch.stack(fractions),
        policy_loss=pi_loss.detach(), value_loss=None if v_loss is None else v_loss.detach(),
        entropy=entropy.detach(), grad_norm=grad_norm,
    )  # fmt: skip


def _clip_fraction(log_probs: torch.Tensor, old_log_probs: torch.Tensor, clip) -> torch.Tensor:
    if clip is None:
        return torch.tensor(math.nan)
    ratio = torch.exp(log_probs - old_log_probs)
    return ((ratio - 1.0).abs() > clip).float().mean()


def _check_update(policy, optimizer, obs, actions, old_log_probs, advantages, value_fn, returns):
    """ppo_update's checks of its networks and tensors; returns the three float tensors."""
    for name, module in (("policy", policy), ("value_fn", value_fn)):
        if module is not None and not isinstance(module, torch.nn.Module):
            raise TypeError(f"{name} must be a torch.nn.Module, got {type(module).__name__}")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(
            f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}"
        )
    if (value_fn is None) != (returns is None):
        raise ValueError("value_fn and returns go together: give both or neither")
    floats = [check_float_tensor("old_log_probs", old_log_probs)]
    floats.append(check_float_tensor("advantages", advantages))
    floats.append(None if returns is None else check_float_tensor("returns", returns))
    if old_log_probs.ndim != 1 or len(old_log_probs) == 0:
        raise ValueError(
            "old_log_probs must be 1-D and not empty, shape (B,), got shape "
            f"{tuple(old_log_probs.shape)}; "
            "flatten the batch over time and environments first, e.g. x.flatten(0, 1)"
        )
    batch = {"obs": obs, "actions": actions, "advantages": advantages, "returns": returns}
    for name, x in batch.items():
        if x is None:
            continue
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
        wrong = x.shape[:1] != old_log_probs.shape or (
            name in ("advantages", "returns") and x.ndim != 1
        )
        if wrong:
            raise ValueError(
                f"{name} has shape {tuple(x.shape)}, which does not fit the "
                f"{len(old_log_probs)} samples of old_log_probs"
            )
    return floats
