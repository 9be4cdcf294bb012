"""`clipdesk xmp` and `clipdesk watch` as a person runs them: real processes, a real
library indexed with the tiny model, sidecars other tools wrote."""
from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from clipdesk.core.library import Library
from clipdesk.core.sidecars import xmp
from tests.conftest import REPO, TINY_MODEL, run_cli, use_tiny_models
from tests.synthetic import render
from tests.test_faults import NO_DAC_OVERRIDE
from tests.unit.test_xmp import DIGIKAM, digest, others

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
    lib.tags.set(lib.photos.id_of(photos / "green.jpg"), "picnic")
    lib.close()
    before = {p.name: p.read_bytes() for p in photos.glob("*.jpg")}
    result = clipdesk(home, "xmp", str(photos / "red.jpg"), str(photos / "green.jpg"),
                      "--json")
    assert result.returncode == 0, result.stderr
    # red's sidecar already has its tags (read from it on index); green gets one
    assert json.loads(result.stdout) == {"written": 1, "unchanged": 1, "failed": [],
                                         "left_alone": []}
    assert xmp.read(os.fsencode(photos / "green.jpg.xmp")).keywords == ("picnic",)
    assert not (photos / "blue.jpg.xmp").exists()  # not asked for (and nothing to say)
    result = clipdesk(home, "xmp", "--all", "--include-auto")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Wrote ")
    assert others(photos / "red.jpg.xmp") == others(DIGIKAM)
    lib = Library(home)
    auto = {name: {t for t, _, s in lib.tags.of(lib.photos.id_of(photos / name)) if s == "auto"}
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
    rejected = {lib.photos.id_of(photos / n) for n in ("green.jpg", "blue.jpg")}
    assert rejected <= lib.groups.rejected()  # both edits are in the catalog
    lib.close()
    assert xmp.read(os.fsencode(photos / "blue.jpg.xmp")).rating == -1  # the other one written
    assert (photos / "green.jpg.xmp").read_text() == "<x:xmpmeta><rdf:RDF>cut short"


OUTSIDE_XMP = """<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF
 xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about=""
 xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:subject><rdf:Bag><rdf:li>Classified</rdf:li>
</rdf:Bag></dc:subject></rdf:Description></rdf:RDF></x:xmpmeta>"""


def test_xmp_all_leaves_a_fifo_and_a_symlinked_sidecar_alone_and_says_so(library, tmp_path):
    home, photos = library
    os.mkfifo(photos / "green.jpg.xmp")  # would block a reader forever
    outside = tmp_path / "elsewhere.xmp"  # a file outside the library, behind a link
    outside.write_text(OUTSIDE_XMP)
    before = digest(outside)
    (photos / "blue.jpg.xmp").symlink_to(outside)
    try:
        result = subprocess.run([sys.executable, "-m", "clipdesk", "--home", str(home), "xmp",
                                 "--all", "--include-auto"], capture_output=True, text=True,
                                env=ENV, cwd=REPO, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("`clipdesk xmp --all` hung on a FIFO named like a sidecar")
    assert result.returncode == 0, result.stderr
    said = result.stderr.splitlines()
    assert said == [
        f"clipdesk: {photos / 'blue.jpg.xmp'}: a symbolic link, not a regular file; clipdesk "
        "reads and writes only regular sidecar files, so it was left alone",
        f"clipdesk: {photos / 'green.jpg.xmp'}: a pipe, not a regular file; clipdesk "
        "reads and writes only regular sidecar files, so it was left alone"]
    assert "2 left alone, 0 failed" in result.stdout
    assert (photos / "blue.jpg.xmp").is_symlink() and digest(outside) == before
    assert stat.S_ISFIFO(os.lstat(photos / "green.jpg.xmp").st_mode)
    assert xmp.read(os.fsencode(photos / "yellow.jpg.xmp")).keywords  # the rest went on

    # the next index: the outside file's keywords are not taken as a person's tags, and
    # the link is one of the library's problems, counted by the run (not a log line)
    indexed = run_cli("--home", str(home), "index")
    assert indexed.rc == 0 and "1 problem" in indexed.out, indexed.out
    assert "WARNING" not in indexed.err
    lib = Library(home)
    try:
        blue = lib.photos.id_of(photos / "blue.jpg")
        assert "classified" not in {t for t, _, _ in lib.tags.of(blue)}
        problems = {os.fsdecode(p.path): p.reason for p in lib.problems()}
    finally:
        lib.close()
    assert "a symbolic link" in problems[str(photos / "blue.jpg.xmp")]


def test_xmp_leaves_a_read_only_sidecar_unchanged_and_says_so(library):
    home, photos = library
    lib = Library(home)
    for name in ("red.jpg", "green.jpg"):
        lib.tags.set(lib.photos.id_of(photos / name), "picnic")
    lib.close()
    sidecar = photos / "red.jpg.xmp"  # digiKam's, made read-only by its owner
    sidecar.chmod(0o444)
    before = sidecar.read_bytes()
    # as root without the override of file modes (CI runs as root, which ignores them)
    result = subprocess.run([*NO_DAC_OVERRIDE, sys.executable, "-m", "clipdesk", "--home",
                             str(home), "xmp", "--all"], capture_output=True, text=True,
                            env=ENV, cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        f"clipdesk: {sidecar}: read-only, so it was left alone (make it writable to have "
        "clipdesk write it)"]
    assert result.stdout.startswith("Wrote 1 sidecar (") and "1 left alone" in result.stdout
    assert sidecar.read_bytes() == before
    assert "picnic" in xmp.read(os.fsencode(photos / "green.jpg.xmp")).keywords


def killed_at_rename(home: Path, *args: str) -> None:
    """Run `clipdesk ARGS`, SIGKILLed by the kernel (strace's fault injection) at its first
    rename: a sidecar's temp file is written and fsynced, not yet renamed into place."""
    result = subprocess.run(
        ["strace", "-f", "-qq", "-o", "/dev/null", "-e", "trace=rename,renameat,renameat2",
         "-e", "inject=rename,renameat,renameat2:signal=KILL", sys.executable, "-m",
         "clipdesk", "--home", str(home), *args], capture_output=True, text=True,
        env={**ENV, "PYTHONDONTWRITEBYTECODE": "1"}, cwd=REPO, timeout=300)
    assert result.returncode == -signal.SIGKILL, result.stderr  # strace dies as it did


def temp_files(photos: Path) -> list[str]:
    return sorted(p.name for p in photos.iterdir() if p.name.endswith(".xmp.tmp"))


def test_temp_files_of_a_killed_xmp_run_are_cleaned_by_the_next_run(library):
    home, photos = library
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    try:
        # another clipdesk writing a sidecar right now: its temp file must stay
        concurrent = photos / f".clipdesk-{live.pid}-a1b2c3d4.xmp.tmp"
        concurrent.write_bytes(b"<x:xmpmeta")
        for then in (("index",), ("xmp", "--all")):
            killed_at_rename(home, "xmp", "--all", "--include-auto")
            left = temp_files(photos)
            assert len(left) == 2, left  # the killed write's, and the live one
            result = subprocess.run([sys.executable, "-m", "clipdesk", "--home", str(home),
                                     *then], capture_output=True, text=True, env=ENV,
                                    cwd=REPO, timeout=300)
            assert result.returncode == 0, result.stderr
            assert temp_files(photos) == [concurrent.name], then
    finally:
        live.kill()
        live.wait()


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


@contextmanager
def watching(home: Path) -> Iterator[tuple[queue.Queue[str], queue.Queue[str]]]:
    """A `clipdesk watch` process: its stdout and stderr lines; Ctrl+C ends it (exit 130)."""
    proc = subprocess.Popen([sys.executable, "-m", "clipdesk", "--home", str(home), "watch"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=ENV, cwd=REPO)
    try:
        out, err = lines_of(proc.stdout), lines_of(proc.stderr)
        yield out, err
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "Traceback" not in "".join(list(err.queue))


def test_watch_prints_a_line_per_batch_and_search_follows(library, tmp_path):
    home, photos = library
    render("yellow", "square", "black", (640, 480), seed=7).save(tmp_path / "sunflower.jpg")
    with watching(home) as (out, err):
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


def test_watch_says_once_that_a_folder_is_not_available(library, tmp_path):
    home, photos = library
    drive = tmp_path / "drive"
    drive.mkdir()
    render("purple", "square", "black", (640, 480), seed=9).save(drive / "purple.jpg")
    assert run_cli("--home", str(home), "index", str(drive)).rc == 0
    drive.rename(tmp_path / "unplugged")
    with watching(home) as (out, err):
        assert "-> 5 photos" in next_line(out, 120)  # the catch-up run: the unplugged one kept
        assert next_line(err, 120).strip() == (
            f"clipdesk: folder {drive} is not available (No such file or directory): its "
            "photo is kept; it is looked at again on the next run")
        assert "Watching 1 folder" in next_line(err, 120)
        render("red", "square", "black", (640, 480), seed=8).save(photos / "new.jpg")
        assert "1 new" in next_line(out, 10)
    assert not any("not available" in line for line in err.queue)  # once, not every run
