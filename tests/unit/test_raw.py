"""Camera RAW photos (media/raw.py) on real camera files (tests/data/README.md): indexed
with their camera's date and size, oriented as the camera was held, a truncated or
damaged one reported with its reason while the run goes on, and a RAW stacked with its
JPEG twin, the JPEG shown first."""
from __future__ import annotations

import hashlib
import os
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clipdesk.core.indexing import pipeline
from clipdesk.core.library import Library
from clipdesk.core.media import exif, imaging, raw
from clipdesk.core.paths import thumbnail_path
from clipdesk.core.sidecars import xmp
from clipdesk.core.sidecars.sync import Sidecars
from clipdesk.core.types import FileStatus, Phase
from tests.unit.kit import MODEL, Kit, index, job, jpeg, make_kit, undo_after_10

DATA = Path(__file__).parent.parent / "data" / "raw"
SIDE = 224
PREPARE = Image.Image.tobytes  # what the model would take: the decoded pixels


@pytest.fixture
def kit(tmp_path) -> Kit:
    return make_kit(tmp_path)


def place(kit: Kit, sample: str, name: str | None = None, data: bytes | None = None) -> Path:
    """The sample (or `data`) copied into the photo folder as `name`."""
    target = kit.root / (name or sample)
    target.parent.mkdir(parents=True, exist_ok=True)
    if data is None:
        shutil.copyfile(DATA / sample, target)
    else:
        target.write_bytes(data)
    return target


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def with_orientation(data: bytes, value: int) -> bytes:
    """The RAW with its Orientation tag saying `value`: in IFD0 of a TIFF-structured one,
    in the EXIF of a Fujifilm RAF's embedded JPEG (where LibRaw reads it)."""
    base = 0
    if data.startswith(b"FUJIFILMCCD-RAW"):
        base = data.index(b"Exif\x00\x00", struct.unpack(">I", data[84:88])[0]) + 6
    order = "<" if data[base:base + 2] == b"II" else ">"
    ifd = base + struct.unpack(order + "I", data[base + 4:base + 8])[0]
    for n in range(struct.unpack(order + "H", data[ifd:ifd + 2])[0]):
        at = ifd + 2 + 12 * n
        if struct.unpack(order + "H", data[at:at + 2])[0] == 0x0112:
            return data[:at + 8] + struct.pack(order + "H", value) + data[at + 10:]
    raise LookupError("no Orientation tag")


def info_of(kit: Kit, path: Path):
    photo_id = kit.photos.find(path)
    assert photo_id is not None, f"{path.name} was not indexed"
    return kit.catalog.photos.info(photo_id)


@pytest.mark.parametrize("sample,size,taken,camera", [
    ("DNG.dng", (3474, 2314), "2005-08-03T18:59:18", "Canon EOS 350D DIGITAL"),
    ("Panasonic.rw2", (3664, 2754), "2008-08-06T15:21:56", "Panasonic DMC-LX3"),
    ("FujiFilm.raf", (3552, 3551), "2007-05-22T13:58:30", "Fujifilm S5Pro"),
])
def test_a_camera_raw_is_indexed_with_its_size_date_and_camera(kit, sample, size, taken,
                                                                camera):
    photo = place(kit, sample)
    before = digest(photo)
    stats = index(kit, [photo])
    info = info_of(kit, photo)
    assert (info.width, info.height) == size
    assert (info.taken_at, info.taken_from, info.camera) == (taken, "exif", camera)
    assert info.format == "RAW"
    assert thumbnail_path(kit.home, info.hash).exists()
    assert stats["problems"] == 0
    assert digest(photo) == before  # the original is only read


@pytest.mark.parametrize("sample,taken,camera", [
    ("Panasonic.rw2", "2008-08-06T15:21:56", "Panasonic DMC-LX3"),  # RW2's own TIFF magic
    ("DNG.dng", "2005-08-03T18:59:18", "Canon EOS 350D DIGITAL"),
    ("CanonRaw.cr3", "2018-02-21T12:08:56", "Canon EOS M50"),  # its CMT1 box
])
def test_a_raws_header_alone_gives_its_date_and_camera(sample, taken, camera):
    """What the places back-fill reads of photos indexed before dates were kept."""
    facts = exif.read_header(os.fsencode(DATA / sample))
    assert (facts.taken_at, facts.camera) == (taken, camera)


