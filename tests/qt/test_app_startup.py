"""The app over a damaged catalog: the one line, with the way back, before any window."""
from __future__ import annotations

import os

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from clipdesk.core.errors import CatalogError
from clipdesk.core.library import Library
from clipdesk.core.store import backup
from clipdesk.qt import app as qt_app


def test_a_damaged_catalog_shows_the_restore_command_at_start(qtbot, tmp_path):
    home = tmp_path / "home"
    Library(home).close()
    assert backup.make_backup(home) is not None
    catalog = home / "catalog.sqlite"
    catalog.write_bytes(os.urandom(catalog.stat().st_size))
    shown: list[str] = []

    def read_and_close() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(10, read_and_close)  # not shown yet
            return
        shown.append(box.text())
        box.close()

    QTimer.singleShot(0, read_and_close)
    with pytest.raises(CatalogError):
        qt_app.main(str(home))
    assert len(shown) == 1
    assert "is damaged" in shown[0] and "restore-backup" in shown[0]
    assert "\n" not in shown[0]
