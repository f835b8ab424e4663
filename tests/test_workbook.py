"""The self-study workbook and the ``check``/``exercises`` commands (pgkit/workbook.py)."""

import hashlib
import json
import re
import textwrap
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from pgkit.__main__ import main
from pgkit.workbook import stub_source, workbook_cells, write_workbook

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))

SOLUTION = textwrap.dedent(
    '''
    import numpy as np


    def reward_to_go(rewards, dones):
        """Sum of the rewards from t to the episode's end."""
        out = np.zeros(len(rewards))
        return out


    assert check_reward_to_go(reward_to_go)
    print("the worked answer, which the workbook leaves out")
    '''
)


def _notebook(*cells):
    return {"cells": [{"cell_type": t, "metadata": {}, "source": s} for t, s in cells]}


EXERCISE_NB = _notebook(
    ("markdown", "Intro"),
    ("code", "x = 1"),
    ("markdown", "Do it.\n\n```{solution-start} ex-rtg\n:class: dropdown\n```"),
    ("code", SOLUTION),
    ("markdown", "```{solution-end}\n```"),
    ("code", "y = 2"),
)


def test_stub_keeps_imports_signature_docstring_and_checker_only():
    stub = stub_source(SOLUTION, "ex-rtg")
    assert "import numpy as np" in stub
    assert 'def reward_to_go(rewards, dones):\n    """Sum of the rewards' in stub
    assert 'raise NotImplementedError("reward_to_go is yours to write' in stub
    assert "if not check_reward_to_go(reward_to_go):" in stub
    assert "worked answer" not in stub and "np.zeros" not in stub
    compile(stub, "stub", "exec")


def test_stub_rejects_solutions_without_function_or_checker():
    with pytest.raises(ValueError, match="defines no function"):
        stub_source("check_gae(print)", "ex")
    with pytest.raises(ValueError, match="calls no pgkit checker"):
        stub_source("def f():\n    return 1\n", "ex")


def test_workbook_cells_drop_solution_fences_and_stub_the_solution():
    cells, solutions = workbook_cells(EXERCISE_NB)
    sources = [c["source"] for c in cells]
    assert solutions == {"ex-rtg": SOLUTION}
    assert sources[2] == "Do it."
    assert cells[3]["metadata"] == {"pgkit_stub": "ex-rtg"}
    assert [c["id"] for c in cells] == ["cell-0", "cell-1", "cell-2", "cell-3", "cell-5"]
    assert sources[4] == "y = 2"  # the empty solution-end cell is gone
    assert all("solution-" not in s for s in sources)


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_every_chapter_exercise_becomes_a_stub(path):
    notebook = json.loads(path.read_text())
    text = "".join("".join(c["source"]) for c in notebook["cells"])
    cells, solutions = workbook_cells(notebook)
    assert len(solutions) == text.count("{solution-start}") >= 1
    stubs = [c for c in cells if c["metadata"].get("pgkit_stub")]
    assert len(stubs) == len(solutions)


def test_edited_notebooks_are_kept_unless_forced(tmp_path):
    chapters = tmp_path / "chapters"
    chapters.mkdir()
    (chapters / "01_a.ipynb").write_text(json.dumps({**EXERCISE_NB, "nbformat": 4}))
    out = tmp_path / "workbook"
    assert len(write_workbook(chapters, out)["written"]) == 1
    # untouched: regenerated freely
    assert len(write_workbook(chapters, out)["written"]) == 1
    target = out / "01_a.ipynb"
    edited = json.loads(target.read_text())
    edited["cells"][3]["source"] = "def reward_to_go(rewards, dones):\n    return rewards\n"
    target.write_text(json.dumps(edited))
    report = write_workbook(chapters, out)
    assert report == {"written": [], "kept": [target], "unreadable": [], "bad_chapters": {}}
    assert "return rewards" in target.read_text()
    assert write_workbook(chapters, out, force=True)["written"] == [target]
    assert "return rewards" not in target.read_text()


def _first_code_cell(notebook):
    return next(cell for cell in notebook["cells"] if cell["cell_type"] == "code")


