import numpy as np
import pytest

from pgkit.claims import MARGIN_PREFIX, claim


def test_a_single_value_prints_its_margin_then_the_verdict(capsys):
    assert claim("ratio above 1.5", 2.31, ">", 1.5) is True
    margin, verdict = capsys.readouterr().out.splitlines()
    assert margin == f"{MARGIN_PREFIX} 2.31 (claim: > 1.5, margin +0.81)"
    assert verdict == "ratio above 1.5: True"


def test_an_array_reports_its_worst_value_and_every_value_must_pass(capsys):
    assert claim("every seed above 195", [462.4, 434.0, 500.0], ">=", 195) is True
    assert "worst of 3: 434 " in capsys.readouterr().out
    assert claim("every seed above 450", [462.4, 434.0, 500.0], ">", 450) is False
    out = capsys.readouterr().out
    assert "margin -16" in out and out.endswith("every seed above 450: False\n")


def test_upper_bounds_report_the_largest_value(capsys):
    assert claim("error below 1e-5", np.array([1e-7, 3e-6]), "<", 1e-5) is True
    assert "worst of 2: 3e-06 (claim: < 1e-05, margin +7e-06)" in capsys.readouterr().out
    assert claim("at most 2", 2.0, "<=", 2) is True
    assert claim("below 2", 2.0, "<", 2) is False


def test_margin_line_is_what_the_nbval_sanitizer_replaces(capsys):
    import re
    from pathlib import Path

    config = (Path(__file__).resolve().parents[1] / "tools" / "nbval_sanitize.cfg").read_text()
    patterns = re.findall("^regex: (.*)$\n^replace: (.*)$", config, flags=re.MULTILINE)
    assert patterns, "tools/nbval_sanitize.cfg has no regex/replace pair"
    claim("a", 1.0, ">", 0.5)
    first = capsys.readouterr().out
    claim("a", 7.0, ">", 0.5)
    second = capsys.readouterr().out
    for regex, replace in patterns:
        first, second = re.sub(regex, replace, first), re.sub(regex, replace, second)
    assert first == second == "  measured (margin, not compared)\na: True\n"


@pytest.mark.parametrize(
    "args, match",
    [
        (("", 1.0, ">", 0.0), "statement"),
        (("x", 1.0, "==", 0.0), "op must be one of"),
        (("x", 1.0, ">", float("nan")), "threshold must be a finite"),
        (("x", [], ">", 0.0), "measured is empty"),
        (("x", [1.0, float("nan")], ">", 0.0), "NaN"),
    ],
)
def test_errors(args, match):
    with pytest.raises(ValueError, match=match):
        claim(*args)
