"""The files behind sidecars (core/sidecars/files.py through core/sidecars/xmp.py): real symlinks,
real FIFOs, real file modes, real processes owning temp files. (A sidecar left alone
raises xmp.LeftAlone, a SidecarError: Sidecars reports it apart from the failures.)"""
from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import threading
import time

import pytest

from clipdesk.core.sidecars import xmp
from tests.unit.test_xmp import DIGIKAM, digest, photo_with


def test_a_symlinked_sidecar_is_neither_read_nor_written(tmp_path):
    outside = tmp_path / "elsewhere" / "private.xmp"
    outside.parent.mkdir()
    shutil.copyfile(DIGIKAM, outside)
    before = digest(outside)
    photos = tmp_path / "photos"
    photos.mkdir()
    photo = photos / "a.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg \xff\xd9")
    link = photos / "a.jpg.xmp"
    link.symlink_to(outside)

    with pytest.raises(xmp.SidecarError, match=r"a\.jpg\.xmp: a symbolic link, not a regular "
                                            r"file; .* left alone"):
        xmp.read(os.fsencode(link))
    with pytest.raises(xmp.SidecarError, match="a symbolic link"):
        xmp.write(os.fsencode(photo), ["beach"])
    assert link.is_symlink() and os.readlink(link) == str(outside)
    assert digest(outside) == before
    assert sorted(p.name for p in photos.iterdir()) == ["a.jpg", "a.jpg.xmp"]


def test_a_fifo_sidecar_is_refused_at_once_not_waited_on(tmp_path):
    photo = tmp_path / "a.jpg"
    fifo = tmp_path / "a.jpg.xmp"
    os.mkfifo(fifo)
    outcome: list[BaseException | xmp.Sidecar] = []

    def read() -> None:
        try:
            outcome.append(xmp.read(os.fsencode(fifo)))
        except BaseException as exc:  # noqa: BLE001 - the test looks at what came back
            outcome.append(exc)
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(10)
    if reader.is_alive():  # blocked in open(): let it go, so the test ends either way
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        reader.join(10)
        pytest.fail("reading a FIFO sidecar waited for a writer")
    assert isinstance(outcome[0], xmp.SidecarError) and "a pipe" in str(outcome[0])
    with pytest.raises(xmp.SidecarError, match="a pipe"):
        xmp.write(os.fsencode(photo), ["beach"])
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_read_only_sidecar_is_left_alone_byte_for_byte(tmp_path):
    photo = photo_with(DIGIKAM, tmp_path)
    sidecar = xmp.sidecar_path(photo)
    os.chmod(sidecar, 0o444)
    before = digest(sidecar), os.stat(sidecar).st_mtime_ns
    with pytest.raises(xmp.SidecarError, match=r"aurora\.jpg\.xmp: read-only, so it was left "
                                            r"alone \(make it writable"):
        xmp.write(photo, ["beach"], caption="A beach")
    assert (digest(sidecar), os.stat(sidecar).st_mtime_ns) == before
    assert not xmp.write(photo, ["Aurora"])  # nothing to change: nothing to say
    assert sorted(os.listdir(tmp_path)) == ["aurora.jpg", "aurora.jpg.xmp"]  # no temp file


def test_temp_files_are_cleaned_only_when_no_live_write_owns_them(tmp_path):
    from clipdesk.core.sidecars import files as sidecar_files
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        names = {
            "killed": f".clipdesk-{dead.stdout.strip()}-x1y2z3.xmp.tmp",  # its run is gone
            "live": f".clipdesk-{live.pid}-a1b2c3.xmp.tmp",  # another run, writing now
            "old-style fresh": ".clipdesk-k2j4h5g6.xmp.tmp",  # no pid: only age tells
            "old-style stale": ".clipdesk-q9w8e7r6.xmp.tmp",
            "a person's": ".clipdesk-notes.txt",
        }
        for name in names.values():
            (tmp_path / name).write_bytes(b"<x:xmpmeta")
        long_ago = time.time() - sidecar_files.STALE_AFTER_S - 60
        os.utime(tmp_path / names["old-style stale"], (long_ago, long_ago))

        assert sidecar_files.clean_folder(os.fsencode(tmp_path)) == 2
        assert sorted(os.listdir(tmp_path)) == sorted(
            names[k] for k in ("live", "old-style fresh", "a person's"))
    finally:
        live.kill()
        live.wait()

