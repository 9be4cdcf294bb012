"""The int8 image tower (ONNX Runtime) a CPU without native bf16 encodes photos with: the
same vectors to cosine 0.99 as torch's fp32, built once and kept on disk, and never a
worse search: a tower that cannot be built or kept, or that quantizes badly, leaves the
work to torch."""
from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from clipdesk.core.library import Library
from clipdesk.core.models import int8_tower
from clipdesk.core.models.embedder import Embedder
from clipdesk.core.models.loading import load_model
from tests.conftest import TINY_MODEL, run_cli, use_tiny_models
from tests.synthetic import COLORS, SHAPES, render

PHOTOS = [render(c, s, bg, size, seed=i) for i, (c, s, bg, size) in enumerate(
    [("red", "circle", "white", (320, 240)), ("blue", "square", "gray", (240, 320)),
     ("green", "triangle", "black", (400, 225)), ("yellow", "circle", "gray", (300, 300)),
     ("purple", "square", "white", (320, 240)), ("orange", "triangle", "gray", (320, 240))])]


def vectors(monkeypatch, int8: bool) -> np.ndarray:
    monkeypatch.setenv(int8_tower.INT8_ENV, "1" if int8 else "0")
    embedder = Embedder(load_model(TINY_MODEL, "cpu"))
    inputs = [embedder.prepare(p) for p in PHOTOS]
    inputs += [t for p in PHOTOS for _, t in embedder.prepare_parts(p)]  # the end squares
    return embedder.encode_images(inputs)


def test_photos_go_through_the_int8_tower_and_keep_their_vectors(monkeypatch):
    exact = vectors(monkeypatch, int8=False)
    fast = vectors(monkeypatch, int8=True)
    loaded = load_model(TINY_MODEL, "cpu")
    assert int8_tower.in_use(loaded)
    assert "int8 image tower" in Embedder(loaded).precision
    assert not np.array_equal(exact, fast)  # really another path
    cosines = (exact * fast).sum(axis=1)
    assert cosines.min() >= 0.99, cosines
    assert fast.dtype == np.float32 and np.allclose(np.linalg.norm(fast, axis=1), 1, atol=1e-5)


def test_without_int8_photos_are_encoded_by_torch_in_fp32(monkeypatch):
    monkeypatch.setenv(int8_tower.INT8_ENV, "0")
    loaded = load_model(TINY_MODEL, "cpu")
    embedder = Embedder(loaded)
    assert embedder.precision == "cpu, fp32"
    inputs = [embedder.prepare(p) for p in PHOTOS]
    with torch.inference_mode():
        direct = loaded.model.encode_image(torch.stack(inputs))
    direct = torch.nn.functional.normalize(direct, dim=-1).numpy()
    assert np.allclose(embedder.encode_images(inputs), direct, atol=1e-6)


def test_the_tower_is_built_once_and_then_read_from_the_disk(tmp_path):
    loaded = load_model(TINY_MODEL, "cpu")
    assert int8_tower.build(loaded, tmp_path) is not None
    kept = list(tmp_path.iterdir())
    assert len(kept) == 1 and kept[0].suffix == ".onnx"  # no work files left behind
    stamp = kept[0].stat().st_mtime_ns
    assert int8_tower.build(loaded, tmp_path) is not None
    assert kept[0].stat().st_mtime_ns == stamp  # read, not built again
    kept[0].write_bytes(b"half a file")  # e.g. a disk that failed
    assert int8_tower.build(loaded, tmp_path) is not None  # built again
    assert kept[0].stat().st_size > 1000


