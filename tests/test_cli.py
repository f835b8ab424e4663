"""Tests for the command line, ``python -m pgkit train|evaluate`` and its help.

Most tests call :func:`pgkit.__main__.main` in-process (fast); one runs the real
``python -m pgkit`` in a subprocess, as a reader would.
"""

import errno
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import pytest

from pgkit import staging
from pgkit.__main__ import main
from pgkit.checkpoints import CHECKPOINT, CONFIG, CURVE, HISTORY, load_run

SMALL_PPO = ["--set", "num_envs=4", "--set", "n_steps=32", "--set", "minibatch_size=64"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "ppo"
    argv = ["train", "ppo", "--env", "CartPole-v1", "--steps", "256", "--seed", "0"]
    assert main([*argv, "--out", str(out), "--no-progress", *SMALL_PPO, "--set", "epochs=2"]) == 0
    return out


def test_python_m_pgkit_train_and_evaluate(tmp_path):
    out = tmp_path / "run"
    train = subprocess.run(
        [sys.executable, "-m", "pgkit", "train", "ppo", "--env", "CartPole-v1", "--steps", "256",
         "--seed", "0", "--out", str(out), *SMALL_PPO, "--set", "epochs=1"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert train.returncode == 0, train.stderr
    assert f"saved ppo run to {out}/" in train.stdout
    for name in (CHECKPOINT, CONFIG, HISTORY, CURVE):
        assert (out / name).is_file(), name
    evaluate = subprocess.run(
        [sys.executable, "-m", "pgkit", "evaluate", str(out), "--episodes", "3"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert evaluate.returncode == 0, evaluate.stderr
    assert re.fullmatch(
        r"ppo on CartPole-v1: mean return \d+\.\d\d \+/- \d+\.\d\d \(std over 3 episodes\)\n",
        evaluate.stdout,
    )


def test_train_writes_the_run_with_the_given_settings(run_dir):
    config = json.loads((run_dir / CONFIG).read_text())
    assert config["algo"] == "ppo" and config["env_id"] == "CartPole-v1"
    assert config["total_steps"] == 256 and config["seed"] == 0
    assert (config["num_envs"], config["n_steps"], config["epochs"]) == (4, 32, 2)
    assert load_run(run_dir).history["steps"][-1] == 256


def test_evaluate_prints_mean_and_std(run_dir, capsys):
    assert main(["evaluate", str(run_dir), "--episodes", "4", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    match = re.fullmatch(r"ppo on CartPole-v1: mean return (\S+) \+/- (\S+) \(std over 4 episodes\)\n", out)  # fmt: skip
    assert match and float(match[1]) > 0 and float(match[2]) >= 0


def test_evaluate_is_reproducible_and_accepts_stochastic(run_dir, capsys):
    for _ in range(2):
        main(["evaluate", str(run_dir), "--episodes", "3"])
    first, second = capsys.readouterr().out.splitlines()
    assert first == second
    assert main(["evaluate", str(run_dir), "--episodes", "3", "--stochastic"]) == 0


def test_settings_are_parsed_as_json_or_text(tmp_path):
    out = tmp_path / "a2c"
    argv = ["train", "a2c", "--steps", "64", "--out", str(out), "--no-progress"]
    settings = ["--set", "hidden=[8]", "--set", "optimizer=adam", "--set", "anneal-lr=true"]
    assert main([*argv, *settings]) == 0
    config = json.loads((out / CONFIG).read_text())
    assert config["hidden"] == [8] and config["optimizer"] == "adam" and config["anneal_lr"]


def test_train_reports_no_nan_when_the_last_iteration_ended_no_episode(tmp_path, capsys):
    argv = ["train", "a2c", "--env", "Pendulum-v1", "--steps", "64", "--out", str(tmp_path)]
    assert main([*argv, "--no-progress"]) == 0
    assert "(last mean episode return n/a, no episode ended)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "ppo", "--steps", "0"], "--steps must be a positive number"),
        (["train", "ppo", "--steps", "-5"], "--steps must be a positive number"),
        (["train", "ppo", "--steps", "300", "--set", "minibatch_size=100"], "does not divide"),
        (["train", "ppo", "--steps", "64", "--env", "CartPool-v1"], "unknown environment id"),
        (["train", "ppo", "--steps", "64", "--set", "learning_rate=1"], "learning_rate"),
        (["train", "ppo", "--steps", "64", "--set", "lr=-1"], "lr must be > 0"),
        (["train", "ppo", "--steps", "64", "--set", "seed=3"], "--set seed=... is not allowed"),
        (["train", "ppo", "--steps", "64", "--set", "total_steps=9"], "use --steps"),
        (["train", "ppo", "--steps", "64", "--set", "progress=false"], "use --no-progress"),
    ],
)
def test_train_errors_are_one_clear_line(argv, message, tmp_path, capsys):
    assert main([*argv, "--out", str(tmp_path / "run"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()


def test_evaluate_errors_are_one_clear_line(run_dir, tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "missing")]) == 2
    assert "checkpoint.pt not found" in capsys.readouterr().err
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in (CONFIG, CHECKPOINT):
        (broken / name).write_bytes((run_dir / name).read_bytes())
    (broken / CHECKPOINT).write_bytes(b"garbage")
    assert main(["evaluate", str(broken)]) == 2
    assert "could not be read as a pgkit checkpoint" in capsys.readouterr().err
    assert main(["evaluate", str(run_dir), "--episodes", "0"]) == 2
    assert "episodes must be >= 1" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [["train", "ppo"], ["train", "sac", "--steps", "1", "--out", "x"], ["evaluate"], []],
    ids=["missing-options", "unknown-algo", "missing-run", "no-command"],
)
def test_usage_errors_exit_2_with_usage(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert "usage: python -m pgkit" in capsys.readouterr().err


def test_bad_set_syntax_is_a_usage_error(capsys):
    with pytest.raises(SystemExit):
        main(["train", "ppo", "--steps", "1", "--out", "x", "--set", "lr"])
    assert "--set expects key=value, got 'lr'" in capsys.readouterr().err


def help_text(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--help"])
    assert exit_info.value.code == 0
    return capsys.readouterr().out


def test_top_level_help_lists_every_command_and_examples(capsys):
    text = help_text([], capsys)
    for command in ("train", "evaluate", "check", "workbook", "exercises"):
        assert re.search(rf"^\s+{command}\b", text, re.MULTILINE), command
    assert "Examples:" in text and "python -m pgkit train ppo --env CartPole-v1" in text


@pytest.mark.parametrize(
    ("command", "options"),
    [
        (["train"], ["reinforce,vpg,a2c,ppo", "--env", "--steps", "--seed", "--out", "--set",
                     "--no-progress", "checkpoint.pt, config.json", "default CartPole-v1"]),
        (["evaluate"], ["run", "--episodes", "--seed", "--stochastic", "mean and standard"]),
        (["check"], ["exercise", "target"]),
        (["workbook"], ["--chapters", "--out", "--force"]),
        (["exercises"], ["--solutions"]),
    ],
)  # fmt: skip
def test_command_help_documents_every_option(command, options, capsys):
    text = " ".join(help_text(command, capsys).split())  # undo argparse's line wrapping
    for option in options:
        assert option in text, option


@pytest.mark.parametrize("error", ["diverged", "gymnasium"])
def test_training_errors_are_one_clear_line(error, tmp_path, capsys, monkeypatch):
    import gymnasium

    from pgkit import algos

    def fails(*args, **kwargs):
        if error == "diverged":
            raise algos.TrainingDivergedError("policy loss became nan at iteration 3")
        raise gymnasium.error.DependencyNotInstalled("box2d is not installed")

    monkeypatch.setattr(algos, "ppo", fails)
    argv = ["train", "ppo", "--steps", "256", "--out", str(tmp_path / "run"), "--no-progress"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    assert ("nan at iteration 3" if error == "diverged" else "box2d") in err
    assert not (tmp_path / "run").exists()


@pytest.fixture
def run_copy(run_dir, tmp_path):
    return shutil.copytree(run_dir, tmp_path / "run")


@pytest.mark.parametrize(
    "content", [b"a,b\nx,y\n", b"steps,time\n1\n", b"\x80\x81\xfe\xff", b""],
    ids=["not-numbers", "short-row", "binary", "empty"],
)  # fmt: skip
def test_evaluate_does_not_read_the_history(run_copy, content, capsys):
    (run_copy / HISTORY).write_bytes(content)
    assert main(["evaluate", str(run_copy), "--episodes", "2"]) == 0
    assert "ppo on CartPole-v1: mean return" in capsys.readouterr().out


@pytest.mark.parametrize(
    "content",
    [b"\xff\xfe\x00binary", b'{"env_id": 5, "hidden": [16]}', b'{"env_id": "CartPole-v1", '
     b'"hidden": 5}', b'{"env_id": "CartPole-v1", "hidden": "abc"}',
     b'{"env_id": "CartPole-v1", "hidden": [1e12]}'],
    ids=["binary", "env-id-5", "hidden-5", "hidden-abc", "hidden-1e12"],
)  # fmt: skip
def test_corrupt_config_is_one_line_naming_the_file(run_copy, content, capsys):
    (run_copy / CONFIG).write_bytes(content)
    assert main(["evaluate", str(run_copy)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {run_copy / CONFIG}: ") and err.count("\n") == 1


def full_disk_unless_under(monkeypatch, folder):
    """Make every save fail with ENOSPC, except one into ``folder`` (None: all of them)."""
    real = staging._write_history

    def write_history(history, path):
        if folder is None or not str(path).startswith(str(folder)):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(history, path)

    monkeypatch.setattr(staging, "_write_history", write_history)


def test_a_run_that_cannot_be_saved_goes_to_the_temporary_directory(tmp_path, monkeypatch, capsys):
    spare = tmp_path / "spare"
    spare.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spare))
    full_disk_unless_under(monkeypatch, spare)
    out = tmp_path / "run"
    argv = ["train", "a2c", "--steps", "64", "--out", str(out), "--no-progress"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    (rescue,) = spare.glob("pgkit-*")  # torch may keep its own folder there too
    assert err == (
        f"error: [Errno 28] could not save the run to {out}: No space left on device; saved "
        f"the run to {rescue}/ instead\n"
    )
    assert not out.exists() and load_run(rescue).config["algo"] == "a2c"


def test_a_run_that_cannot_be_saved_anywhere_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    full_disk_unless_under(monkeypatch, None)
    argv = ["train", "a2c", "--steps", "64", "--out", str(tmp_path / "run"), "--no-progress"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: [Errno 28] could not save the run to {tmp_path / 'run'}")
    assert f"saving it under {tmp_path} instead failed too" in err and err.count("\n") == 1
    assert list(tmp_path.glob("pgkit-*")) == []  # not even an empty rescue folder
    assert not (tmp_path / "run").exists()


def test_checkpoint_every_keeps_a_loadable_partial_run_beside_out(tmp_path):
    out = tmp_path / "long"
    argv = ["train", "ppo", "--steps", "512", "--out", str(out), "--no-progress", *SMALL_PPO]
    assert main([*argv, "--set", "epochs=1", "--checkpoint-every", "200"]) == 0
    checkpoint = load_run(tmp_path / "long-checkpoint")
    # saved at 256, 384 and 512 steps (the first updates past 200, 400); the last one stays
    assert checkpoint.config["interrupted"] is True
    assert checkpoint.config["steps_done"] == 512
    assert "on_iteration" not in load_run(out).config


def test_checkpoint_every_must_be_positive(tmp_path, capsys):
    argv = ["train", "ppo", "--steps", "64", "--out", str(tmp_path / "x"), "--no-progress"]
    assert main([*argv, "--checkpoint-every", "0"]) == 2
    assert "--checkpoint-every must be a positive number" in capsys.readouterr().err
