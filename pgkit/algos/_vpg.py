r"""Vanilla policy gradient with a learned baseline (Chapter 5): :func:`vpg`."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pgkit.algos._run import TrainResult, _Run, make_optimizer, standardized, step
from pgkit.algos.configs import VPGConfig

# The losses' unchecked kernels: the loop checks its tensors itself.
from pgkit.losses import _pg_surrogate, _value_mse
from pgkit.returns import n_step_returns

__all__ = ["vpg"]


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
    config = VPGConfig(
        env_id, total_steps, seed=seed, num_envs=num_envs, n_steps=n_steps, lr=lr,
        value_lr=value_lr, value_iters=value_iters, gamma=gamma,
        normalize_advantages=normalize_advantages, hidden=hidden,
    )  # fmt: skip
    return _train(config, progress, on_iteration)


def _train(
    config: VPGConfig, progress: bool, on_iteration: Callable[[TrainResult], None] | None
) -> TrainResult:
    with _Run(config, progress, on_iteration) as run:
        envs = run.envs(config.num_envs)
        policy, value_fn = run.policy(envs), run.value_fn(envs)
        policy_optimizer = make_optimizer("adam", policy.parameters(), config.lr)
        value_optimizer = make_optimizer("adam", value_fn.parameters(), config.value_lr)
        while run.steps < config.total_steps:
            batch = run.collect(envs, policy, config.n_steps, value_fn)
            returns = n_step_returns(
                batch.rewards, batch.next_values, batch.terminated, batch.truncated,
                config.gamma, config.n_steps,
            )  # fmt: skip
            advantages = returns - batch.values
            if config.normalize_advantages:
                advantages = standardized(advantages)
            dist = policy(batch.obs)
            loss = _pg_surrogate(dist.log_prob(batch.actions), advantages)
            run.check_finite(policy_loss=loss)
            grad_norm = step(policy_optimizer, loss, policy.parameters(), max_grad_norm=None)
            for _ in range(config.value_iters):
                v_loss = _value_mse(value_fn(batch.obs), returns)
                run.check_finite(value_loss=v_loss)
                step(value_optimizer, v_loss, value_fn.parameters(), max_grad_norm=None)
            run.record(
                batch, policy_loss=loss, value_loss=v_loss, entropy=dist.entropy(),
                grad_norm=grad_norm,
            )  # fmt: skip
            run.end_iteration(policy, value_fn)
    return run.result(policy, value_fn)