def test_a_new_build_removes_the_models_older_and_half_written_towers_only(tmp_path,
                                                                          monkeypatch):
    loaded = load_model(TINY_MODEL, "cpu")
    assert int8_tower.build(loaded, tmp_path) is not None
    (first,) = tmp_path.iterdir()
    other_model = tmp_path / f"{'0' * 16}-{'1' * 32}.onnx"
    other_model.write_bytes(b"another model's tower")
    unnamed = tmp_path / f"{'2' * 32}.onnx"  # named before towers were named by model
    unnamed.write_bytes(b"an old tower")
    # a write a crash cut off a day ago, and one another process is making now
    crashed = tmp_path / f"{first.name}.4242.1.tmp"
    crashed.write_bytes(b"half a tower")
    os.utime(crashed, (time.time() - 86400,) * 2)
    writing = tmp_path / f"{first.name}.4343.1.tmp"
    writing.write_bytes(b"a tower being written")
    monkeypatch.setattr(int8_tower, "REVISION", int8_tower.REVISION + 1)  # an upgrade
    assert int8_tower.build(loaded, tmp_path) is not None
    (second,) = set(tmp_path.iterdir()) - {other_model, writing}
    assert second != first and not first.exists() and not unnamed.exists()
    assert other_model.read_bytes() == b"another model's tower"
    assert not crashed.exists() and writing.exists()
    # and when the tower is read from the cache, not built
    os.utime(writing, (time.time() - 86400,) * 2)  # its writer died too
    assert int8_tower.build(loaded, tmp_path) is not None
    assert not writing.exists() and second.exists()


def test_building_a_tower_leaves_no_onnxruntime_telemetry_behind(tmp_path):
    # a fresh process: onnxruntime's official builds write a device id and an event
    # database under ~/.cache/Microsoft at their first import unless told not to
    env = {**os.environ, "HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    build = ("from clipdesk.core.models import int8_tower, loading; "
             f"assert int8_tower.build(loading.load_model({TINY_MODEL!r}, 'cpu'))")
    subprocess.run([sys.executable, "-c", build], env=env, check=True, timeout=300)
    assert list((tmp_path / "cache" / "clipdesk" / "int8").glob("*.onnx"))  # it was built
    assert not [p for p in tmp_path.rglob("*") if "Microsoft" in p.parts]


