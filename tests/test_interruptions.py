"""Stopping never loses work: interrupted training keeps its partial run, and saving a run is
all or nothing (pgkit.algos, pgkit.checkpoints and ``python -m pgkit train``)."""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest
import torch

from pgkit import algos, staging
from pgkit.__main__ import EXIT_SIGINT, EXIT_SIGTERM, main
from pgkit.checkpoints import CHECKPOINT, CONFIG, check_run_folder, load_run, save_run

SMALL = dict(num_envs=4, n_steps=32, minibatch_size=64, epochs=1, hidden=(8,), progress=False)
SMALL_ARGS = ["--set", "num_envs=4", "--set", "n_steps=32", "--set", "minibatch_size=64",
              "--set", "epochs=1", "--set", "hidden=[8]", "--no-progress"]  # fmt: skip


def stop_on_call(monkeypatch, n, action=None):
    """Make the n-th batch collection raise KeyboardInterrupt (or run ``action``)."""
    real = algos.collect
    calls = {"n": 0}

    def collect(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == n:
            if action is None:
                raise KeyboardInterrupt
            action()
        return real(*args, **kwargs)

    monkeypatch.setattr(algos, "collect", collect)


@pytest.fixture(scope="module")
def finished():
    return algos.ppo("CartPole-v1", total_steps=256, seed=0, **SMALL)


def test_interrupted_training_raises_with_the_partial_result(monkeypatch):
    stop_on_call(monkeypatch, 3)
    with pytest.raises(algos.TrainingInterrupted) as info:
        algos.ppo("CartPole-v1", total_steps=10_000, seed=0, **SMALL)
    partial = info.value.result
    assert isinstance(info.value, KeyboardInterrupt)
    assert "interrupted after 256 of 10000" in str(info.value)
    assert partial.config["interrupted"] is True and partial.config["steps_done"] == 256
    assert all(len(values) == 2 for values in partial.history.values())
    assert partial.policy(torch.zeros(1, 4)).sample().shape == (1,)


def test_the_partial_run_is_the_run_of_the_finished_iterations(monkeypatch):
    settings = dict(SMALL, anneal_lr=False)  # annealing would depend on total_steps
    short = algos.ppo("CartPole-v1", total_steps=256, seed=0, **settings)
    stop_on_call(monkeypatch, 3)
    with pytest.raises(algos.TrainingInterrupted) as info:
        algos.ppo("CartPole-v1", total_steps=10_000, seed=0, **settings)
    partial = info.value.result
    pairs = zip(partial.policy.parameters(), short.policy.parameters(), strict=True)
    assert all(torch.equal(a, b) for a, b in pairs)
    assert partial.history["steps"].tolist() == short.history["steps"].tolist()


def test_interruption_before_any_network_exists_is_a_plain_keyboard_interrupt(monkeypatch):
    def refuse(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(algos, "make_vec_env", refuse)
    with pytest.raises(KeyboardInterrupt) as info:
        algos.reinforce("CartPole-v1", total_steps=100, seed=0, progress=False)
    assert not isinstance(info.value, algos.TrainingInterrupted)


def test_save_run_refuses_to_overwrite_a_run_unless_asked(finished, tmp_path):
    out = save_run(finished, tmp_path / "run")
    with pytest.raises(ValueError, match="already holds a run"):
        save_run(finished, out)
    save_run(finished, out, overwrite=True)
    assert load_run(out).config == json.loads((out / CONFIG).read_text())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # nothing left beside it


def test_save_run_never_touches_a_folder_that_is_not_a_run(finished, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="does not hold a pgkit run"):
        save_run(finished, tmp_path, overwrite=True)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_failed_save_leaves_the_earlier_run_whole(finished, tmp_path, monkeypatch):
    out = save_run(finished, tmp_path / "run")
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(staging, "_write_history", full_disk)
    with pytest.raises(OSError, match="No space"):
        save_run(finished, out, overwrite=True)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda tmp: "", "out is empty"),
        (lambda tmp: "  ", "out is empty"),
        (lambda tmp: (tmp / "file").write_text("x") and tmp / "file", "is a file"),
        (lambda tmp: (tmp / "file").write_text("x") and tmp / "file" / "run", "is a file"),
    ],
    ids=["empty", "blank", "a-file", "under-a-file"],
)
def test_unusable_out_is_refused(make, match, tmp_path):
    with pytest.raises(ValueError, match=match):
        check_run_folder(make(tmp_path))


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_read_only_parent_is_refused(tmp_path):
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(PermissionError, match="not writable"):
            check_run_folder(tmp_path / "run")
    finally:
        tmp_path.chmod(0o700)


def test_config_json_from_another_run_is_refused(finished, tmp_path):
    a = save_run(finished, tmp_path / "a")
    config = json.loads((a / CONFIG).read_text())
    config["lr"] = 0.5
    (a / CONFIG).write_text(json.dumps(config))
    with pytest.raises(ValueError, match="does not match the configuration stored"):
        load_run(a)


def test_format_1_checkpoints_without_a_config_still_load(finished, tmp_path):
    out = save_run(finished, tmp_path / "run")
    state = torch.load(out / CHECKPOINT, weights_only=True)
    del state["config"]
    state["format"] = 1
    torch.save(state, out / CHECKPOINT)
    assert load_run(out).config["algo"] == "ppo"


