"""People, end to end on real faces (tests/data/faces: official US government portraits,
public domain) with the real face models (dlib, face-recognition-models) and the tiny
CLIP model: the same person's photos are one person, another person is apart, a name is
a search term, and a person's choices survive every re-grouping."""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from clipdesk.core.library import Library
from tests.conftest import REPO, TINY_MODEL, run_cli, use_tiny_models
from tests.synthetic import render

FACES = REPO / "tests" / "data" / "faces"


def _digests(root: Path) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture()
def library(tmp_path: Path) -> tuple[Path, Path]:
    """Obama twice (2012 at the beach folder, 2009 at home), Biden once (2010), a photo
    with no face; indexed, faces not looked for yet."""
    root = tmp_path / "photos"
    for folder, name in (("beach", "obama.jpg"), ("home", "obama2.jpg"), ("home", "biden.jpg")):
        (root / folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(FACES / name, root / folder / name)
    render("red", "circle", "white", seed=1).save(root / "home" / "circle.jpg", quality=92)
    home = tmp_path / "home"
    use_tiny_models(home)
    result = run_cli("--home", str(home), "index", str(root), "--model", TINY_MODEL)
    assert result.rc == 0, result.err
    return home, root


def _person_of(lib: Library, path: Path) -> int | None:
    faces = lib.people.in_photo(lib.photos.id_of(path))
    assert len(faces) == 1, faces
    return faces[0].person_id


def test_one_person_two_photos_another_apart_and_no_face_is_fine(
        library: tuple[Path, Path]) -> None:
    home, root = library
    before = _digests(root)
    lib = Library(home)
    try:
        assert not lib.people.on and len(lib.people.pending()) == 4  # off until asked
        steps = list(lib.people.find())
        assert all(s.problem is None for s in steps)
        assert lib.people.pending() == []  # every photo looked at once, the circle too
        obama = _person_of(lib, root / "beach" / "obama.jpg")
        assert obama is not None and obama == _person_of(lib, root / "home" / "obama2.jpg")
        assert _person_of(lib, root / "home" / "biden.jpg") not in (None, obama)
        assert lib.people.in_photo(lib.photos.id_of(root / "home" / "circle.jpg")) == []
        assert sorted((p.photos for p in lib.people.people()), reverse=True) == [2, 1]
        assert list(lib.people.find()) == []  # nothing new: nothing looked at again
    finally:
        lib.close()
    assert _digests(root) == before  # originals untouched


def test_a_name_is_a_search_term_composing_with_words_and_years(
        library: tuple[Path, Path]) -> None:
    home, root = library
    lib = Library(home)
    try:
        list(lib.people.find())
        obama = _person_of(lib, root / "beach" / "obama.jpg")
        assert obama is not None
        lib.people.name(obama, "Barack Obama")
        both = {lib.photos.id_of(root / "beach" / "obama.jpg"),
                lib.photos.id_of(root / "home" / "obama2.jpg")}
        assert {h.photo_id for h in lib.search("barack obama")} == both
        assert [h.path for h in lib.search("Barack Obama 2012")] == [
            bytes(root / "beach" / "obama.jpg")]
        assert lib.understand("Barack Obama beach").describe() == "person Barack Obama · beach"
        hits = lib.search("Barack Obama beach")
        assert {h.photo_id for h in hits} <= both
        assert hits[0].path == bytes(root / "beach" / "obama.jpg")  # the word matched
    finally:
        lib.close()
    result = run_cli("--home", str(home), "search", "Barack Obama 2009", "--json")
    assert result.rc == 0, result.err
    assert [Path(h["path"]).name for h in json.loads(result.out)] == ["obama2.jpg"]


def test_a_persons_choices_survive_regrouping(library: tuple[Path, Path]) -> None:
    home, root = library
    lib = Library(home)
    try:
        list(lib.people.find())
        first, second = root / "beach" / "obama.jpg", root / "home" / "obama2.jpg"
        obama = _person_of(lib, first)
        assert obama is not None
        face = lib.people.in_photo(lib.photos.id_of(second))[0].id
        alone = lib.people.move(face, None)  # a wrong grouping undone: a person of its own
        lib.people.regroup()
        assert (_person_of(lib, second), _person_of(lib, first)) == (alone, obama)
        lib.people.merge([alone], into=obama)  # two groups merged
        lib.people.regroup()
        assert _person_of(lib, second) == obama
        assert alone not in {p.id for p in lib.people.people()}
        lib.people.not_person(face)  # "not this person": never back into obama
        assert _person_of(lib, second) not in (None, obama)
        list(lib.people.find())
        lib.people.regroup()
        assert _person_of(lib, second) != obama
    finally:
        lib.close()


def test_the_pass_resumes_after_a_stop_and_a_damaged_photo_is_a_problem(
        library: tuple[Path, Path]) -> None:
    home, root = library
    lib = Library(home)
    try:
        damaged = root / "home" / "circle.jpg"
        damaged.write_bytes(damaged.read_bytes()[:3000])  # truncated on disk since indexing
        job = lib.people.find()
        first, second = next(job), next(job)  # the newest first: the damaged one, Obama
        job.close()  # cancelled after two photos: the one looked at is kept
        assert first.problem is not None and "circle.jpg" in first.problem.reason
        assert second.problem is None and len(lib.people.pending()) == 3
        steps = list(lib.people.find())
        assert len(steps) == 4  # the 3 left (the damaged one again) and the grouping
        problems = [s.problem for s in steps if s.problem is not None]
        assert [Path(p.path.decode()).name for p in problems] == ["circle.jpg"]
        assert lib.people.pending() == [lib.photos.id_of(damaged)]  # tried again next time
        assert _person_of(lib, root / "beach" / "obama.jpg") == _person_of(
            lib, root / "home" / "obama2.jpg")  # the rest went on
    finally:
        lib.close()


def test_index_runs_find_faces_once_on_and_off_deletes_every_descriptor(
        library: tuple[Path, Path]) -> None:
    home, root = library
    later = root / "home" / "obama2.jpg"
    shutil.move(later, root.parent / "obama2.jpg")  # a photo that comes after faces are on
    assert run_cli("--home", str(home), "index", str(root)).rc == 0
    result = run_cli("--home", str(home), "people", "find", "--json")
    assert result.rc == 0, result.err
    assert json.loads(result.out)["people"] == 2
    shutil.move(root.parent / "obama2.jpg", later)
    assert run_cli("--home", str(home), "index", str(root)).rc == 0
    lib = Library(home)
    try:
        assert lib.people.pending() == []  # the index run looked at the new photo
        assert _person_of(lib, later) == _person_of(lib, root / "beach" / "obama.jpg")
    finally:
        lib.close()
    listed = json.loads(run_cli("--home", str(home), "people", "--json").out)
    obama = next(p for p in listed if p["photos"] == 2)["id"]
    assert run_cli("--home", str(home), "people", "name", str(obama), "Barack").rc == 0
    assert [p["name"] for p in json.loads(run_cli("--home", str(home), "people",
                                                  "--json").out)][0] == "Barack"
    lib = Library(home)
    try:
        descriptor = lib.catalog.faces.all()[1][0].tobytes()
    finally:
        lib.close()
    stored = [home / "catalog.sqlite", home / "catalog.sqlite-wal",
              *sorted((home / "backups").glob("*.sqlite"))]
    assert len(stored) > 2  # the naming's backup holds the faces too
    assert any(descriptor in p.read_bytes() for p in stored if p.exists())
    assert run_cli("--home", str(home), "people", "off").rc == 0
    assert not any(descriptor in p.read_bytes() for p in stored if p.exists())  # nowhere
    lib = Library(home)
    try:
        assert lib.people.counts() == (0, 0) and lib.people.people() == []
        assert not lib.people.on
        assert lib.understand("Barack").people == []  # no longer anyone's name
    finally:
        lib.close()
    assert run_cli("--home", str(home), "index", str(root)).rc == 0  # off: none found
    lib = Library(home)
    try:
        assert lib.people.counts() == (0, 0)
    finally:
        lib.close()


def test_a_name_reaches_the_sidecar_and_comes_back_in_another_library(
        library: tuple[Path, Path], tmp_path: Path) -> None:
    home, root = library
    lib = Library(home)
    try:
        list(lib.people.find())
        lib.people.name(_person_of(lib, root / "beach" / "obama.jpg") or 0, "Barack Obama")
    finally:
        lib.close()
    before = _digests(root)
    result = run_cli("--home", str(home), "xmp", "--all")
    assert result.rc == 0, result.err
    sidecars = sorted(p.name for p in root.rglob("*.xmp"))
    assert sidecars == ["obama.jpg.xmp", "obama2.jpg.xmp"]  # named faces only
    assert all(before[p] == d for p, d in _digests(root).items() if p in before)
    other = tmp_path / "other-home"
    use_tiny_models(other)
    assert run_cli("--home", str(other), "index", str(root), "--model", TINY_MODEL).rc == 0
    assert run_cli("--home", str(other), "people", "find").rc == 0
    listed = json.loads(run_cli("--home", str(other), "people", "--json").out)
    assert listed[0] == {"id": listed[0]["id"], "name": "Barack Obama", "photos": 2}
    assert [p["name"] for p in listed[1:]] == [None]  # Biden: unnamed
    assert json.loads(run_cli("--home", str(other), "search", "Barack Obama 2012",
                              "--json").out)[0]["path"].endswith("obama.jpg")


def test_the_cli_shows_merges_moves_and_says_not_this_person(
        library: tuple[Path, Path]) -> None:
    home, root = library
    assert run_cli("--home", str(home), "people", "find").rc == 0

    def people() -> dict[int, int]:
        return {p["id"]: p["photos"] for p in json.loads(
            run_cli("--home", str(home), "people", "--json").out)}
    obama, biden = (p for p, _ in sorted(people().items(), key=lambda kv: -kv[1]))
    shown = json.loads(run_cli("--home", str(home), "people", "show", str(obama), "--json").out)
    assert sorted(Path(f["path"]).name for f in shown) == ["obama.jpg", "obama2.jpg"]
    assert run_cli("--home", str(home), "people", "merge", str(biden), "--into",
                   str(obama)).rc == 0
    assert people() == {obama: 3}
    inside = json.loads(run_cli("--home", str(home), "people", "in",
                                str(root / "home" / "biden.jpg"), "--json").out)
    assert [f["person"] for f in inside] == [obama]
    moved = run_cli("--home", str(home), "people", "move", str(inside[0]["face"]))
    assert moved.rc == 0 and people() == {obama: 2, int(moved.out.split()[-1]): 1}
    assert run_cli("--home", str(home), "people", "move", str(inside[0]["face"]), "--to",
                   str(obama)).rc == 0
    assert run_cli("--home", str(home), "people", "not", str(inside[0]["face"])).rc == 0
    after = people()
    assert after[obama] == 2 and sorted(after.values()) == [1, 2]
    missing = run_cli("--home", str(home), "people", "name", "999", "X")
    assert missing.rc != 0 and "no person 999" in missing.err
