"""Faces found in photos (box, descriptor), the people they are grouped into, and a
person's choices: `faces.chosen` (a person put the face in its person: by naming, merging
or moving it) and `not_person` ("not this person"). Re-grouping writes only unchosen
faces' people. photos.faces_by: the finder that looked at the photo (NULL: not yet)."""
from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable, Sequence

import numpy as np

from clipdesk.core.store.catalog.connection import Part

Box = tuple[float, float, float, float]
log = logging.getLogger(__name__)


class Faces(Part):
    # -- the pass --------------------------------------------------------------------
    def unseen(self) -> list[int]:
        """Photos no finder has looked at, newest first."""
        return [r[0] for r in self._db.execute(
            "SELECT id FROM photos WHERE faces_by IS NULL ORDER BY taken_at DESC, id DESC")]

    def put(self, photo_id: int, found: Sequence[tuple[Box, np.ndarray]], by: str) -> None:
        """Store the faces found in a photo (replacing any before) and who looked."""
        with self._transaction() as db:
            db.execute("DELETE FROM faces WHERE photo_id=?", (photo_id,))
            db.executemany(
                "INSERT INTO faces(photo_id, x0, y0, x1, y1, descriptor) "
                "VALUES(?, ?, ?, ?, ?, ?)",
                [(photo_id, *box, np.asarray(d, np.float32).tobytes()) for box, d in found])
            db.execute("UPDATE photos SET faces_by=? WHERE id=?", (by, photo_id))

    def forget_all(self) -> None:
        """Delete every face, descriptor, person and choice (faces turned off): their
        pages zeroed (secure_delete) and the write-ahead log emptied into the file, so no
        descriptor stays on disk (backups: backup.forget_faces)."""
        self._db.execute("PRAGMA secure_delete=ON")
        try:
            with self._transaction() as db:
                db.execute("DELETE FROM not_person")
                db.execute("DELETE FROM faces")
                db.execute("DELETE FROM people")
                db.execute("UPDATE photos SET faces_by=NULL WHERE faces_by IS NOT NULL")
        finally:
            self._db.execute("PRAGMA secure_delete=OFF")
        busy = self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        if busy:  # a reader still on an older snapshot: the next checkpoint finishes it
            log.info("faces deleted; the log is emptied at the next checkpoint")

    def counts(self) -> tuple[int, int]:
        """(photos looked at, faces found)."""
        looked = self._db.execute("SELECT count(faces_by) FROM photos").fetchone()[0]
        faces = self._db.execute("SELECT count(*) FROM faces").fetchone()[0]
        return int(looked), int(faces)

    # -- grouping --------------------------------------------------------------------
    def ungrouped(self) -> bool:
        """Whether a face is in no person (new, or told "not this person")."""
        return self._db.execute(
            "SELECT 1 FROM faces WHERE person_id IS NULL LIMIT 1").fetchone() is not None

    def all(self) -> tuple[list[int], np.ndarray, list[int | None], list[int | None],
                           list[frozenset[int]]]:
        """Every face: (ids, descriptors, person, chosen person or None, people it is not)."""
        rows = self._db.execute(
            "SELECT id, descriptor, person_id, chosen FROM faces ORDER BY id").fetchall()
        nots: dict[int, set[int]] = {}
        for face, person in self._db.execute("SELECT face_id, person_id FROM not_person"):
            nots.setdefault(face, set()).add(person)
        vectors = (np.stack([np.frombuffer(r[1], np.float32) for r in rows]) if rows
                   else np.zeros((0, 128), np.float32))
        return ([r[0] for r in rows], vectors, [r[2] for r in rows],
                [r[2] if r[3] else None for r in rows],
                [frozenset(nots.get(r[0], ())) for r in rows])

    def assign(self, people: dict[int, int], new_people: int) -> list[int]:
        """Set unchosen faces' people (face id -> person id; a person id below 0 is the
        -nth of `new_people` made now), drop unnamed people left with no face; the new ids."""
        with self._transaction() as db:
            made = [int(db.execute("INSERT INTO people(name) VALUES(NULL)").lastrowid or 0)
                    for _ in range(new_people)]
            db.executemany(
                "UPDATE faces SET person_id=? WHERE id=? AND chosen=0",
                [(made[-p - 1] if p < 0 else p, f) for f, p in people.items()])
            db.execute("DELETE FROM people WHERE name IS NULL AND id NOT IN "
                       "(SELECT person_id FROM faces WHERE person_id IS NOT NULL)")
        return made

    # -- a person's choices ----------------------------------------------------------
    def name(self, person_id: int, name: str | None) -> None:
        """Name a person (None: unnamed again); their faces become chosen."""
        with self._transaction() as db:
            db.execute("UPDATE people SET name=? WHERE id=?", (name, person_id))
            db.execute("UPDATE faces SET chosen=1 WHERE person_id=?", (person_id,))

    def merge(self, source: int, target: int) -> None:
        """Every face of `source` joins `target` (chosen); `source` is gone."""
        with self._transaction() as db:
            db.execute("UPDATE faces SET person_id=?, chosen=1 WHERE person_id IN (?, ?)",
                       (target, source, target))
            db.execute("UPDATE OR IGNORE not_person SET person_id=? WHERE person_id=?",
                       (target, source))
            db.execute("DELETE FROM not_person WHERE person_id=? AND face_id IN "
                       "(SELECT id FROM faces WHERE person_id=?)", (target, target))
            db.execute("DELETE FROM people WHERE id=?", (source,))

    def move(self, face_id: int, person_id: int | None) -> int:
        """Put a face in a person, or (None) in a new person of its own; the person's id.
        The person it left keeps the faces it has now (they are chosen: a person looked at
        them and took this one out) and the face is marked not theirs."""
        with self._transaction() as db:
            left = self._leave(db, face_id)
            if person_id is None:
                person_id = int(db.execute("INSERT INTO people(name) VALUES(NULL)").lastrowid
                                or 0)
            if left is not None and left != person_id:
                db.execute("INSERT OR IGNORE INTO not_person(face_id, person_id) VALUES(?, ?)",
                           (face_id, left))
            db.execute("UPDATE faces SET person_id=?, chosen=1 WHERE id=?", (person_id, face_id))
            db.execute("DELETE FROM not_person WHERE face_id=? AND person_id=?",
                       (face_id, person_id))
        return person_id

    def not_person(self, face_id: int) -> int | None:
        """"Not this person": the face leaves its person and never joins it again (the
        faces the person keeps are chosen, as for a move); the person it left."""
        with self._transaction() as db:
            left = self._leave(db, face_id)
            if left is None:
                return None
            db.execute("INSERT OR IGNORE INTO not_person(face_id, person_id) VALUES(?, ?)",
                       (face_id, left))
            db.execute("UPDATE faces SET person_id=NULL, chosen=0 WHERE id=?", (face_id,))
            return left

    @staticmethod
    def _leave(db: sqlite3.Connection, face_id: int) -> int | None:
        """The face's person, whose other faces become chosen (None: in no person)."""
        row = db.execute("SELECT person_id FROM faces WHERE id=?", (face_id,)).fetchone()
        if row is None or row[0] is None:
            return None
        db.execute("UPDATE faces SET chosen=1 WHERE person_id=? AND id<>?", (row[0], face_id))
        return int(row[0])

    # -- sidecars: names as face regions --------------------------------------------
    def named_in(self, photo_id: int) -> tuple[list[tuple[str, Box]], tuple[int, int] | None]:
        """(name, box) of each named face in a photo, and the photo's size if known."""
        faces = [(r[3], r[1]) for r in self.of_photo(photo_id) if r[3]]
        row = self._db.execute("SELECT width, height FROM photos WHERE id=?",
                               (photo_id,)).fetchone()
        return faces, (int(row[0]), int(row[1])) if row and row[0] and row[1] else None

    def name_face(self, face_id: int, name: str) -> bool:
        """Put a face a person has not placed in the person of that name (made when there
        is none), as chosen; whether it moved (a face a person placed stays)."""
        with self._transaction() as db:
            if db.execute("SELECT 1 FROM faces WHERE id=? AND chosen=0",
                          (face_id,)).fetchone() is None:
                return False
            row = db.execute("SELECT id FROM people WHERE name=? COLLATE NOCASE "
                             "ORDER BY id LIMIT 1", (name,)).fetchone()
            person = row[0] if row else db.execute(
                "INSERT INTO people(name) VALUES(?)", (name,)).lastrowid
            db.execute("UPDATE faces SET person_id=?, chosen=1 WHERE id=?", (person, face_id))
            return True

    # -- reading ---------------------------------------------------------------------
    def people(self) -> list[tuple[int, str | None, int, int]]:
        """(id, name, photos, a face id to show) of each person, most photos first."""
        return [(r[0], r[1], r[2], r[3]) for r in self._db.execute(
            "SELECT p.id, p.name, count(DISTINCT f.photo_id), min(f.id) FROM people p "
            "JOIN faces f ON f.person_id=p.id GROUP BY p.id "
            "ORDER BY p.name IS NULL, count(DISTINCT f.photo_id) DESC, p.id")]

    def person(self, person_id: int) -> tuple[int, str | None] | None:
        row = self._db.execute("SELECT id, name FROM people WHERE id=?",
                               (person_id,)).fetchone()
        return (row[0], row[1]) if row else None

    def named(self, name: str) -> list[int]:
        """The people of that name (any case)."""
        return [r[0] for r in self._db.execute(
            "SELECT id FROM people WHERE name=? COLLATE NOCASE ORDER BY id", (name,))]

    def names(self) -> set[str]:
        return {r[0] for r in self._db.execute(
            "SELECT DISTINCT name FROM people WHERE name IS NOT NULL")}

    def of_photo(self, photo_id: int) -> list[tuple[int, Box, int | None, str | None]]:
        """(face id, box, person id, person's name) of each face in a photo."""
        return [(r[0], (r[1], r[2], r[3], r[4]), r[5], r[6]) for r in self._db.execute(
            "SELECT f.id, f.x0, f.y0, f.x1, f.y1, f.person_id, p.name FROM faces f "
            "LEFT JOIN people p ON p.id=f.person_id WHERE f.photo_id=? ORDER BY f.x0",
            (photo_id,))]

    def face(self, face_id: int) -> tuple[int, Box, int | None] | None:
        """(photo id, box, person id) of a face."""
        r = self._db.execute("SELECT photo_id, x0, y0, x1, y1, person_id FROM faces "
                             "WHERE id=?", (face_id,)).fetchone()
        return (r[0], (r[1], r[2], r[3], r[4]), r[5]) if r else None

    def faces_of(self, person_id: int) -> list[tuple[int, int]]:
        """(face id, photo id) of a person's faces."""
        return [(r[0], r[1]) for r in self._db.execute(
            "SELECT id, photo_id FROM faces WHERE person_id=? ORDER BY photo_id", (person_id,))]

    def photos_of(self, person_ids: Iterable[int]) -> set[int]:
        ids = list(person_ids)
        return {r[0] for r in self._db.execute(
            f"SELECT DISTINCT photo_id FROM faces WHERE person_id IN "
            f"({','.join('?' * len(ids))})", ids)} if ids else set()
