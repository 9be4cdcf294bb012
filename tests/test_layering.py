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


FORBIDDEN = ("clipdesk.core.catalog", "clipdesk.core.pipeline", "clipdesk.core.vindex")


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


def test_the_cli_uses_only_the_library_facade():
    from pathlib import Path

    import clipdesk.cli

    assert reaches_past_the_facade(Path(clipdesk.cli.__file__).read_text()) == []


def test_the_index_pipeline_does_not_know_the_library():
    """pipeline is built from the catalog, an add-vectors callback and the embedder: a
    cycle library <-> pipeline would make every change to one a change to both."""
    from pathlib import Path

    import clipdesk.core.pipeline

    source = Path(clipdesk.core.pipeline.__file__).read_text()
    assert "clipdesk.core.library" not in source


# A core module over 400 lines holds more than one concern; these say why they may.
LONG_FOR_A_REASON = {
    "catalog.py": "every SQL statement in one place, next to the schema it must agree with",
    "models.py": "model loading, offline detection and download progress share one lock",
}


def test_core_modules_stay_small_unless_a_reason_is_given():
    from pathlib import Path

    import clipdesk.core

    folder = Path(clipdesk.core.__file__).parent
    long = {f.name: n for f in folder.glob("*.py")
            if (n := len(f.read_text().splitlines())) > 400}
    assert set(long) <= set(LONG_FOR_A_REASON), long
