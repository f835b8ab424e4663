"""Every name a script in bench/ or tools/ imports from pgkit exists.

The benchmarks are run by hand (`make bench-sb3` needs its own virtualenv), so a pgkit name
they import can be renamed without any other test noticing; reading their imports catches it
without running them.
"""

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted([*ROOT.glob("bench/*.py"), *ROOT.glob("tools/*.py")])


def _pgkit_imports(path: Path) -> list[tuple[str, str, int]]:
    """(module, name, line) for each `from pgkit... import name` in the script."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.split(".")[0] == "pgkit"
        ):
            found += [(node.module, alias.name, node.lineno) for alias in node.names]
    return found


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_pgkit_names_exist(path):
    missing = []
    for module, name, line in _pgkit_imports(path):
        imported = importlib.import_module(module)
        if not hasattr(imported, name):
            try:  # `from pgkit import envs` names a submodule
                importlib.import_module(f"{module}.{name}")
            except ModuleNotFoundError:
                missing.append(f"{path.name}:{line}: {module}.{name}")
    assert not missing, "scripts import pgkit names that do not exist: " + ", ".join(missing)


def test_scripts_found():
    assert any(p.parent.name == "bench" for p in SCRIPTS)


def test_every_pgkit_package_is_installed():
    # A subpackage missing from pyproject's package list imports from a checkout but not from
    # an installed copy (Colab, Binder): `make launch-check` is where that would first show.
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    include = config["packages"]["find"]["include"]
    assert "pgkit.*" in include and "pgkit" in include, include
