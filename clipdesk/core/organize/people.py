"""People (`library.people`): faces found in photos on this computer (models/faces.py),
grouped into people (people_rules.py), named, merged and corrected by a person.

The finding pass looks at each photo once (photos.faces_by), a photo a transaction: a
kill loses the photo in hand and the next pass goes on from there; closing the job stops
it after that photo. It runs after indexing when faces are on (`settings.faces`, off until
a person turns it on: a face descriptor is biometric data) and from `clipdesk people
find`. Turning faces off deletes every face, descriptor, person and name.

A person's choices always win: naming a person, merging two, moving a face to another
person or to one of its own mark those faces chosen, and "not this person" is kept for the
face; re-grouping (after each pass and each choice) only moves unchosen faces, and never
into a person they were marked "not".
"""
from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from PIL import Image

from clipdesk.core.errors import ClipdeskError
from clipdesk.core.models import faces as finder
from clipdesk.core.organize import people_rules
from clipdesk.core.organize.per_photo import guarded
from clipdesk.core.photos import Photos
from clipdesk.core.sidecars import sync
from clipdesk.core.store import backup
from clipdesk.core.store.catalog import Catalog
from clipdesk.core.store.edits import Edits
from clipdesk.core.store.settings import Settings
from clipdesk.core.types import FaceInfo, Person, Phase, Problem, Progress, ProgressJob


