"""End-to-end: a folder of camera RAWs (real camera files, tests/data/README.md), one
with its JPEG twin and one cut short, through `clipdesk index`, `status`, `problems`,
`search` and `similar` with the tiny trained model."""
from __future__ import annotations

import io
import json
import shutil
import struct
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import TINY_MODEL, run_cli, use_tiny_models

DATA = Path(__file__).parent / "data" / "raw"


def raf_preview(data: bytes) -> Image.Image:
    """The JPEG a Fujifilm RAF carries (where its header says), decoded."""
    offset, length = struct.unpack(">II", data[84:92])
    return Image.open(io.BytesIO(data[offset:offset + length]))


@pytest.fixture(scope="module")
def raw_home(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("raw-photos")
    raf = (DATA / "FujiFilm.raf").read_bytes()
    (root / "DSCF0001.RAF").write_bytes(raf)
    # the camera's JPEG of the same shot: the same picture and the same EXIF moment
    with raf_preview(raf) as preview:
        exif = preview.getexif()
        preview.convert("RGB").resize((640, 480)).save(root / "DSCF0001.JPG", "JPEG",
                                                       quality=92, exif=exif)
    shutil.copyfile(DATA / "Panasonic.rw2", root / "P1000001.RW2")
    whole = (DATA / "DNG.dng").read_bytes()
    (root / "IMG_0002.DNG").write_bytes(whole[:len(whole) // 2])
    home = tmp_path_factory.mktemp("raw-home")
    use_tiny_models(home)
    result = run_cli("--home", str(home), "index", str(root), "--model", TINY_MODEL)
    assert result.rc == 0, result.err
    return home, root


def cli_json(home: Path, *args: str):
    result = run_cli("--home", str(home), *args, "--json")
    assert result.rc == 0, result.err
    return json.loads(result.out)


def test_status_counts_the_raws_and_their_problems(raw_home):
    home, _ = raw_home
    status = cli_json(home, "status")
    assert (status["photos"], status["raw"]) == (3, 2)
    assert (status["problems"], status["raw_problems"]) == (1, 1)
    said = run_cli("--home", str(home), "status").out
    assert "Photos:   3 (3 files), of them 2 RAW" in said
    assert "Problems: 1, of them 1 RAW (clipdesk problems)" in said


def test_a_truncated_raw_is_listed_with_its_reason(raw_home):
    home, root = raw_home
    problems = cli_json(home, "problems")
    assert [p["path"] for p in problems] == [str(root / "IMG_0002.DNG")]
    assert problems[0]["reason"].startswith("truncated camera raw (")


def test_raws_are_found_by_name_and_by_look(raw_home, tmp_path):
    home, root = raw_home
    named = cli_json(home, "search", "P1000001", "-k", "1")
    assert named[0]["path"] == str(root / "P1000001.RW2")
    # a print of the shot: the RAW and its JPEG are its two nearest
    query = tmp_path / "print.png"
    with raf_preview((DATA / "FujiFilm.raf").read_bytes()) as preview:
        preview.convert("RGB").resize((320, 240)).save(query)
    alike = cli_json(home, "similar", str(query), "-k", "2", "--all")
    assert {h["path"] for h in alike} == {str(root / "DSCF0001.RAF"),
                                          str(root / "DSCF0001.JPG")}
