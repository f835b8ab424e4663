"""The notation-drift check (tools/check_notation.py): it catches each drift it claims to, and the
book has none."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location(
    "check_notation", ROOT / "tools" / "check_notation.py"
)
check_notation = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_notation)


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        ("markdown", r"the control $u_t$ at step $t$"),
        ("markdown", r"a reward $R_{t+1}$ arrives"),
        ("markdown", r"$\pi_\theta(a_t | s_t)$"),
        ("markdown", r"the value $V_\pi(s)$"),
        ("markdown", r"ratio to $\pi_{\theta_{old}}$"),
        ("code", "adv_buf = np.zeros(T)"),
        ("code", "gae(r, v, nv, term, trunc, gamma=0.99, lmbda=0.95)"),
    ],
)
def test_each_drift_is_found(kind, text):
    assert check_notation.findings(kind, text)


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        ("markdown", r"$\pi_\theta(a_t \mid s_t)$ and $V^\pi(s)$, $r_t$, $R(\tau)$"),
        ("markdown", r"$\pi_{\theta_\text{old}}$ and Stable-Baselines3's `gae_lambda = 0.95`"),
        (
            "code",
            "advantages = pgkit.returns.gae(rewards, values, next_values, term, trunc, 0.99, lam=0.95)",
        ),
    ],
)
def test_house_notation_passes(kind, text):
    assert check_notation.findings(kind, text) == []


def test_the_book_has_no_notation_drift():
    problems = [
        f"{path.relative_to(ROOT)}: {finding}"
        for path, kind, text in check_notation.sources()
        for finding in check_notation.findings(kind, text)
    ]
    assert not problems, "notation drift (run tools/check_notation.py):\n" + "\n".join(problems)


def test_pgkit_docstrings_are_read_too():
    read = {path.name for path, _, text in check_notation.sources() if "Chapter 7" in text}
    assert "returns.py" in read  # gae's docstring is on the API page