def test_a_full_cache_disk_still_gives_a_tower_and_keeps_no_half_file(tmp_path,
                                                                      monkeypatch):
    write = Path.write_bytes

    def disk_fills(self: Path, data: bytes) -> int:
        if tmp_path in self.parents:  # the cache's disk fills halfway through the file
            write(self, data[:len(data) // 2])
            raise OSError(errno.ENOSPC, "No space left on device")
        return write(self, data)

    monkeypatch.setattr(Path, "write_bytes", disk_fills)
    assert int8_tower.build(load_model(TINY_MODEL, "cpu"), tmp_path) is not None
    assert list(tmp_path.iterdir()) == []


def test_a_cache_that_cannot_be_written_still_gives_a_tower(tmp_path):
    loaded = load_model(TINY_MODEL, "cpu")
    blocked = tmp_path / "cache"
    blocked.write_text("a file where the cache folder should be")
    tower = int8_tower.build(loaded, blocked)
    assert tower is not None
    assert blocked.read_text() == "a file where the cache folder should be"


def test_a_tower_that_quantizes_badly_is_not_used(monkeypatch, tmp_path, caplog):
    loaded = load_model(TINY_MODEL, "cpu")
    monkeypatch.setattr(int8_tower, "MIN_COSINE", 1.01)  # no tower can pass
    assert int8_tower.build(loaded, tmp_path) is None
    assert "not quantized: int8 vectors at cosine" in caplog.text


def test_a_tower_that_cannot_be_built_leaves_the_work_to_torch(monkeypatch, tmp_path, caplog):
    loaded = load_model(TINY_MODEL, "cpu")

    def refuse(*args, **kwargs):
        raise RuntimeError("Exporting the operator 'aten::fancy' is not supported")

    monkeypatch.setattr(torch.onnx, "export", refuse)
    assert int8_tower.build(loaded, tmp_path) is None
    assert "not quantized (Exporting the operator 'aten::fancy'" in caplog.text
    assert list(tmp_path.iterdir()) == []


def test_a_library_indexed_through_the_int8_tower_finds_each_photo_by_its_words(tmp_path):
    """The suite runs in fp32 and so through the int8 tower (conftest.py); this checks
    its search on photos of every colour and shape, end squares included."""
    assert os.environ.get(int8_tower.INT8_ENV, "") != "0"
    photos = tmp_path / "photos"
    photos.mkdir()
    sizes = [(640, 360), (360, 640), (480, 480)]
    for i, (color, shape) in enumerate((c, s) for c in COLORS for s in SHAPES):
        render(color, shape, "gray", sizes[i % 3], seed=i).save(photos / f"IMG_{i:03d}.jpg")
    home = tmp_path / "home"
    use_tiny_models(home)
    assert run_cli("--home", str(home), "index", str(photos), "--model", TINY_MODEL).rc == 0
    assert int8_tower.in_use(load_model(TINY_MODEL, "cpu"))
    status = run_cli("--home", str(home), "status")
    assert "Runs on:  cpu, int8 image tower (fp32 text) (the last index run)" in status.out
    for i, (color, shape) in enumerate((c, s) for c in COLORS for s in SHAPES):
        result = run_cli("--home", str(home), "search", f"a {color} {shape}", "-k", "1",
                         "--json")
        assert json.loads(result.out)[0]["path"].endswith(f"IMG_{i:03d}.jpg"), (color, shape)


def test_vit_b_32_quantizes_within_cosine_0_99(tmp_path, monkeypatch):
    """The default models' architecture (random weights: the build checks the cosine on
    its probe, this on photos), asked for from inside inference_mode as the indexer may
    (torch would then trace nn.MultiheadAttention's fast path, which ONNX cannot hold)."""
    import open_clip

    from clipdesk.core.models.loading import LoadedModel
    from clipdesk.core.models.spec import parse_spec

    model, _, preprocess = open_clip.create_model_and_transforms("ViT-B-32-256")
    loaded = LoadedModel(parse_spec("ViT-B-32-256:random"), model.eval(), preprocess, None,
                         "cpu", torch.float32)
    with torch.inference_mode():
        tower = int8_tower.build(loaded, tmp_path)
    assert tower is not None
    pixels = torch.stack([preprocess(p) for p in PHOTOS])
    with torch.inference_mode():
        exact = torch.nn.functional.normalize(model.encode_image(pixels), dim=-1).numpy()
    fast = tower(pixels.numpy())
    fast /= np.linalg.norm(fast, axis=1, keepdims=True)
    assert (exact * fast).sum(axis=1).min() >= 0.99



def test_status_says_what_the_last_index_run_ran_on(tmp_path, monkeypatch):
    render("red", "circle", "white", (320, 240)).save(tmp_path / "red.jpg")
    home = tmp_path / "home"
    use_tiny_models(home)
    assert "Runs on" not in run_cli("--home", str(home), "status").out  # never indexed
    monkeypatch.setenv(int8_tower.INT8_ENV, "0")
    assert run_cli("--home", str(home), "index", str(tmp_path), "--model", TINY_MODEL).rc == 0
    status = json.loads(run_cli("--home", str(home), "status", "--json").out)
    assert status["encoding"] == "cpu, fp32"


def test_an_index_run_says_it_is_preparing_the_tower_before_its_first_photo(tmp_path,
                                                                             monkeypatch):
    monkeypatch.setattr(int8_tower, "_towers", {})  # a new process
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # a new machine
    render("red", "circle", "white", (320, 240)).save(tmp_path / "red.jpg")
    home = tmp_path / "home"
    use_tiny_models(home)
    lib = Library(home)
    try:
        said = [(p.message, p.done) for p in lib.index([str(tmp_path)], model=TINY_MODEL)]
    finally:
        lib.close()
    preparing = said.index(("Preparing the model for this computer's CPU…", 0))
    assert not any(done for _, done in said[:preparing])
    assert any(done for _, done in said[preparing:])
    assert list((tmp_path / "cache" / "clipdesk" / "int8").glob("*.onnx"))
