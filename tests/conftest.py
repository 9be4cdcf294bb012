"""Shared fixtures: the tiny trained model, a generated photo library, an in-process CLI."""
from __future__ import annotations

import atexit
import io
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.photolib import PhotoLibrary, make_library

REPO = Path(__file__).resolve().parents[1]
TINY_MODEL = f"local-dir:{REPO / 'tests' / 'models' / 'tiny-clip'}"
TINY_COCA = f"local-dir:{REPO / 'tests' / 'models' / 'tiny-coca'}"

# What the tiny model knows (it maps words it never saw, like "dog", to arbitrary points,
# so the default vocabulary would tag its photos at random).
TINY_VOCABULARY = """
red: a red shape | red
green: a green shape | green
blue: a blue shape | blue
yellow: a yellow shape | yellow
purple: a purple shape | purple
orange: an orange shape | orange
circle: a circle | a round shape
square: a square
triangle: a triangle
"""


def use_tiny_models(home: Path, vocabulary: str = TINY_VOCABULARY, sensitive: str = "") -> None:
    """A home whose tags the tiny model can judge, with no sensitive concepts (or these),
    and whose captions the tiny CoCa writes."""
    from clipdesk.core.library import Library

    home.mkdir(parents=True, exist_ok=True)
    (home / "tags.txt").write_text(vocabulary)
    (home / "sensitive.txt").write_text(sensitive or "# no sensitive concepts in this test\n")
    lib = Library(home)
    lib.captions.choose_captioner(TINY_COCA)
    lib.close()


os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Tests never reach a model hub: make any accidental attempt fail fast.
os.environ["HF_HUB_OFFLINE"] = "1"
# The suite's expectations of the tiny models (exact equalities, tag decisions on the
# edge) are set in fp32, so that they hold on any CPU CI lands on; bf16, which a CPU with
# native bf16 gets by default, has its own tests (tests/core/test_precision.py).
os.environ.setdefault("CLIPDESK_PRECISION", "fp32")
# Built models (the int8 image towers) go to a cache of the run's own, not the user's,
# removed when the run ends (a ViT-B-32 tower is 88 MB)
if "XDG_CACHE_HOME" not in os.environ:
    os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="clipdesk-test-cache-")
    atexit.register(shutil.rmtree, os.environ["XDG_CACHE_HOME"], ignore_errors=True)


@dataclass
class CliResult:
    rc: int
    out: str  # decoded with surrogateescape, so non-UTF-8 names survive
    err: str


def run_cli(*args: str) -> CliResult:
    """Run `clipdesk ARGS` in this process (the model stays loaded between calls)."""
    from clipdesk.cli import main

    out, err = io.BytesIO(), io.BytesIO()
    old = sys.stdout, sys.stderr
    sys.stdout = io.TextIOWrapper(out, encoding="utf-8", errors="surrogateescape")
    sys.stderr = io.TextIOWrapper(err, encoding="utf-8", errors="surrogateescape")
    try:
        try:
            rc = main(list(args))
        except SystemExit as exc:  # argparse usage errors
            rc = exc.code if isinstance(exc.code, int) else 1
    finally:
        for wrapper in (sys.stdout, sys.stderr):
            wrapper.flush()
            wrapper.detach()  # keep the BytesIO open for reading
        sys.stdout, sys.stderr = old
    return CliResult(rc, out.getvalue().decode("utf-8", "surrogateescape"),
                     err.getvalue().decode("utf-8", "surrogateescape"))


@pytest.fixture(scope="session")
def photo_library(tmp_path_factory) -> PhotoLibrary:
    """A library with good photos of every kind and every bad input (do not modify)."""
    return make_library(tmp_path_factory.mktemp("photos"))


@pytest.fixture(scope="session")
def indexed_home(photo_library, tmp_path_factory) -> Path:
    """A clipdesk home with `photo_library` indexed by the tiny model (do not modify)."""
    home = tmp_path_factory.mktemp("home")
    use_tiny_models(home)
    result = run_cli("--home", str(home), "index", str(photo_library.root), "--model", TINY_MODEL)
    assert result.rc == 0, result.err
    return home


@pytest.fixture(scope="session")
def quality_shots(tmp_path_factory):
    """A home with photolib.make_bursts indexed (do not modify: copy it):
    (home, photo folder, bursts, duplicates, singles)."""
    from tests.photolib import make_bursts

    root = tmp_path_factory.mktemp("quality-photos")
    bursts, duplicates, singles = make_bursts(root)
    home = tmp_path_factory.mktemp("quality-home")
    use_tiny_models(home)
    assert run_cli("--home", str(home), "index", str(root), "--model", TINY_MODEL).rc == 0
    return home, root, bursts, duplicates, singles