@pytest.mark.parametrize(
    "change",
    [
        lambda nb: _first_code_cell(nb).update(
            outputs=[{"output_type": "stream", "name": "stdout", "text": "1"}]
        ),
        lambda nb: _first_code_cell(nb).update(execution_count=3),
        lambda nb: _first_code_cell(nb)["metadata"].update(tags=["mine"]),
        lambda nb: nb["cells"].append(_markdown("my notes")),
        lambda nb: nb["metadata"].update(reader_note="come back to the baseline"),
        lambda nb: nb["metadata"].update(kernelspec={"name": "my-env", "display_name": "mine"}),
        lambda nb: nb.update(nbformat_minor=nb.get("nbformat_minor", 4) + 1),
        lambda nb: nb["metadata"].pop("pgkit_workbook"),
    ],
    ids=[
        "outputs",
        "execution-count",
        "tags",
        "new-cell",
        "notebook-metadata",
        "kernelspec",
        "nbformat-minor",
        "fingerprint-removed",
    ],
)
def test_any_change_the_reader_made_is_kept(tmp_path, change, capsys):
    chapters, out = tmp_path / "chapters", tmp_path / "workbook"
    chapters.mkdir()
    (chapters / "01_a.ipynb").write_text(json.dumps({**EXERCISE_NB, "nbformat": 4}))
    write_workbook(chapters, out)
    target = out / "01_a.ipynb"
    notebook = json.loads(target.read_text())
    change(notebook)
    target.write_text(json.dumps(notebook))
    before = target.read_text()
    assert write_workbook(chapters, out)["kept"] == [target]
    assert main(["workbook", "--chapters", str(chapters), "--out", str(out)]) == 0
    assert f"kept  {target} (you changed it; --force overwrites)" in capsys.readouterr().out
    assert target.read_text() == before


def test_untouched_notebooks_are_refreshed_whatever_their_layout(tmp_path):
    # What the workbook itself writes (its fingerprint, metadata for a chapter that had none)
    # and how an editor lays out the JSON must not read as the reader's change.
    chapters, out = tmp_path / "chapters", tmp_path / "workbook"
    chapters.mkdir()
    chapter = {
        **EXERCISE_NB,
        "metadata": {"kernelspec": {"name": "python3"}, "title": "Ünïcode"},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (chapters / "01_a.ipynb").write_text(json.dumps(chapter))
    (chapters / "02_b.ipynb").write_text(json.dumps(EXERCISE_NB))  # no metadata, no nbformat
    write_workbook(chapters, out)
    for target in out.glob("*.ipynb"):
        notebook = json.loads(target.read_text())
        target.write_text(json.dumps(dict(reversed(notebook.items())), indent=4))
    chapter["cells"][1]["source"] = "x = 10"
    (chapters / "01_a.ipynb").write_text(json.dumps(chapter))
    report = write_workbook(chapters, out)
    assert report["written"] == [out / "01_a.ipynb", out / "02_b.ipynb"] and not report["kept"]
    refreshed = json.loads((out / "01_a.ipynb").read_text())
    assert refreshed["cells"][1]["source"] == "x = 10"
    assert refreshed["metadata"]["title"] == "Ünïcode" and refreshed["nbformat_minor"] == 5


def _legacy_workbook(chapter):
    """A workbook notebook as earlier versions wrote it: a fingerprint of the cells only."""
    cells, _ = workbook_cells(chapter)
    digest = hashlib.sha256(json.dumps(cells, sort_keys=True, ensure_ascii=False).encode())
    metadata = {**chapter.get("metadata", {}), "pgkit_workbook": digest.hexdigest()}
    return {**chapter, "cells": cells, "metadata": metadata}


def test_notebooks_from_earlier_versions_are_refreshed_unless_changed(tmp_path):
    chapters, out = tmp_path / "chapters", tmp_path / "workbook"
    chapters.mkdir()
    out.mkdir()
    chapter = {**EXERCISE_NB, "metadata": {"kernelspec": {"name": "python3"}}, "nbformat": 4}
    for name in ("01_a.ipynb", "02_b.ipynb"):
        (chapters / name).write_text(json.dumps(chapter))
        (out / name).write_text(json.dumps(_legacy_workbook(chapter)))
    edited = _legacy_workbook(chapter)
    edited["metadata"]["reader_note"] = "mine"
    (out / "02_b.ipynb").write_text(json.dumps(edited))
    report = write_workbook(chapters, out)
    assert report["written"] == [out / "01_a.ipynb"] and report["kept"] == [out / "02_b.ipynb"]
    assert json.loads((out / "02_b.ipynb").read_text()) == edited
    # once rewritten, the notebook carries the new fingerprint and is refreshed freely
    assert write_workbook(chapters, out)["written"] == [out / "01_a.ipynb"]


SOLUTION_CELLS = (("markdown", "```{solution-start} ex\n```"), ("code", "def f(:\n"))


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ('{"a":1}', 'no "cells" list'),
        ("[]", 'no "cells" list'),
        ("{not json", "not valid JSON (Expecting property name"),
        ("", "not valid JSON (Expecting value"),
        (b"\xff\xfe{}", "not UTF-8 text"),
        ('{"cells": [1]}', 'cell 0 has no "cell_type"'),
        ('{"cells": [{"cell_type": "code", "source": 3}]}', '"source" of cell 0 is not text'),
        ('{"cells": [], "metadata": []}', '"metadata" is not an object'),
        (json.dumps(_notebook(*SOLUTION_CELLS)), "solution of exercise ex is not valid Python"),
        (json.dumps(_notebook(*SOLUTION_CELLS[:1], ("code", "x = 1"))), "defines no function"),
    ],
    ids=[
        "no-cells",
        "list",
        "not-json",
        "empty",
        "not-utf8",
        "cell-not-object",
        "source-not-text",
        "metadata-not-object",
        "solution-syntax-error",
        "solution-without-function",
    ],
)
def test_unreadable_chapters_are_named_and_the_rest_written(tmp_path, content, reason, capsys):
    chapters, out = tmp_path / "chapters", tmp_path / "workbook"
    chapters.mkdir()
    out.mkdir()
    for name in ("01_a.ipynb", "20_c.ipynb"):
        (chapters / name).write_text(json.dumps({**EXERCISE_NB, "nbformat": 4}))
    bad = chapters / "10_bad.ipynb"
    bad.write_bytes(content.encode() if isinstance(content, str) else content)
    # the reader's copy of a chapter that is now broken stays as it is, even with --force
    (out / "10_bad.ipynb").write_text("my notes")
    report = write_workbook(chapters, out, force=True)
    assert list(report["bad_chapters"]) == [bad] and reason in report["bad_chapters"][bad]
    assert report["written"] == [out / "01_a.ipynb", out / "20_c.ipynb"]
    assert (out / "10_bad.ipynb").read_text() == "my notes"
    assert main(["workbook", "--chapters", str(chapters), "--out", str(out), "--force"]) == 1
    captured = capsys.readouterr()
    assert f"error: chapter {bad} could not be read: " in captured.err and reason in captured.err
    assert "Traceback" not in captured.err
    assert "2 written" in captured.out and "1 chapter could not be read" in captured.out


