"""Tests for pgkit.checkpoints: a saved run loads back exactly, and broken runs fail clearly."""

import json
import shutil

import numpy as np
import pytest
import torch

from pgkit import algos
from pgkit.checkpoints import (
    CHECKPOINT,
    CONFIG,
    CURVE,
    HISTORY,
    load_run,
    read_history,
    save_run,
)
from pgkit.policies import CategoricalPolicy, GaussianPolicy, ValueFunction
from pgkit.rollout import evaluate


@pytest.fixture(scope="module")
def ppo_result():
    return algos.ppo(
        "CartPole-v1", total_steps=256, seed=0, num_envs=4, n_steps=32, minibatch_size=64,
        epochs=2, hidden=(16, 16), progress=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def saved(ppo_result, tmp_path_factory):
    return save_run(ppo_result, tmp_path_factory.mktemp("run") / "ppo")


@pytest.fixture
def copy(saved, tmp_path):
    """A private copy of the saved run, for tests that break it."""
    return shutil.copytree(saved, tmp_path / "run")


def test_save_run_writes_the_four_files(saved):
    for name in (CHECKPOINT, CONFIG, HISTORY, CURVE):
        assert (saved / name).is_file(), name
    assert (saved / CURVE).read_bytes().startswith(b"\x89PNG")


def test_load_run_round_trips_the_weights(ppo_result, saved):
    run = load_run(saved)
    assert isinstance(run.policy, CategoricalPolicy)
    assert isinstance(run.value_fn, ValueFunction)
    for original, loaded in ((ppo_result.policy, run.policy), (ppo_result.value_fn, run.value_fn)):
        expected, actual = original.state_dict(), loaded.state_dict()
        assert expected.keys() == actual.keys()
        for key in expected:
            assert torch.equal(expected[key], actual[key]), key


def test_loaded_policy_acts_exactly_like_the_trained_one(ppo_result, saved):
    run = load_run(saved)
    np.testing.assert_array_equal(
        evaluate(run.policy, "CartPole-v1", episodes=3, seed=5),
        evaluate(ppo_result.policy, "CartPole-v1", episodes=3, seed=5),
    )


def test_config_and_history_round_trip(ppo_result, saved):
    run = load_run(saved)
    assert run.config == json.loads(json.dumps({**ppo_result.config, "hidden": [16, 16]}))
    assert set(run.history) == set(ppo_result.history)
    for key, values in ppo_result.history.items():
        np.testing.assert_allclose(run.history[key], values, rtol=1e-12, err_msg=key)


def test_history_keeps_nan_entries(tmp_path):
    result = algos.reinforce("CartPole-v1", total_steps=32, episodes_per_batch=2, progress=False)
    save_run(result, tmp_path)
    history = read_history(tmp_path / HISTORY)
    assert np.isnan(history["value_loss"]).all() and np.isnan(history["approx_kl"]).all()
    assert load_run(tmp_path).value_fn is None


def test_gaussian_policy_with_numpy_seed_and_no_hidden_layers(tmp_path):
    # 32 steps of Pendulum (200-step episodes): no episode ends, the figure is still drawn
    result = algos.a2c(
        "Pendulum-v1", total_steps=32, seed=np.int64(4), num_envs=2, n_steps=16, hidden=(),
        progress=False,
    )  # fmt: skip
    run = load_run(save_run(result, tmp_path / "nested" / "folder"))
    assert isinstance(run.policy, GaussianPolicy)
    assert run.config["seed"] == 4 and run.config["hidden"] == []
    assert torch.equal(run.policy.log_std, result.policy.log_std)
    assert (tmp_path / "nested" / "folder" / CURVE).is_file()


@pytest.mark.parametrize("name", [CHECKPOINT, CONFIG])
def test_missing_file_is_a_clear_file_not_found_error(copy, name):
    (copy / name).unlink()
    with pytest.raises(FileNotFoundError, match=f"{name} not found: is .* a folder written by"):
        load_run(copy)


def test_missing_folder_is_a_clear_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="checkpoint.pt not found"):
        load_run(tmp_path / "no-such-run")


def test_run_without_history_still_loads(copy):
    (copy / HISTORY).unlink()
    assert load_run(copy).history == {}


@pytest.mark.parametrize(
    "content", [b"", b"not a checkpoint at all", b"PK\x03\x04 truncated zip"], ids=str
)
def test_corrupt_checkpoint_is_a_value_error(copy, content):
    (copy / CHECKPOINT).write_bytes(content)
    with pytest.raises(ValueError, match="could not be read as a pgkit checkpoint"):
        load_run(copy)


def test_truncated_checkpoint_is_a_value_error(copy):
    data = (copy / CHECKPOINT).read_bytes()
    (copy / CHECKPOINT).write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="could not be read as a pgkit checkpoint"):
        load_run(copy)


@pytest.mark.parametrize(
    "state",
    [{"format": 99, "policy": {}, "value_fn": None}, {"format": 1}, [1, 2, 3]],
    ids=["future-format", "missing-weights", "not-a-dict"],
)
def test_checkpoint_of_another_format_is_a_value_error(copy, state):
    torch.save(state, copy / CHECKPOINT)
    with pytest.raises(ValueError, match="is not a pgkit checkpoint of format 1"):
        load_run(copy)


def test_checkpoint_holding_arbitrary_objects_is_refused(copy):
    torch.save({"format": 1, "policy": object(), "value_fn": None}, copy / CHECKPOINT)
    with pytest.raises(ValueError, match="could not be read"):
        load_run(copy)


def as_format_1(run):
    """Drop the configuration stored in the checkpoint, as format-1 checkpoints had none."""
    state = torch.load(run / CHECKPOINT, weights_only=True)
    del state["config"]
    torch.save({**state, "format": 1}, run / CHECKPOINT)


def test_edited_config_json_is_refused(copy):
    config = json.loads((copy / CONFIG).read_text())
    (copy / CONFIG).write_text(json.dumps({**config, "hidden": [32, 32]}))
    with pytest.raises(ValueError, match="does not match the configuration stored"):
        load_run(copy)


@pytest.mark.parametrize(
    "change",
    [{"hidden": [32, 32]}, {"hidden": [16]}, {"env_id": "Acrobot-v1"}],
    ids=["wider", "shallower", "other-env"],
)
def test_checkpoint_that_does_not_match_its_config_is_a_value_error(copy, change):
    as_format_1(copy)
    config = json.loads((copy / CONFIG).read_text())
    (copy / CONFIG).write_text(json.dumps({**config, **change}))
    with pytest.raises(ValueError, match="weights in .* do not match the network"):
        load_run(copy)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "is not valid JSON"),
        ("[1, 2]", "must hold a JSON object"),
        ('{"hidden": [16, 16]}', "has no 'env_id'"),
        ('{"env_id": "NoSuchEnv-v0", "hidden": [16, 16]}', "cannot make"),
    ],
)
def test_bad_config_is_a_value_error(copy, text, message):
    as_format_1(copy)
    (copy / CONFIG).write_text(text)
    with pytest.raises(ValueError, match=message):
        load_run(copy)


def test_empty_history_file_is_a_value_error(tmp_path):
    (tmp_path / HISTORY).write_text("")
    with pytest.raises(ValueError, match="is empty"):
        read_history(tmp_path / HISTORY)
