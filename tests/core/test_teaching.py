"""Teach a tag by example: suggestions are precise on photos it was not shown."""
from __future__ import annotations

import json

import numpy as np
import pytest

from clipdesk.core.library import Library
from clipdesk.core.organize import teaching
from tests.conftest import TINY_MODEL, run_cli
from tests.synthetic import COLORS, SHAPES, render


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    root = tmp_path_factory.mktemp("teach-photos")
    truth = {}
    for i in range(90):
        color, shape = list(COLORS)[i % 6], SHAPES[(i // 6) % 3]
        path = root / f"{i:03d}.jpg"
        render(color, shape, ("white", "gray", "black")[i % 3], (640, 480), seed=3000 + i
               ).save(path)
        truth[path] = (color, shape)
    home = tmp_path_factory.mktemp("teach-home")
    assert run_cli("--home", str(home), "index", str(root), "--model", TINY_MODEL).rc == 0
    return home, truth


def test_suggestions_are_precise_on_held_out_photos(library):
    home, truth = library
    blue = sorted(p for p, c in truth.items() if c[0] == "blue")
    yes, held_out = blue[:3], set(blue[3:])  # 3 examples; 12 blue photos never shown
    no = sorted(p for p, c in truth.items() if c[0] == "purple")[:2]
    result = run_cli("--home", str(home), "teach", "sea colour", "--yes", *map(str, yes),
                     "--no", *map(str, no))
    assert result.rc == 0, result.err
    hits = json.loads(run_cli("--home", str(home), "suggest", "sea colour", "-k", "10",
                              "--json").out)
    assert len(hits) == 10
    precision = sum(h["path"] in {str(p) for p in held_out} for h in hits) / 10
    assert precision >= 0.9
    assert not {h["path"] for h in hits} & {str(p) for p in yes + no}
    lib = Library(home)
    try:
        assert "sea colour" in {t for t, _, _ in lib.tags.of(lib.photos.id_of(yes[0]))}
        assert "sea colour" not in {t for t, _, _ in lib.tags.of(lib.photos.id_of(no[0]))}
    finally:
        lib.close()


def test_new_photos_get_a_taught_tag_as_they_arrive(library, tmp_path):
    home, truth = library
    root = next(iter(truth)).parent
    yes = sorted(p for p, c in truth.items() if c == ("red", "circle"))[:3]
    assert run_cli("--home", str(home), "teach", "red ball", "--yes", *map(str, yes)).rc == 0
    newcomer = root / "new-red-circle.jpg"
    render("red", "circle", "white", (640, 480), seed=9999).save(newcomer)
    other = root / "new-green-square.jpg"
    render("green", "square", "white", (640, 480), seed=9998).save(other)
    assert run_cli("--home", str(home), "index").rc == 0
    lib = Library(home)
    try:
        assert "red ball" in {t for t, _, _ in lib.tags.of(lib.photos.id_of(newcomer))}
        assert "red ball" not in {t for t, _, _ in lib.tags.of(lib.photos.id_of(other))}
    finally:
        lib.close()


def test_untaught_tag_is_a_clear_error(library):
    home, _ = library
    result = run_cli("--home", str(home), "suggest", "never taught")
    assert result.rc == 1 and "has not been taught" in result.err


def test_training_on_thousands_of_photos_ranks_its_examples_above_the_rest():
    # (was "..._is_quick", which timed nothing; speed is benchmarks' business, not a test's)
    rng = np.random.default_rng(0)
    vecs = rng.normal(size=(5000, 512)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    model = teaching.train(vecs[:20], vecs[20:30], vecs[30:2030])
    assert teaching.probability(vecs[:20], model).min() > teaching.probability(
        vecs[2030:], model).max()
