"""The one patch of a third party's internals in the app (clipdesk/qt/__init__.py): it
writes the reference counts of None, True and False through ctypes, because PySide6 6.12
on Python 3.11 drops a reference to None on every void Qt call. Each assumption it makes
is checked here, so that an upgrade that changes one fails loudly instead of corrupting
memory or aborting a session hours later."""
from __future__ import annotations

import ctypes
import subprocess
import sys

import pytest

import clipdesk.qt
from clipdesk.qt import SURPLUS

pytestmark = pytest.mark.skipif(
    sys.version_info >= (3, 12),
    reason="None, True and False are immortal from Python 3.12 on: the patch does nothing")

CALLS = 500

LEAK = f"""
import ctypes, sys
from PySide6.QtCore import QObject
o = QObject()
before = sys.getrefcount(None)
for _ in range({CALLS}):
    o.setObjectName("x")  # a Qt method that returns nothing
dropped = before - sys.getrefcount(None)
ctypes.c_ssize_t.from_address(id(None)).value += dropped  # or None dies at the exit
print(dropped)
"""


def test_the_refcount_is_the_field_the_patch_writes():
    """ob_refcnt first in the object, a Py_ssize_t: a write there is what getrefcount reads."""
    obj = object()
    field = ctypes.c_ssize_t.from_address(id(obj))
    before = sys.getrefcount(obj)
    field.value += 3
    try:
        assert sys.getrefcount(obj) == before + 3, "the refcount is no longer where " \
            "clipdesk/qt/__init__.py writes it: the patch would corrupt memory"
    finally:
        field.value -= 3
    assert sys.getrefcount(obj) == before


def test_none_true_and_false_have_the_surplus():
    for obj in (None, True, False):
        assert sys.getrefcount(obj) >= SURPLUS // 2, obj
    assert clipdesk.qt.keep_singletons_alive() is False  # done once, not twice


def test_pyside_still_drops_a_reference_to_none_per_void_call():
    """Without the patch (a fresh interpreter that never imports clipdesk.qt)."""
    import PySide6

    run = subprocess.run([sys.executable, "-c", LEAK], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    dropped = int(run.stdout)
    assert dropped != 0, (
        f"PySide6 {PySide6.__version__} no longer drops a reference to None per void call: "
        "the patch in clipdesk/qt/__init__.py (and this test) can go")
    assert dropped == CALLS, f"PySide6 {PySide6.__version__} drops {dropped} references " \
        f"to None in {CALLS} void calls, not one a call: check the patch still covers it"
