"""The engine and the CLI never load Qt (DESIGN.md: qt -> core, never core -> qt)."""
import subprocess
import sys


def test_core_and_cli_import_no_pyside6():
    code = (
        "import sys, pkgutil, importlib, clipdesk.core, clipdesk.cli\n"
        "for m in pkgutil.walk_packages(clipdesk.core.__path__, 'clipdesk.core.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = [m for m in sys.modules if m.startswith(('PySide6', 'shiboken6'))]\n"
        "assert not bad, bad\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


FORBIDDEN = ("clipdesk.core.store.catalog", "clipdesk.core.indexing.pipeline",
             "clipdesk.core.store.vindex")


def reaches_past_the_facade(source: str) -> list[str]:
    """Imports of the engine's insides and `.catalog` attribute uses in `source`."""
    import ast

    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            names = []
        found += [f"line {node.lineno}: import {n}" for n in names if n in FORBIDDEN]
        if isinstance(node, ast.Attribute) and node.attr == "catalog":
            found.append(f"line {node.lineno}: .catalog")
    return found


def past_the_facade_in(package: str) -> dict[str, list[str]]:
    """Every module of `package` that reaches past the facade, with where."""
    import importlib
    from pathlib import Path

    folder = Path(importlib.import_module(package).__file__).parent
    found = {f.name: reaches_past_the_facade(f.read_text()) for f in folder.glob("*.py")}
    assert len(found) >= 4  # the package's modules were found
    return {name: where for name, where in found.items() if where}


def test_the_cli_uses_only_the_library_facade():
    assert past_the_facade_in("clipdesk.cli") == {}


def test_the_app_uses_only_the_library_facade():
    assert past_the_facade_in("clipdesk.qt") == {}


def test_the_facade_check_sees_both_ways_past_it():
    source = ("from clipdesk.core.store.catalog import Catalog\n"
              "import clipdesk.core.store.vindex\n"
              "library.catalog.set_tag(1, 'x')\n"
              "from clipdesk.core.indexing import pipeline\n")
    assert sorted(reaches_past_the_facade(source)) == [
        "line 1: import clipdesk.core.store.catalog", "line 2: import clipdesk.core.store.vindex",
        "line 3: .catalog", "line 4: import clipdesk.core.indexing.pipeline"]


def test_the_index_pipeline_does_not_know_the_library():
    """pipeline is built from the catalog, an add-vectors callback and the embedder: a
    cycle library <-> pipeline would make every change to one a change to both."""
    from pathlib import Path

    import clipdesk.core.indexing.pipeline

    source = Path(clipdesk.core.indexing.pipeline.__file__).read_text()
    assert "clipdesk.core.library" not in source


# A core module over 400 lines holds more than one concern; these say why they may.
LONG_FOR_A_REASON = {
    "catalog.py": "every SQL statement in one place, next to the schema it must agree with",
}


def test_core_modules_stay_small_unless_a_reason_is_given():
    from pathlib import Path

    import clipdesk.core

    folder = Path(clipdesk.core.__file__).parent
    long = {f.name: n for f in folder.rglob("*.py")
            if (n := len(f.read_text().splitlines())) > 400}
    assert set(long) <= set(LONG_FOR_A_REASON), long
