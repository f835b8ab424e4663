"""The exercise checkers never pass a function that did not answer, never hang, and say when a
function edits its inputs, calls pgkit's own answer, or tampers with pgkit.

The reader's function runs in a forked child (pgkit.exercises._running.ISOLATE); the tests
marked with the ``isolation`` fixture also run in-process, the path used where fork is not
available.
"""

import inspect
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import pgkit.returns
from pgkit.__main__ import main
from pgkit.exercises import _running, ch07_gae, check_discounted_returns, check_gae

fork_only = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork (POSIX)")


@pytest.fixture(params=[True, False] if hasattr(os, "fork") else [False], ids=["child", "inproc"])
def isolation(request, monkeypatch):
    monkeypatch.setattr(_running, "ISOLATE", request.param)
    return request.param


@pytest.fixture
def short_limit(monkeypatch):
    # long enough for a passing case on a loaded machine, short enough to keep the tests fast
    monkeypatch.setattr(_running, "CASE_TIME_LIMIT", 0.5)


def correct(rewards, dones, gamma):
    out, running = np.zeros(len(rewards)), np.zeros(np.shape(rewards)[1:])
    for t in reversed(range(len(rewards))):
        running = rewards[t] + gamma * np.where(dones[t], 0.0, running)
        out = out if out.shape == np.shape(rewards) else np.zeros(np.shape(rewards))
        out[t] = running
    return out


def test_a_correct_function_passes_without_notes(isolation, capsys):
    assert check_discounted_returns(correct)
    assert "note:" not in capsys.readouterr().out


def test_sys_exit_is_a_failure_not_an_escape(isolation, capsys):
    def exits(rewards, dones, gamma):
        sys.exit(0)

    assert check_discounted_returns(exits) is False
    assert "called sys.exit(0)" in capsys.readouterr().out


def test_an_endless_function_is_stopped_once(isolation, monkeypatch, capsys):
    monkeypatch.setattr(_running, "CASE_TIME_LIMIT", 0.2)

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


def test_mutated_inputs_are_reported(isolation, capsys):
    def mutates(rewards, dones, gamma):
        out = correct(rewards, dones, gamma)
        rewards *= 0
        return out

    assert check_discounted_returns(mutates)
    assert "changed its input rewards in place" in capsys.readouterr().out


def test_calling_pgkit_is_reported(isolation, capsys):
    assert check_discounted_returns(lambda r, d, g: pgkit.returns.discounted_returns(r, d, g))
    assert "calls pgkit.returns.discounted_returns from pgkit" in capsys.readouterr().out


def test_replacing_pgkit_fails_and_is_undone(isolation, capsys):
    original = pgkit.returns.discounted_returns

    def patches(rewards, dones, gamma):
        pgkit.returns.discounted_returns = lambda *args: np.zeros(np.shape(rewards))
        return np.zeros(np.shape(rewards))

    assert check_discounted_returns(patches) is False
    assert pgkit.returns.discounted_returns is original
    assert "replaced pgkit.returns.discounted_returns" in capsys.readouterr().out


def test_the_expected_answer_is_not_in_any_frame_while_the_function_runs(isolation):
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
        assert "ended the process running it (exit code 0)" in done.stdout