@pytest.mark.parametrize("text", ["[]", '{"cells": 3}', "{not json", '{"metadata": {}}'])
def test_unreadable_files_are_reported_and_the_rest_written(tmp_path, text, capsys):
    from pgkit.__main__ import main

    chapters, out = tmp_path / "chapters", tmp_path / "workbook"
    chapters.mkdir()
    for name in ("01_a.ipynb", "02_b.ipynb"):
        (chapters / name).write_text(json.dumps({**EXERCISE_NB, "nbformat": 4}))
    out.mkdir()
    (out / "01_a.ipynb").write_text(text)
    report = write_workbook(chapters, out, force=True)
    assert report["unreadable"] == [out / "01_a.ipynb"] and report["written"] == [
        out / "02_b.ipynb"
    ]
    assert (out / "01_a.ipynb").read_text() == text
    assert main(["workbook", "--chapters", str(chapters), "--out", str(out)]) == 0
    assert "skipped" in capsys.readouterr().out and not list(out.glob(".*partial"))


def test_missing_chapters_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no chapter notebooks"):
        write_workbook(tmp_path, tmp_path / "wb")


def _execute(path):
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3", resources={
        "metadata": {"path": str(path.parent)}}).execute()  # fmt: skip
    return notebook


def test_workbook_stops_at_the_stub_and_passes_with_the_solution_pasted_back(tmp_path):
    chapter = ROOT / "chapters" / "01_objective.ipynb"
    assert main(["workbook", "--chapters", str(chapter.parent), "--out", str(tmp_path)]) == 0
    workbook = tmp_path / chapter.name
    with pytest.raises(CellExecutionError) as error:
        _execute(workbook)
    assert "is not solved yet" in str(error.value)
    notebook = json.loads(workbook.read_text())
    first_stub = next(i for i, c in enumerate(notebook["cells"]) if c["metadata"].get("pgkit_stub"))
    # every code cell before the first stub ran without error
    _, solutions = workbook_cells(json.loads(chapter.read_text()))
    for cell in notebook["cells"]:
        label = cell["metadata"].get("pgkit_stub")
        if label:
            cell["source"] = solutions[label]
    workbook.write_text(json.dumps(notebook))
    executed = _execute(workbook)
    stub_outputs = [
        "".join(o.get("text", "") for o in c.outputs)
        for c in executed.cells
        if c.metadata.get("pgkit_stub")
    ]
    assert first_stub > 0 and stub_outputs
    assert all("cases passed" in text and "Smallest failing" not in text for text in stub_outputs)


