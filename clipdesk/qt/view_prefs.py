"""How a person left the window: the order, the thumbnail size, stacking, how sensitive
photos are shown, the window's geometry and its panel sizes. Remembered across launches
with QSettings, in an ini file in the library's data folder (so a second library, or a
test's, keeps its own); the library's own settings stay in its catalog."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

SORT, ZOOM, STACK, SENSITIVE = "view/sort", "view/zoom", "view/stack", "view/sensitive"
GEOMETRY, PANELS = "window/geometry", "window/panels"
ZOOM_DEFAULT = 160  # px: about six columns in the default window
SENSITIVE_MODES = ("blur", "hide", "show")


class ViewPrefs:
    def __init__(self, home: Path) -> None:
        self.file = home / "view.ini"
        self.settings = QSettings(str(self.file), QSettings.Format.IniFormat)

    @property
    def sort(self) -> str:
        return str(self.settings.value(SORT, "default"))

    @sort.setter
    def sort(self, value: str) -> None:
        self.settings.setValue(SORT, value)

    @property
    def zoom(self) -> int:
        value = self.settings.value(ZOOM, ZOOM_DEFAULT)
        return int(str(value)) if str(value).isdigit() else ZOOM_DEFAULT

    @zoom.setter
    def zoom(self, value: int) -> None:
        self.settings.setValue(ZOOM, value)

    @property
    def stack(self) -> bool:
        return str(self.settings.value(STACK, "true")).lower() != "false"

    @stack.setter
    def stack(self, on: bool) -> None:
        self.settings.setValue(STACK, "true" if on else "false")

    @property
    def sensitive(self) -> str:
        value = str(self.settings.value(SENSITIVE, "blur"))
        return value if value in SENSITIVE_MODES else "blur"

    @sensitive.setter
    def sensitive(self, mode: str) -> None:
        self.settings.setValue(SENSITIVE, mode)

    def layout(self) -> tuple[QByteArray | None, QByteArray | None]:
        """The saved window geometry and panel sizes (None: the first launch)."""
        geometry, panels = self.settings.value(GEOMETRY), self.settings.value(PANELS)
        return (geometry if isinstance(geometry, QByteArray) else None,
                panels if isinstance(panels, QByteArray) else None)

    def save_layout(self, geometry: QByteArray, panels: QByteArray) -> None:
        self.settings.setValue(GEOMETRY, geometry)
        self.settings.setValue(PANELS, panels)
        self.settings.sync()
