"""pgkit.algos.configs: one frozen, validated configuration per algorithm, read by the loop and
stored by the run; and ppo_update, PPO's inner update on its own."""

import dataclasses

import numpy as np
import pytest
import torch

from pgkit import algos
from pgkit.algos import PPOUpdateStats, ppo_update
from pgkit.algos.configs import A2CConfig, PPOConfig, ReinforceConfig, VPGConfig
from pgkit.policies import CategoricalPolicy, ValueFunction

SHORT = {
    "reinforce": dict(total_steps=64, episodes_per_batch=2),
    "vpg": dict(total_steps=64, num_envs=2, n_steps=16, value_iters=2),
    "a2c": dict(total_steps=64, num_envs=2, n_steps=8),
    "ppo": dict(total_steps=64, num_envs=2, n_steps=16, minibatch_size=16, epochs=2),
}
CONFIGS = {"reinforce": ReinforceConfig, "vpg": VPGConfig, "a2c": A2CConfig, "ppo": PPOConfig}


@pytest.mark.parametrize("name", SHORT)
def test_the_run_stores_the_config_the_loop_read(name):
    result = getattr(algos, name)("CartPole-v1", seed=3, progress=False, **SHORT[name])
    config = CONFIGS[name]("CartPole-v1", seed=3, **SHORT[name])
    assert result.config == config.to_dict()
    assert list(result.config)[:4] == ["algo", "env_id", "total_steps", "seed"]


@pytest.mark.parametrize("config_type", CONFIGS.values())
def test_the_config_defaults_are_the_functions_defaults(config_type):
    import inspect

    function = getattr(algos, config_type.algo)
    defaults = {
        name: p.default
        for name, p in inspect.signature(function).parameters.items()
        if p.default is not inspect.Parameter.empty
    }
    for field in dataclasses.fields(config_type):
        if field.default is not dataclasses.MISSING:
            assert defaults[field.name] == field.default, field.name


def test_configs_are_frozen_and_hold_plain_numbers():
    config = PPOConfig("CartPole-v1", total_steps=np.int64(512), lr=np.float32(5e-4), hidden=[8])
    assert type(config.total_steps) is int and type(config.lr) is float
    assert config.hidden == (8,) and config.batch_size == 256
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.lr = 1.0


@pytest.mark.parametrize(
    ("setting", "error", "message"),
    [
        (dict(minibatch_size=100), ValueError, "minibatch_size=100 does not divide"),
        (dict(vf_coef=0), ValueError, "vf_coef must be > 0"),
        (dict(optimizer="Adam"), ValueError, "optimizer must be 'rmsprop' or 'adam'"),
        (dict(env_id=3), TypeError, "env_id must be a gymnasium id string"),
    ],
)
def test_a_config_refuses_bad_fields_by_name(setting, error, message):
    fields = {"env_id": "CartPole-v1", "total_steps": 512, **setting}
    with pytest.raises(error, match=message):
        PPOConfig(**fields)


def test_reinforce_keeps_normalize_as_the_old_name_of_normalize_advantages():
    old = algos.reinforce("CartPole-v1", normalize=True, progress=False, **SHORT["reinforce"])
    new = algos.reinforce(
        "CartPole-v1", normalize_advantages=True, progress=False, **SHORT["reinforce"]
    )
    assert old.config == new.config and old.config["normalize_advantages"] is True
    for key in ("policy_loss", "grad_norm"):
        np.testing.assert_array_equal(old.history[key], new.history[key])
    with pytest.raises(TypeError, match="normalize_advantages only"):
        algos.reinforce(
            "CartPole-v1", normalize=True, normalize_advantages=True, **SHORT["reinforce"]
        )


def test_a2c_and_ppo_take_the_same_optimizer_names():
    for name in ("a2c", "ppo"):
        for optimizer in ("adam", "rmsprop"):
            result = getattr(algos, name)(
                "CartPole-v1", optimizer=optimizer, progress=False, **SHORT[name]
            )
            assert result.config["optimizer"] == optimizer
            assert np.isfinite(result.history["policy_loss"]).all()


