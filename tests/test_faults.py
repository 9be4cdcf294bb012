"""Fault injection: `clipdesk index` in a real subprocess over a real SQLite file, with the
world turning hostile mid-run (a full disk, denied permissions, a second indexer, files
deleted, renamed and rewritten, damaged index files). After every fault the same
invariants hold (see `check`), and the next plain `index` leaves no problem that is not
the file's own."""
from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from clipdesk.core.library import Library
from clipdesk.core.store.catalog import Catalog
from tests.conftest import REPO, TINY_MODEL, use_tiny_models
from tests.synthetic import COLORS, SHAPES, huge_png, huge_tiff, render
from tests.unit.kit import as_schema_6

N_PHOTOS = 120
# run as root without the override of file modes (CI runs as root, which ignores them)
NO_DAC_OVERRIDE = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search",
                   "--inh-caps", "-dac_override,-dac_read_search"]


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """N_PHOTOS distinct small JPEGs in two folders (copy them: tests change theirs)."""
    root = tmp_path_factory.mktemp("fault-photos")
    combos = [(c, s) for c in COLORS for s in SHAPES]
    for i in range(N_PHOTOS):
        color, shape = combos[i % len(combos)]
        folder = root / ("a" if i % 2 else "b")
        folder.mkdir(exist_ok=True)
        render(color, shape, "gray", (480, 360), seed=i).save(folder / f"{i:04d}.jpg",
                                                               quality=85)
    return root


@pytest.fixture
def photos(template, tmp_path) -> Path:
    root = tmp_path / "photos"
    shutil.copytree(template, root)
    return root


@pytest.fixture
def home(tmp_path) -> Path:
    home = tmp_path / "home"
    use_tiny_models(home)
    return home


