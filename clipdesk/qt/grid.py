"""The photo grid: a list model that holds photo ids only, and thumbnails loaded lazily
off the GUI thread from the disk cache the engine writes. Nothing per photo is a widget."""
from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from PIL import Image
from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from clipdesk.core.types import Hit, PhotoInfo
from clipdesk.qt.worker import Jobs
from clipdesk.wording import clock

PHOTO_ID_ROLE = Qt.ItemDataRole.UserRole + 1
SCORE_ROLE = Qt.ItemDataRole.UserRole + 2
STACK_ROLE = Qt.ItemDataRole.UserRole + 3  # photos in the stack this best shot stands for
REJECTED_ROLE = Qt.ItemDataRole.UserRole + 4
CACHE_SIZE = 3000
# a loaded thumbnail: photo id, image, path, and a video's length (None: a still photo)
Loaded = tuple[int, QImage, bytes | None, float | None]
VEILED_LABEL = ("Sensitive", "click to show")
NO_PARENT = QModelIndex()  # a list has no parents: the default "parent" argument of Qt


class ThumbnailCache(QObject):
    """Loads thumbnails on the reader pool; emits `loaded(photo_id)` when one is ready.

    Requests made while the GUI paints are gathered and loaded as one job: one job per
    thumbnail would keep the reader threads busy with Python overhead, and every one of
    them competes with the GUI thread for the interpreter lock."""

    loaded = Signal(int)
    BATCH = 48

    def __init__(self, jobs: Jobs, info: Callable[[int], PhotoInfo | None],
                 thumb_path: Callable[[str], os.PathLike[str]],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._jobs, self._info, self._thumb_path = jobs, info, thumb_path
        self._pixmaps: OrderedDict[int, QPixmap] = OrderedDict()
        self._pending: set[int] = set()
        self._queue: list[int] = []
        self.paths: dict[int, bytes] = {}  # photo id -> path, learnt while loading
        self.durations: dict[int, float] = {}  # a video's length, learnt while loading

    def get(self, photo_id: int) -> QPixmap | None:
        pixmap = self._pixmaps.get(photo_id)
        if pixmap is not None:
            self._pixmaps.move_to_end(photo_id)
            return pixmap
        if photo_id not in self._pending:
            self._pending.add(photo_id)
            if not self._queue:
                QTimer.singleShot(0, self._flush)
            self._queue.append(photo_id)
        return None

    def _flush(self) -> None:
        queue, self._queue = self._queue, []
        for start in range(0, len(queue), self.BATCH):
            ids = queue[start:start + self.BATCH]
            self._jobs.read(partial(self._load_all, ids), done=self._store,
                            failed=partial(self._failed, ids))

    def _load_all(self, ids: list[int]) -> list[Loaded]:
        return [self._load(i) for i in ids]

    def duration(self, photo_id: int) -> float | None:
        """A video's length in seconds (known once its thumbnail is loaded)."""
        return self.durations.get(photo_id)

    def _failed(self, ids: list[int], _error: object) -> None:
        self._pending.difference_update(ids)

    def _load(self, photo_id: int) -> Loaded:
        """Runs on a reader thread. QImage, unlike QPixmap, may be made here."""
        info = self._info(photo_id)
        if info is None:
            return photo_id, QImage(), None, None
        try:
            with Image.open(self._thumb_path(info.hash)) as im:
                rgb = im.convert("RGB")
        except OSError:
            return photo_id, QImage(), info.path, info.duration
        image = QImage(rgb.tobytes(), rgb.width, rgb.height, 3 * rgb.width,
                       QImage.Format.Format_RGB888).copy()
        return photo_id, image, info.path, info.duration

    def _store(self, results: list[Loaded]) -> None:
        for photo_id, image, path, duration in results:
            self._pending.discard(photo_id)
            if path is not None:
                self.paths[photo_id] = path
            if duration is not None:
                self.durations[photo_id] = duration
            self._pixmaps[photo_id] = QPixmap.fromImage(image) if not image.isNull() else _missing()
            self.loaded.emit(photo_id)
        while len(self._pixmaps) > CACHE_SIZE:
            self._pixmaps.popitem(last=False)


def _runs(rows: list[int]) -> list[tuple[int, int]]:
    """Ascending row numbers as (first, last) runs of consecutive ones."""
    runs: list[tuple[int, int]] = []
    for row in rows:
        if runs and runs[-1][1] == row - 1:
            runs[-1] = (runs[-1][0], row)
        else:
            runs.append((row, row))
    return runs


def _missing() -> QPixmap:
    pixmap = QPixmap(64, 48)
    pixmap.fill(QColor("#5a5a5a"))
    return pixmap


@dataclass(frozen=True)
class Tile:
    """What the delegate draws for one cell."""
    photo_id: int
    pixmap: QPixmap
    stack: int  # photos in the stack this best shot stands for (1: alone)
    rejected: bool
    veiled: bool = False  # flagged as sensitive, drawn blurred until clicked
    duration: float | None = None  # a video's length in seconds: a "0:42" badge


class PhotoGridModel(QAbstractListModel):
    """Photo ids (and, for results, scores) in display order. Thumbnails come from the cache.

    Python code asks the model itself (photo_at, tile, row_of), never index.data(): each
    round trip through a QVariant costs PySide a reference to None when the answer is
    empty (see clipdesk/qt/__init__.py), and the delegate paints hundreds of tiles a
    second. data() is there for Qt's own callers (tooltips, accessibility)."""

    def __init__(self, thumbnails: ThumbnailCache, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ids: list[int] = []
        self._scores: list[float] | None = None
        self._moments: list[float | None] = []  # a hit on a video: its best keyframe's time
        self._rows: dict[int, int] = {}
        self._thumbnails = thumbnails
        self.veiled: set[int] = set()  # flagged photos shown blurred until clicked
        self.stacks: dict[int, int] = {}  # best shot -> size of its stack (grid stacked)
        self.rejected: set[int] = set()  # drawn dimmed
        self._blurred: dict[int, QPixmap] = {}
        self._placeholder = QPixmap(8, 6)
        self._placeholder.fill(QColor("#3a3a3a"))
        thumbnails.loaded.connect(self._thumbnail_loaded)

    @property
    def ids(self) -> list[int]:
        return list(self._ids)

    def set_photos(self, ids: Sequence[int]) -> None:
        self._moments = []
        self._set(list(ids), None)

    def set_hits(self, hits: Sequence[Hit]) -> None:
        self._moments = [h.at for h in hits]
        self._set([h.photo_id for h in hits], [h.score for h in hits])

    def _set(self, ids: list[int], scores: list[float] | None) -> None:
        if ids == self._ids and scores == self._scores:
            return
        if scores is None and self._scores is None and self._patch(ids):
            return  # the view keeps its selection and its place
        self.beginResetModel()
        self._ids, self._scores = ids, scores
        self._rows = {pid: row for row, pid in enumerate(ids)}
        self.endResetModel()

    def _patch(self, ids: list[int]) -> bool:
        """Turn the rows shown into `ids` by removing and inserting rows where they belong
        (photos indexed or deleted while the library is on screen: new ones arrive
        anywhere in the newest-first order), if the photos in both keep their order; False
        if not (another order, another tag): then the caller resets."""
        kept = set(ids)
        if [i for i in self._ids if i in kept] != [i for i in ids if i in self._rows]:
            return False
        for first, last in reversed(_runs([r for r, i in enumerate(self._ids) if i not in kept])):
            self.beginRemoveRows(NO_PARENT, first, last)
            del self._ids[first:last + 1]
            self.endRemoveRows()
        # front to back: each run's rows before it are then in their final place
        for first, last in _runs([r for r, i in enumerate(ids) if i not in self._rows]):
            self.beginInsertRows(NO_PARENT, first, last)
            self._ids[first:first] = ids[first:last + 1]
            self.endInsertRows()
        self._rows = {pid: row for row, pid in enumerate(ids)}
        return True

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = NO_PARENT) -> int:
        return 0 if parent.isValid() else len(self._ids)

    # -- the Python side: what the app and the delegate use ------------------------------

    def photo_at(self, row: int) -> int | None:
        return self._ids[row] if 0 <= row < len(self._ids) else None

    def row_of(self, photo_id: int) -> int | None:
        return self._rows.get(photo_id)

    def score_at(self, row: int) -> float | None:
        if self._scores is None or not 0 <= row < len(self._scores):
            return None
        return self._scores[row]

    def moment_at(self, row: int) -> float | None:
        """A search hit on a video: the time (seconds) of its best-matching keyframe."""
        return self._moments[row] if self._scores is not None and 0 <= row < len(
            self._moments) else None

    def stack_at(self, row: int) -> int:
        photo_id = self.photo_at(row)
        return 1 if photo_id is None else self.stacks.get(photo_id, 1)

    def rejected_at(self, row: int) -> bool:
        return self.photo_at(row) in self.rejected

    def tile(self, row: int) -> Tile | None:
        photo_id = self.photo_at(row)
        if photo_id is None:
            return None
        return Tile(photo_id, self._pixmap(photo_id), self.stacks.get(photo_id, 1),
                    photo_id in self.rejected, photo_id in self.veiled,
                    self._thumbnails.duration(photo_id))

    def tooltip_at(self, row: int) -> str:
        photo_id = self.photo_at(row)
        if photo_id is None:
            return ""
        path = self._thumbnails.paths.get(photo_id)
        name = os.fsdecode(path) if path else ""
        score = self.score_at(row)
        at = self.moment_at(row)
        if at is not None:
            name += f"\nbest match at {clock(at)}"
        return f"score {score:.3f}\n{name}" if score is not None else name

    def _pixmap(self, photo_id: int) -> QPixmap:
        pixmap = self._thumbnails.get(photo_id)
        if pixmap is None:
            return self._placeholder
        if photo_id in self.veiled:
            return self._blur(photo_id, pixmap)
        return pixmap

    # -- the Qt side --------------------------------------------------------------------

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> object:
        # Returning None to a C++ caller is safe (it becomes an empty QVariant without
        # touching None's count); only Python callers of index.data() pay.
        row = index.row() if index.isValid() else -1
        if self.photo_at(row) is None:
            return None
        if role == Qt.ItemDataRole.DecorationRole:
            return self._pixmap(self._ids[row])
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.tooltip_at(row)
        if role == PHOTO_ID_ROLE:
            return self._ids[row]
        if role == STACK_ROLE:
            return self.stack_at(row)
        if role == REJECTED_ROLE:
            return self.rejected_at(row)
        if role == SCORE_ROLE:
            return self.score_at(row)
        return None

    def _blur(self, photo_id: int, pixmap: QPixmap) -> QPixmap:
        if photo_id not in self._blurred:
            tiny = pixmap.scaled(12, 9, Qt.AspectRatioMode.KeepAspectRatio,
                                 Qt.TransformationMode.SmoothTransformation)
            self._blurred[photo_id] = tiny.scaled(pixmap.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                                  Qt.TransformationMode.SmoothTransformation)
        return self._blurred[photo_id]

    def reveal(self, photo_id: int) -> None:
        """A person clicked a blurred photo: show it."""
        if photo_id in self.veiled:
            self.veiled.discard(photo_id)
            self._thumbnail_loaded(photo_id)

    def _thumbnail_loaded(self, photo_id: int) -> None:
        row = self._rows.get(photo_id)
        if row is not None:
            index = self.index(row)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])


