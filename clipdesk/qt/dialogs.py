"""The library's dialogs: add a folder, choose the model, the problems list, and errors
(one line a person can act on; the details out of the way, for a bug report)."""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QInputDialog, QMessageBox, QWidget

from clipdesk import __version__
from clipdesk.core.errors import ClipdeskError, ModelLoadError
from clipdesk.core.library import DEFAULT_MODEL, Library, forget_model_failures
from clipdesk.core.types import Status
from clipdesk.qt.background import first_line
from clipdesk.qt.panels import ProblemsDialog, choose_folder
from clipdesk.qt.worker import Jobs


class Dialogs:
    def __init__(self, library: Library, jobs: Jobs, parent: QWidget,
                 index: Callable[..., None]) -> None:
        """`index`: start an index run (of more folders, or with another model)."""
        self.library, self.jobs, self.parent, self.index = library, jobs, parent, index
        self.error_box: QMessageBox | None = None
        self.about_box: QMessageBox | None = None

    def add_folder(self) -> None:
        folder = choose_folder(self.parent, "Add a photo folder")
        if folder:
            self.index([folder])

    def update_now(self) -> None:
        """A person's explicit retry: models that failed to load are tried again."""
        forget_model_failures()
        self.index()

    def choose_model(self) -> None:
        current = self.library.model_id or DEFAULT_MODEL
        spec, ok = QInputDialog.getText(
            self.parent, "Embedding model",
            "Model (ARCH:TAG, hf-hub:ORG/REPO or local-dir:FOLDER).\n"
            "The library is re-embedded in the background; search keeps working meanwhile.\n"
            "MobileCLIP weights are licensed for research use only.",
            text=current)
        if ok and spec.strip() and spec.strip() != current:
            self.index(model=spec.strip())

    def show_problems(self) -> None:
        self.jobs.read(self.library.problems,
                       done=lambda problems: ProblemsDialog(problems, self.parent).exec())

    def about(self) -> None:
        """Version, model, where and how photos are encoded, the data folder."""
        self.jobs.read(self.library.status, done=self._show_about)

    def _show_about(self, status: Status) -> None:
        box = QMessageBox(QMessageBox.Icon.Information, "About clipdesk",
                          f"clipdesk {__version__}", parent=self.parent)
        box.setInformativeText(about_text(status))
        box.setObjectName("about")
        box.show()
        self.about_box = box

    def show_error(self, error: ClipdeskError) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, "clipdesk", first_line(error),
                          parent=self.parent)
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
        folder = choose_folder(self.parent, "Folder with open_clip_config.json and the weights")
        if folder:
            self.index(model=f"local-dir:{folder}")


def about_text(status: Status) -> str:
    return "\n".join([
        "Finds your photos by what is in them. Photos never leave this computer.",
        "",
        f"Model: {status.model or 'none yet'}",
        f"Runs on: {status.encoding or 'not run yet (indexing loads the model)'}",
        f"Photos: {status.photos:,}",
        f"Data in: {status.home}",
        "",
        "Place names: GeoNames (geonames.org), CC BY 4.0."])
