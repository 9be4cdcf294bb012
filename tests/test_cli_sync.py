"""`clipdesk xmp` and `clipdesk watch` as a person runs them: real processes, a real
library indexed with the tiny model, sidecars other tools wrote."""
from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from clipdesk.core import xmp
from clipdesk.core.library import Library
from tests.conftest import REPO, TINY_MODEL, run_cli, use_tiny_models
from tests.synthetic import render
from tests.unit.test_xmp import DIGIKAM, others

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}


def clipdesk(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "clipdesk", "--home", str(home), *args],
                          capture_output=True, text=True, env=ENV, cwd=REPO, timeout=300)


@pytest.fixture
def library(tmp_path) -> tuple[Path, Path]:
    """(home, photos): four photos indexed, red.jpg with a digiKam sidecar."""
    photos, home = tmp_path / "photos", tmp_path / "home"
    photos.mkdir()
    for i, (color, shape) in enumerate((("red", "circle"), ("green", "square"),
                                        ("blue", "triangle"), ("yellow", "circle"))):
        render(color, shape, "white", (640, 480), seed=i).save(photos / f"{color}.jpg")
    shutil.copyfile(DIGIKAM, photos / "red.jpg.xmp")
    use_tiny_models(home)
    assert run_cli("--home", str(home), "index", str(photos), "--model", TINY_MODEL).rc == 0
    return home, photos


def test_xmp_writes_the_chosen_photos_and_keeps_digikams_fields(library):
    home, photos = library
    lib = Library(home)
    lib.set_tag(photos / "green.jpg", "picnic")
    lib.close()
    before = {p.name: p.read_bytes() for p in photos.glob("*.jpg")}
    result = clipdesk(home, "xmp", str(photos / "red.jpg"), str(photos / "green.jpg"),
                      "--json")
    assert result.returncode == 0, result.stderr
    # red's sidecar already has its tags (read from it on index); green gets one
    assert json.loads(result.stdout) == {"written": 1, "unchanged": 1, "failed": []}
    assert xmp.read(os.fsencode(photos / "green.jpg.xmp")).keywords == ("picnic",)
    assert not (photos / "blue.jpg.xmp").exists()  # not asked for (and nothing to say)
    result = clipdesk(home, "xmp", "--all", "--include-auto")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Wrote ")
    assert others(photos / "red.jpg.xmp") == others(DIGIKAM)
    lib = Library(home)
    auto = {name: {t for t, _, s in lib.tags(photos / name) if s == "auto"}
            for name in ("red.jpg", "green.jpg", "blue.jpg", "yellow.jpg")}
    lib.close()
    assert any(auto.values()), "the tiny model tags some of these"
    for name, tags in auto.items():
        sidecar = os.fsencode(photos / (name + ".xmp"))
        assert tags <= {k.lower() for k in xmp.read(sidecar).keywords} if tags else True
    assert {p.name: p.read_bytes() for p in photos.glob("*.jpg")} == before


def test_xmp_needs_photos_or_all_and_reports_a_broken_sidecar(library):
    home, photos = library
    result = clipdesk(home, "xmp")
    assert result.returncode == 2 and "--all" in result.stderr
    (photos / "green.jpg.xmp").write_text("<x:xmpmeta><rdf:RDF>cut short")
    result = clipdesk(home, "xmp", str(photos), "--include-auto")
    assert result.returncode == 1
    assert "green.jpg.xmp: not valid XML" in result.stderr
    assert "Traceback" not in result.stderr
    assert "1 failed" in result.stdout
    assert xmp.read(os.fsencode(photos / "blue.jpg.xmp")).keywords  # the rest went on


