"""The library's dialogs: add a folder, choose the model, the problems list, and errors
(one line a person can act on; the details out of the way, for a bug report)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QInputDialog, QMessageBox

from clipdesk.core.errors import ClipdeskError, ModelLoadError
from clipdesk.core.models.loading import forget_failures
from clipdesk.core.models.spec import DEFAULT_MODEL
from clipdesk.qt.background import first_line
from clipdesk.qt.panels import ProblemsDialog, choose_folder

if TYPE_CHECKING:
    from clipdesk.qt.main_window import MainWindow


class Dialogs:
    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.library = window.library
        self.error_box: QMessageBox | None = None

    def add_folder(self) -> None:
        folder = choose_folder(self.window, "Add a photo folder")
        if folder:
            self.window.start_index([folder])

    def update_now(self) -> None:
        """A person's explicit retry: models that failed to load are tried again."""
        forget_failures()
        self.window.start_index()

    def choose_model(self) -> None:
        current = self.library.model_id or DEFAULT_MODEL
        spec, ok = QInputDialog.getText(
            self.window, "Embedding model",
            "Model (ARCH:TAG, hf-hub:ORG/REPO or local-dir:FOLDER).\n"
            "The library is re-embedded in the background; search keeps working meanwhile.\n"
            "MobileCLIP weights are licensed for research use only.",
            text=current)
        if ok and spec.strip() and spec.strip() != current:
            self.window.start_index(model=spec.strip())

    def show_problems(self) -> None:
        self.window.jobs.read(self.library.problems,
                              done=lambda problems: ProblemsDialog(problems, self.window).exec())

    def show_error(self, error: ClipdeskError) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, "clipdesk", first_line(error),
                          parent=self.window)
        if str(error).strip() != first_line(error):
            box.setDetailedText(str(error))  # kept for a bug report, out of the way
        choose = None
        if isinstance(error, ModelLoadError):
            box.setInformativeText("You can use a model folder on this computer instead.")
            choose = box.addButton("Choose model folder…", QMessageBox.ButtonRole.ActionRole)
        box.addButton(QMessageBox.StandardButton.Close)
        box.setModal(True)
        box.finished.connect(lambda _: self._model_folder() if box.clickedButton() is choose
                             and choose is not None else None)
        box.show()
        self.error_box = box

    def _model_folder(self) -> None:
        folder = choose_folder(self.window, "Folder with open_clip_config.json and the weights")
        if folder:
            self.window.start_index(model=f"local-dir:{folder}")
