"""pgkit's docstrings follow one convention, the NumPy one, and read as prose on the API page.

appendix/api.md renders them with ``sphinx.ext.napoleon``; these tests convert each docstring the
way napoleon does and parse the result as reStructuredText, so a layout mistake fails here, named,
rather than as one line among the book build's warnings. Math is written in ``:math:`` roles and
``.. math::`` blocks, which MathJax typesets, never as ``$...$`` or bare TeX in the prose.
"""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
API_PAGE = ROOT / "appendix" / "api.md"
MODULES = re.findall(r"automodule:: (\S+)", API_PAGE.read_text(encoding="utf-8"))

# Sphinx's cross-reference roles, unknown to plain docutils: read as literals here.
SPHINX_ROLES = ("func", "class", "meth", "mod", "attr", "data", "exc", "obj", "eq", "doc", "ref")
# What may hold TeX: math roles and blocks, and literals.
MATH_OR_LITERAL = re.compile(
    r":math:`[^`]*`|``[^`]*``|`[^`]*`|^\.\. math::.*?(?=^\S|\Z)", re.MULTILINE | re.DOTALL
)


def documented_objects(module_name: str):
    """(qualified name, object) for what autodoc's ``:members:`` puts on the API page: the
    module, the names in ``__all__`` (or its public names defined there) and their public
    methods and properties."""
    module = importlib.import_module(module_name)
    yield module_name, module
    names = getattr(module, "__all__", None)
    if names is None:
        names = [
            name
            for name, obj in vars(module).items()
            if not name.startswith("_") and getattr(obj, "__module__", None) == module_name
        ]
    for name in names:
        obj = getattr(module, name)
        if not (inspect.isfunction(obj) or inspect.isclass(obj)):
            continue
        yield f"{module_name}.{name}", obj
        if inspect.isclass(obj):
            for attr, member in vars(obj).items():
                if attr.startswith("_") or not getattr(member, "__doc__", None):
                    continue
                if inspect.isfunction(member) or isinstance(member, property):
                    yield f"{module_name}.{name}.{attr}", member


OBJECTS = [pair for module in MODULES for pair in documented_objects(module)]


def as_rest(obj) -> str:
    from sphinx.ext.napoleon import Config
    from sphinx.ext.napoleon.docstring import NumpyDocstring

    what = "module" if inspect.ismodule(obj) else "class" if inspect.isclass(obj) else "function"
    # As in _config.yml: fields as :ivar: lists, so a class's attributes are not registered twice.
    config = Config(
        napoleon_google_docstring=False, napoleon_numpy_docstring=True, napoleon_use_ivar=True
    )
    return str(NumpyDocstring(inspect.getdoc(obj) or "", config, what=what))


def parse_strictly(text: str) -> None:
    """Parse reST, raising on any warning (a broken list, an unclosed literal, a bad indent)."""
    from docutils import nodes
    from docutils.core import publish_doctree
    from docutils.parsers.rst import roles

    for name in SPHINX_ROLES:
        roles.register_local_role(name, roles.GenericRole(name, nodes.literal))
    publish_doctree(text, settings_overrides={"halt_level": 2, "report_level": 2})


def test_the_api_page_lists_modules():
    assert len(MODULES) >= 15, MODULES
    assert len(OBJECTS) > 100, len(OBJECTS)


@pytest.mark.parametrize("name, obj", OBJECTS, ids=[name for name, _ in OBJECTS])
def test_docstring_is_numpy_style_rest_with_typeset_math(name, obj):
    doc = inspect.getdoc(obj)
    assert doc, f"{name} has no docstring"
    rest = as_rest(obj)
    try:
        parse_strictly(rest)
    except Exception as error:  # docutils' SystemMessage, with the line it could not read
        pytest.fail(f"{name}: its docstring is not valid reStructuredText:\n{error}")
    prose = MATH_OR_LITERAL.sub("", doc)
    assert "$" not in prose, f"{name}: write math as :math:`...`, not $...$"
    command = re.search(r"\\[A-Za-z]+", prose)
    assert command is None, f"{name}: TeX {command[0]!r} outside :math: or .. math::"


def _parameters(obj) -> list[str]:
    target = obj.__init__ if inspect.isclass(obj) else obj
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):
        return []
    return [
        p.name
        for p in signature.parameters.values()
        if p.name not in ("self", "cls") and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]


FUNCTIONS = [(n, o) for n, o in OBJECTS if inspect.isfunction(o) and n.count(".") == 2]


@pytest.mark.parametrize("name, obj", FUNCTIONS, ids=[name for name, _ in FUNCTIONS])
def test_public_functions_document_every_argument(name, obj):
    expected = _parameters(obj)
    if not expected:
        return
    doc = inspect.getdoc(obj)
    assert "Parameters\n----------" in doc, f"{name}: no NumPy 'Parameters' section"
    section = doc.split("Parameters\n----------", 1)[1]
    section = re.split(r"\n\S[^\n]*\n-{3,}\n", section, maxsplit=1)[0]
    # "a, b : type" documents both names.
    named = {
        part.strip().lstrip("*")
        for names in re.findall(r"^([\w*, ]+?)\s*(?::|$)", section, re.MULTILINE)
        for part in names.split(",")
    }
    missing = [p for p in expected if p not in named]
    assert not missing, f"{name}: Parameters does not describe {missing}"