class People:
    def __init__(self, home: Path, catalog: Catalog, settings: Settings, photos: Photos,
                 edits: Edits, names_changed: Callable[[], None] = lambda: None) -> None:
        self.home, self.catalog, self.settings = home, catalog, settings
        self.photos, self.edits = photos, edits
        self.names_changed = names_changed  # search reads the names again

    # -- on and off ------------------------------------------------------------------
    @property
    def on(self) -> bool:
        return self.settings.faces

    def turn_off(self) -> None:
        """Faces off: every face, descriptor, person and name is deleted, from the
        catalog and its backups (names already written to sidecars stay there)."""
        self.settings.faces = False
        self.catalog.faces.forget_all()
        backup.forget_faces(self.home)
        self.names_changed()

    # -- the pass --------------------------------------------------------------------
    def pending(self) -> list[int]:
        """Photos not looked at for faces yet, newest first."""
        return self.catalog.faces.unseen()

    def find(self) -> ProgressJob:
        """Turn faces on and look at every photo not looked at yet (a step a photo; a photo
        that cannot be read is a step's problem and stays unseen), then group the faces."""
        self.settings.faces = True
        ids = self.pending()
        if ids:
            finder.warm_up()  # a missing model is one ModelLoadError, before any photo
        started = time.monotonic()
        for done, photo_id in enumerate(ids, 1):
            problem = self.find_in(photo_id)
            rate = done / max(time.monotonic() - started, 1e-6)
            yield Progress(Phase.FACES, done=done, total=len(ids), rate=rate,
                           eta=(len(ids) - done) / rate, problem=problem,
                           message=f"Finding people… {done:,} of {len(ids):,} photos")
        if ids or self.catalog.faces.ungrouped():
            yield Progress(Phase.FACES, done=len(ids), total=len(ids),
                           message="Grouping faces into people…")
            self.regroup()

    def find_in(self, photo_id: int, image: Image.Image | None = None) -> Problem | None:
        """Find and store one photo's faces; the problem when its file cannot be read."""
        info = self.photos.info(photo_id)
        if info is None:
            return None  # gone from the library meanwhile
        found = guarded(info.path, "look for faces", lambda: finder.find_faces(
            image if image is not None else self.photos.preview(photo_id, finder.DETECT_SIDE)))
        if isinstance(found, Problem):
            return found
        self.catalog.faces.put(photo_id, [(f.box, f.descriptor) for f in found],
                               finder.FINDER_ID)
        if found:
            sync.read_names(self.catalog, photo_id)  # names other tools gave these faces
        return None

    def regroup(self) -> None:
        """Group the faces a person did not place; their choices stay as they are."""
        ids, vectors, current, fixed, forbidden = self.catalog.faces.all()
        groups = people_rules.cluster(vectors, fixed, forbidden)
        members: dict[int, list[int]] = {}
        for n, g in enumerate(groups):
            members.setdefault(g, []).append(n)
        taken = {p for p in fixed if p is not None}
        assignment: dict[int, int] = {}
        new = 0
        for faces in members.values():
            chosen = next((fixed[n] for n in faces if fixed[n] is not None), None)
            never = set().union(*(forbidden[n] for n in faces))
            if chosen is None:  # the person most of them were in, when still free
                before = Counter(current[n] for n in faces if current[n] is not None)
                chosen = next((p for p, _ in before.most_common()
                               if p not in taken and p not in never), None)
            if chosen is None:
                new += 1
                chosen = -new
            taken.add(chosen)
            assignment.update({ids[n]: chosen for n in faces if fixed[n] is None})
        self.catalog.faces.assign(assignment, new)

    # -- reading ---------------------------------------------------------------------
    def people(self) -> list[Person]:
        """Every person with their photo count: named ones first, then most photos."""
        return [Person(*row) for row in self.catalog.faces.people()]

    def person(self, person_id: int) -> Person:
        for p in self.people():
            if p.id == person_id:
                return p
        raise ClipdeskError(f"no person {person_id} (clipdesk people lists them)")

    def faces_of(self, person_id: int) -> list[tuple[int, int]]:
        """(face id, photo id) of each of a person's faces."""
        return self.catalog.faces.faces_of(person_id)

    def photos_of(self, person_id: int) -> list[int]:
        return sorted({photo for _, photo in self.catalog.faces.faces_of(person_id)})

    def in_photo(self, photo_id: int) -> list[FaceInfo]:
        """The faces in a photo, left to right, with their people."""
        return [FaceInfo(*row) for row in self.catalog.faces.of_photo(photo_id)]

    def face_image(self, face_id: int, side: int = 160) -> Image.Image:
        """A square crop of a face (a little margin around its box), for showing a person."""
        face = self.catalog.faces.face(face_id)
        if face is None:
            raise ClipdeskError(f"no face {face_id}")
        photo_id, (x0, y0, x1, y1), _ = face
        image = self.photos.preview(photo_id, finder.DETECT_SIDE)
        w, h = image.size
        cx, cy, half = (x0 + x1) / 2 * w, (y0 + y1) / 2 * h, max(x1 - x0, y1 - y0) * 0.7 * w
        crop = image.crop((int(cx - half), int(cy - half), int(cx + half), int(cy + half)))
        return crop.resize((side, side), Image.Resampling.BICUBIC)

    def counts(self) -> tuple[int, int]:
        """(photos looked at, faces found)."""
        return self.catalog.faces.counts()

    # -- a person's choices ----------------------------------------------------------
    def name(self, person_id: int, name: str | None) -> None:
        """Name a person (None or "": unnamed); the faces they hold now stay theirs."""
        self.person(person_id)
        name = " ".join((name or "").split()) or None
        with self.edits.editing(self.photos_of(person_id)):
            self.catalog.faces.name(person_id, name)
        self.names_changed()

    def merge(self, people: Sequence[int], into: int) -> None:
        """Every face of `people` joins `into`; they are gone."""
        self.person(into)
        for source in people:
            self.person(source)
        touched = [p for source in people for p in self.photos_of(source)]
        with self.edits.editing(touched):
            for source in people:
                if source != into:
                    self.catalog.faces.merge(source, into)
        self.names_changed()

    def move(self, face_id: int, person_id: int | None = None) -> int:
        """Put a face in a person, or (None) in a new person of its own; that person."""
        face = self._face(face_id)
        if person_id is not None:
            self.person(person_id)
        with self.edits.editing([face[0]]):
            return self.catalog.faces.move(face_id, person_id)

    def not_person(self, face_id: int) -> None:
        """"Not this person": the face leaves its person for good and is grouped again."""
        face = self._face(face_id)
        with self.edits.editing([face[0]]):
            self.catalog.faces.not_person(face_id)
        self.regroup()

    def _face(self, face_id: int) -> tuple[int, tuple[float, float, float, float], int | None]:
        face = self.catalog.faces.face(face_id)
        if face is None:
            raise ClipdeskError(f"no face {face_id} (clipdesk people show ID lists them)")
        return face