def test_a_raw_is_read_from_its_preview_when_large_enough_else_demosaiced():
    data = (DATA / "Panasonic.rw2").read_bytes()
    small = raw.read(data, 8, imaging.MAX_PIXELS)  # the 8x8 preview is enough
    assert small.from_preview and small.image.size == (8, 8)
    large = raw.read(data, SIDE, imaging.MAX_PIXELS)  # too small a preview: the sensor
    assert not large.from_preview and large.image.size == (3664 // 2, 2754 // 2)
    # the RAF's sensor data is not in the sample: its 160x120 preview serves
    fuji = raw.read((DATA / "FujiFilm.raf").read_bytes(), SIDE, imaging.MAX_PIXELS)
    assert fuji.from_preview and fuji.image.size == (160, 120)


@pytest.mark.parametrize("sample,size,preview", [
    ("FujiFilm.raf", (3552, 3551), True),  # a photo of a building front, 160x120
    ("Panasonic.rw2", (3664, 2754), False),
], ids=["preview", "demosaiced"])
@pytest.mark.parametrize("orientation,turn", [(3, 180), (6, 270), (8, 90)])
def test_a_raw_is_turned_upright_as_its_camera_was_held(sample, size, preview, orientation,
                                                        turn):
    data = (DATA / sample).read_bytes()
    level = raw.read(data, SIDE, imaging.MAX_PIXELS)
    held = raw.read(with_orientation(data, orientation), SIDE, imaging.MAX_PIXELS)
    assert level.from_preview == held.from_preview == preview
    assert np.asarray(level.image).std() > 10  # a picture, not one flat colour
    assert np.array_equal(np.asarray(held.image),
                          np.asarray(level.image.rotate(turn, expand=True)))
    portrait = orientation in (6, 8)
    assert (held.width, held.height) == (size[::-1] if portrait else size)


def test_an_upright_raw_is_recorded_portrait(kit):
    data = with_orientation((DATA / "Panasonic.rw2").read_bytes(), 6)
    photo = place(kit, "Panasonic.rw2", "P1000001.RW2", data)
    index(kit, [photo])
    info = info_of(kit, photo)
    assert (info.width, info.height) == (2754, 3664)
    with Image.open(thumbnail_path(kit.home, info.hash)) as thumb:
        assert thumb.height > thumb.width


def test_a_raw_with_a_damaged_preview_is_read_from_its_sensor_data():
    data = (DATA / "Panasonic.rw2").read_bytes()
    at = data.find(b"\xff\xd8\xff")  # the embedded JPEG
    damaged = data[:at + 2] + bytes(200) + data[at + 202:]
    assert raw.read(data, 8, imaging.MAX_PIXELS).from_preview
    found = raw.read(damaged, 8, imaging.MAX_PIXELS)
    assert not found.from_preview and found.image.size == (3664 // 2, 2754 // 2)


@pytest.mark.parametrize("sample,keep", [("DNG.dng", 0.6), ("FujiFilm.raf", 0.5),
                                         ("Nikon.nef", 0.5)])
def test_a_truncated_raw_is_a_problem_and_the_run_goes_on(kit, sample, keep):
    whole = (DATA / sample).read_bytes()
    cut = place(kit, sample, "cut" + Path(sample).suffix, whole[:int(len(whole) * keep)])
    fine = place(kit, "DNG.dng", "fine.dng")
    before = digest(cut)
    stats = index(kit, [cut, fine])
    problems = {p.path: p.reason for p in kit.catalog.files.problems()}
    reason = problems[os.fsencode(cut)]
    assert reason.startswith("truncated camera raw (") and "bytes missing" in reason
    assert stats["problems"] == 1 and info_of(kit, fine).format == "RAW"
    assert digest(cut) == before


def test_a_raw_whose_data_does_not_decode_is_a_problem_with_libraws_reason(tmp_path):
    # exiftool's NEF keeps the header and leaves the sensor data out; it has no preview
    result = pipeline.process(job(_copy(DATA / "Nikon.nef", tmp_path / "DSC_0001.NEF")),
                              {}.get, PREPARE, SIDE, tmp_path)
    assert isinstance(result, pipeline.Failed) and result.status == FileStatus.ERROR
    assert result.reason.startswith("cannot decode camera raw: ")
    assert not result.retry


def test_a_file_named_as_a_raw_that_is_not_one_says_so(tmp_path):
    (tmp_path / "DSC_0001.NEF").write_bytes(b"<html><body>404</body></html>" + bytes(40))
    result = pipeline.process(job(tmp_path / "DSC_0001.NEF"), {}.get, PREPARE, SIDE, tmp_path)
    assert isinstance(result, pipeline.Failed) and result.status == FileStatus.ERROR
    assert result.reason == ("damaged camera raw (Nikon NEF): not a camera raw "
                             "(looks like an HTML page)")


def with_tags(data: bytes, values: dict[int, int]) -> bytes:
    """A little-endian TIFF-structured RAW whose IFD0 SHORT tags say `values`."""
    ifd = struct.unpack("<I", data[4:8])[0]
    for n in range(struct.unpack("<H", data[ifd:ifd + 2])[0]):
        at = ifd + 2 + 12 * n
        tag = struct.unpack("<H", data[at:at + 2])[0]
        if tag in values:
            data = data[:at + 8] + struct.pack("<H", values[tag]) + data[at + 10:]
    return data


def test_a_raw_whose_header_claims_an_impossible_sensor_is_refused_before_demosaic(tmp_path):
    """Fuzzing found a damaged RW2 header saying 62928 px wide: its demosaic took 17 s."""
    data = with_tags((DATA / "Panasonic.rw2").read_bytes(), {0x0002: 62928, 0x0007: 62928})
    (tmp_path / "P1000001.RW2").write_bytes(data)
    result = pipeline.process(job(tmp_path / "P1000001.RW2"), {}.get, PREPARE, SIDE, tmp_path)
    assert isinstance(result, pipeline.Failed) and result.status == FileStatus.ERROR
    assert result.reason == ("damaged camera raw: its header says a 62936x2754 sensor, "
                             "which no camera has")


@pytest.mark.parametrize("sample", ["DNG.dng", "Panasonic.rw2", "FujiFilm.raf", "Nikon.nef"])
def test_damaged_copies_of_a_raw_are_each_a_photo_or_a_problem_never_a_crash(tmp_path,
                                                                            sample):
    rng = np.random.default_rng(24)
    whole = (DATA / sample).read_bytes()
    outcomes = set()
    for n in range(25):
        data = bytearray(whole)
        for at in rng.integers(0, len(data), size=int(rng.integers(1, 20))):
            data[at] = int(rng.integers(0, 256))
        if n % 3 == 0:
            data = data[:int(rng.integers(8, len(data)))]
        path = tmp_path / f"{n}{Path(sample).suffix}"
        path.write_bytes(bytes(data))
        result = pipeline.process(job(path), {}.get, PREPARE, SIDE, tmp_path)
        assert isinstance(result, pipeline.Prepared | pipeline.Failed)
        if isinstance(result, pipeline.Failed):
            assert result.status == FileStatus.ERROR and result.reason
            assert not result.reason.startswith("internal error"), result.reason
        outcomes.add(type(result).__name__)
    assert "Failed" in outcomes  # the damage was seen


def _copy(source: Path, target: Path) -> Path:
    shutil.copyfile(source, target)
    return target


def twins(kit: Kit, raw_name: str, jpeg_name: str, jpeg_taken: str) -> tuple[int, int]:
    """A RAW (Panasonic, taken 2008:08:06 15:21:56) and a JPEG beside it, both indexed
    and grouped: their photo ids."""
    photo = place(kit, "Panasonic.rw2", raw_name)
    picture = jpeg(kit.root / jpeg_name, size=(400, 300), taken_at=jpeg_taken)
    index(kit, [photo, picture])
    kit.groups.regroup(None)
    raw_id, jpeg_id = kit.photos.find(photo), kit.photos.find(picture)
    assert raw_id is not None and jpeg_id is not None
    return raw_id, jpeg_id


def test_a_raw_and_its_jpeg_twin_stack_as_one_photo_the_jpeg_first(kit):
    raw_id, jpeg_id = twins(kit, "P1000001.RW2", "P1000001.JPG", "2008:08:06 15:21:56")
    assert [m.photo_id for m in kit.groups.of(raw_id)] == [jpeg_id, raw_id]
    shown, sizes = kit.groups.stacked([raw_id, jpeg_id])
    assert shown == [jpeg_id] and sizes == {jpeg_id: 2}


@pytest.mark.parametrize("first", ["raw", "jpeg"])
def test_a_twin_that_arrives_later_joins_the_stack_in_an_incremental_regroup(kit, first):
    photo = place(kit, "Panasonic.rw2", "P1000001.RW2")
    picture = jpeg(kit.root / "P1000001.JPG", size=(400, 300), taken_at="2008:08:06 15:21:56")
    early, late = (photo, picture) if first == "raw" else (picture, photo)
    index(kit, [early, jpeg(kit.root / "other.jpg", (20, 90, 200))])
    kit.groups.regroup(None)
    index(kit, [late])
    late_id = kit.photos.find(late)
    kit.groups.regroup([late_id])
    members = [m.photo_id for m in kit.groups.of(late_id)]
    assert members == [kit.photos.find(picture), kit.photos.find(photo)]


@pytest.mark.parametrize("jpeg_name,taken", [
    ("P1000001.JPG", "2011:01:02 10:00:00"),  # the same name from another moment
    ("P1000002.JPG", "2008:08:06 15:21:56"),  # the same moment, another name
    ("other/P1000001.JPG", "2008:08:06 15:21:56"),  # another folder
])
def test_a_raw_and_a_jpeg_that_are_not_twins_stay_apart(kit, jpeg_name, taken):
    raw_id, jpeg_id = twins(kit, "P1000001.RW2", jpeg_name, taken)
    assert kit.groups.of(raw_id) == [] and kit.groups.of(jpeg_id) == []


def test_a_raws_tags_go_to_its_darktable_and_digikam_style_sidecar(kit):
    photo = place(kit, "DNG.dng", "IMG_0001.DNG")
    index(kit, [photo])
    photo_id = kit.photos.find(photo)
    kit.tags.set(photo_id, "holiday")
    Sidecars(kit.catalog, kit.home).write([photo_id])
    sidecar = kit.root / "IMG_0001.DNG.xmp"
    assert sidecar.exists() and not (kit.root / "IMG_0001.xmp").exists()
    assert "holiday" in xmp.read(os.fsencode(sidecar)).keywords


def test_the_library_counts_its_raws_and_their_problems_apart(kit):
    whole = (DATA / "DNG.dng").read_bytes()
    files = [place(kit, "DNG.dng"), place(kit, "FujiFilm.raf"),
             place(kit, "DNG.dng", "cut.dng", whole[:len(whole) // 2]),
             jpeg(kit.root / "a.jpg")]
    (kit.root / "b.jpg").write_bytes(b"not a jpeg at all")
    index(kit, [*files, kit.root / "b.jpg"])
    kit.catalog.close()
    lib = Library(kit.home)
    try:
        status = lib.status()
        problems = {os.path.basename(p.path): p.reason for p in lib.problems()}
    finally:
        lib.close()
    assert (status.photos, status.raw, status.problems, status.raw_problems) == (3, 2, 2, 1)
    assert problems[b"cut.dng"].startswith("truncated camera raw")


def test_raws_an_older_clipdesk_could_not_read_are_indexed_after_the_upgrade(kit, tmp_path):
    """Before camera raws were read, a RAW was a problem ("unsupported photo format"),
    never retried while unchanged; the migration to schema 11 has each read once more."""
    photo = place(kit, "DNG.dng", "IMG_0001.DNG")
    jpeg(kit.root / "a.jpg")
    kit.settings.model = MODEL
    assert _run(kit).embedded == 2
    with kit.catalog.transaction() as tx:  # as clipdesk before camera raws left it
        tx.execute("UPDATE files SET status='error', photo_id=NULL, reason='unsupported "
                   "photo format (camera raw, Adobe DNG)' WHERE CAST(path AS TEXT) LIKE '%.DNG'")
        tx.execute("DELETE FROM photos WHERE format='RAW'")
        undo_after_10(tx)
        tx.execute("PRAGMA user_version=10")
    kit.catalog.close()
    later = make_kit(tmp_path)
    try:
        summary = _run(later)
        assert (summary.embedded, summary.changed, summary.problems) == (1, 1, 0)
        assert info_of(later, photo).format == "RAW"
        assert _run(later).unchanged == 2  # and then never again
    finally:
        later.catalog.close()


def _run(kit: Kit):
    steps = list(kit.indexer.index(None, MODEL))
    assert steps[-1].phase is Phase.DONE
    return steps[-1].summary
