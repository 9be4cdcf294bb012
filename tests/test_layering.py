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