def clipdesk(home: Path, *args: str, prefix: list[str] | None = None, timeout: float = 600,
             **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([*(prefix or []), sys.executable, "-m", "clipdesk", "--home",
                           str(home), *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, **kwargs)


def start(home: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "clipdesk", "--home", str(home), *args],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def index_cmd(root: Path) -> tuple[str, ...]:
    return ("index", str(root), "--model", TINY_MODEL)


def digests(root: Path) -> dict[Path, str]:
    return {p: hashlib.blake2b(p.read_bytes(), digest_size=16).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def committed(home: Path) -> set[str]:
    """Content hashes of the photos the catalog holds."""
    catalog = home / "catalog.sqlite"
    if not catalog.exists():
        return set()
    try:
        with sqlite3.connect(catalog, timeout=30) as db:
            return {r[0] for r in db.execute("SELECT hash FROM photos")}
    except sqlite3.OperationalError:  # the schema is not there yet
        return set()


def wait_for_commits(home: Path, proc: subprocess.Popen, at_least: int = 1) -> int:
    deadline = time.monotonic() + 300
    while proc.poll() is None and time.monotonic() < deadline:
        n = len(committed(home))
        if n >= at_least:
            return n
        time.sleep(0.05)
    raise AssertionError(f"no photo was committed; index said: {proc.communicate()[1]}")


def one_line_error(result, *words: str) -> None:
    assert result.returncode == 1, (result.returncode, result.stderr)
    err = result.stderr.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    for word in words:
        assert word in err, err


def check(home: Path, root: Path, originals: dict[Path, str], before: set[str],
          own_problems: set[Path] = frozenset()) -> None:
    """The invariants after a fault, once a plain `index` has run to the end."""
    final = clipdesk(home, "index")
    assert final.returncode == 0, final.stderr
    assert {p: d for p, d in digests(root).items() if p in originals} == \
        {p: d for p, d in originals.items() if p.exists()}, "an original changed"
    lib = Library(home)
    try:
        assert lib.catalog.integrity_ok()
        assert before <= committed(home), "a committed photo was lost"
        on_disk = {p for p in root.rglob("*") if p.is_file()}
        files = {Path(os.fsdecode(p)): s for p, s in lib.catalog._db.execute(
            "SELECT path, status FROM files")}
        assert set(files) == on_disk, "every file on disk has exactly one status"
        problems = {Path(os.fsdecode(p.path)) for p in lib.problems()}
        assert problems == set(own_problems), [str(p) for p in lib.problems()]
        assert lib.index_state() == "ok"
        assert lib.vector_index().ids == lib.catalog.embeddings.ids(lib.model_id)
        held = {d for p, d in digests(root).items() if p not in own_problems}
        assert held == committed(home), "the catalog holds exactly what is on disk"
    finally:
        lib.close()


@pytest.fixture
def small_disk(tmp_path) -> Iterator[Path]:
    """A 3 MB filesystem of its own (tmpfs), to fill up."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here: {mounted.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_full_disk_stops_at_once_and_the_next_run_finishes(photos, small_disk):
    """The library folder on a small filesystem that fills up mid-run: one line, exit 1,
    what was committed stays; after freeing space the next run indexes the rest."""
    home = small_disk / "home"
    use_tiny_models(home)
    originals = digests(photos)
    # the model's prompts and the first photos fit; the rest do not
    filler = small_disk / "filler"
    free = shutil.disk_usage(small_disk).free
    filler.write_bytes(b"\0" * (free - 900_000))
    result = clipdesk(home, *index_cmd(photos))
    one_line_error(result, "full")
    before = committed(home)
    print(f"disk full after {len(before)} of {N_PHOTOS} photos: {result.stderr.strip()}")
    assert 0 < len(before) < N_PHOTOS
    filler.unlink()
    check(home, photos, originals, before)


def test_a_library_on_a_full_disk_says_so_in_one_line_and_loses_nothing(photos, tmp_path,
                                                                        small_disk):
    """Opening a library (here one written by the previous release: its upgrade writes)
    on a disk with no room left: one line saying the disk is full, exit 1, the catalog
    untouched; once there is room, the same command works."""
    built = tmp_path / "home"
    use_tiny_models(built)
    assert clipdesk(built, *index_cmd(photos)).returncode == 0
    catalog = Catalog(built / "catalog.sqlite")
    as_schema_6(catalog)  # as the previous release left it
    catalog.close()
    home = small_disk / "home"
    shutil.copytree(built, home)
    filler = small_disk / "filler"
    filler.write_bytes(b"\0" * (shutil.disk_usage(small_disk).free - 8192))
    one_line_error(clipdesk(home, "search", "a red circle"), "full")
    filler.unlink()
    db = sqlite3.connect(home / "catalog.sqlite")
    assert db.execute("PRAGMA user_version").fetchone() == (6,)  # not half-upgraded
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    db.close()
    result = clipdesk(home, "search", "a red circle")
    assert result.returncode == 0 and ".jpg" in result.stdout, result.stderr


@pytest.fixture(scope="module")
def few(tmp_path_factory) -> Path:
    """A home with four photos indexed (copy it: tests change theirs)."""
    root = tmp_path_factory.mktemp("few-photos")
    for i, color in enumerate(["red", "blue", "green", "yellow"]):
        render(color, "circle", "white", (320, 240), seed=i).save(root / f"{color}.jpg")
    home = tmp_path_factory.mktemp("few") / "home"
    use_tiny_models(home)
    assert clipdesk(home, *index_cmd(root)).returncode == 0
    return home


# Another process holding the catalog open (the app, `watch`): a -shm file is then used as
# it is, not rebuilt, and one with holes (pages never allocated) is what a full disk turns
# into SIGBUS at the first touch.
HOLDER = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
db.execute("SELECT count(*) FROM photos").fetchone()
print("holding", flush=True)
time.sleep(120)
"""


def test_no_command_dies_of_a_signal_on_a_disk_full_to_any_level(few, small_disk):
    """Every command, at every fill level, with and without another process holding a
    half-allocated -shm: done, or one line saying the disk is full; never a signal."""
    home = small_disk / "home"
    outcomes = []
    for free in range(0, 40_000, 8192):
        for held in (False, True):
            shutil.rmtree(home, ignore_errors=True)
            shutil.copytree(few, home)
            holder = None
            if held:
                holder = subprocess.Popen([sys.executable, "-c", HOLDER,
                                           str(home / "catalog.sqlite")],
                                          stdout=subprocess.PIPE, text=True)
                assert holder.stdout.readline() == "holding\n"
                shm = home / "catalog.sqlite-shm"
                os.truncate(shm, 0)
                os.truncate(shm, 32768)  # same size, every page a hole
            filler = small_disk / "filler"
            filler.write_bytes(b"\0" * max(0, shutil.disk_usage(small_disk).free - free))
            try:
                for args in (["status"], ["problems"]):
                    result = clipdesk(home, *args)
                    outcomes.append((free, held, args[0], result.returncode))
                    assert result.returncode >= 0, f"killed by signal {-result.returncode}" \
                        f" with {free} bytes free, held={held}: {args}"
                    if result.returncode:
                        one_line_error(result, "full")
            finally:
                if holder is not None:
                    holder.kill()
                    holder.wait()
                filler.unlink()
    assert {rc for *_, rc in outcomes} == {0, 1}  # the levels span full and not full
    print(f"{len(outcomes)} runs over {len(outcomes) // 2} full states: {outcomes}")


def test_a_read_only_catalog_works_again_once_its_mode_is_fixed(few, tmp_path):
    """SQLite gives the -wal and -shm it makes the catalog's mode: a read-only catalog's
    stay read-only after the person fixes the catalog's, and every write failed."""
    home = tmp_path / "home"
    shutil.copytree(few, home)
    catalog = home / "catalog.sqlite"
    catalog.chmod(0o444)
    assert clipdesk(home, "status", prefix=NO_DAC_OVERRIDE).returncode == 0  # reads work
    one_line_error(clipdesk(home, "index", prefix=NO_DAC_OVERRIDE), "read-only")
    assert (home / "catalog.sqlite-shm").exists()  # left read-only by SQLite
    catalog.chmod(0o644)
    result = clipdesk(home, "index", prefix=NO_DAC_OVERRIDE)
    assert result.returncode == 0, result.stderr
    assert "4 unchanged" in result.stdout


# the peak resident memory (KB) of the command after it, and its exit status
PEAK_RSS = ("import resource, subprocess, sys; rc = subprocess.run(sys.argv[1:]).returncode; "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, rc)")


def index_peak_kb(home: Path, root: Path) -> tuple[int, str]:
    """The peak memory of `clipdesk index ROOT` in its own process, and its summary."""
    run = subprocess.run([sys.executable, "-c", PEAK_RSS, sys.executable, "-m", "clipdesk",
                          "--home", str(home), *index_cmd(root)], cwd=REPO,
                         capture_output=True, text=True, timeout=600)
    *output, last = run.stdout.splitlines()
    peak_kb, rc = map(int, last.split())
    assert rc == 0 and not run.stderr, run.stderr
    return peak_kb, output[0]


def test_299_mp_photos_are_indexed_in_bounded_memory(home, tmp_path):
    """A 299 MP PNG and a 299 MP TIFF (a few MB on disk) are indexed, and cost the run
    under 400 MB more than a run with one small photo does (the whole decode of either
    alone is 1.2 GB in Pillow; 4.6-6.3 GB a file was seen)."""
    root = tmp_path / "photos"
    root.mkdir()
    render("blue", "circle", "white", (640, 480), seed=1).save(root / "small.jpg")
    baseline_kb, _ = index_peak_kb(home, root)  # the model and the rest, for one photo
    huge_png(root / "scan.png", (17300, 17280), "red")
    huge_tiff(root / "scan.tif", (17280, 17300), "green")
    peak_kb, summary = index_peak_kb(home, root)
    extra_mb = (peak_kb - baseline_kb) / 1024
    print(f"peak RSS {baseline_kb / 1024:.0f} MB with one small photo, {peak_kb / 1024:.0f} MB "
          f"with the 299 MP PNG and TIFF: {extra_mb:.0f} MB more")
    assert "2 new" in summary and "0 problems" in summary, summary
    assert extra_mb < 400
    with sqlite3.connect(home / "catalog.sqlite") as db:
        sizes = set(db.execute("SELECT width, height FROM photos"))
    db.close()
    assert sizes == {(17300, 17280), (17280, 17300), (640, 480)}


def test_denied_files_and_folders_are_reported_kept_and_retried(photos, home):
    originals = digests(photos)
    assert clipdesk(home, *index_cmd(photos)).returncode == 0
    before = committed(home)
    locked_file, locked_folder = photos / "b" / "0000.jpg", photos / "a"
    new_file = photos / "b" / "new.jpg"
    render("red", "square", "white", (480, 360), seed=999).save(new_file)
    os.utime(locked_file, ns=(1, 1))  # looks changed: it must be read again
    os.chmod(locked_file, 0o000)
    os.chmod(new_file, 0o000)
    os.chmod(locked_folder, 0o000)
    try:
        result = clipdesk(home, "index", prefix=NO_DAC_OVERRIDE)
        assert result.returncode == 0, result.stderr
        assert result.stderr.strip() == (
            f"clipdesk: folder {locked_folder} is not available (Permission denied): its 60 "
            "photos are kept; it is looked at again on the next run")
        lib = Library(home)
        problems = {Path(os.fsdecode(p.path)): p.reason for p in lib.problems()}
        lib.close()
        assert problems == {
            locked_folder: "folder not available (Permission denied): its 60 photos are kept",
            locked_file: "cannot read file: Permission denied",
            new_file: "cannot read file: Permission denied"}
        assert before <= committed(home), "photos under a folder it cannot open were dropped"
    finally:
        os.chmod(locked_folder, 0o755)
        os.chmod(locked_file, 0o644)  # chmod changes neither size nor modification time
        os.chmod(new_file, 0o644)
    check(home, photos, {**originals, **digests(photos)}, before)


def test_a_second_indexer_says_so_or_waits(photos, home):
    originals = digests(photos)
    first = start(home, *index_cmd(photos))
    try:
        wait_for_commits(home, first)
        second = clipdesk(home, "index")
        one_line_error(second, "already indexing", "--wait")
        waited = clipdesk(home, "index", "--wait")
        assert waited.returncode == 0, waited.stderr
        # it started only once the first run had finished every photo
        assert len(committed(home)) == N_PHOTOS
    finally:
        first.wait(300)
    assert first.returncode == 0, first.stderr.read()
    check(home, photos, originals, committed(home))


def test_files_deleted_renamed_and_rewritten_mid_run(photos, home):
    proc = start(home, *index_cmd(photos))
    try:
        wait_for_commits(home, proc)
        before = committed(home)
        late = sorted((photos / "a").glob("*.jpg"))[-12:]  # sorted walk: still to come
        late[0].unlink()
        late[1].rename(photos / "a" / "renamed.jpg")
        render("blue", "circle", "black", (480, 360), seed=5000).save(late[2])
        shutil.rmtree(photos / "b")
        (photos / "b").mkdir()
        render("green", "square", "white", (480, 360), seed=5001).save(photos / "b" / "x.jpg")
    finally:
        proc.wait(300)
    assert proc.returncode == 0, proc.stderr.read()
    gone = {d for d in before if d not in set(digests(photos).values())}
    check(home, photos, digests(photos), before - gone)


def test_damaged_index_files_are_rebuilt_with_nothing_lost(photos, home):
    originals = digests(photos)
    assert clipdesk(home, *index_cmd(photos)).returncode == 0
    before = committed(home)
    for n, f in enumerate(sorted((home / "index").iterdir())):
        data = f.read_bytes()
        f.write_bytes(data[:len(data) // 2] if n % 2 else b"\x07" * len(data))
    hits = clipdesk(home, "search", "a red circle", "--json")
    assert hits.returncode == 0 and '"path"' in hits.stdout, hits.stderr
    check(home, photos, originals, before)


def test_a_model_that_cannot_load_is_never_recorded(photos, home, tmp_path):
    missing = tmp_path / "no-such-model"
    first = clipdesk(home, *index_cmd(photos)[:2], "--model", f"local-dir:{missing}")
    one_line_error(first, str(missing))
    assert '"model": null' in clipdesk(home, "status", "--json").stdout
    originals = digests(photos)
    assert clipdesk(home, *index_cmd(photos)).returncode == 0
    again = clipdesk(home, "index", "--model", f"local-dir:{missing}")
    one_line_error(again, str(missing))
    status = clipdesk(home, "status", "--json").stdout
    assert '"pending_model": null' in status and TINY_MODEL in status
    check(home, photos, originals, committed(home))


def few_photos(folder: Path, n: int, seed: int) -> None:
    folder.mkdir(parents=True)
    for i in range(n):
        color, shape = list(COLORS)[(seed + i) % len(COLORS)], list(SHAPES)[i % len(SHAPES)]
        render(color, shape, "gray", (96, 72), seed=seed + i).save(folder / f"{seed + i}.jpg")


def test_folder_links_never_take_the_index_out_of_the_photo_folders(tmp_path, home):
    """A root linking to /, to the data folder (each run indexed the last one's
    thumbnails), to its own parent, to a folder of its own, and to another photo folder: only
    the root's photos and the other folder's are indexed, in seconds (on the old code the
    walk through / never ended: the timeout)."""
    root, sibling = tmp_path / "root", tmp_path / "sibling"
    few_photos(root / "2024", 3, seed=0)
    few_photos(sibling, 2, seed=10)
    links = {"everything": Path("/"), "data": home, "parent": tmp_path, "sibling": sibling,
             "loop": root / "2024"}
    for name, target in links.items():
        (root / name).symlink_to(target)
    for run in range(2):  # the second run must not add the first run's thumbnails
        result = clipdesk(home, *index_cmd(root), timeout=120)
        assert result.returncode == 0, result.stderr
        lib = Library(home)
        try:
            files = {Path(os.fsdecode(p)): status for p, status in lib.catalog._db.execute(
                "SELECT path, status FROM files")}
            assert lib.status().photos == 5, run
        finally:
            lib.close()
        # every file the scan recorded (the files it opened): the 5 photos, nothing else
        assert files == dict.fromkeys(
            [*(root / "2024").iterdir(), *(root / "sibling" / p.name for p in sibling.iterdir())],
            "indexed")


def test_an_unplugged_folder_keeps_its_photos_says_so_and_is_back_when_plugged_in(tmp_path,
                                                                                  home):
    drive, other = tmp_path / "drive" / "photos", tmp_path / "other"
    few_photos(drive, 3, seed=0)
    few_photos(other, 2, seed=10)
    assert clipdesk(home, "index", str(drive), str(other), "--model", TINY_MODEL).returncode == 0
    before = committed(home)
    drive.rename(tmp_path / "drive" / "away")  # unplugged
    result = clipdesk(home, "index")
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == (
        f"clipdesk: folder {drive} is not available (No such file or directory): its 3 "
        "photos are kept; it is looked at again on the next run")
    assert committed(home) == before
    problems = clipdesk(home, "problems")
    assert problems.stdout == (f"{drive}\terror: folder not available (No such file or "
                               "directory): its 3 photos are kept\n")
    (tmp_path / "drive" / "away").rename(drive)  # plugged in again
    result = clipdesk(home, "index")
    assert result.returncode == 0 and not result.stderr, result.stderr
    assert "0 embedded" in result.stdout and "0 removed" in result.stdout, result.stdout
    assert clipdesk(home, "problems").stdout == ""
    assert committed(home) == before


def test_an_unmounted_drive_inside_a_photo_folder_keeps_its_photos(tmp_path, home,
                                                                   small_disk):
    """A drive mounted on a folder of the library (here `small-disk`, beside the data
    folder, which is not indexed): unmounted, its folder is there but empty; its photos
    are kept and said, not removed as if a person had emptied the folder."""
    few_photos(tmp_path / "local", 2, seed=0)
    few_photos(small_disk / "card", 3, seed=10)
    card = {p.name: (p.read_bytes(), p.stat().st_mtime_ns)
            for p in (small_disk / "card").iterdir()}
    assert clipdesk(home, *index_cmd(tmp_path)).returncode == 0
    before = committed(home)
    assert len(before) == 5
    subprocess.run(["umount", str(small_disk)], check=True)
    result = clipdesk(home, "index")
    assert result.returncode == 0, result.stderr
    assert committed(home) == before, "the unmounted drive's photos were removed"
    assert result.stderr.strip() == (
        f"clipdesk: folder {small_disk} is not available (its drive is not mounted): its 3 "
        "photos are kept; it is looked at again on the next run")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(small_disk)],
                   check=True)  # mounted again
    (small_disk / "card").mkdir()
    for name, (data, mtime_ns) in card.items():
        (small_disk / "card" / name).write_bytes(data)
        os.utime(small_disk / "card" / name, ns=(mtime_ns, mtime_ns))
    result = clipdesk(home, "index")
    assert result.returncode == 0 and not result.stderr, result.stderr
    assert "0 embedded" in result.stdout and "0 removed" in result.stdout, result.stdout
    assert clipdesk(home, "problems").stdout == ""
