"""The side panel and the dialogs: details, first-run folder picker, problems, preview."""
from __future__ import annotations

import os
from datetime import datetime
from html import escape
from pathlib import Path

from PySide6.QtCore import QStandardPaths, Qt, Signal
from PySide6.QtGui import QImage, QKeyEvent, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QCompleter,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLayout,
    QLineEdit,
    QListWidget,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from clipdesk.core.library import SENSITIVE, describe_sharpness
from clipdesk.core.types import FaceInfo, PhotoInfo, Problem
from clipdesk.wording import clock, plural


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} bytes"


def human_date(iso: str | None) -> str:
    if not iso:
        return "unknown"
    try:
        return datetime.fromisoformat(iso).strftime("%d %b %Y, %H:%M")
    except ValueError:
        return iso


def taken_words(info: PhotoInfo) -> str:
    """'01 Jun 2019, 18:30 (UTC+01:00)', or '... (file date)' when the photo holds no
    date and its file's time stands in."""
    text = human_date(info.taken_at)
    if info.taken_at and info.taken_from == "file":
        return f"{text} (file date)"
    if info.taken_at and info.taken_offset:
        return f"{text} (UTC{info.taken_offset})"
    return text


def place_words(info: PhotoInfo) -> str:
    """'Lisbon, Lisbon, Portugal', the GPS degrees where no place is named, or 'unknown'."""
    names = [n for n in (info.city, info.region, info.country) if n]
    names = [n for i, n in enumerate(names) if n not in names[:i]]
    if names:
        return ", ".join(names)
    if info.lat is not None and info.lon is not None:
        return f"{info.lat:.4f}, {info.lon:.4f}"
    return "unknown"


def exposure_words(clipped: float | None, crushed: float | None) -> str:
    if clipped is None or crushed is None:
        return "not measured yet"
    notes = [f"{clipped:.0%} blown out" if clipped >= 0.05 else "",
             f"{crushed:.0%} crushed to black" if crushed >= 0.05 else ""]
    return ", ".join(n for n in notes if n) or "fine"