def test_cli_check_of_a_file_that_exits_while_imported_is_an_error(tmp_path):
    (tmp_path / "quits.py").write_text("import os\nos._exit(0)\ndef gae(*args):\n    return 0\n")
    done = subprocess.run(
        [sys.executable, "-m", "pgkit", "check", "gae", "quits.py:gae"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert "called os._exit(0) while it was imported" in done.stderr


def test_cli_check_explains_a_notebook(tmp_path, capsys):
    from pgkit.__main__ import main

    (tmp_path / "work.ipynb").write_text("{}")
    assert main(["check", "gae", f"{tmp_path / 'work.ipynb'}:gae"]) == 2
    assert "is not a .py file" in capsys.readouterr().err


# ------------------------------------------------------------------ swallowed time-outs (item 1)


def loops_with_bare_except(rewards, dones, gamma):
    while True:
        try:
            sum(range(10**5))
        except:  # noqa: E722  the careless pattern that used to swallow the alarm
            continue


def loops_with_base_exception(rewards, dones, gamma):
    while True:
        try:
            time.sleep(1)
        except BaseException:
            pass


def ignores_the_alarm(rewards, dones, gamma):
    signal.signal(signal.SIGALRM, signal.SIG_IGN)
    time.sleep(60)


@fork_only
@pytest.mark.parametrize(
    "fn", [loops_with_bare_except, loops_with_base_exception, ignores_the_alarm]
)
def test_a_function_that_swallows_the_time_limit_is_still_stopped(short_limit, fn, capsys):
    start = time.perf_counter()
    assert check_discounted_returns(fn) is False
    assert time.perf_counter() - start < 5
    out = capsys.readouterr().out
    assert "0 of 12 cases passed" in out
    assert "did not return within 0.5 s" in out


@fork_only
def test_a_hang_in_a_later_case_is_that_cases_verdict(short_limit, capsys):
    def hangs_on_batches(rewards, dones, gamma):
        while np.ndim(rewards) == 2:
            pass
        return correct(rewards, dones, gamma)

    assert check_discounted_returns(hangs_on_batches) is False
    out = capsys.readouterr().out
    # the (T,) cases passed; the smallest (T, N) case is the one shown, with the time-out
    assert "(T, N) = (5, 2)" in out and "did not return within 0.5 s" in out
    assert "0 of 12" not in out


# ------------------------------------------------------------------ ending the process (item 2)


@fork_only
@pytest.mark.parametrize(
    ("body", "how"),
    [
        ("os._exit(0)", "exit code 0"),
        ("os._exit(3)", "exit code 3"),
        ("os.kill(os.getpid(), signal.SIGKILL)", "killed by signal SIGKILL"),
    ],
)
def test_a_function_that_ends_the_process_fails(body, how, capsys):
    def ends(rewards, dones, gamma):
        exec(body, {"os": os, "signal": signal})

    assert check_discounted_returns(ends) is False
    out = capsys.readouterr().out
    assert f"ended the process running it ({how}) before returning" in out
    assert "not run after the process ended above" not in out  # only the first case is shown


@fork_only
def test_exercises_lists_every_exercise_when_a_solution_ends_the_process(tmp_path, capsys):
    (tmp_path / "sol.py").write_text(
        "import os\n"
        "def gae(*args):\n    os._exit(0)\n"
        "def mc_estimate(returns):\n    return returns.mean(), returns.std(ddof=1) / len(returns) ** 0.5\n"
    )
    assert main(["exercises", "--solutions", str(tmp_path / "sol.py")]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[1:] if line}
    assert "failing" in rows["gae"]
    assert "passed" in rows["mc_estimate"]
    assert "not started" in rows["ppo_clip_loss"]  # the rows after gae are there


@fork_only
def test_the_child_runs_neither_atexit_handlers_nor_flushes_the_parents_output():
    script = textwrap.dedent(
        """
        import atexit
        from pgkit.exercises import check_discounted_returns
        atexit.register(print, "atexit ran")
        print("before the check", end="")  # still in the buffer of a piped stdout at the fork
        check_discounted_returns(lambda rewards, dones, gamma: 1 / 0)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("before the check") == 1
    assert done.stdout.count("atexit ran") == 1
    assert done.stdout.count("check_discounted_returns:") == 1


@fork_only
def test_the_child_ends_when_the_checker_is_killed(tmp_path):
    pid_file = tmp_path / "child.pid"
    script = textwrap.dedent(
        f"""
        import os
        from pgkit.exercises import check_discounted_returns
        def loops(rewards, dones, gamma):
            open({str(pid_file)!r}, "w").write(str(os.getpid()))
            while True:
                pass
        check_discounted_returns(loops)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 60
        while not pid_file.exists() or not pid_file.read_text():
            assert time.monotonic() < deadline and parent.poll() is None
            time.sleep(0.05)
        child = int(pid_file.read_text())
    finally:
        parent.kill()
        parent.wait()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.kill(child, signal.SIGKILL)
    pytest.fail("the child kept running after the checker was killed")


# ------------------------------------------------------------------ reaching the answer (item 3)


def reads_the_checkers_frames(rewards, values, next_values, terminated, truncated, gamma, lam):
    inputs = dict(
        rewards=rewards, values=values, next_values=next_values, terminated=terminated,
        truncated=truncated, gamma=gamma, lam=lam,
    )  # fmt: skip
    for info in inspect.stack():
        problem = info.frame.f_locals.get("problem")
        if problem is not None:
            return problem.reference(inputs)
    return np.full(np.shape(rewards), np.nan)


def test_the_checkers_reference_cannot_be_called_from_its_frames(isolation, capsys):
    assert check_gae(reads_the_checkers_frames) is False
    assert "called the checker's own pgkit.exercises._gae_reference" in capsys.readouterr().out


def test_switching_the_profile_off_fails(isolation, capsys):
    def hides(*args):
        sys.setprofile(None)
        return pgkit.returns.gae(*args)

    assert check_gae(hides) is False
    assert "switched off the checker's profile" in capsys.readouterr().out


# ------------------------------------------------------------------ tampering (item 4)


def patches_the_code_of_pgkit(rewards, *args):
    pgkit.returns.gae.__code__ = (lambda rewards, *a, **k: np.zeros(np.shape(rewards))).__code__
    return np.zeros(np.shape(rewards))


def patches_the_reference(rewards, *args):
    def zeros(case):
        return np.zeros(np.shape(case.inputs["rewards"]))

    object.__setattr__(ch07_gae.PROBLEMS[0], "reference", zeros)
    return np.zeros(np.shape(rewards))


def patches_allclose(*args):
    np.allclose = lambda *a, **k: True
    return pgkit.returns.gae(*args) + 1.0


@fork_only
@pytest.mark.parametrize("fn", [patches_the_code_of_pgkit, patches_the_reference, patches_allclose])
def test_patches_in_the_child_cannot_change_the_verdict(fn, capsys):
    code, reference, allclose = (
        pgkit.returns.gae.__code__, ch07_gae.PROBLEMS[0].reference, np.allclose
    )  # fmt: skip
    assert check_gae(fn) is False
    assert "0 of 16 cases passed" in capsys.readouterr().out
    # and this process is untouched, for the next check
    assert pgkit.returns.gae.__code__ is code
    assert ch07_gae.PROBLEMS[0].reference is reference
    assert np.allclose is allclose


# ------------------------------------------------------------------ pgkit's own answer (item 5)


def test_pgkit_itself_under_another_name_is_reported(isolation, capsys):
    my_gae = pgkit.returns.gae  # as `from pgkit.returns import gae as my_gae` would
    assert check_gae(my_gae)
    assert "calls pgkit.returns.gae from pgkit" in capsys.readouterr().out


def test_calling_the_checkers_internals_fails(isolation, capsys):
    def via_internals(rewards, values, next_values, terminated, truncated, gamma, lam):
        return ch07_gae._gae(
            dict(rewards=rewards, values=values, next_values=next_values, terminated=terminated,
                 truncated=truncated, gamma=gamma, lam=lam)
        )  # fmt: skip

    assert check_gae(via_internals) is False
    assert "called the checker's own pgkit.exercises._gae" in capsys.readouterr().out


def test_cli_check_reports_an_imported_pgkit_function(tmp_path, capsys):
    (tmp_path / "alias.py").write_text("from pgkit.returns import gae as my_gae\n")
    assert main(["check", "gae", f"{tmp_path / 'alias.py'}:my_gae"]) == 0
    assert "calls pgkit.returns.gae from pgkit" in capsys.readouterr().out


# ------------------------------------------------------------------ the solution's folder (item 6)


def test_a_helper_imported_inside_the_function_is_found(tmp_path, capsys):
    (tmp_path / "helper_for_lazy_import.py").write_text(
        "from pgkit.returns import discounted_returns as answer\n"
    )
    (tmp_path / "lazy.py").write_text(
        "def discounted_returns(rewards, dones, gamma):\n"
        "    from helper_for_lazy_import import answer\n"
        "    return answer(rewards, dones, gamma)\n"
    )
    path = list(sys.path)
    assert main(["check", "discounted_returns", str(tmp_path / "lazy.py")]) == 0
    assert "all 12 cases passed" in capsys.readouterr().out
    assert sys.path == path  # the folder is on the path only while the command runs
    assert main(["exercises", "--solutions", str(tmp_path / "lazy.py")]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[1:] if line}
    assert "passed" in rows["discounted_returns"]
    assert sys.path == path


# ------------------------------------------------------------------ what the child sends back


def test_what_the_function_prints_is_shown(isolation, capsys):
    def prints(rewards, dones, gamma):
        print("T is", len(rewards))
        print("to stderr", file=sys.stderr)
        return correct(rewards, dones, gamma)

    assert check_discounted_returns(prints)
    captured = capsys.readouterr()
    assert captured.out.startswith("T is 1\n")
    assert captured.out.count("T is") == 12
    assert captured.err.count("to stderr") == 12
    assert "note:" not in captured.out


@fork_only
def test_a_keyboard_interrupt_raised_by_the_function_is_a_verdict(capsys):
    def interrupts(rewards, dones, gamma):
        raise KeyboardInterrupt

    assert check_discounted_returns(interrupts) is False
    assert "your function raised KeyboardInterrupt" in capsys.readouterr().out


@fork_only
def test_an_answer_that_is_not_an_array_still_gets_a_verdict(capsys):
    class Opaque:
        def __reduce__(self):
            raise TypeError("cannot be pickled")

    assert check_discounted_returns(lambda rewards, dones, gamma: Opaque()) is False
    assert "returned a Opaque" in capsys.readouterr().out


@fork_only
def test_a_forged_message_from_the_child_is_not_unpickled(capsys):
    """The parent reads only JSON from the child: a pickle sent down the pipe is refused."""
    import pickle

    def forges(rewards, dones, gamma):
        frame = sys._getframe(1)
        while "send" not in frame.f_locals:
            frame = frame.f_back
        frame.f_locals["send"].send_bytes(pickle.dumps(os.getpid()))
        while True:
            time.sleep(1)

    assert check_discounted_returns(forges) is False
    assert "sent back something the checker could not read" in capsys.readouterr().out
