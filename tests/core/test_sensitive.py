"""The sensitive-content flag: found like a tag, from a configurable prompt set."""
from __future__ import annotations

import json

from clipdesk.core.library import Library
from clipdesk.core.organize import tagging
from tests.conftest import TINY_MODEL, run_cli
from tests.synthetic import SHAPES, render

# The tiny model knows only colours and shapes: "purple" plays the unwanted content.
TEST_PROMPTS = "unwanted: a purple shape | purple\n"
EVERYDAY = "red: a red shape\ngreen: a green shape\nblue: a blue shape\ncircle: a circle\n"


def test_default_prompt_set_covers_the_usual_categories():
    text = (tagging.RESOURCES / "sensitive.txt").read_text()
    names = {t.name for t in tagging.parse_vocabulary(text)}
    assert {"nudity", "gore", "violence"} <= names


def test_flagged_lists_exactly_the_photos_showing_the_concept(tmp_path):
    root = tmp_path / "photos"
    root.mkdir()
    purple = set()
    for i, color in enumerate(["red", "green", "blue", "purple"] * 6):
        path = root / f"{i:02d}.jpg"
        render(color, SHAPES[i % 3], ("white", "black")[i % 2], (640, 480), seed=500 + i
               ).save(path)
        if color == "purple":
            purple.add(str(path))
    home = tmp_path / "home"
    home.mkdir()
    (home / "sensitive.txt").write_text(TEST_PROMPTS)
    (home / "tags.txt").write_text(EVERYDAY)
    assert run_cli("--home", str(home), "index", str(root), "--model", TINY_MODEL).rc == 0
    flagged = json.loads(run_cli("--home", str(home), "flagged", "--json").out)
    assert {f["path"] for f in flagged} == purple
    assert all("sensitive:unwanted" in f["tags"] for f in flagged)
    # a person says one is fine: it stays unflagged through re-tagging
    lib = Library(home)
    try:
        fine = flagged[0]["path"]
        lib.tags.set(lib.photos.id_of(fine), "sensitive:unwanted", on=False)
        lib.tags.retag()
        assert fine not in {h.path.decode() for h in lib.tags.flagged()}
        assert len(lib.tags.flagged()) == len(purple) - 1
    finally:
        lib.close()