def test_check_command_exit_codes(tmp_path, capsys):
    good = tmp_path / "mine.py"
    good.write_text(
        "import numpy as np\n"
        "def mc_estimate(returns):\n"
        "    r = np.asarray(returns, float)\n"
        "    return r.mean(), r.std(ddof=1) / np.sqrt(len(r))\n"
        "def wrong(returns):\n"
        "    r = np.asarray(returns, float)\n"
        "    return r.mean(), r.std() / np.sqrt(len(r))\n"
    )
    assert main(["check", "mc_estimate", f"{good}:mc_estimate"]) == 0
    assert main(["check", "mc_estimate", f"{good}:wrong"]) == 1
    assert "ddof" in capsys.readouterr().out
    assert main(["check", "nope", f"{good}:wrong"]) == 2
    assert "unknown exercise 'nope'" in capsys.readouterr().err
    assert main(["check", "gae", f"{good}:missing"]) == 2
    assert "defines no function named 'missing'" in capsys.readouterr().err
    assert main(["check", "gae", "no_colon"]) == 2
    assert main(["check", "gae", f"{tmp_path}/absent.py:gae"]) == 2


def test_exercises_command_lists_status(tmp_path, capsys):
    mine = tmp_path / "mine.py"
    mine.write_text(
        "import numpy as np\n"
        "def mc_estimate(returns):\n"
        "    r = np.asarray(returns, float)\n"
        "    return r.mean(), r.std(ddof=1) / np.sqrt(len(r))\n"
        "def gae(*args):\n"
        "    raise NotImplementedError\n"
    )
    assert main(["exercises", "--solutions", str(mine)]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[1:] if line}
    assert "passed" in rows["mc_estimate"]
    assert "failing" in rows["gae"]
    assert "not started" in rows["n_step_returns"]
    broken = tmp_path / "broken.py"
    broken.write_text("raise SystemError('boom')\n")
    assert main(["exercises", "--solutions", str(broken)]) == 2
    assert "failed to run" in capsys.readouterr().err


def test_exercises_command_finds_the_names_the_chapters_use(tmp_path, capsys):
    mine = tmp_path / "mine.py"
    mine.write_text(
        "import numpy as np\n"
        "from pgkit.returns import gae\n"  # pgkit's answer, imported: not the reader's
        "def mc_from_returns(returns):\n"
        "    r = np.asarray(returns, float)\n"
        "    return r.mean(), r.std(ddof=1) / np.sqrt(len(r))\n"
    )
    assert main(["exercises", "--solutions", str(mine)]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[1:] if line}
    assert "passed" in rows["mc_estimate"]
    assert "not started" in rows["gae"]
    # A bare FILE.py finds the exercise's function under either name; so does the chapter's name.
    assert main(["check", "mc_estimate", str(mine)]) == 0
    assert main(["check", "mc_from_returns", str(mine)]) == 0
    capsys.readouterr()
    assert main(["check", "gae", str(mine)]) == 2
    assert "defines no function named 'gae' or 'my_gae'" in capsys.readouterr().err


def test_chapter_names_are_the_ones_the_chapters_check():
    from pgkit.exercises import EXERCISES

    called = {}
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code":
                called.update(re.findall(r"\b(check_\w+)\(\s*(\w+)", cell.source))
    for exercise in EXERCISES.values():
        checker = exercise.checker.__name__
        assert checker in called, f"no chapter calls {checker}"
        assert called[checker] == exercise.chapter_name, (
            f"chapter {exercise.chapter} checks {called[checker]!r} with {checker}, but "
            f"EXERCISES[{exercise.name!r}].chapter_name is {exercise.chapter_name!r}"
        )


def _markdown(text):
    return {"cell_type": "markdown", "metadata": {}, "source": text}


def test_workbook_drops_written_answers_and_pen_and_paper_solutions():
    notebook = {
        "cells": [
            _markdown(
                "```{exercise}\n:label: ex-paper\n\nWhy?\n```\n\n"
                "```{solution} ex-paper\n:class: dropdown\n\nBecause of $x$.\n```\n\nAfter."
            ),
            _markdown("```{solution-start} ex-code\n:class: dropdown\n```"),
            {"cell_type": "code", "metadata": {}, "outputs": [], "source": SOLUTION},
            _markdown("So the answer is 42, as written out here.\n\n```{solution-end}\n```\nNext."),
        ]
    }
    cells, solutions = workbook_cells(notebook)
    text = "\n".join(cell["source"] for cell in cells if cell["cell_type"] == "markdown")
    assert "Why?" in text and "After." in text and "Next." in text
    assert "Because" not in text and "42" not in text and "{solution" not in text
    assert list(solutions) == ["ex-code"]


def test_workbook_chapters_keep_no_solution_text():
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        cells, _ = workbook_cells(json.loads(path.read_text()))
        for cell in cells:
            if cell["cell_type"] == "markdown":
                assert "{solution" not in cell["source"], f"{path.name}: {cell['source'][:80]!r}"