def test_cli_checks_out_before_training(tmp_path, monkeypatch, capsys):
    def must_not_train(*args, **kwargs):
        raise AssertionError("training started before --out was checked")

    monkeypatch.setattr(algos, "ppo", must_not_train)
    (tmp_path / "file").write_text("x")
    for out in ["", str(tmp_path / "file"), str(tmp_path / "file" / "run")]:
        assert main(["train", "ppo", "--steps", "64", "--out", out, *SMALL_ARGS]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and "Traceback" not in err


def test_cli_needs_force_to_replace_a_run(tmp_path, capsys):
    argv = ["train", "ppo", "--steps", "128", "--out", str(tmp_path / "run"), *SMALL_ARGS]
    assert main(argv) == 0
    assert main(argv) == 2
    assert "--force" in capsys.readouterr().err
    assert main([*argv, "--force"]) == 0


@pytest.mark.parametrize(
    "how, code",
    [("sigint", EXIT_SIGINT), ("sigterm", EXIT_SIGTERM)],
)
def test_cli_keeps_the_partial_run_when_stopped(how, code, tmp_path, monkeypatch, capsys):
    if how == "sigint":
        stop_on_call(monkeypatch, 3)
    else:  # a real SIGTERM, delivered while the third batch is collected
        stop_on_call(monkeypatch, 3, lambda: os.kill(os.getpid(), signal.SIGTERM))
    out = tmp_path / "run"
    argv = ["train", "ppo", "--steps", "100000", "--out", str(out), *SMALL_ARGS]
    assert main(argv) == code
    assert "saved the partial ppo run (256 of 100000 steps)" in capsys.readouterr().err
    run = load_run(out)
    assert run.config["interrupted"] is True and run.config["steps_done"] == 256
    assert len(run.history["steps"]) == 2
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def contents(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_an_interrupted_run_is_saved_beside_a_complete_one(finished, tmp_path, monkeypatch, capsys):
    out = save_run(finished, tmp_path / "run")
    before = contents(out)
    argv = ["train", "ppo", "--steps", "100000", "--out", str(out), "--force", *SMALL_ARGS]
    for beside in ("run-interrupted", "run-interrupted-2"):
        stop_on_call(monkeypatch, 2)
        assert main(argv) == EXIT_SIGINT
        assert f"(128 of 100000 steps) to {tmp_path / beside}/" in capsys.readouterr().err
        assert load_run(tmp_path / beside).config["interrupted"] is True
    assert contents(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run", "run-interrupted",
                                                          "run-interrupted-2"]  # fmt: skip


def signal_while_saving(monkeypatch, signum):
    """Send ``signum`` to this process while the run's history is being written."""
    real = staging._write_history

    def write_history(history, path):
        os.kill(os.getpid(), signum)
        real(history, path)

    monkeypatch.setattr(staging, "_write_history", write_history)


@pytest.mark.parametrize(
    "signum, code", [(signal.SIGINT, EXIT_SIGINT), (signal.SIGTERM, EXIT_SIGTERM)]
)
def test_a_second_signal_stops_at_once_and_leaves_nothing_behind(
    signum, code, finished, tmp_path, monkeypatch, capsys
):
    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    out = save_run(finished, tmp_path / "run")
    before = contents(out)
    stop_on_call(monkeypatch, 3, lambda: os.kill(os.getpid(), signum))
    signal_while_saving(monkeypatch, signum)  # the second signal, in the middle of the save
    argv = ["train", "ppo", "--steps", "100000", "--out", str(out), "--force", *SMALL_ARGS]
    assert main(argv) == code
    assert "stopped at once by a second signal" in capsys.readouterr().err
    assert contents(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # no staging folder, no partial run
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == handlers


def test_a_signal_while_a_finished_run_is_saved_lets_the_save_finish(tmp_path, monkeypatch, capsys):
    signal_while_saving(monkeypatch, signal.SIGTERM)
    out = tmp_path / "run"
    assert main(["train", "ppo", "--steps", "128", "--out", str(out), *SMALL_ARGS]) == EXIT_SIGTERM
    assert "stopped while the finished run was saved; it is complete" in capsys.readouterr().err
    config = load_run(out).config
    assert "interrupted" not in config and config["total_steps"] == 128


def test_two_quick_ctrl_cs_end_the_real_command_cleanly(finished, tmp_path):
    # The audited crash: the second Ctrl-C landed inside `import matplotlib` in the run
    # writer (Fatal Python error, rc -6). Wherever the two signals land, the command must
    # exit with 130 and leave the earlier run whole and no staging folder behind.
    out = save_run(finished, tmp_path / "run")
    before = contents(out)
    argv = [sys.executable, "-m", "pgkit", "train", "ppo", "--steps", "10000000", "--out",
            str(out), "--force", *[a for a in SMALL_ARGS if a != "--no-progress"]]  # fmt: skip
    child = subprocess.Popen(argv, stderr=subprocess.PIPE)
    started = threading.Event()
    seen = bytearray()

    def read_progress():  # the bar counts steps once training is under way
        while chunk := child.stderr.read1(4096):
            seen.extend(chunk)
            if re.search(rb"\| *[1-9]\d*/10000000", seen):
                started.set()

    reader = threading.Thread(target=read_progress, daemon=True)
    reader.start()
    assert started.wait(120), seen.decode(errors="replace")
    child.send_signal(signal.SIGINT)
    time.sleep(0.05)
    child.send_signal(signal.SIGINT)
    assert child.wait(60) == EXIT_SIGINT, seen.decode(errors="replace")
    reader.join(10)
    assert b"Fatal Python error" not in seen and b"Traceback" not in seen
    assert contents(out) == before
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
