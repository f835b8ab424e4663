"""The exercise checkers never pass a function that did not answer, never hang, and say when a
function edits its inputs, calls pgkit's own answer, or tampers with pgkit."""

import subprocess
import sys
import time

import numpy as np
import pytest

import pgkit.returns
from pgkit import exercises
from pgkit.exercises import check_discounted_returns


def correct(rewards, dones, gamma):
    out, running = np.zeros(len(rewards)), np.zeros(np.shape(rewards)[1:])
    for t in reversed(range(len(rewards))):
        running = rewards[t] + gamma * np.where(dones[t], 0.0, running)
        out = out if out.shape == np.shape(rewards) else np.zeros(np.shape(rewards))
        out[t] = running
    return out


def test_a_correct_function_passes_without_notes(capsys):
    assert check_discounted_returns(correct)
    assert "note:" not in capsys.readouterr().out


def test_sys_exit_is_a_failure_not_an_escape(capsys):
    def exits(rewards, dones, gamma):
        sys.exit(0)

    assert check_discounted_returns(exits) is False
    assert "called sys.exit(0)" in capsys.readouterr().out


def test_an_endless_function_is_stopped_once(monkeypatch, capsys):
    monkeypatch.setattr(exercises, "CASE_TIME_LIMIT", 0.2)

    def hangs(rewards, dones, gamma):
        while True:
            try:
                time.sleep(1)
            except Exception:  # careless code that swallows errors: the checker must still win
                pass

    start = time.perf_counter()
    assert check_discounted_returns(hangs) is False
    assert time.perf_counter() - start < 3  # one time-out, not one per case
    assert "did not return within 0.2 s" in capsys.readouterr().out


def test_mutated_inputs_are_reported(capsys):
    def mutates(rewards, dones, gamma):
        out = correct(rewards, dones, gamma)
        rewards *= 0
        return out

    assert check_discounted_returns(mutates)
    assert "changed its input rewards in place" in capsys.readouterr().out


def test_calling_pgkit_is_reported(capsys):
    assert check_discounted_returns(lambda r, d, g: pgkit.returns.discounted_returns(r, d, g))
    assert "calls pgkit.returns.discounted_returns from pgkit" in capsys.readouterr().out


def test_replacing_pgkit_fails_and_is_undone(capsys):
    original = pgkit.returns.discounted_returns

    def patches(rewards, dones, gamma):
        pgkit.returns.discounted_returns = lambda *args: np.zeros(np.shape(rewards))
        return np.zeros(np.shape(rewards))

    assert check_discounted_returns(patches) is False
    assert pgkit.returns.discounted_returns is original
    assert "replaced pgkit.returns.discounted_returns" in capsys.readouterr().out


def test_the_expected_answer_is_not_in_any_frame_while_the_function_runs():
    def peeks(rewards, dones, gamma):
        frame = sys._getframe(1)
        while frame is not None:
            if "expected" in frame.f_locals:
                return frame.f_locals["expected"]
            frame = frame.f_back
        return np.full(np.shape(rewards), np.nan)

    assert check_discounted_returns(peeks) is False


@pytest.fixture
def solutions(tmp_path):
    (tmp_path / "helper.py").write_text("def scale(x):\n    return 1.0 * x\n")
    (tmp_path / "sol.py").write_text(
        "import os, sys\nimport numpy as np\nfrom helper import scale\n"
        "def hard_exit(rewards, dones, gamma):\n    os._exit(0)\n"
        "def soft_exit(rewards, dones, gamma):\n    sys.exit(0)\n"
        "def uses_helper(rewards, dones, gamma):\n    return scale(np.zeros(np.shape(rewards)))\n"
    )
    return tmp_path


@pytest.mark.parametrize("name", ["hard_exit", "soft_exit", "uses_helper"])
def test_cli_check_never_exits_0_without_a_passing_verdict(solutions, name):
    done = subprocess.run(
        [sys.executable, "-m", "pgkit", "check", "discounted_returns", f"sol.py:{name}"],
        cwd=solutions, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    if name == "hard_exit":
        assert "no verdict" in done.stdout


def test_cli_check_explains_a_notebook(tmp_path, capsys):
    from pgkit.__main__ import main

    (tmp_path / "work.ipynb").write_text("{}")
    assert main(["check", "gae", f"{tmp_path / 'work.ipynb'}:gae"]) == 2
    assert "is not a .py file" in capsys.readouterr().err
