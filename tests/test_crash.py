"""A kill at any moment loses at most the batch in flight; the next run finishes the job."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from clipdesk.core.library import Library
from tests.conftest import REPO, TINY_MODEL
from tests.synthetic import COLORS, SHAPES, render

N_PHOTOS = 240


def photos_in(catalog: Path) -> int:
    if not catalog.exists():
        return 0
    try:
        with sqlite3.connect(catalog, timeout=5) as db:
            return db.execute("SELECT count(*) FROM photos").fetchone()[0]
    except sqlite3.OperationalError:  # schema not created yet
        return 0


def test_sigkill_mid_index_then_resume(tmp_path):
    root, home = tmp_path / "photos", tmp_path / "home"
    root.mkdir()
    combos = [(c, s) for c in COLORS for s in SHAPES]
    for i in range(N_PHOTOS):
        color, shape = combos[i % len(combos)]
        render(color, shape, "gray", (640, 480), seed=i).save(root / f"{i:04d}.jpg", quality=85)
    cmd = [sys.executable, "-m", "clipdesk", "--home", str(home), "index", str(root),
           "--model", TINY_MODEL]
    catalog = home / "catalog.sqlite"
    kills = []
    for _ in range(4):
        before = photos_in(catalog)
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while photos_in(catalog) <= before and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        if proc.poll() is not None:
            break  # it finished before we could kill it
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        kills.append(photos_in(catalog))
    assert kills, "the run finished before any kill"
    assert all(0 < n < N_PHOTOS for n in kills)

    print(f"SIGKILLed {len(kills)} times, with {kills} of {N_PHOTOS} photos committed")
    final = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    assert final.returncode == 0, final.stderr
    lib = Library(home)
    try:
        assert lib.catalog.integrity_ok()
        assert lib.status().photos == N_PHOTOS and lib.status().problems == 0
        ids = lib.catalog.embedding_ids(lib.model_id)
        assert len(ids) == N_PHOTOS
        assert lib.vector_index().ids == ids
        assert lib.index_state() == "ok"
    finally:
        lib.close()
