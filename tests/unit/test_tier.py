"""The unit tier stays fast and torch-free: run alone, in a fresh process, it must pass
(its conftest fails such a run when anything imported torch)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
THIS = "tests/unit/test_tier.py::test_the_unit_tier_passes_alone_without_torch"


def test_the_unit_tier_passes_alone_without_torch():
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/unit",
         "--deselect", THIS],
        cwd=REPO, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "error" not in result.stdout.lower()
