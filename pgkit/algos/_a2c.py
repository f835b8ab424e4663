r"""Advantage actor-critic (Chapter 7): :func:`a2c`, re-exported by :mod:`pgkit.algos`."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pgkit.algos._run import TrainResult, _Run, gae_and_returns, make_optimizer, step
from pgkit.algos.configs import A2CConfig

# The losses' unchecked kernels: the loop checks its tensors itself.
from pgkit.losses import _pg_surrogate, _value_mse

__all__ = ["a2c"]


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
    clipped at 0.5). ``optimizer="adam"`` switches to Adam (eps 1e-5, as :func:`ppo` uses it).

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
        The name of the optimiser of both networks, as for :func:`ppo`.
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
    config = A2CConfig(
        env_id, total_steps, seed=seed, num_envs=num_envs, n_steps=n_steps, lr=lr,
        optimizer=optimizer, gamma=gamma, lam=lam, vf_coef=vf_coef, ent_coef=ent_coef,
        max_grad_norm=max_grad_norm, normalize_advantages=normalize_advantages,
        anneal_lr=anneal_lr, hidden=hidden,
    )  # fmt: skip
    return _train(config, progress, on_iteration)


def _train(
    config: A2CConfig, progress: bool, on_iteration: Callable[[TrainResult], None] | None
) -> TrainResult:
    with _Run(config, progress, on_iteration) as run:
        envs = run.envs(config.num_envs)
        policy, value_fn = run.policy(envs), run.value_fn(envs)
        params = [*policy.parameters(), *value_fn.parameters()]
        optimizer = make_optimizer(config.optimizer, params, config.lr)
        while run.steps < config.total_steps:
            if config.anneal_lr:
                optimizer.param_groups[0]["lr"] = config.lr * (1.0 - run.steps / config.total_steps)
            batch = run.collect(envs, policy, config.n_steps, value_fn)
            advantages, returns = gae_and_returns(
                batch, config.gamma, config.lam, config.normalize_advantages
            )
            dist = policy(batch.obs)
            pi_loss = _pg_surrogate(dist.log_prob(batch.actions), advantages)
            v_loss = _value_mse(value_fn(batch.obs), returns)
            entropy = dist.entropy().mean()
            run.check_finite(policy_loss=pi_loss, value_loss=v_loss)
            loss = pi_loss + config.vf_coef * v_loss - config.ent_coef * entropy
            grad_norm = step(optimizer, loss, params, config.max_grad_norm)
            run.record(
                batch, policy_loss=pi_loss, value_loss=v_loss, entropy=entropy,
                grad_norm=grad_norm,
            )  # fmt: skip
            run.end_iteration(policy, value_fn)
    return run.result(policy, value_fn)
