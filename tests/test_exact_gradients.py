r"""Every policy-gradient estimator in pgkit against the exact gradient of a tabular MDP.

Episodes are drawn from :mod:`pgkit.tabular`'s oracle MDPs at a fixed policy; each estimator's
weights :math:`\Psi_t` come from pgkit's own functions, and the per-episode estimate
:math:`\hat g_i = \sum_t c_t \Psi_t \nabla_\theta \log \pi_\theta(a_t \mid s_t)` (with
:math:`c_t = \gamma^t` or 1) uses the closed-form scores. The statistic is the z-score of the
sample mean of every coordinate,

.. math::

    z_k = \frac{\bar g_k - g_k}{s_k / \sqrt{N}},

with :math:`g` the exact target and :math:`s_k` the sample standard deviation over the N
episodes. An unbiased estimator must give :math:`\max_k |z_k| < 4.5`: with at most 10 coordinates
and a normal sample mean (N = 3000 episodes), a false alarm has probability about
:math:`10 \times 6.8 \times 10^{-6} < 10^{-4}`. Each estimator known to be biased for the target is
checked to exceed the same bound, so the test can fail. Seeds are fixed; the margins are in the
assertion messages.

Estimators built on a loss (``surrogate_loss``, ``policy_gradient_loss``, the importance-weighted
loss and the PPO clip loss at :math:`\theta = \theta_\text{old}`, ``score_function_gradient``,
``variance.episode_gradients``) are checked to give exactly the closed-form batch estimate whose
bias the statistical tests judge.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from pgkit import estimators, importance, losses, objective, returns, tabular, variance

Z_BOUND = 4.5
EPISODES = 3000
MAX_LENGTH = 400  # gamma^400 < 1e-18: truncation changes nothing measurable

MDPS = {
    # a terminal goal state; reward -1 per step
    "chain": lambda: tabular.chain_mdp(n_states=4, gamma=0.9, slip=0.1),
    # a termination probability; rewards that differ by action
    "two-state": lambda: tabular.two_state_mdp(gamma=0.9, termination=0.1),
}


@dataclasses.dataclass(frozen=True)
class Setup:
    mdp: tabular.TabularMDP
    theta: np.ndarray
    episodes: tabular.Episodes
    scores: np.ndarray  # (T, N, S, A), zero on padding
    discount: np.ndarray  # (T, 1): gamma^t
    dones: np.ndarray
    values: np.ndarray  # exact V(s_t), (T, N)
    next_values: np.ndarray  # exact V(s_{t+1}), (T, N)

    def estimates(self, weights: np.ndarray, discounted: bool = True) -> np.ndarray:
        """Per-episode estimates g_i, shape (N, S * A)."""
        c = self.discount if discounted else 1.0
        g = np.einsum("tn,tnsa->nsa", c * weights * self.episodes.mask, self.scores)
        return g.reshape(len(g), -1)

    @property
    def exact(self) -> np.ndarray:
        return tabular.gradient(self.mdp, self.theta).ravel()

    @property
    def undiscounted_weighting(self) -> np.ndarray:
        r"""What the estimators without gamma^t estimate: g^gamma of Chapter 5,
        sum_s eta(s) pi(a|s) A(s, a) with eta the expected (undiscounted) number of visits."""
        eta = tabular.visitation(dataclasses.replace(self.mdp, gamma=1.0), self.theta)
        pi = tabular.policy(self.mdp, self.theta)
        a = tabular.q_values(self.mdp, self.theta) - tabular.values(self.mdp, self.theta)[:, None]
        return (eta[:, None] * pi * a).ravel()


@pytest.fixture(scope="module", params=list(MDPS), ids=list(MDPS))
def setup(request) -> Setup:
    mdp = MDPS[request.param]()
    theta = np.random.default_rng(1).normal(scale=0.5, size=(mdp.n_states, mdp.n_actions))
    ep = tabular.sample_episodes(mdp, theta, EPISODES, MAX_LENGTH, seed=2)
    v = tabular.values(mdp, theta)
    return Setup(
        mdp=mdp,
        theta=theta,
        episodes=ep,
        scores=tabular.scores(mdp, theta, ep.states, ep.actions) * ep.mask[..., None, None],
        discount=mdp.gamma ** np.arange(len(ep.rewards))[:, None],
        dones=ep.terminated | ep.truncated,
        values=v[ep.states],
        next_values=v[ep.next_states],
    )


def z_scores(samples: np.ndarray, target: np.ndarray) -> np.ndarray:
    """z of the sample mean per coordinate; coordinates with no spread must match exactly."""
    se = samples.std(axis=0, ddof=1) / np.sqrt(len(samples))
    flat = se == 0
    np.testing.assert_allclose(samples.mean(axis=0)[flat], target[flat], atol=1e-12)
    return (samples.mean(axis=0)[~flat] - target[~flat]) / se[~flat]


def assert_unbiased(samples: np.ndarray, target: np.ndarray, what: str) -> None:
    z = np.abs(z_scores(samples, target))
    assert z.max() < Z_BOUND, f"{what}: max |z| = {z.max():.2f} >= {Z_BOUND} (z = {np.round(z, 2)})"


def assert_biased(samples: np.ndarray, target: np.ndarray, what: str) -> None:
    z = np.abs(z_scores(samples, target))
    assert z.max() > Z_BOUND, f"{what}: max |z| = {z.max():.2f} <= {Z_BOUND}: bias not detected"


def gae(s: Setup, lam: float, values: np.ndarray | None = None, next_values=None) -> np.ndarray:
    ep = s.episodes
    v = s.values if values is None else values
    nv = s.next_values if next_values is None else next_values
    return returns.gae(ep.rewards, v, nv, ep.terminated, ep.truncated, s.mdp.gamma, lam)


def wrong_values(s: Setup) -> tuple[np.ndarray, np.ndarray]:
    """The exact V plus an error that grows with the state index (0 at terminal states)."""
    v = tabular.values(s.mdp, s.theta) + np.where(
        s.mdp.terminal, 0.0, 3.0 + 2.0 * np.arange(s.mdp.n_states)
    )
    return v[s.episodes.states], v[s.episodes.next_states]


# --------------------------------------------------------------------- unbiased for grad J_gamma


def test_whole_return_reinforce(setup):
    ep = setup.episodes
    weights = returns.trajectory_returns(ep.rewards, setup.dones, setup.mdp.gamma)
    assert_unbiased(setup.estimates(weights, discounted=False), setup.exact, "R_gamma(tau)")


def test_discounted_reward_to_go_with_gamma_t(setup):
    weights = returns.discounted_returns(setup.episodes.rewards, setup.dones, setup.mdp.gamma)
    assert_unbiased(setup.estimates(weights), setup.exact, "gamma^t G_t")


def test_exact_state_baseline_with_gamma_t(setup):
    g = returns.discounted_returns(setup.episodes.rewards, setup.dones, setup.mdp.gamma)
    assert_unbiased(setup.estimates(g - setup.values), setup.exact, "gamma^t (G_t - V(s_t))")


@pytest.mark.parametrize("lam", [0.0, 0.5, 0.95, 1.0])
def test_gae_with_exact_values_and_gamma_t(setup, lam):
    assert_unbiased(setup.estimates(gae(setup, lam)), setup.exact, f"gamma^t GAE(lam={lam})")


def test_td_errors_and_n_step_advantages_with_exact_values(setup):
    ep, gamma = setup.episodes, setup.mdp.gamma
    deltas = returns.td_errors(ep.rewards, setup.values, setup.next_values, ep.terminated, gamma)
    assert_unbiased(setup.estimates(deltas), setup.exact, "gamma^t delta_t")
    n_step = returns.n_step_returns(
        ep.rewards, setup.next_values, ep.terminated, ep.truncated, gamma, 3
    )
    assert_unbiased(setup.estimates(n_step - setup.values), setup.exact, "gamma^t (G^(3)_t - V)")
    targets = returns.lambda_returns(
        ep.rewards, setup.values, setup.next_values, ep.terminated, ep.truncated, gamma, 0.5
    )
    assert_unbiased(setup.estimates(targets - setup.values), setup.exact, "gamma^t (G^lam_t - V)")


def test_gae_with_a_wrong_value_function_at_lambda_one(setup):
    """At lambda = 1 a wrong V is only a baseline: still unbiased."""
    wrong = gae(setup, 1.0, *wrong_values(setup))
    assert_unbiased(setup.estimates(wrong), setup.exact, "gamma^t GAE(1) with a wrong V")


def test_monte_carlo_objective(setup):
    ep = setup.episodes
    r = returns.trajectory_returns(ep.rewards, setup.dones, setup.mdp.gamma)[0]
    j_hat, se = objective.mc_estimate(r)
    z = (j_hat - tabular.objective(setup.mdp, setup.theta)) / se
    assert abs(z) < Z_BOUND, f"J_gamma: |z| = {abs(z):.2f} >= {Z_BOUND}"


# --------------------------------------------------------------------- known to be biased


def test_reward_to_go_without_gamma_t_is_biased_for_grad_j_gamma(setup):
    g = returns.discounted_returns(setup.episodes.rewards, setup.dones, setup.mdp.gamma)
    assert_biased(setup.estimates(g, discounted=False), setup.exact, "G_t without gamma^t")
    assert_biased(
        setup.estimates(g - setup.values, discounted=False), setup.exact, "G_t - V without gamma^t"
    )


def test_without_gamma_t_the_estimators_estimate_g_gamma(setup):
    """Dropping gamma^t weights states by their expected number of visits, not by d_gamma."""
    g = returns.discounted_returns(setup.episodes.rewards, setup.dones, setup.mdp.gamma)
    target = setup.undiscounted_weighting
    assert_unbiased(setup.estimates(g, discounted=False), target, "G_t against g^gamma")
    assert_unbiased(setup.estimates(g - setup.values, discounted=False), target, "G_t - V, g^gamma")
    assert_unbiased(setup.estimates(gae(setup, 0.5), discounted=False), target, "GAE, g^gamma")


@pytest.mark.parametrize("lam", [0.0, 0.5])
def test_gae_with_a_wrong_value_function_is_biased_below_lambda_one(setup, lam):
    wrong = gae(setup, lam, *wrong_values(setup))
    assert_biased(setup.estimates(wrong), setup.exact, f"gamma^t GAE(lam={lam}) with a wrong V")


# --------------------------------------------------------------------- the loss-based estimators


def _torch_batch(s: Setup, n: int):
    """theta as a leaf tensor and log pi(a_t | s_t) of the first n episodes, (T, n)."""
    ep = s.episodes
    theta = torch.tensor(s.theta, requires_grad=True)
    log_pi = torch.log_softmax(theta, dim=1)
    log_probs = log_pi[torch.as_tensor(ep.states[:, :n]), torch.as_tensor(ep.actions[:, :n])]
    return theta, log_probs


def test_surrogate_losses_give_the_closed_form_estimate(setup):
    """-grad of each loss, rescaled from a per-step mean to a per-episode mean, is mean_i g_i."""
    n = 500
    mask = setup.episodes.mask[:, :n]
    advantages = setup.discount * gae(setup, 0.5) * setup.episodes.mask
    expected = setup.estimates(gae(setup, 0.5))[:n].mean(axis=0)
    w = torch.as_tensor(advantages[:, :n])
    scale = mask.size / n  # the losses average over all T * n entries, padding included

    def grad_of(loss_fn):
        theta, log_probs = _torch_batch(setup, n)
        (g,) = torch.autograd.grad(loss_fn(log_probs), theta)
        return -g.numpy().ravel() * scale

    cases = {
        "surrogate_loss": lambda lp: estimators.surrogate_loss(lp, w),
        "policy_gradient_loss": lambda lp: losses.policy_gradient_loss(lp, w),
        "importance_weighted_loss": lambda lp: estimators.importance_weighted_loss(
            lp, lp.detach(), w
        ),
        "ppo_clip_loss": lambda lp: losses.ppo_clip_loss(lp, lp.detach(), w, clip=0.2),
    }
    for name, loss_fn in cases.items():
        np.testing.assert_allclose(grad_of(loss_fn), expected, rtol=1e-9, atol=1e-12, err_msg=name)


def test_score_function_gradient_gives_the_closed_form_estimate(setup):
    n = 50
    ep = setup.episodes
    inside = ep.mask[:, :n]
    pairs = torch.as_tensor(
        ep.states[:, :n][inside] * setup.mdp.n_actions + ep.actions[:, :n][inside]
    )
    weights = (setup.discount * gae(setup, 0.5))[:, :n][inside]

    def pair_distribution(theta):
        # log pi(a | s) up to the constant log S: the S rows of log_softmax each sum to 1, so
        # as a distribution over the pairs (s, a) it has the score of log pi(a | s)
        return torch.distributions.Categorical(logits=torch.log_softmax(theta, dim=1).ravel())

    estimate = estimators.score_function_gradient(
        pair_distribution, torch.tensor(setup.theta), pairs, weights
    )
    expected = setup.estimates(gae(setup, 0.5))[:n].mean(axis=0)
    # score_function_gradient averages over the B steps; the estimate averages over n episodes
    got = estimate.numpy().ravel() * len(pairs) / n
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)


def test_variance_episode_gradients_equal_the_closed_form_rows(setup):
    n = 8
    ep = setup.episodes
    theta, log_probs = _torch_batch(setup, n)
    weights = (setup.discount * gae(setup, 0.5) * ep.mask)[:, :n]
    rows = variance.episode_gradients(log_probs, weights, setup.dones[:, :n], [theta]).numpy()
    # each column is one episode, then (if shorter than T) a padding piece with zero weight
    pieces = [1 + int(length < len(ep.mask)) for length in ep.lengths[:n]]
    first = np.cumsum([0, *pieces[:-1]])
    np.testing.assert_allclose(rows[first], setup.estimates(gae(setup, 0.5))[:n], atol=1e-12)
    np.testing.assert_allclose(np.delete(rows, first, axis=0), 0.0, atol=1e-12)


def test_trajectory_importance_weights_give_the_unbiased_estimate_at_theta_old(setup):
    r"""grad of (1/N) sum_i sum_t w_t(theta) gamma^t r_t at theta = theta_old, with w_t the
    product of ratios up to t, is (1/N) sum_i sum_t gamma^t G_t score_t: the unbiased estimate."""
    n = 500
    ep = setup.episodes
    theta, log_probs = _torch_batch(setup, n)
    weights = estimators.trajectory_importance_weights(
        log_probs, log_probs.detach(), setup.dones[:, :n]
    )
    rewards = torch.as_tensor((setup.discount * ep.rewards)[:, :n])
    (grad,) = torch.autograd.grad((weights * rewards).sum() / n, theta)
    g = returns.discounted_returns(ep.rewards, setup.dones, setup.mdp.gamma)
    expected = setup.estimates(g)[:n].mean(axis=0)
    np.testing.assert_allclose(grad.numpy().ravel(), expected, rtol=1e-9, atol=1e-12)


# ------------------------------------------------------------------ off-policy, per decision

TARGET_SHIFT = 0.8  # the target policy's logits move this far from the behaviour policy's


def _off_policy(setup: Setup):
    """The target theta, per-decision returns and running weights on the behaviour episodes."""
    ep = setup.episodes
    theta = setup.theta + TARGET_SHIFT * np.eye(setup.mdp.n_actions)[-1]
    log_new = np.log(tabular.policy(setup.mdp, theta))[ep.states, ep.actions]
    log_old = np.log(tabular.policy(setup.mdp, setup.theta))[ep.states, ep.actions]
    g_hat = importance.per_decision_returns(
        ep.rewards, log_new, log_old, setup.dones, setup.mdp.gamma
    )
    w = importance.trajectory_importance_weights(log_new, log_old, setup.dones)
    scores = tabular.scores(setup.mdp, theta, ep.states, ep.actions) * ep.mask[..., None, None]
    return theta, g_hat, w, np.exp(log_new - log_old), scores


def _estimates(setup: Setup, weights: np.ndarray, scores: np.ndarray) -> np.ndarray:
    g = np.einsum("tn,tnsa->nsa", setup.discount * weights * setup.episodes.mask, scores)
    return g.reshape(len(g), -1)


def test_per_decision_off_policy_gradient_is_unbiased(setup):
    theta, g_hat, w, _, scores = _off_policy(setup)
    target = tabular.gradient(setup.mdp, theta).ravel()
    assert_unbiased(_estimates(setup, w * g_hat, scores), target, "gamma^t w_t G^PD_t")


def test_per_decision_objective_is_unbiased(setup):
    theta, g_hat, _, rho, _ = _off_policy(setup)
    first = rho[0] * g_hat[0]  # rho_0 G^PD_0: one estimate of J_gamma(theta) per episode
    assert_unbiased(first[:, None], np.array([tabular.objective(setup.mdp, theta)]), "rho_0 G_0")


def test_off_policy_gradient_without_the_earlier_ratios_uses_the_old_visitation(setup):
    # rho_t alone (the surrogate's gradient) ignores that the target policy visits other
    # states: it estimates d_old(s) pi(a|s) A(s, a), not d_new(s) pi(a|s) A(s, a)
    theta, g_hat, _, rho, scores = _off_policy(setup)
    mdp = setup.mdp
    advantage = tabular.q_values(mdp, theta) - tabular.values(mdp, theta)[:, None]
    old_visits = tabular.visitation(mdp, setup.theta)[:, None]
    surrogate = (old_visits * tabular.policy(mdp, theta) * advantage).ravel()
    exact = tabular.gradient(mdp, theta).ravel()
    estimates = _estimates(setup, rho * g_hat, scores)
    assert_unbiased(estimates, surrogate, "gamma^t rho_t G^PD_t against the old visitation")
    gap = np.linalg.norm(surrogate - exact) / np.linalg.norm(exact)
    assert gap > 0.1, f"the old visitation is only {gap:.3f} of |grad J| away: no bias to detect"
