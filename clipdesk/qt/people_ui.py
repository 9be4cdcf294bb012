"""People in the app: a sidebar below When/Where listing each person with a face
thumbnail and a photo count. Clicking a named person writes their name into the search
field (again: takes it out), so it composes with words, dates and places as typed;
clicking an unnamed one asks for a name. Right-click: name, merge into another person.
The details panel lists the people in the selected photo, each with a "not this person"
link (qt/panels.py). Finding faces is a writer job ("Find people"); turning faces off
deletes every face and name, after asking."""
from __future__ import annotations

from collections.abc import Callable

from PIL import Image
from PySide6.QtCore import QObject, QPoint, QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from clipdesk.core.errors import ClipdeskError
from clipdesk.core.library import Library
from clipdesk.core.types import Person, Progress
from clipdesk.qt.when_where_ui import with_term
from clipdesk.qt.worker import Jobs
from clipdesk.wording import plural

FACE_SIDE = 48  # px: a person's face in the sidebar
MAX_FACES = 60  # the people whose faces are shown (the rest by name)


def person_term(name: str) -> str:
    """How a name is written in the search field: as it is, unquoted (the search language
    reads a known name of up to 3 words; quoted it would be a phrase of words)."""
    return " ".join(name.split())


class PeopleSidebar(QWidget):
    """The people, each a row with a face and "Name (photos)"."""

    name_requested = Signal(int, str)  # person, new name
    merge_requested = Signal(int, int)  # person, into person
    find_requested = Signal()
    off_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.list = QListWidget()
        self.list.setIconSize(QSize(FACE_SIDE, FACE_SIDE))
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # a long name keeps its count
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._menu)
        self.list.itemClicked.connect(self._clicked)
        self.find_button = QPushButton("Find people")
        self.find_button.setToolTip("Look for faces in the photos on this computer and group them "
                             "into people (nothing leaves the computer)")
        self.find_button.clicked.connect(self.find_requested.emit)
        self.field: QLineEdit | None = None
        self.term: str | None = None  # the name this sidebar wrote into the search field
        self.people: dict[int, Person] = {}
        self.rows: dict[int, QListWidgetItem] = {}
        head = QHBoxLayout()
        head.addWidget(QLabel("<b>People</b>"), 1)
        head.addWidget(self.find_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(head)
        layout.addWidget(self.list, 1)

    def attach(self, field: QLineEdit) -> None:
        self.field = field

    def show_people(self, people: list[Person]) -> None:
        faces = {pid: item.icon() for pid, item in self.rows.items()
                 if self.people.get(pid) and self.people[pid].face_id ==
                 next((p.face_id for p in people if p.id == pid), None)}
        self.list.clear()
        self.people = {p.id: p for p in people}
        self.rows = {}
        for p in people:
            item = QListWidgetItem(f"{p.name or 'Unnamed'} ({p.photos:,})")
            item.setToolTip(f"{p.name or 'Unnamed'}, {plural(p.photos, 'photo')}" + (
                f": searches {person_term(p.name)}" if p.name else ": click to name"))
            if p.id in faces:
                item.setIcon(faces[p.id])
            self.list.addItem(item)
            self.rows[p.id] = item

    def set_face(self, person_id: int, image: QImage) -> None:
        item = self.rows.get(person_id)
        if item is not None and not image.isNull():
            item.setIcon(QIcon(QPixmap.fromImage(image)))

    def person_at(self, item: QListWidgetItem | None) -> Person | None:
        return next((self.people[p] for p, i in self.rows.items() if i is item), None)

    def _clicked(self, item: QListWidgetItem) -> None:
        person = self.person_at(item)
        if person is None:
            return
        if not person.name:
            self._ask_name(person)
            return
        if self.field is None:
            return
        term = person_term(person.name)
        text = self.field.text()
        old = self.term if self.term and f" {self.term} " in f" {text} " else None
        self.term = None if term == old else term
        self.field.setText(with_term(text, old, self.term))

    def _ask_name(self, person: Person) -> None:
        name, ok = QInputDialog.getText(self, "Name this person", "Name:",
                                        text=person.name or "")
        if ok:
            self.name_requested.emit(person.id, " ".join(name.split()))

    def _menu(self, at: QPoint) -> None:
        person = self.person_at(self.list.itemAt(at))
        menu = QMenu(self)
        if person is not None:
            menu.addAction("Name…", lambda: self._ask_name(person))
            merge = menu.addMenu("Merge into")
            for other in self.people.values():
                if other.id != person.id:
                    merge.addAction(f"{other.name or 'Unnamed'} ({other.photos:,})",
                                    self._merger(person.id, other.id))
            merge.setEnabled(len(self.people) > 1)
            menu.addSeparator()
        menu.addAction("Turn faces off…", self.off_requested.emit)
        menu.exec(self.list.viewport().mapToGlobal(at))


    def _merger(self, person_id: int, into: int) -> Callable[[], None]:
        return lambda: self.merge_requested.emit(person_id, into)


class PeopleActions(QObject):
    """What a person does in People, run on the jobs' threads; `refresh` reloads the
    library's views (counts, sidebars, the details panel) after a change."""

    def __init__(self, library: Library, jobs: Jobs, sidebar: PeopleSidebar,
                 refresh: Callable[[], None], say: Callable[[str], None],
                 report: Callable[[ClipdeskError], None]) -> None:
        super().__init__(sidebar)
        self.library, self.jobs, self.sidebar = library, jobs, sidebar
        self.refresh, self.say, self.report = refresh, say, report
        self.finding = False
        sidebar.name_requested.connect(self.name)
        sidebar.merge_requested.connect(self.merge)
        sidebar.find_requested.connect(self.find)
        sidebar.off_requested.connect(self.turn_off)

    def show(self, people: list[Person]) -> None:
        """The people loaded with the library: listed now, their faces as they come."""
        self.sidebar.show_people(people)
        wanted = [(p.id, p.face_id) for p in people[:MAX_FACES]
                  if self.sidebar.rows[p.id].icon().isNull()]
        if wanted:
            self.jobs.read(lambda: [(pid, self._face(face)) for pid, face in wanted],
                           done=self._show_faces)

    def _show_faces(self, faces: list[tuple[int, QImage]]) -> None:
        for person_id, image in faces:
            self.sidebar.set_face(person_id, image)

    def _face(self, face_id: int) -> QImage:
        """On a reader: a face's square crop as a QImage (null when it cannot be read)."""
        try:
            image: Image.Image = self.library.people.face_image(face_id, FACE_SIDE * 2)
        except ClipdeskError:
            return QImage()
        rgb = image.convert("RGB")
        return QImage(rgb.tobytes(), rgb.width, rgb.height, 3 * rgb.width,
                      QImage.Format.Format_RGB888).copy()

    def name(self, person_id: int, name: str) -> None:
        self.jobs.write(lambda: self.library.people.name(person_id, name or None),
                        done=lambda _: self.refresh(), failed=self.report)

    def merge(self, person_id: int, into: int) -> None:
        self.jobs.write(lambda: self.library.people.merge([person_id], into),
                        done=lambda _: self.refresh(), failed=self.report)

    def not_person(self, face_id: int) -> None:
        """"Not this person" for a face (the details panel's link)."""
        self.jobs.write(lambda: self.library.people.not_person(face_id),
                        done=lambda _: self.refresh(), failed=self.report)

    def find(self) -> None:
        """Look for faces in the photos not looked at yet (a writer job with progress)."""
        if self.finding:
            return
        self.finding = True
        self.sidebar.find_button.setEnabled(False)
        job = self.jobs.create(self.library.people.find)

        def step(s: Progress) -> None:
            if s.total:
                self.say(f"Finding people… {s.done:,} of {s.total:,} photos")

        def ended(error: ClipdeskError | None = None) -> None:
            self.finding = False
            self.sidebar.find_button.setEnabled(True)
            self.say(f"Finding people stopped: {error}" if error else "People found.")
            if error is not None:
                self.report(error)
            self.refresh()

        job.progress.connect(step)
        job.finished.connect(lambda _: ended())
        job.cancelled.connect(lambda: ended())
        job.failed.connect(ended)
        self.jobs.start_writer(job)

    def turn_off(self) -> None:
        answer = QMessageBox.question(
            self.sidebar, "Turn faces off",
            "Delete every face found, every person and every name in this library? "
            "Names already written to XMP sidecars stay there.")
        if answer == QMessageBox.StandardButton.Yes:
            self.jobs.write(self.library.people.turn_off, done=lambda _: self.refresh(),
                            failed=self.report)
