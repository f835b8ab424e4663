"""Tests for pgkit.checkpoints: a saved run loads back exactly, and broken runs fail clearly."""

import json
import os
import re
import shutil
import stat
import subprocess
import sys

import numpy as np
import pytest
import torch

from pgkit import algos, checkpoints, staging
from pgkit.checkpoints import (
    CHECKPOINT,
    CONFIG,
    CURVE,
    HISTORY,
    check_run_folder,
    is_complete_run,
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


def test_load_run_returns_the_result_type_training_returns(ppo_result, saved):
    run = load_run(saved)
    assert type(run) is type(ppo_result) is algos.TrainResult
    assert checkpoints.Run is algos.TrainResult  # the old name, kept for one release
    assert run.config == json.loads(json.dumps(ppo_result.config))


def test_a_run_saved_before_the_config_dataclasses_still_loads(ppo_result, tmp_path):
    """Older config.json files lack newer keys (ppo's optimizer) or use older names."""
    out = save_run(ppo_result, tmp_path / "run")
    config = json.loads((out / CONFIG).read_text())
    del config["optimizer"]
    state = torch.load(out / CHECKPOINT, weights_only=True)
    state["config"] = config
    torch.save(state, out / CHECKPOINT)
    (out / CONFIG).write_text(json.dumps(config))
    run = load_run(out)
    assert "optimizer" not in run.config and run.config["algo"] == "ppo"


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
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must hold a JSON object"),
        ('{"hidden": [16, 16]}', "has no 'env_id'"),
        ('{"env_id": "NoSuchEnv-v0", "hidden": [16, 16]}', "cannot make"),
        ('{"env_id": 5, "hidden": [16, 16]}', "'env_id' must be a gymnasium environment id"),
        ('{"env_id": "", "hidden": [16, 16]}', "'env_id' must be a gymnasium environment id"),
        ('{"env_id": "CartPole-v1", "hidden": 5}', "'hidden' must be a list of positive"),
        ('{"env_id": "CartPole-v1", "hidden": "abc"}', "'hidden' must be a list of positive"),
        ('{"env_id": "CartPole-v1", "hidden": [1e12]}', "'hidden' must be a list of positive"),
        ('{"env_id": "CartPole-v1", "hidden": [true]}', "'hidden' must be a list of positive"),
        ('{"env_id": "CartPole-v1", "hidden": [0]}', "'hidden' must be a list of positive"),
        ("[" * 100_000, "not valid JSON"),
        ('{"hidden": 1' + "0" * 5000 + "}", "not valid JSON"),
    ],
    ids=lambda value: value[:40],
)
def test_bad_config_is_a_value_error_naming_the_file(copy, text, message):
    as_format_1(copy)
    (copy / CONFIG).write_text(text)
    with pytest.raises(ValueError, match=f"^{re.escape(str(copy / CONFIG))}: .*{message}"):
        load_run(copy)


def test_config_that_is_not_text_is_a_value_error_naming_the_file(copy):
    (copy / CONFIG).write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    with pytest.raises(ValueError, match=f"^{re.escape(str(copy / CONFIG))}: not a text file"):
        load_run(copy)


def test_absurd_widths_are_refused_by_the_weights_shapes_without_allocating(copy):
    # 10**12 units would need terabytes; the network is first built on the meta device
    as_format_1(copy)
    config = json.loads((copy / CONFIG).read_text())
    (copy / CONFIG).write_text(json.dumps({**config, "hidden": [10**12]}))
    with pytest.raises(ValueError, match="policy weights in .* do not match the network"):
        load_run(copy)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"a,b\nx,y\n", "row 2, column 'a': 'x' is not a number"),
        (b"steps,time\n1,2\n3\n", "row 3 has 1 fields, expected 2"),
        (b"steps,steps\n1,2\n", "must name each column once"),
        (b"\x80\x81\xfe\xff binary", "not a text file"),
    ],
    ids=["empty", "not-numbers", "short-row", "repeated-column", "binary"],
)
def test_corrupt_history_is_a_value_error_naming_the_file(copy, content, message):
    (copy / HISTORY).write_bytes(content)
    with pytest.raises(ValueError, match=f"^{re.escape(str(copy / HISTORY))}:? .*{message}"):
        read_history(copy / HISTORY)
    with pytest.raises(ValueError, match=re.escape(str(copy / HISTORY))):
        load_run(copy)
    # the networks do not depend on the history: loading them without it still works
    run = load_run(copy, history=False)
    assert run.history == {} and run.config["env_id"] == "CartPole-v1"


def test_history_with_blank_lines_reads_the_rows_around_them(tmp_path):
    (tmp_path / HISTORY).write_text("steps,time\n1,0.5\n\n2,\n")
    history = read_history(tmp_path / HISTORY)
    assert history["steps"].tolist() == [1.0, 2.0]
    assert history["time"][0] == 0.5 and np.isnan(history["time"][1])