def test_an_edit_whose_kept_sidecar_cannot_be_written_is_saved_and_says_so(library):
    home, photos = library
    lib = Library(home)
    lib.keep_sidecars(True)
    lib.close()
    (photos / "green.jpg.xmp").write_text("<x:xmpmeta><rdf:RDF>cut short")  # another tool's
    result = clipdesk(home, "reject", str(photos / "green.jpg"), str(photos / "blue.jpg"))
    assert result.returncode == 0, result.stderr
    [said] = result.stderr.splitlines()  # one line, for the one sidecar
    assert said.startswith(f"clipdesk: saved, but the XMP sidecar was not written: "
                           f"{photos / 'green.jpg.xmp'}: not valid XML (")
    assert said.endswith("); it was left as it is")
    lib = Library(home)
    rejected = {lib.photo_id(photos / n) for n in ("green.jpg", "blue.jpg")}
    assert rejected <= lib.rejected_ids()  # both edits are in the catalog
    lib.close()
    assert xmp.read(os.fsencode(photos / "blue.jpg.xmp")).rating == -1  # the other one written
    assert (photos / "green.jpg.xmp").read_text() == "<x:xmpmeta><rdf:RDF>cut short"


def lines_of(stream) -> queue.Queue[str]:
    found: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in stream:
            found.put(line)
    threading.Thread(target=pump, daemon=True).start()
    return found


def next_line(lines: queue.Queue[str], timeout: float) -> str:
    try:
        return lines.get(timeout=timeout)
    except queue.Empty:
        raise AssertionError(f"no line within {timeout:.0f} s") from None


def test_watch_prints_a_line_per_batch_and_search_follows(library, tmp_path):
    home, photos = library
    render("yellow", "square", "black", (640, 480), seed=7).save(tmp_path / "sunflower.jpg")
    proc = subprocess.Popen([sys.executable, "-m", "clipdesk", "--home", str(home), "watch"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=ENV, cwd=REPO)
    try:
        out, err = lines_of(proc.stdout), lines_of(proc.stderr)
        assert "up to date: 4 photos" in next_line(out, 120)  # the catch-up run
        assert "Watching 1 folder" in next_line(err, 120)  # ready: the model is loaded
        shutil.copyfile(tmp_path / "sunflower.jpg", photos / "sunflower.jpg")
        assert "1 new" in next_line(out, 10)
        hits = json.loads(run_cli("--home", str(home), "search", "sunflower", "--json").out)
        assert hits and hits[0]["path"] == str(photos / "sunflower.jpg")
        os.rename(photos / "sunflower.jpg", photos / "tulip.jpg")
        line = next_line(out, 10)
        assert "1 moved" in line and "removed" not in line
        (photos / "green.jpg").unlink()
        assert "1 removed" in next_line(out, 10)
        hits = json.loads(run_cli("--home", str(home), "search", "tulip", "--json").out)
        assert hits and hits[0]["path"] == str(photos / "tulip.jpg")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "Traceback" not in "".join(list(err.queue))


def test_watch_says_once_that_a_folder_is_not_available(library, tmp_path):
    home, photos = library
    drive = tmp_path / "drive"
    drive.mkdir()
    render("purple", "square", "black", (640, 480), seed=9).save(drive / "purple.jpg")
    assert run_cli("--home", str(home), "index", str(drive)).rc == 0
    drive.rename(tmp_path / "unplugged")
    proc = subprocess.Popen([sys.executable, "-m", "clipdesk", "--home", str(home), "watch"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=ENV, cwd=REPO)
    try:
        out, err = lines_of(proc.stdout), lines_of(proc.stderr)
        assert "-> 5 photos" in next_line(out, 120)  # the catch-up run: the unplugged one kept
        assert next_line(err, 120).strip() == (
            f"clipdesk: folder {drive} is not available (No such file or directory): its "
            "photo is kept; it is looked at again on the next run")
        assert "Watching 1 folder" in next_line(err, 120)
        render("red", "square", "black", (640, 480), seed=8).save(photos / "new.jpg")
        assert "1 new" in next_line(out, 10)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not any("not available" in line for line in err.queue)  # once, not every run
