"""The desktop app: presentation and wiring only; all work is done by clipdesk.core."""
from __future__ import annotations

import ctypes
import sys

# PySide6/shiboken6 6.12.0 treats None, True and False as immortal, as they are from
# Python 3.12 on: every call of a Qt method that returns nothing (painter.save(),
# label.setText(), ...) and every invalid QVariant handed back to Python (index.data(role)
# with nothing there) drops one reference to None without taking it, and every
# signal.emit() drops one to True. On Python 3.10/3.11 these are ordinary objects, so a
# few hundred thousand such calls (minutes of scrolling: a grid repaint makes hundreds)
# free None and the interpreter aborts with "Fatal Python error: none_dealloc".
# Measured on 6.12.0 / Python 3.11.7: exactly -1 per call; Python 3.12+ is unaffected.
# Written for PySide6-Essentials 6.12.0 and shiboken6 6.12.0 on CPython 3.11.7; what it
# relies on (the refcount's place, the leak itself) is checked by tests/qt/test_qt_patches.py,
# which says when an upgrade makes the patch unneeded.
# No app code can avoid calling void Qt methods, so the workaround is global: give these
# objects a reference surplus no session can spend (2**60), which is what Python 3.12 does
# by making them immortal. (Measured: the drain then stops by itself a few thousand calls
# later, at 2**60 - 1, whose low 32 bits read as 3.12's "immortal" mark to shiboken.)
SURPLUS = 1 << 60


def keep_singletons_alive() -> bool:
    """Make None, True and False effectively immortal on CPython < 3.12; True if done now."""
    if sys.implementation.name != "cpython" or sys.version_info >= (3, 12):
        return False
    done = False
    for obj in (None, True, False):
        refcount = ctypes.c_ssize_t.from_address(id(obj))
        if refcount.value >= SURPLUS // 2:
            continue  # done already (a test reloading this module)
        # ob_refcnt is an object's first field in release builds; a debug build
        # (Py_TRACE_REFS) puts two pointers first, where the value read is no refcount
        if abs(refcount.value - sys.getrefcount(obj)) > 16:
            continue
        refcount.value += SURPLUS
        done = True
    return done


keep_singletons_alive()