class ThumbnailDelegate(QStyledItemDelegate):
    """Paints a thumbnail fitted (not cropped) into its cell, with a selection frame.
    It reads its model's Python side (tile()), never index.data(): see PhotoGridModel."""

    def __init__(self, model: PhotoGridModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.cell = 160

    def cell_size(self) -> QSize:
        """Cells are 4:3, the shape of most photos; others are fitted inside."""
        return QSize(self.cell, self.cell * 3 // 4)

    def sizeHint(self, option: QStyleOptionViewItem,  # noqa: N802
                 index: QModelIndex | QPersistentModelIndex) -> QSize:
        return self.cell_size()

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        box = option.rect.adjusted(4, 4, -4, -4)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        painter.save()
        painter.fillRect(option.rect, QColor("#3d5a80") if selected else QColor("#2b2b2b"))
        tile = self.model.tile(index.row())
        if tile is not None and not tile.pixmap.isNull():
            size = tile.pixmap.size().scaled(box.size(), Qt.AspectRatioMode.KeepAspectRatio)
            target = QRect(0, 0, size.width(), size.height())
            target.moveCenter(box.center())
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            if tile.stack > 1:  # the photos behind, as offset frames
                painter.setPen(QPen(QColor("#9a9a9a"), 1))
                for step in (6, 3):
                    painter.drawRect(target.translated(step, -step))
            if tile.rejected:
                painter.setOpacity(0.35)
            painter.drawPixmap(target, tile.pixmap)
            painter.setOpacity(1.0)
            if tile.stack > 1:
                self._badge(painter, target, f"{tile.stack}")
            if tile.rejected:
                self._badge(painter, target, "reject")
            if tile.duration is not None:
                self._badge(painter, target, f"▶ {clock(tile.duration)}", bottom_left=True)
            if tile.veiled:  # why it is blurred, and how to see it
                self._label(painter, target, VEILED_LABEL)
        if selected:
            painter.setPen(QPen(QColor("#8ab4f8"), 3))
            painter.setBrush(Qt.BrushStyle.NoBrush)  # a badge left its dark fill set
            painter.drawRect(option.rect.adjusted(1, 1, -2, -2))
        painter.restore()

    @staticmethod
    def _label(painter: QPainter, target: QRect, lines: tuple[str, ...]) -> None:
        """`lines` on a dark band across the middle of a tile, each shortened to fit."""
        metrics = painter.fontMetrics()
        text = "\n".join(metrics.elidedText(line, Qt.TextElideMode.ElideRight,
                                            target.width() - 12) for line in lines)
        height = metrics.lineSpacing() * len(lines) + 8
        band = QRect(target.left(), target.center().y() - height // 2, target.width(), height)
        painter.fillRect(band, QColor(0, 0, 0, 170))
        painter.setPen(QColor("white"))
        painter.drawText(band, Qt.AlignmentFlag.AlignCenter, text)

    @staticmethod
    def _badge(painter: QPainter, target: QRect, text: str, bottom_left: bool = False
               ) -> None:
        width = painter.fontMetrics().horizontalAdvance(text) + 10
        badge = (QRect(target.left() + 3, target.bottom() - 21, width, 18) if bottom_left
                 else QRect(target.right() - width - 3, target.top() + 3, width, 18))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, 170))
        painter.drawRoundedRect(badge, 9, 9)
        painter.setPen(QColor("white"))
        painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, text)