def test_run_folder_gets_the_permissions_the_umask_allows(ppo_result, tmp_path):
    previous = os.umask(0o027)
    try:
        out = save_run(ppo_result, tmp_path / "run")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(out.stat().st_mode) == 0o750
    assert stat.S_IMODE((out / CONFIG).stat().st_mode) == 0o640


def test_a_link_to_a_folder_is_written_through(ppo_result, tmp_path):
    (tmp_path / "target").mkdir()
    link = tmp_path / "link"
    link.symlink_to("target", target_is_directory=True)
    assert save_run(ppo_result, link) == link
    save_run(ppo_result, link, overwrite=True)  # replacing the run behind the link, too
    assert link.is_symlink() and (tmp_path / "target" / CHECKPOINT).is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "target"]
    assert load_run(link).config["algo"] == "ppo"


def test_a_link_to_nothing_is_refused(ppo_result, tmp_path):
    (tmp_path / "link").symlink_to(tmp_path / "missing")
    with pytest.raises(ValueError, match="symbolic link to a folder that does not exist"):
        save_run(ppo_result, tmp_path / "link")
    assert not (tmp_path / "missing").exists()


def dead_pid():
    """The id of a process that has just exited (ids are not reused this quickly)."""
    child = subprocess.Popen([sys.executable, "-c", ""])
    child.wait()
    return child.pid


def hidden(out, kind, pid, host=staging._HOST):
    folder = out.with_name(f".{out.name}.{kind}-{host}-{pid}-0123abcd")
    folder.mkdir()
    (folder / CONFIG).write_text("{}")
    return folder


def test_staging_folders_of_killed_saves_are_removed_by_the_next_save(ppo_result, tmp_path):
    out = tmp_path / "run"
    gone = hidden(out, "partial", dead_pid())
    kept = [
        hidden(out, "partial", os.getppid()),  # its process still runs
        hidden(out, "partial", dead_pid(), host="0000ffff"),  # another machine's process
        tmp_path / ".run.partial-k2j3h4",  # no owner in its name: never guessed at
    ]
    kept[-1].mkdir()
    save_run(ppo_result, out)
    assert not gone.exists() and all(folder.exists() for folder in kept)


def test_a_run_moved_aside_by_a_killed_save_is_put_back(saved, tmp_path):
    out = tmp_path / "run"
    aside = out.with_name(f".run.old-{staging._HOST}-{dead_pid()}-0123abcd")
    shutil.copytree(saved, aside)
    # the check before training already sees the earlier run, so it is not overwritten
    with pytest.raises(ValueError, match="already holds a run"):
        check_run_folder(out)
    assert not aside.exists() and load_run(out, history=False).config["algo"] == "ppo"


def test_a_run_moved_aside_is_deleted_once_its_replacement_is_in_place(saved, tmp_path):
    out = shutil.copytree(saved, tmp_path / "run")
    aside = hidden(out, "old", dead_pid())
    check_run_folder(out, overwrite=True)
    assert not aside.exists() and is_complete_run(out)


def test_an_interrupted_run_never_replaces_a_complete_one(ppo_result, saved, tmp_path):
    out = shutil.copytree(saved, tmp_path / "run")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    partial = algos.TrainResult(
        ppo_result.policy, ppo_result.value_fn, ppo_result.history,
        {**ppo_result.config, "interrupted": True, "steps_done": 128},
    )  # fmt: skip
    with pytest.raises(ValueError, match="holds a complete run, which an interrupted run never"):
        save_run(partial, out, overwrite=True)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    save_run(partial, tmp_path / "partial")
    assert not is_complete_run(tmp_path / "partial")
    save_run(partial, tmp_path / "partial", overwrite=True)  # a partial run may replace one


def test_saving_imports_nothing_the_cli_did_not_import_before_training(tmp_path):
    # A signal landing inside the first import of a compiled module can crash the
    # interpreter, so `train` imports what saving needs before it starts (_import_writer).
    script = f"""
import sys
import torch
from pgkit import algos, checkpoints, staging
from pgkit.policies import make_policy, ValueFunction
import gymnasium as gym
env = gym.make("CartPole-v1")
policy = make_policy(env.observation_space, env.action_space, (4,))
history = {{key: [float(i) for i in range(3)] for key in algos.HISTORY_KEYS}}
result = algos.TrainResult(policy, None, history, {{"algo": "ppo", "env_id": "CartPole-v1",
                                                  "hidden": [4]}})
staging._import_writer()
before = set(sys.modules)
checkpoints.save_run(result, {str(tmp_path / "run")!r})
print(sorted(set(sys.modules) - before))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
