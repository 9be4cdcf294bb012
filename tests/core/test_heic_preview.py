"""HEIC's embedded preview: decoded instead of the image when it is big enough for every
use of the one decode (model input, grid thumbnail, sharpness: twice the working size),
upright, with the full image's size and metadata; the image itself otherwise, or when the
preview is damaged."""
from __future__ import annotations

import io
import struct

import numpy as np
import pillow_heif
import pytest
from PIL import Image

from clipdesk.core.indexing import pipeline
from clipdesk.core.media import imaging, quality
from clipdesk.core.models.embedder import Embedder
from clipdesk.core.models.loading import load_model
from clipdesk.core.paths import thumbnail_path
from tests.conftest import TINY_MODEL
from tests.photolib import exif_bytes
from tests.synthetic import blur, render
from tests.unit.kit import job

pillow_heif.register_heif_opener()

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)
SIZE = (1200, 900)  # 4:3 like a phone's photo


def halves(top, bottom, size=SIZE) -> Image.Image:
    w, h = size
    arr = np.zeros((h, w, 3), np.uint8)
    arr[: h // 2], arr[h // 2:] = top, bottom
    return Image.fromarray(arr)


def heic(image: Image.Image, preview: int | None = None, **options) -> bytes:
    """A HEIC (in 512 px tiles, as phones write it), with a preview whose long side is
    `preview` pixels."""
    buf = io.BytesIO()
    image.save(buf, "HEIF", quality=80, tile_size=512,
               thumbnails=[preview] if preview else [], **options)
    return buf.getvalue()


# -- a preview whose content differs from the image's: the test can tell which was decoded
def _boxes(data: bytes, start: int, end: int):
    while start < end:
        size, kind = struct.unpack(">I4s", data[start:start + 8])
        yield kind.decode(), start, size
        start += size


def _child(data: bytes, kind: str, start: int, size: int, full: bool) -> tuple[int, int]:
    body = start + (12 if full else 8)
    for k, s, n in _boxes(data, body, start + size):
        if k == kind:
            return s, n
    raise AssertionError(f"no {kind} box")


def _preview_extent(data: bytes) -> tuple[int, int, int]:
    """(position of the preview's iloc entry's base offset, its data's offset, length)."""
    meta = next((s, n) for k, s, n in _boxes(data, 0, len(data)) if k == "meta")
    iref_at, iref_size = _child(data, "iref", *meta, full=True)
    assert data[iref_at + 8] == 0  # iref version 0: 16-bit item ids
    thmb_at, _ = _child(data, "thmb", iref_at, iref_size, full=True)
    preview_id, = struct.unpack(">H", data[thmb_at + 8:thmb_at + 10])
    iloc_at, _ = _child(data, "iloc", *meta, full=True)
    # what libheif writes, and all this helper reads: version 1, 32-bit offsets, lengths
    # and base offsets, no extent index
    assert data[iloc_at + 8] == 1 and data[iloc_at + 12:iloc_at + 14] == b"\x44\x40"
    count, = struct.unpack(">H", data[iloc_at + 14:iloc_at + 16])
    at = iloc_at + 16
    for _ in range(count):
        item, _, _, base, extents = struct.unpack(">HHHIH", data[at:at + 12])
        if item == preview_id:
            assert extents == 1
            offset, length = struct.unpack(">II", data[at + 12:at + 20])
            return at + 6, base + offset, length
        at += 12 + 8 * extents
    raise AssertionError("no iloc entry for the preview")


def with_preview_of(data: bytes, donor: bytes) -> bytes:
    """`data` with its preview replaced by `donor`'s (same size and encoder), appended in a
    new mdat box and pointed to from the preview's iloc entry."""
    at, _, _ = _preview_extent(data)
    _, offset, length = _preview_extent(donor)
    out = bytearray(data)
    out[at:at + 4 + 2 + 8] = struct.pack(">IHII", 0, 1, len(data) + 8, length)
    out += struct.pack(">I4s", 8 + length, b"mdat") + donor[offset:offset + length]
    return bytes(out)


def with_damaged_preview(data: bytes) -> bytes:
    _, offset, length = _preview_extent(data)
    return data[:offset] + b"\xff" * length + data[offset + length:]


def top_and_bottom(image: Image.Image) -> tuple[tuple[int, ...], tuple[int, ...]]:
    arr = np.asarray(image)
    mid = arr.shape[1] // 2
    return tuple(int(v) for v in arr[3, mid]), tuple(int(v) for v in arr[-4, mid])


def close(color, expected) -> bool:
    return all(abs(a - b) < 40 for a, b in zip(color, expected, strict=True))


EXIF = exif_bytes(taken="2025:07:14 09:15:00", make="Apple", model="iPhone 15")


def photo_with_green_preview(preview: int) -> bytes:
    """Red over blue, but its preview shows green over blue."""
    return with_preview_of(heic(halves(RED, BLUE), preview, exif=EXIF),
                           heic(halves(GREEN, BLUE), preview, exif=EXIF))


def test_the_helper_makes_a_preview_unlike_its_image():
    data = photo_with_green_preview(854)
    image = pillow_heif.open_heif(io.BytesIO(data))[0]
    preview = image.get_thumbnail(0)
    assert preview.size == (854, 640)
    top, _ = top_and_bottom(preview.to_pillow())
    assert close(top, GREEN)
    top, _ = top_and_bottom(image.to_pillow())
    assert close(top, RED)


def test_a_preview_twice_the_working_size_is_decoded_instead_of_the_image():
    decoded = imaging.decode(photo_with_green_preview(854), 320)
    top, bottom = top_and_bottom(decoded.image)
    assert close(top, GREEN) and close(bottom, BLUE)
    assert min(decoded.image.size) == 320 and decoded.image.mode == "RGB"
    # what a person reads about the photo is the full image's
    assert (decoded.width, decoded.height) == SIZE
    assert (decoded.format, decoded.taken_at, decoded.camera) == (
        "HEIF", "2025-07-14T09:15:00", "Apple iPhone 15")


@pytest.mark.parametrize("preview", [320, 480])
def test_a_preview_under_twice_the_working_size_is_not_used(preview):
    # 320: an iPhone's 320x240, below the 320 px short side of the grid thumbnail and of
    # the sharpness measure; 480 (480x360): sharpness from it would read too high. The
    # image is decoded (once).
    decoded = imaging.decode(photo_with_green_preview(preview), 320)
    top, bottom = top_and_bottom(decoded.image)
    assert close(top, RED) and close(bottom, BLUE)
    assert min(decoded.image.size) == 320 and (decoded.width, decoded.height) == SIZE


def test_a_heic_without_a_preview_decodes_the_image_reduced():
    decoded = imaging.decode(heic(halves(RED, BLUE)), 320)
    top, bottom = top_and_bottom(decoded.image)
    assert close(top, RED) and close(bottom, BLUE)
    assert min(decoded.image.size) == 320 and (decoded.width, decoded.height) == SIZE


@pytest.mark.parametrize("orientation,transpose", [
    (3, Image.Transpose.ROTATE_180), (6, Image.Transpose.ROTATE_90),
    (8, Image.Transpose.ROTATE_270)])
def test_a_rotated_heic_comes_out_upright_from_its_preview(orientation, transpose):
    # the phone stored the pixels turned and says how to turn them back (in the HEIF
    # rotation the encoder writes from the EXIF tag); the preview is stored the same way
    def turned(top):
        return heic(halves(top, BLUE).transpose(transpose), 854,
                    exif=exif_bytes(orientation=orientation))

    data = with_preview_of(turned(RED), turned(GREEN))
    decoded = imaging.decode(data, 320)
    top, bottom = top_and_bottom(decoded.image)
    assert close(top, GREEN) and close(bottom, BLUE)
    assert (decoded.width, decoded.height) == SIZE
    assert decoded.image.width > decoded.image.height
    full = imaging.decode(data, 400)  # no preview that big: the image, upright as well
    assert close(top_and_bottom(full.image)[0], RED)


def test_a_damaged_preview_falls_back_to_the_image():
    data = with_damaged_preview(heic(halves(RED, BLUE), 854))
    decoded = imaging.decode(data, 320)
    top, bottom = top_and_bottom(decoded.image)
    assert close(top, RED) and close(bottom, BLUE)
    assert (decoded.width, decoded.height) == SIZE


def test_indexing_a_heic_uses_its_preview_and_leaves_the_file_alone(tmp_path):
    path = tmp_path / "IMG_0001.HEIC"
    path.write_bytes(photo_with_green_preview(854))
    before = path.read_bytes()
    embedder = Embedder(load_model(TINY_MODEL))
    side = max(embedder.loaded.image_size, imaging.THUMBNAIL_SIZE)
    result = pipeline.process(job(path), {}.get, embedder.prepare, side, tmp_path)
    assert isinstance(result, pipeline.Prepared)
    assert (result.meta.width, result.meta.height, result.meta.format) == (*SIZE, "HEIF")
    assert result.meta.taken_at == "2025-07-14T09:15:00"
    with Image.open(thumbnail_path(tmp_path, result.meta.hash)) as thumb:
        assert thumb.size == (320, 240)  # the grid's thumbnail, from the preview
        assert close(top_and_bottom(thumb.convert("RGB"))[0], GREEN)
    assert path.read_bytes() == before


@pytest.mark.parametrize("sigma", [0.0, 6.0])
def test_sharpness_from_a_preview_reads_as_from_the_image(sigma, monkeypatch):
    # a sharp photo and a blurry one (Gaussian blur of 0.33% of the short side): the
    # preview must not make the blurry one look sharper, nor the sharp one blurry
    data = heic(blur(render("red", "circle", "gray", (2400, 1800), seed=1), sigma), 854)
    from_preview = quality.measure(imaging.decode(data, 320).image).sharpness
    monkeypatch.setattr(pillow_heif.options, "THUMBNAILS", False)
    from_image = quality.measure(imaging.decode(data, 320).image).sharpness
    assert abs(from_preview - from_image) < 0.1
    assert (from_image >= quality.SHARP) == (from_preview >= quality.SHARP)
    assert (from_image < quality.BLURRY) == (from_preview < quality.BLURRY)
