"""Sphinx extension: small fixes that keep the built pages free of browser console errors.

- sphinx-thebe registers its inline configuration script once per read phase, so a page can
  carry two copies of ``const THEBE_JS_URL = ...`` and the second one throws a SyntaxError.
  Duplicate scripts are dropped from every page. The cause, in sphinx-thebe 0.3.1:
  ``init_thebe_core`` is connected to ``env-before-read-docs`` and calls
  ``app.add_js_file(None, body="const THEBE_JS_URL = ...")`` every time that event fires
  (sphinx_thebe/__init__.py). No upstream report was found in executablebooks/sphinx-thebe's
  issues (searched 2026-12-06); drop this fix once a release registers the script only once.
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


def setup(app):
    app.connect("html-page-context", _drop_duplicate_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
