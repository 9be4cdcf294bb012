"""The second sensitive-content signal (open_nsfw): measured once during indexing and
stored; the library's threshold turns scores into flags without a re-index; a person's
"this photo is fine" wins; nothing leaves the machine."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from clipdesk.core.library import Library
from clipdesk.core.models import nsfw
from tests.conftest import REPO, TINY_MODEL, run_cli
from tests.synthetic import SHAPES, render

HOPPER = REPO / "tests" / "data" / "photos" / "hopper.jpg"
NUDITY = "sensitive:nudity"
# the tiny model knows colours and shapes: "purple" plays a CLIP-found concept (no photo
# here is purple, so CLIP flags none of them)
SENSITIVE = "unwanted: a purple shape | purple\n"
EVERYDAY = "red: a red shape\ngreen: a green shape\nblue: a blue shape\ncircle: a circle\n"


def test_the_model_scores_an_ordinary_photo_low_and_stays_offline(tmp_path):
    """The real ONNX model on a real portrait, in a fresh process whose home folder is
    empty: a low score, and onnxruntime's telemetry left no device id behind."""
    code = ("import sys; from clipdesk.core.models import nsfw;"
            "from clipdesk.core.media import imaging; from clipdesk.core import library;"
            "assert 'onnxruntime' not in sys.modules, 'loaded before it is needed';"
            f"img = imaging.decode(open({str(HOPPER)!r}, 'rb').read(), 320).image;"
            "print(nsfw.score(img))")
    env = {**os.environ, "HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "cache"),
           "PYTHONPATH": str(REPO)}
    env.pop("ORT_DISABLE_TELEMETRY", None)
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    score = float(out.stdout.strip())
    assert 0.0 <= score < 0.2 < nsfw.DEFAULT_THRESHOLD
    assert list(tmp_path.rglob("*")) == [], "onnxruntime wrote into the home folder"


def _library(tmp_path: Path, sensitive: str = SENSITIVE) -> tuple[Path, list[str]]:
    root = tmp_path / "photos"
    root.mkdir()
    paths = []
    for i, color in enumerate(["red", "green", "blue"] * 2):
        path = root / f"{i:02d}.jpg"
        render(color, SHAPES[i % 3], "white", (640, 480), seed=700 + i).save(path)
        paths.append(str(path))
    home = tmp_path / "home"
    home.mkdir()
    (home / "sensitive.txt").write_text(sensitive)
    (home / "tags.txt").write_text(EVERYDAY)
    result = run_cli("--home", str(home), "index", str(root), "--model", TINY_MODEL)
    assert result.rc == 0, result.err
    return home, paths


def _set_scores(lib: Library, scores: dict[str, float]) -> None:
    """Stand-ins for what open_nsfw would say (no explicit photo is ever used)."""
    with lib.catalog.transaction() as db:
        for path, score in scores.items():
            db.execute("UPDATE photos SET nsfw=? WHERE id=?", (score, lib.photos.id_of(path)))


def _nudity_flagged(lib: Library) -> set[str]:
    return {h.path.decode() for h in lib.tags.flagged()
            if any(t == NUDITY for t, _, _ in lib.tags.of(lib.photos.id_of(h.path)))}


def test_a_score_over_the_threshold_flags_the_photo_and_a_person_has_the_last_word(tmp_path):
    home, paths = _library(tmp_path)
    lib = Library(home)
    try:
        # indexing measured every photo on its one decode; ordinary ones score low
        stored = dict(lib.catalog._db.execute("SELECT id, nsfw FROM photos").fetchall())
        assert len(stored) == len(paths)
        assert all(s is not None and s < nsfw.DEFAULT_THRESHOLD for s in stored.values())
        assert _nudity_flagged(lib) == set()

        explicit, borderline = paths[0], paths[1]
        _set_scores(lib, {explicit: 0.95, borderline: 0.5})
        assert lib.nsfw_threshold() == nsfw.DEFAULT_THRESHOLD == 0.8
        lib.tags.retag()
        assert _nudity_flagged(lib) == {explicit}
        assert (NUDITY, 0.95, "auto") in lib.tags.of(lib.photos.id_of(explicit))
        flagged = json.loads(run_cli("--home", str(home), "flagged", "--json").out)
        assert [f["path"] for f in flagged] == [explicit]

        # a stricter library: the stored scores decide again, no re-index
        lib.set_nsfw_threshold(0.4)
        assert _nudity_flagged(lib) == {explicit, borderline}
        again = Library(home)
        assert again.nsfw_threshold() == 0.4  # kept in the catalog
        again.close()

        # "this photo is fine" wins over the score, through every re-tagging
        lib.tags.set(lib.photos.id_of(explicit), NUDITY, on=False)
        lib.tags.retag()
        assert _nudity_flagged(lib) == {borderline}

        lib.set_nsfw_threshold(None)  # the signal off
        assert _nudity_flagged(lib) == set()
    finally:
        lib.close()


def test_an_empty_sensitive_list_still_turns_every_flag_off(tmp_path):
    home, paths = _library(tmp_path, sensitive="# no flags in this library\n")
    lib = Library(home)
    try:
        _set_scores(lib, {paths[0]: 0.99})
        lib.tags.retag()
        assert lib.tags.flagged() == []
    finally:
        lib.close()


def test_the_threshold_is_set_from_the_command_line_and_remembered(tmp_path):
    home, paths = _library(tmp_path)
    lib = Library(home)
    try:
        _set_scores(lib, {paths[0]: 0.95, paths[1]: 0.5})
        lib.tags.retag()
    finally:
        lib.close()

    def flagged(*option: str) -> list[str]:
        result = run_cli("--home", str(home), "flagged", "--json", *option)
        assert result.rc == 0, result.err
        return [f["path"] for f in json.loads(result.out)]

    assert flagged() == [paths[0]]  # the default, 0.8
    assert flagged("--nsfw-threshold", "0.4") == [paths[0], paths[1]]  # strongest first
    assert flagged() == [paths[0], paths[1]]  # remembered
    assert flagged("--nsfw-threshold", "OFF") == []
    assert flagged() == []
    for wrong in ("0", "1.5", "high", "nan"):
        result = run_cli("--home", str(home), "flagged", "--nsfw-threshold", wrong)
        assert result.rc == 1 and result.err.count("\n") == 1, result.err
        assert f"--nsfw-threshold is a score over 0 and at most 1, or 'off', not '{wrong}'" \
            in result.err
    assert flagged("--nsfw-threshold", "1") == []
    lib = Library(home)
    assert lib.nsfw_threshold() == 1.0
    lib.close()
