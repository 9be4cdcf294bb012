"""A kill at any moment loses at most the batch in flight; the next run finishes the job."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

from tests.conftest import REPO, TINY_MODEL, use_tiny_models
from tests.synthetic import COLORS, SHAPES, render
from tests.test_faults import check, committed, digests

N_PHOTOS = 240
KILLS = 6


def test_sigkill_at_random_moments_then_resume(tmp_path):
    root, home = tmp_path / "photos", tmp_path / "home"
    root.mkdir()
    use_tiny_models(home)
    combos = [(c, s) for c in COLORS for s in SHAPES]
    for i in range(N_PHOTOS):
        color, shape = combos[i % len(combos)]
        render(color, shape, "gray", (640, 480), seed=i).save(root / f"{i:04d}.jpg", quality=85)
    originals = digests(root)
    cmd = [sys.executable, "-m", "clipdesk", "--home", str(home), "index", str(root),
           "--model", TINY_MODEL]
    rng = random.Random(10)
    kills = []
    for n in range(KILLS):
        before = len(committed(home))
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        # odd runs die at a random moment (start-up, model load, scan, a write); even runs
        # a random moment after their first commit
        delay = rng.uniform(0.2, 3.0)
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            if n % 2 == 0 and len(committed(home)) > before:
                time.sleep(rng.uniform(0.0, 0.5))
                break
            if n % 2 == 1 and time.monotonic() - deadline + 120 > delay:
                break
            time.sleep(0.02)
        if proc.poll() is not None:
            break  # it finished before the kill
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        kills.append(len(committed(home)))
    assert len(kills) >= 3, f"the runs finished before they could be killed: {kills}"
    assert kills == sorted(kills), "a kill lost photos committed before it"
    print(f"SIGKILLed {len(kills)} times, with {kills} of {N_PHOTOS} photos committed")
    check(home, root, originals, committed(home))
