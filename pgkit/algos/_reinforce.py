r"""REINFORCE (Chapter 3): :func:`reinforce`, re-exported by :mod:`pgkit.algos`."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pgkit.algos._run import TrainResult, _Run, make_optimizer, standardized, step
from pgkit.algos.configs import ReinforceConfig

# The losses' unchecked kernels: the loop checks its tensors itself and reports a non-finite
# loss as TrainingDivergedError.
from pgkit.losses import _pg_surrogate
from pgkit.returns import discounted_returns, trajectory_returns
from pgkit.rollout import collect_episodes, reset_envs
from pgkit.validation import check_flag

__all__ = ["reinforce"]


def reinforce(
    env_id: str,
    *,
    total_steps: int,
    seed: int = 0,
    episodes_per_batch: int = 16,
    lr: float = 0.01,
    gamma: float = 1.0,
    reward_to_go: bool = False,
    normalize_advantages: bool = False,
    hidden: Sequence[int] = (64, 64),
    progress: bool = True,
    on_iteration: Callable[[TrainResult], None] | None = None,
    normalize: bool | None = None,
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
    their transitions. No baseline: that is Chapter 5. ``normalize_advantages=True`` standardises
    the weights per batch (a baseline in disguise; off by default to keep REINFORCE plain).

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
    normalize_advantages : bool
        Standardise the weights per batch, as the other three algorithms' flag of the same
        name does.
    hidden : sequence of int
        Hidden-layer widths of the policy network.
    progress : bool
        Show a progress bar.
    on_iteration : callable or None
        Called after every update with the run so far, a :class:`TrainResult` whose
        ``config["steps_done"]`` counts the steps (marked ``interrupted``, as it is not
        finished); e.g. to save a checkpoint of a long run. Not part of the config.
    normalize : bool or None
        The old name of ``normalize_advantages``, kept for one release; give one of the two.

    Returns
    -------
    TrainResult

    Raises
    ------
    TrainingDivergedError
        When a loss, reward or parameter becomes NaN or infinite.
    TrainingInterrupted
        On Ctrl-C; its ``.result`` holds the partial run.
    TypeError
        When both ``normalize`` and ``normalize_advantages=True`` are given.
    """
    if normalize is not None:
        if normalize_advantages is not False:
            raise TypeError(
                "reinforce got normalize_advantages and its old name normalize; pass "
                "normalize_advantages only"
            )
        normalize_advantages = check_flag("normalize", normalize)
    config = ReinforceConfig(
        env_id, total_steps, seed=seed, episodes_per_batch=episodes_per_batch, lr=lr,
        gamma=gamma, reward_to_go=reward_to_go, normalize_advantages=normalize_advantages,
        hidden=hidden,
    )  # fmt: skip
    return _train(config, progress, on_iteration)


def _train(
    config: ReinforceConfig, progress: bool, on_iteration: Callable[[TrainResult], None] | None
) -> TrainResult:
    with _Run(config, progress, on_iteration) as run:
        envs = run.envs(num_envs=config.episodes_per_batch)
        policy = run.policy(envs)
        optimizer = make_optimizer("adam", policy.parameters(), config.lr)
        while run.steps < config.total_steps:
            reset_envs(envs, run.next_env_seed())
            batch = collect_episodes(envs, policy, config.episodes_per_batch)
            run.check_rewards(batch)
            dones = batch.terminated | batch.truncated
            returns = discounted_returns if config.reward_to_go else trajectory_returns
            weights = returns(batch.rewards, dones, config.gamma)
            if config.normalize_advantages:
                weights = standardized(weights)
            dist = policy(batch.obs)
            loss = _pg_surrogate(dist.log_prob(batch.actions), weights)
            run.check_finite(policy_loss=loss)
            grad_norm = step(optimizer, loss, policy.parameters(), max_grad_norm=None)
            run.record(batch, policy_loss=loss, entropy=dist.entropy(), grad_norm=grad_norm)
            run.end_iteration(policy)
    return run.result(policy, None)
