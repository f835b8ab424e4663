"""Sphinx extension: small fixes that keep the built pages free of browser console errors.

- sphinx-thebe registers its inline configuration script once per read phase, so a page can
  carry two copies of ``const THEBE_JS_URL = ...`` and the second one throws a SyntaxError.
  Duplicate scripts are dropped from every page. The cause, in sphinx-thebe 0.3.1:
  ``init_thebe_core`` is connected to ``env-before-read-docs`` and calls
  ``app.add_js_file(None, body="const THEBE_JS_URL = ...")`` every time that event fires
  (sphinx_thebe/__init__.py). No upstream report was found in executablebooks/sphinx-thebe's
  issues (searched 2026-12-06); drop this fix once a release registers the script only once.
- The single-page build of ``make pdf`` (builder ``singlehtml``) lost every node handler that an
  extension registered for ``html`` only, such as myst-nb's ``HideCodeCellNode`` of the
  ``hide-input`` cells: Sphinx looks handlers up by builder name and falls back to the format
  only when no extension registered any for that name, and sphinx-exercise registers some for
  ``singlehtml``. The missing ``html`` handlers are copied to the HTML builders that have their
  own. Upstream: sphinx-doc/sphinx#14587 (same cause for ``dirhtml``) and #9160; drop this fix
  once Sphinx merges the format's handlers under the builder's.
"""

from __future__ import annotations


def _script_key(script) -> tuple:
    # The same inline script is registered once with filename None and once with "".
    attributes = tuple(sorted(getattr(script, "attributes", {}).items()))
    return (getattr(script, "filename", str(script)) or "", attributes)


def _drop_duplicate_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        key = _script_key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


def _inherit_html_node_handlers(app) -> None:
    handlers = app.registry.translation_handlers
    name, fmt = app.builder.name, app.builder.format
    if fmt != "html" or name == fmt or name not in handlers:
        return
    for node_name, visit_depart in handlers.get(fmt, {}).items():
        handlers[name].setdefault(node_name, visit_depart)


def setup(app):
    app.connect("html-page-context", _drop_duplicate_scripts)
    app.connect("builder-inited", _inherit_html_node_handlers)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
