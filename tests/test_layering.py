"""The layers (docs/architecture.md): qt -> core and cli -> core, never core -> qt; the
front ends through the Library facade; no import cycle; no file over 400 lines."""
import ast
import subprocess
import sys
from pathlib import Path


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


# The engine modules the app and the CLI may import; every other clipdesk.core module is
# reached through the facade, which re-exports the few constants and helpers they show
# (BLURRY, SENSITIVE, DEFAULT_MODEL, ...). paths: where a library lives, asked before one
# is open; store.backup: restoring a catalog that no Library may open (a damaged one);
# indexing.watch: the folder watcher, a service that drives a Library from its own thread.
ALLOWED = {"clipdesk.core.library", "clipdesk.core.types", "clipdesk.core.errors",
           "clipdesk.core.paths", "clipdesk.core.store.backup", "clipdesk.core.indexing.watch"}


def reaches_past_the_facade(source: str) -> list[str]:
    """Imports of the engine's insides and `.catalog` attribute uses in `source`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [f"{node.module}.{a.name}" if node.module == "clipdesk.core"
                     or f"{node.module}.{a.name}" in ALLOWED else node.module
                     for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            names = []
        found += [f"line {node.lineno}: import {n}" for n in names
                  if n.startswith("clipdesk.core.") and n not in ALLOWED]
        if isinstance(node, ast.Attribute) and node.attr == "catalog":
            found.append(f"line {node.lineno}: .catalog")
    return found


def past_the_facade_in(package: str) -> dict[str, list[str]]:
    """Every module of `package` that reaches past the facade, with where."""
    import importlib

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
              "from clipdesk.core.indexing import pipeline\n"
              "def f():\n    from clipdesk.core.models import captions\n"
              "from clipdesk.core import library, quality\n"
              "from clipdesk.core.library import BLURRY, Library\n"
              "from clipdesk.core.types import Hit\n"
              "from clipdesk.core.store import backup, edits\n")
    assert set(reaches_past_the_facade(source)) == {
        "line 1: import clipdesk.core.store.catalog", "line 2: import clipdesk.core.store.vindex",
        "line 3: .catalog", "line 4: import clipdesk.core.indexing",
        "line 6: import clipdesk.core.models", "line 7: import clipdesk.core.quality",
        "line 10: import clipdesk.core.store"}


def test_the_index_pipeline_does_not_know_the_library():
    """pipeline is built from the catalog, an add-vectors callback and the embedder: a
    cycle library <-> pipeline would make every change to one a change to both."""
    from pathlib import Path

    import clipdesk.core.indexing.pipeline

    source = Path(clipdesk.core.indexing.pipeline.__file__).read_text()
    assert "clipdesk.core.library" not in source


# A file over 400 lines holds more than one concern: split it by concern, as the catalog
# (store/catalog/) and model loading (models/) were.
MAX_LINES = 400
PACKAGE = Path(__file__).resolve().parent.parent / "clipdesk"


def test_no_file_is_over_400_lines():
    root = PACKAGE.parent
    long = {f.relative_to(root).as_posix(): n for f in PACKAGE.rglob("*.py")
            if (n := len(f.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def module_name(file: Path, root: Path) -> str:
    parts = list(file.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(source: str, name: str, is_package: bool, known: set[str]) -> set[str]:
    """The clipdesk modules a module's source imports, wherever the import statement is
    (at the top, inside a function, under TYPE_CHECKING: each ties the two together).
    `from P import M` is an import of the module P.M when that is one, else of P."""
    here = name if is_package else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package `level - 1` steps up
                up = here.split(".")[:len(here.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.add(full if full in known else base)
    return {m for m in found if m in known and m != name}


def import_graph(package: Path) -> dict[str, set[str]]:
    root = package.parent
    files = {module_name(f, root): f for f in package.rglob("*.py")}
    known = set(files)
    return {name: imports_of(f.read_text(), name, f.name == "__init__.py", known)
            for name, f in files.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a chain a -> b -> ... -> a, or None (depth-first search)."""
    done: set[str] = set()
    path: list[str] = []
    on_path: set[str] = set()

    def visit(node: str) -> list[str] | None:
        path.append(node)
        on_path.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt in on_path:
                return path[path.index(nxt):] + [nxt]
            if nxt not in done and (cycle := visit(nxt)):
                return cycle
        path.pop()
        on_path.discard(node)
        done.add(node)
        return None

    for start in sorted(graph):
        if start not in done and (cycle := visit(start)):
            return cycle
    return None


def test_no_import_cycle_anywhere_in_clipdesk():
    graph = import_graph(PACKAGE)
    assert len(graph) > 50 and graph["clipdesk.qt.main_window"]  # the modules were found
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_check_sees_a_cycle_through_a_function_and_a_relative_import():
    known = {"p", "p.a", "p.b", "p.c"}
    graph = {"p.a": imports_of("def f():\n    from p import b\n", "p.a", False, known),
             "p.b": imports_of("from .c import x\n", "p.b", False, known),
             "p.c": imports_of("if T:\n    import p.a\n", "p.c", False, known)}
    assert graph == {"p.a": {"p.b"}, "p.b": {"p.c"}, "p.c": {"p.a"}}
    assert find_cycle(graph) == ["p.a", "p.b", "p.c", "p.a"]
    assert find_cycle({"p.a": {"p.b"}, "p.b": set()}) is None