def _batch(n=64, seed=0):
    torch.manual_seed(seed)
    policy, value_fn = CategoricalPolicy(obs_dim=4, n_actions=2), ValueFunction(4)
    obs = torch.randn(n, 4)
    with torch.no_grad():
        dist = policy(obs)
        actions = dist.sample()
        old_log_probs = dist.log_prob(actions)
    return policy, value_fn, obs, actions, old_log_probs, torch.randn(n), torch.randn(n)


def test_ppo_update_reports_every_epoch():
    policy, value_fn, obs, actions, old_log_probs, advantages, returns = _batch()
    optimizer = torch.optim.Adam([*policy.parameters(), *value_fn.parameters()], lr=1e-2)
    stats = ppo_update(
        policy, optimizer, obs, actions, old_log_probs, advantages,
        value_fn=value_fn, returns=returns, epochs=4, minibatch_size=16,
    )  # fmt: skip
    assert isinstance(stats, PPOUpdateStats) and stats.epochs == 4
    assert stats.approx_kl.shape == stats.clip_fraction.shape == (4,)
    assert (stats.approx_kl > 0).all()  # each epoch's last minibatch, after three steps
    assert 0 <= float(stats.clip_fraction[-1]) <= 1
    assert torch.isfinite(stats.value_loss) and not stats.policy_loss.requires_grad


def test_ppo_update_measures_a_single_step_at_theta_old():
    policy, _, obs, actions, old_log_probs, advantages, _ = _batch()
    optimizer = torch.optim.SGD(policy.parameters(), lr=1.0)
    stats = ppo_update(policy, optimizer, obs, actions, old_log_probs, advantages)
    assert stats.epochs == 1 and stats.approx_kl[0] == 0 and stats.clip_fraction[0] == 0


def test_ppo_update_stops_at_target_kl():
    policy, _, obs, actions, old_log_probs, advantages, _ = _batch()
    optimizer = torch.optim.SGD(policy.parameters(), lr=1.0)
    stats = ppo_update(
        policy, optimizer, obs, actions, old_log_probs, advantages, epochs=10, target_kl=1e-9
    )
    assert stats.epochs == 2  # the first epoch starts at KL = 0; the second exceeds 1e-9


def test_ppo_update_policy_alone_matches_the_clipped_loss_step():
    """One full-batch step with no value function is one step on ppo_clip_loss."""
    from pgkit.losses import ppo_clip_loss

    policy, _, obs, actions, old_log_probs, advantages, _ = _batch()
    twin = CategoricalPolicy(obs_dim=4, n_actions=2)
    twin.load_state_dict(policy.state_dict())
    ppo_update(
        policy, torch.optim.SGD(policy.parameters(), lr=0.1), obs, actions, old_log_probs,
        advantages,
    )  # fmt: skip
    loss = ppo_clip_loss(twin(obs).log_prob(actions), old_log_probs, advantages, 0.2)
    optimizer = torch.optim.SGD(twin.parameters(), lr=0.1)
    loss.backward()
    optimizer.step()
    for a, b in zip(policy.parameters(), twin.parameters(), strict=True):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        (dict(returns=torch.zeros(64)), ValueError, "value_fn and returns go together"),
        (dict(advantages=torch.zeros(32)), ValueError, "advantages has shape"),
        (dict(old_log_probs=torch.zeros(64, 1)), ValueError, "old_log_probs must be 1-D"),
        (dict(optimizer="adam"), TypeError, "optimizer must be a torch.optim.Optimizer"),
        (dict(epochs=0), ValueError, "epochs must be >= 1"),
        (dict(clip=-1.0), ValueError, "clip must be > 0"),
        (dict(target_kl=0.0), ValueError, "target_kl must be > 0"),
    ],
)
def test_ppo_update_refuses_bad_inputs_by_name(change, error, message):
    policy, _, obs, actions, old_log_probs, advantages, _ = _batch()
    arguments = dict(
        policy=policy, optimizer=torch.optim.SGD(policy.parameters(), lr=0.1), obs=obs,
        actions=actions, old_log_probs=old_log_probs, advantages=advantages,
    )  # fmt: skip
    arguments.update(change)
    with pytest.raises(error, match=message):
        ppo_update(**arguments)
