"""The whole frame: a subject at an end of a wide photo, outside the centre square CLIP's
preprocessing keeps, is found by its words (media/crops.py, VectorIndex.query_best)."""
from __future__ import annotations

from pathlib import Path

from PIL import Image

from clipdesk.core.library import Library
from clipdesk.core.media import crops
from clipdesk.core.store.catalog.crops import photo_of
from tests.conftest import TINY_MODEL, run_cli
from tests.synthetic import COLORS, SHAPES, render, render_at_end

OTHERS = [("green", "triangle"), ("yellow", "square"), ("purple", "circle"),
          ("orange", "triangle"), ("blue", "circle"), ("green", "square"),
          ("yellow", "triangle"), ("purple", "square"), ("orange", "circle")]


def test_a_subject_at_the_end_of_a_wide_photo_is_found_by_its_words(tmp_path: Path) -> None:
    root = tmp_path / "photos"
    root.mkdir()
    # a red circle at the left end of a 16:9 photo whose centre shows a blue square
    render_at_end("red", "circle", "gray", (640, 360), "start", seed=1,
                  centre=("blue", "square")).save(root / "edge.jpg")
    # and a portrait one with it at the bottom
    render_at_end("red", "circle", "gray", (360, 540), "end", seed=2).save(root / "tall.jpg")
    for i, (color, shape) in enumerate(OTHERS):
        size = (640, 360) if i % 2 else (480, 480)
        render(color, shape, "gray", size, seed=i).save(root / f"other{i}.jpg")
    lib = Library(tmp_path / "home")
    try:
        for _ in lib.index([str(root)], model=TINY_MODEL):
            pass
        hits = lib.search("a red circle", k=4)
        assert {Path(h.path.decode()).name for h in hits[:2]} == {"edge.jpg", "tall.jpg"}
        assert len({h.photo_id for h in hits}) == len(hits)  # one hit a photo
        # their centre squares alone do not show it: the squares at the ends found them
        model, index = lib.store.answering()
        vector = lib.store.embedder(model).encode_text("a red circle")
        edge = next(h.photo_id for h in hits if h.path.endswith(b"edge.jpg"))
        assert edge not in [i for i, _ in index.query(vector, 3)]
        # the squares are in the catalog and the index, never offered as look-alikes
        assert any(photo_of(label) == edge for label in lib.catalog.crops.labels(model))
        assert all(h.photo_id < 1 << 40 for h in lib.similar(root / "edge.jpg", k=20))
    finally:
        lib.close()


def test_photos_indexed_before_the_whole_frame_get_it_on_the_next_run(tmp_path: Path) -> None:
    root = tmp_path / "photos"
    root.mkdir()
    render_at_end("red", "circle", "gray", (640, 360), "end", seed=3).save(root / "edge.jpg")
    render("red", "circle", "gray", (400, 400), seed=4).save(root / "square.jpg")
    for i, (color, shape) in enumerate(OTHERS):
        render(color, shape, "gray", (600, 400), seed=i).save(root / f"other{i}.jpg")
    home = tmp_path / "home"
    lib = Library(home)
    try:
        for _ in lib.index([str(root)], model=TINY_MODEL):
            pass
        model = lib.model_id
        assert model is not None
        made = lib.catalog.crops.labels(model)
        assert len(made) == 2 * 10  # two end squares for each non-square photo
    finally:
        lib.close()
    # a library from before: no squares in the catalog (its index file still holds them:
    # it is a cache, made to agree with the catalog)
    lib = Library(home)
    try:
        with lib.catalog.transaction() as db:
            db.execute("DELETE FROM crops")
        hits = lib.search("a red circle", k=2)
        assert [Path(h.path.decode()).name for h in hits][:1] == ["square.jpg"]
        assert "edge.jpg" not in [Path(h.path.decode()).name for h in hits]
        steps = list(lib.index())
        frame = [s for s in steps if s.message.startswith("Looking at the whole frame")]
        assert frame and frame[-1].done == frame[-1].total == 10
        summary = steps[-1].summary
        assert summary is not None and (summary.framed, summary.embedded) == (10, 0)
        assert lib.catalog.crops.labels(model) == made
        names = [Path(h.path.decode()).name for h in lib.search("a red circle", k=2)]
        assert set(names) == {"edge.jpg", "square.jpg"}
        assert list(lib.index())[-1].summary is not None  # and once is enough:
        assert not any(s.message.startswith("Looking at the whole frame") for s in
                       lib.index())
    finally:
        lib.close()


