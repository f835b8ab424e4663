"""Tests for what every exercise checker shares (pgkit/exercises/_framework.py and the registry):
pgkit's own answers pass, errors and junk are reported, the output is deterministic."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import sys
from pathlib import Path

import pytest
import torch
from exercise_helpers import backward, nearly, reference, run

import pgkit.exercises
from pgkit import exercises, returns
from pgkit.exercises import EXERCISES

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted(p.stem for p in (ROOT / "pgkit" / "exercises").glob("ch[0-9][0-9]_*.py"))


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_checker_accepts_pgkit_answer(name, capsys):
    result, out = run(name, reference(name), capsys)
    assert result is True
    assert "cases passed" in out and "Smallest failing" not in out
    assert len(out.splitlines()) <= 3


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_raising_function_is_reported_not_propagated(name, capsys):
    def broken(*args):
        raise RuntimeError("not written yet")

    result, out = run(name, broken, capsys)
    assert result is False
    assert "raised RuntimeError: not written yet" in out
    assert "Traceback" not in out


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_type_error_shows_expected_signature(name, capsys):
    result, out = run(name, lambda a, b, c, d, e, f, g, h: a, capsys)
    assert result is False
    assert "raised TypeError" in out
    assert f"expected signature: {EXERCISES[name].signature}" in out


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_output_is_deterministic(name, capsys):
    wrong = nearly(reference(name))
    first = run(name, wrong, capsys)
    second = run(name, wrong, capsys)
    assert first == second
    assert first[0] is False


def test_none_points_at_missing_return(capsys):
    result, out = run("reward_to_go", lambda rewards, dones: None, capsys)
    assert result is False
    assert "forget the `return` statement" in out


def test_non_numeric_return_fails(capsys):
    result, out = run("reward_to_go", lambda rewards, dones: "G", capsys)
    assert result is False
    assert "returned a str" in out


def test_not_a_function_fails(capsys):
    assert exercises.check_gae(None) is False
    assert "expected your function" in capsys.readouterr().out


@pytest.mark.parametrize(
    "convert",
    [
        lambda x: x.tolist(),
        lambda x: torch.as_tensor(x),
        lambda x: torch.as_tensor(x, dtype=torch.float32),
    ],
    ids=["list", "tensor64", "tensor32"],
)
def test_lists_and_tensors_are_accepted(convert, capsys):
    result, _ = run("gae", lambda *args: convert(returns.gae(*args)), capsys)
    assert result is True


def test_flags_arrive_as_booleans_with_a_hint_for_subtraction(capsys):
    def subtracts_bools(rewards, dones):
        return backward(rewards, 1 - torch.as_tensor(dones))

    result, out = run("reward_to_go", subtracts_bools, capsys)
    assert result is False
    assert "flags arrive as booleans" in out


def test_registry_lists_every_checker_with_chapter_and_signature():
    aliases = {"check_importance_weights"}  # former names, kept for one release
    checkers = {name for name in exercises.__all__ if name.startswith("check_")}
    assert {e.checker.__name__ for e in EXERCISES.values()} == checkers - aliases
    for name, exercise in EXERCISES.items():
        module = exercise.checker.__module__.rpartition(".")[2]
        # the chapter number comes from the module's name, which is the notebook's
        assert exercise.chapter == int(module[2:4])
        assert (ROOT / "chapters" / f"{module[2:]}.ipynb").is_file()
        assert exercise.name == name
        assert exercise.signature.startswith(f"{name}(")
        assert exercise.description
        assert f"Chapter {exercise.chapter}" in exercise.checker.__doc__
    assert [e.chapter for e in EXERCISES.values()] == sorted(e.chapter for e in EXERCISES.values())
    assert {e.chapter for e in EXERCISES.values()} == set(range(1, 10))
    with pytest.raises(dataclasses.FrozenInstanceError):
        EXERCISES["gae"].chapter = 3


@pytest.mark.parametrize("module", MODULES)
def test_every_chapter_module_has_its_tests(module):
    """Adding an exercise is adding one module; its mistakes are tested in a file named like it."""
    assert (Path(__file__).parent / f"test_{module}.py").is_file()
    chapter = importlib.import_module(f"pgkit.exercises.{module}")
    for problem in chapter.PROBLEMS:
        assert callable(getattr(chapter, f"check_{problem.name}"))
    # REFERENCE names pgkit's functions (a partial of one, for the reward-to-go), never one of
    # the checker's own, which a reader's function may not call
    for fn in chapter.REFERENCE.values():
        module = getattr(fn, "func", fn).__module__
        assert module.startswith("pgkit.") and not module.startswith("pgkit.exercises")


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_signatures_match_the_reference_argument_names(name):
    parameters = inspect.signature(reference(name)).parameters
    arguments = ", ".join(p for p in parameters if p != "gamma" or name != "reward_to_go")
    assert EXERCISES[name].signature.startswith(f"{name}({arguments})")


def test_pgkit_functions_the_exercises_reproduce_keep_their_names():
    # Where pgkit has the function, the exercise is named after it (Chapter 8's once was not).
    for name in ("discounted_returns", "n_step_returns", "gae", "ppo_clip_loss"):
        assert reference(name).__name__ == name
    assert reference("trajectory_importance_weights").__module__ == "pgkit.importance"
    assert reference("surrogate_loss").__module__ == "pgkit.estimators"


def test_the_former_importance_weights_names_still_work(capsys):
    from pgkit.importance import trajectory_importance_weights

    assert pgkit.exercises.check_importance_weights(trajectory_importance_weights) is True
    assert "check_trajectory_importance_weights: all 9 cases passed" in capsys.readouterr().out
    assert "importance_weights" in EXERCISES["trajectory_importance_weights"].names


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_cases_are_data_with_settings_beside_the_arguments(name, monkeypatch):
    chapter = sys.modules[EXERCISES[name].checker.__module__]
    seen = {}
    monkeypatch.setattr(chapter, "_check", lambda problem, cases, fn: seen.update(cases=cases))
    EXERCISES[name].checker(None)
    cases = seen["cases"]
    assert len({case.label for case in cases}) == len(cases)
    for case in cases:
        assert not any(key.startswith("_") for key in case.inputs), case.label
        assert isinstance(case.settings, dict)