class DetailsPanel(QWidget):
    """Preview and facts about the selected photo; its tags and caption can be edited."""

    tag_added = Signal(str)
    tag_removed = Signal(str)
    caption_edited = Signal(str)
    face_rejected = Signal(int)  # "not this person" for a face

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumWidth(260)
        self.preview = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.preview.setMinimumHeight(200)
        self.preview.setStyleSheet("background: #202020; border-radius: 4px;")
        self.fields = {name: QLabel(wordWrap=True, textInteractionFlags=
                                    Qt.TextInteractionFlag.TextSelectableByMouse)
                       for name in ("Name", "Folder", "Size", "Taken", "Place", "Camera", "File",
                                    "Sharpness", "Exposure", "Stack", "Text", "People")}
        self.caption = QLabel(wordWrap=True)
        self.caption.setStyleSheet("font-style: italic;")
        self.caption_edit = QLineEdit(placeholderText="Write a caption, then press Enter")
        self.caption_edit.returnPressed.connect(self._caption_done)
        self.caption_edit.hide()
        self.edit_caption = QToolButton()
        self.edit_caption.setText("Edit")
        self.edit_caption.setToolTip("Write your own caption (it is kept for good)")
        self.edit_caption.clicked.connect(self._start_caption_edit)
        self._caption = ""  # the caption shown, "" when none (the label may say why)
        caption_row = QHBoxLayout()
        caption_row.addWidget(self.caption, 1)
        caption_row.addWidget(self.caption_edit, 1)
        caption_row.addWidget(self.edit_caption, 0, Qt.AlignmentFlag.AlignTop)
        self.tags = QLabel(wordWrap=True, textFormat=Qt.TextFormat.RichText)
        self.tags.setToolTip("Click × to take a tag off this photo")
        self.tags.linkActivated.connect(self.tag_removed.emit)
        self.fields["People"].linkActivated.connect(
            lambda face: self.face_rejected.emit(int(face)))
        self.add_tag = QLineEdit(placeholderText="Add a tag…")
        self.add_tag.returnPressed.connect(self._tag_done)
        self.facts = QWidget()
        # A grid, not a QFormLayout: the form gave wrapped values (a long folder, a two-line
        # caption) the height of one line and clipped them.
        grid = QGridLayout(self.facts)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setColumnStretch(1, 1)
        rows: list[tuple[str, QWidget | QLayout]] = [
            ("Caption", caption_row), *self.fields.items(), ("Tags", self.tags),
            ("", self.add_tag)]
        for row, (name, field) in enumerate(rows):
            grid.addWidget(QLabel(f"<b>{name}</b>"), row, 0, Qt.AlignmentFlag.AlignTop)
            if isinstance(field, QWidget):
                grid.addWidget(field, row, 1)
            else:
                grid.addLayout(field, row, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.preview)
        layout.addWidget(self.facts)
        layout.addStretch(1)
        self.show_info(None)

    def set_known_tags(self, tags: list[str]) -> None:
        """What "Add a tag…" offers as you type."""
        completer = QCompleter(tags, self.add_tag)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.add_tag.setCompleter(completer)

    def show_info(self, info: PhotoInfo | None, thumbnail: QPixmap | None = None,
                  tags: list[str] | None = None, at: float | None = None) -> None:
        """`at`: a search hit on a video, the time of its best-matching keyframe."""
        if info is None:
            self.preview.setPixmap(QPixmap())
            self.preview.setText("Select a photo to see its details")
            for label in self.fields.values():
                label.setText("")
            self.facts.hide()
            return
        self.facts.show()
        path = os.fsdecode(info.path)
        self.fields["Name"].setText(os.path.basename(path))
        self.fields["Folder"].setText(os.path.dirname(path))
        self.fields["Size"].setText(f"{info.width} × {info.height} px "
                                    f"({info.width * info.height / 1e6:.1f} MP)")
        self.fields["Taken"].setText(taken_words(info))
        self.fields["Place"].setText(place_words(info))
        self.fields["Camera"].setText(info.camera or "unknown")
        video = "" if info.duration is None else f" video, {clock(info.duration)} long"
        moment = "" if at is None else f" · best match at {clock(at)}"
        self.fields["File"].setText(
            f"{info.format}{video}, {human_size(info.file_size)}{moment}")
        self.fields["Sharpness"].setText(describe_sharpness(info.sharpness, info.motion) + (
            f" · {info.sharpness:.2f}" if info.sharpness is not None else ""))
        self.fields["Exposure"].setText(exposure_words(info.clipped, info.crushed))
        self.fields["Stack"].setText(
            (f"one of {info.group_size} look-alikes" if info.group_size > 1 else "none")
            + (" · marked as a reject" if info.rejected else ""))
        self.show_tags(tags or [])
        self.show_caption(None)
        if thumbnail is not None and not thumbnail.isNull():
            self.preview.setPixmap(thumbnail.scaled(
                self.preview.width() - 8, 320, Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation))

    def show_text(self, text: str | None, read: bool) -> None:
        """The text read in the photo (OCR), or whether it was looked for."""
        self.fields["Text"].setText(" / ".join((text or "").splitlines()) or (
            "none found" if read else "not read (right-click: Read text in photo)"))

    def show_people(self, faces: list[FaceInfo], on: bool) -> None:
        """The people in the photo, each with a "not this person" link (×)."""
        label = self.fields["People"]
        label.setTextFormat(Qt.TextFormat.RichText)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse)
        label.setToolTip("Click × when a face is not this person")
        label.setText(", ".join(
            f'{escape(f.name or "unnamed")} <a href="{f.id}" style="text-decoration:none">×</a>'
            for f in faces if f.person_id is not None) or (
            "none found" if on else "faces are off (People: Find people)"))

    def show_tags(self, tags: list[str]) -> None:
        self.tags.setText(", ".join(
            f'{escape(tag_words(t))} <a href="{escape(t)}" style="text-decoration:none">×</a>'
            for t in tags) or "none yet")

    def show_caption(self, text: str | None, pending: bool = False,
                     problem: str | None = None) -> None:
        """The photo's caption (`text`), else why there is none (`problem`), else that one
        is being written (`pending`), else "none"."""
        self._caption = text or ""
        self.caption_edit.hide()
        self.caption.show()
        self.caption.setText(text or problem or ("Writing a caption…" if pending else "none"))

    def _start_caption_edit(self) -> None:
        # from the caption itself, never from the words shown in its place (a status, an
        # error): Enter would save those as the person's caption
        self.caption_edit.setText(self._caption)
        self.caption.hide()
        self.caption_edit.show()
        self.caption_edit.setFocus()

    def _caption_done(self) -> None:
        text = self.caption_edit.text().strip()
        self.show_caption(text)
        self.caption_edited.emit(text)

    def _tag_done(self) -> None:
        tag = " ".join(self.add_tag.text().split()).lower()
        self.add_tag.clear()
        if tag:
            self.tag_added.emit(tag)