def test_a_library_with_whole_squares_at_the_ends_gets_strips_on_the_next_run(
        tmp_path: Path, monkeypatch) -> None:
    root = tmp_path / "photos"
    root.mkdir()
    # a green triangle at the right end of a 16:9 photo whose centre shows a blue circle
    render_at_end("green", "triangle", "gray", (640, 360), "end", seed=21,
                  centre=("blue", "circle")).save(root / "edge.jpg")
    # green shapes that are not triangles, and triangles that are not green
    others = [("green", "circle"), ("green", "square"), *[o for o in OTHERS if
                                                        "green" not in o]] * 2
    for i, (color, shape) in enumerate(others):
        render(color, shape, "gray", (640, 360) if i % 2 else (600, 400),
               seed=100 + i).save(root / f"other{i}.jpg")
    home = tmp_path / "home"
    monkeypatch.setattr(crops, "END_SHARE", 1.0)  # as clipdesk made them before: squares
    lib = Library(home)
    try:
        for _ in lib.index([str(root)], model=TINY_MODEL):
            pass
        before = {Path(h.path.decode()).name: h.score
                  for h in lib.search("a green triangle", k=3)}
        # its end square shows the blue circle as much: a green circle comes first
        assert "edge.jpg" in before and next(iter(before)) != "edge.jpg"
        with lib.catalog.transaction() as db:
            db.execute("PRAGMA user_version=13")
    finally:
        lib.close()
    monkeypatch.undo()
    lib = Library(home)  # the upgrade drops the squares; search answers without them
    try:
        model = lib.model_id
        assert model is not None and not lib.catalog.crops.labels(model)
        assert len(lib.search("a green triangle", k=3)) == 3
    finally:
        lib.close()
    result = run_cli("--home", str(home), "index")  # the next run makes the strips
    assert result.rc == 0, result.err
    assert f"the whole frame of {len(others) + 1} photos indexed before it" in result.out
    lib = Library(home)
    try:
        after = {Path(h.path.decode()).name: h.score
                 for h in lib.search("a green triangle", k=3)}
        assert next(iter(after)) == "edge.jpg"
        assert after["edge.jpg"] > before["edge.jpg"] + 0.05
    finally:
        lib.close()


def test_the_ends_are_strips_padded_to_squares_and_panoramas_keep_squares() -> None:
    # a 16:9 photo: the left two fifths blue, the rest white
    image = Image.new("RGB", (1600, 900), "white")
    image.paste((0, 0, 255), (0, 0, 640, 900))
    (first, left), (last, right) = crops.part_images(image)
    assert (first, last) == (1, 2)
    assert left.size == right.size == (900, 900)  # the model sees a square, not squashed
    # the left strip is the blue two fifths of the frame, padded with its own colour
    assert left.getcolors() == [(900 * 900, (0, 0, 255))]
    assert right.getpixel((450, 450)) == (255, 255, 255)
    # portrait: along the height; a 3:1 panorama: whole squares at both ends
    assert crops.part_boxes(900, 1600) == [(1, (0, 0, 900, 640)), (2, (0, 960, 900, 1600))]
    assert crops.part_boxes(3000, 1000) == [(1, (0, 0, 1000, 1000)),
                                            (3, (2000, 0, 3000, 1000))]
    assert crops.part_boxes(1050, 1000) == []  # near square: the centre square holds it


def test_the_cutoff_counts_the_parts_made_after_the_library_opened(tmp_path: Path) -> None:
    root = tmp_path / "photos"
    root.mkdir()
    subjects = [(c, s) for c in COLORS for s in SHAPES]
    for n, (color, shape) in enumerate(subjects):
        other = subjects[(n + 4) % len(subjects)]
        render(color, shape, "gray", (480, 480), seed=n).save(root / f"c{n}.jpg")
        render_at_end(color, shape, "gray", (640, 360), "start", seed=n).save(root / f"e{n}.jpg")
        render_at_end(color, shape, "gray", (600, 400), "end", seed=n,
                      centre=other).save(root / f"m{n}.jpg")
    home = tmp_path / "home"
    lib = Library(home)
    try:
        for _ in lib.index([str(root)], model=TINY_MODEL):
            pass
        with lib.catalog.transaction() as db:  # a library from before the whole frame
            db.execute("DELETE FROM crops")
    finally:
        lib.close()
    queries = [f"a {c} {s}" for c, s in subjects]

    def shown(library: Library) -> dict[str, set[int]]:
        return {q: {h.photo_id for h in library.search(q, k=30) if h.relevant}
                for q in queries}

    lib = Library(home)
    try:
        lib.search(queries[0])  # a search while its parts are not made yet
        list(lib.index())  # they are made
        after = shown(lib)
    finally:
        lib.close()
    lib = Library(home)
    try:
        assert after == shown(lib)  # as the app opened afterwards shows them
    finally:
        lib.close()
