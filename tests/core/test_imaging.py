"""Safe decoding: orientation, metadata, odd modes, and bad input with readable reasons."""
from __future__ import annotations

import io

import numpy as np
import pillow_heif
import pytest
from PIL import Image

from clipdesk.core.errors import DecodeError
from clipdesk.core.media import imaging
from tests.photolib import exif_bytes

pillow_heif.register_heif_opener()


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **options)
    return buf.getvalue()


def top_red_bottom_blue(size=(600, 400)) -> Image.Image:
    w, h = size
    arr = np.zeros((h, w, 3), np.uint8)
    arr[: h // 2] = (255, 0, 0)
    arr[h // 2:] = (0, 0, 255)
    return Image.fromarray(arr)


@pytest.mark.parametrize("orientation,transpose", [
    (3, Image.Transpose.ROTATE_180), (6, Image.Transpose.ROTATE_90),
    (8, Image.Transpose.ROTATE_270)])
def test_exif_orientation_is_applied(orientation, transpose):
    # the camera stored the pixels turned; the tag says how to turn them back upright
    stored = top_red_bottom_blue().transpose(transpose)
    data = encode(stored, "JPEG", quality=95, exif=exif_bytes(orientation=orientation))
    decoded = imaging.decode(data, 64)
    assert (decoded.width, decoded.height) == (600, 400)
    arr = np.asarray(decoded.image)
    assert arr[2, arr.shape[1] // 2, 0] > 200 and arr[-3, arr.shape[1] // 2, 2] > 200


def test_metadata_date_taken_and_camera():
    data = encode(top_red_bottom_blue(), "JPEG", exif=exif_bytes(
        taken="2021:06:05 14:03:22", make="Canon", model="Canon EOS R6"))
    decoded = imaging.decode(data, 64)
    assert decoded.taken_at == "2021-06-05T14:03:22"
    assert decoded.camera == "Canon EOS R6"
    assert decoded.format == "JPEG"


def test_large_jpeg_is_reduced_to_the_working_size():
    data = encode(top_red_bottom_blue((4000, 3000)), "JPEG")
    decoded = imaging.decode(data, 256)
    assert min(decoded.image.size) == 256
    assert (decoded.width, decoded.height) == (4000, 3000)


@pytest.mark.parametrize("mode", ["CMYK", "P", "L", "LA", "RGBA", "I;16"])
def test_every_mode_becomes_rgb(mode):
    base = top_red_bottom_blue()
    if mode == "I;16":
        image = Image.fromarray(np.asarray(base.convert("L")).astype(np.uint16) * 257)
        data = encode(image, "PNG")
    else:
        image = base.convert(mode)
        data = encode(image, "JPEG" if mode == "CMYK" else "PNG")
    decoded = imaging.decode(data, 64)
    assert decoded.image.mode == "RGB"
    assert np.asarray(decoded.image).max() > 60  # not blank (16-bit scaled, not clipped)


def test_animated_file_uses_the_first_frame():
    frames = [Image.new("RGB", (200, 200), c) for c in ((255, 0, 0), (0, 255, 0))]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
    decoded = imaging.decode(buf.getvalue(), 64)
    assert decoded.image.getpixel((10, 10))[0] > 200


@pytest.mark.parametrize("data,word", [
    (b"", "empty"),
    (b"<!DOCTYPE html><html>", "HTML"),
    (b"just some notes\n", "text"),
    (b"%PDF-1.7\n...", "PDF"),
    (b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2", "video"),
    (b"\x13\x37" * 40, "unrecognised"),
])
def test_non_photos_are_named(data, word):
    with pytest.raises(DecodeError) as err:
        imaging.decode(data, 64)
    assert word.lower() in err.value.reason.lower()


def test_truncated_heic_is_detected_although_the_decoder_accepts_it():
    data = encode(top_red_bottom_blue(), "HEIF", quality=70)
    imaging.decode(data, 64)  # the whole file is fine
    with pytest.raises(DecodeError, match="truncated"):
        imaging.decode(data[: len(data) - 200], 64)


def test_truncated_jpeg_and_png_fail_with_a_reason():
    for fmt in ("JPEG", "PNG"):
        data = encode(top_red_bottom_blue((800, 600)), fmt)
        with pytest.raises(DecodeError, match="truncated"):
            imaging.decode(data[: len(data) // 2], 64)


def test_a_200_megapixel_photo_is_allowed_but_a_bomb_is_not():
    assert imaging.MAX_PIXELS > 200_000_000
    bomb = encode(Image.new("1", (20000, 20000)), "PNG")
    with pytest.raises(DecodeError, match="decompression bomb"):
        imaging.decode(bomb, 64)


def test_png_declared_as_jpeg_is_read_by_content():
    data = encode(top_red_bottom_blue(), "PNG")
    assert imaging.decode(data, 64).format == "PNG"


def test_thumbnail_fits_the_thumbnail_box():
    decoded = imaging.decode(encode(top_red_bottom_blue((1600, 1200)), "JPEG"), 256)
    with Image.open(io.BytesIO(imaging.thumbnail_jpeg(decoded.image))) as thumb:
        assert max(thumb.size) == imaging.THUMBNAIL_SIZE