def tag_words(tag: str) -> str:
    """A tag as a person reads it: "sensitive:gore" is "sensitive (gore)"."""
    if tag.startswith(SENSITIVE):
        return f"sensitive ({tag.removeprefix(SENSITIVE).replace('_', ' ')})"
    return tag


def pictures_folder() -> str | None:
    """The user's Pictures folder, where it exists."""
    pictures = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.PicturesLocation)
    return pictures if pictures and Path(pictures).is_dir() else None


def choose_folder(parent: QWidget, title: str) -> str:
    """A folder picked by a person ("" if none), starting in Pictures or the home folder,
    never in whatever directory the app happened to be started from."""
    return QFileDialog.getExistingDirectory(parent, title, pictures_folder() or str(Path.home()))


class FirstRunDialog(QDialog):
    """Asks which folders to index, suggesting the Pictures folder."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Welcome to clipdesk")
        intro = QLabel(
            "<h2>Which folders hold your photos?</h2>"
            "<p>clipdesk looks at every photo in these folders so you can find them by "
            "what is in them. Your photos stay on this computer and are never changed.</p>",
            wordWrap=True)
        self.folders = QListWidget()
        pictures = pictures_folder()
        if pictures is not None:
            self.folders.addItem(pictures)
        add, remove = QPushButton("Add folder…"), QPushButton("Remove")
        add.clicked.connect(self._add)
        remove.clicked.connect(lambda: [self.folders.takeItem(self.folders.row(i))
                                        for i in self.folders.selectedItems()])
        buttons = QDialogButtonBox()
        self.start = buttons.addButton("Start indexing", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(add)
        row.addWidget(remove)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.folders)
        layout.addLayout(row)
        layout.addWidget(buttons)
        self.resize(520, 360)
        self.folders.model().rowsInserted.connect(self._update)
        self.folders.model().rowsRemoved.connect(self._update)
        self._update()

    def _add(self) -> None:
        folder = choose_folder(self, "Add a photo folder")
        if folder and not self.folders.findItems(folder, Qt.MatchFlag.MatchExactly):
            self.folders.addItem(folder)

    def _update(self) -> None:
        self.start.setEnabled(self.folders.count() > 0)

    def chosen(self) -> list[str]:
        return [self.folders.item(i).text() for i in range(self.folders.count())]


class ProblemsDialog(QDialog):
    """The photos that could not be read, each with its reason (files that are not
    photos are not problems: they are only counted)."""

    def __init__(self, problems: list[Problem], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        videos = sum(p.video for p in problems)
        self.setWindowTitle(f"Problems ({len(problems)}"
                            + (f", of them {plural(videos, 'video')})" if videos else ")"))
        self.table = QTableWidget(len(problems), 3)
        self.table.setHorizontalHeaderLabels(["File", "Status", "Reason"])
        for row, p in enumerate(problems):
            for col, text in enumerate((os.fsdecode(p.path), p.status, p.reason)):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.table.setItem(row, col, item)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        note = QLabel("These files are not in the library. Nothing was changed on disk; a "
                      "file is tried again when it changes." if problems else
                      "No problems: every file was read.", wordWrap=True)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addWidget(self.table)
        layout.addWidget(close)
        self.resize(860, 420)


class PreviewDialog(QDialog):
    """A large view of one photo; arrow keys ask for the previous or next one."""

    step = Signal(int)  # -1 / +1

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Preview")
        self.image = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.image.setStyleSheet("background: #111;")
        self.caption = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 6)
        layout.addWidget(self.image, 1)
        layout.addWidget(self.caption)
        self.resize(1000, 760)
        self._current = QPixmap()

    def show_image(self, image: QImage, caption: str) -> None:
        self._current = QPixmap.fromImage(image)
        self.caption.setText(caption)
        self._fit()

    def _fit(self) -> None:
        if not self._current.isNull():
            self.image.setPixmap(self._current.scaled(
                self.image.size(), Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation))

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt naming)
        super().resizeEvent(event)
        self._fit()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() in (Qt.Key.Key_Left, Qt.Key.Key_Up):
            self.step.emit(-1)
        elif event.key() in (Qt.Key.Key_Right, Qt.Key.Key_Down):
            self.step.emit(1)
        elif event.key() == Qt.Key.Key_Space:
            self.close()
        else:
            super().keyPressEvent(event)
