"""The command line on a folder with videos: status counts them apart, a search hit on a
video says at what time, problems name a truncated video with its reason."""
from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import TINY_MODEL, run_cli
from tests.synthetic import render
from tests.videos import encode


def test_videos_on_the_command_line(tmp_path: Path) -> None:
    root, home = tmp_path / "photos", str(tmp_path / "home")
    root.mkdir()
    encode(root / "clip.mov", [("green", "triangle", "white", 6), ("red", "circle", "white", 6),
                               ("blue", "square", "white", 6)])
    whole = (root / "clip.mov").read_bytes()
    (root / "cut.mov").write_bytes(whole[:len(whole) * 2 // 3])
    for i, (color, shape) in enumerate([("yellow", "square"), ("purple", "triangle"),
                                        ("blue", "triangle"), ("green", "square")]):
        render(color, shape, "white", seed=i).save(root / f"p{i}.jpg")
    indexed = run_cli("--home", home, "index", str(root), "--model", TINY_MODEL)
    assert indexed.rc == 0, indexed.err
    status = json.loads(run_cli("--home", home, "status", "--json").out)
    assert (status["photos"], status["videos"]) == (5, 1)
    assert (status["problems"], status["video_problems"]) == (1, 1)
    words = run_cli("--home", home, "status").out
    assert "5 (5 files), of them 1 video" in words and "Problems: 1, of them 1 video" in words
    problems = run_cli("--home", home, "problems").out
    assert "cut.mov\terror: truncated QuickTime video file (" in problems
    listed = json.loads(run_cli("--home", home, "problems", "--json").out)
    assert [(Path(p["path"]).name, p["video"]) for p in listed] == [("cut.mov", True)]
    result = run_cli("--home", home, "search", "a red circle", "-k", "3", "--json")
    hits = json.loads(result.out)
    assert hits[0]["path"].endswith("clip.mov") and 6.0 <= hits[0]["at"] < 12.0
    assert all(h["at"] is None for h in hits[1:])
    line = run_cli("--home", home, "search", "a red circle", "-k", "1").out
    assert line.rstrip().endswith(f"clip.mov  (at 0:{round(hits[0]['at']):02d})")
    assert (root / "clip.mov").read_bytes() == whole  # the original untouched
