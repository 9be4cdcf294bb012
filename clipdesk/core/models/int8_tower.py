"""The image tower in int8 on CPUs without native bf16: ONNX Runtime runs a dynamically
quantized copy of the model's image tower (weights int8, activations quantized on the
fly), built once per model from the loaded fp32 weights and kept on disk.

Why: on such a CPU (most laptops' Intel cores, AMD before Zen 4) torch computes the image
tower in fp32, and the whole frame (media/crops.py) runs it up to three times a photo.
ViT-B-32-256, a batch of 12 on 2 cores: torch fp32 89 ms a photo, ONNX Runtime fp32 67,
ONNX Runtime int8 23 (benchmarks/bench_index.py, benchmarks/README.md); vectors within
cosine 0.9998 of torch's fp32 ones (random weights), 0.999+ on the tiny test model.

Every tower is checked before use: a probe batch through both it and torch's fp32 tower
must agree to MIN_COSINE, or the tower is not used (a warning, then torch fp32 as before),
so a model that quantizes badly costs speed, never search quality. A tower that cannot be
built (an architecture the exporter does not take, a model over ONNX's 2 GB) is the same:
torch fp32. A full disk or an unwritable cache only loses the copy on disk (built again
next run). A model keeps one tower on disk: building a new one (new weights, a library
upgrade) removes the model's older ones. $CLIPDESK_INT8=0 turns it off (exact fp32
vectors).
"""
from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import platformdirs

from clipdesk.core.indexing import cpu
from clipdesk.core.models.imports import onnxruntime_module, open_clip_module, torch_module
from clipdesk.core.models.loading import LoadedModel
from clipdesk.core.paths import fingerprint

log = logging.getLogger(__name__)

INT8_ENV = "CLIPDESK_INT8"
MIN_COSINE = 0.99  # the probe's worst photo, int8 against torch fp32
REVISION = 2  # bump when the export or the quantization changes: towers are built again
# a tower's .tmp file older than this (seconds) is a write that never finished (it takes
# about a second for ViT-B-32's 88 MB)
STALE_WRITE = 3600
_PROBES = 3
_towers: dict[int, Int8Tower | None] = {}  # id(loaded model) -> its tower, once a process
_towers_lock = threading.Lock()


def wanted(loaded: LoadedModel) -> bool:
    """Whether this model's photos go through an int8 tower: on a CPU computing in fp32,
    unless $CLIPDESK_INT8=0."""
    torch = torch_module()
    return (loaded.device == "cpu" and loaded.dtype == torch.float32
            and os.environ.get(INT8_ENV, "").strip() != "0")


def tower_for(loaded: LoadedModel) -> Int8Tower | None:
    """The model's int8 tower where wanted and usable, built (or read from the disk
    cache) once per process and model; None: torch does the work."""
    if not wanted(loaded):
        return None
    with _towers_lock:
        if id(loaded.model) not in _towers:
            _towers[id(loaded.model)] = build(loaded)
        return _towers[id(loaded.model)]


def ready(loaded: LoadedModel) -> bool:
    """Whether tower_for() answers at once (not wanted, or already built or refused)."""
    with _towers_lock:
        return not wanted(loaded) or id(loaded.model) in _towers


def in_use(loaded: LoadedModel) -> bool:
    """Whether the model's photos go through an int8 tower (wanted, and not found
    unusable in this process). Builds nothing."""
    with _towers_lock:
        return wanted(loaded) and _towers.get(id(loaded.model), True) is not None


def default_cache() -> Path:
    return Path(platformdirs.user_cache_dir("clipdesk", appauthor=False)) / "int8"


class Int8Tower:
    """A model's image tower in ONNX Runtime: float32 pixels in, features out."""

    def __init__(self, model: bytes) -> None:
        ort = onnxruntime_module()
        options = ort.SessionOptions()
        options.intra_op_num_threads = cpu.torch_threads()
        options.inter_op_num_threads = 1
        # sleeping threads, as torch's (cpu.py): spinning ones steal the decoders' cores
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name

    def __call__(self, pixels: np.ndarray) -> np.ndarray:
        features: np.ndarray = self._session.run(None, {self._input: pixels})[0]
        return features


def build(loaded: LoadedModel, cache: Path | None = None) -> Int8Tower | None:
    """The model's checked int8 tower (from the disk cache, or built now: about 11 s for
    ViT-B-32 on 2 cores), or None where torch fp32 must do."""
    cache = cache or default_cache()
    _remove_half_written(cache)
    path = cache / f"{_model_name(loaded)}-{_key(loaded)}.onnx"
    try:
        try:
            tower = Int8Tower(path.read_bytes())
        except Exception:  # noqa: BLE001 - not built yet, or a damaged copy: build it
            tower = Int8Tower(_export(loaded, path))
        worst = _probe_cosine(loaded, tower)
    except Exception as exc:  # noqa: BLE001 - the exporter and ORT raise many kinds
        log.warning("image tower of %s not quantized (%s): torch fp32", loaded.spec.id,
                    _first_line(exc))
        return None
    if worst < MIN_COSINE:
        log.warning("image tower of %s not quantized: int8 vectors at cosine %.4f of fp32's "
                    "(below %.2f): torch fp32", loaded.spec.id, worst, MIN_COSINE)
        return None
    log.info("image tower of %s in int8 (cosine to fp32 >= %.4f)", loaded.spec.id, worst)
    return tower


def _export(loaded: LoadedModel, path: Path) -> bytes:
    """Export the fp32 tower, quantize it, keep it at `path` where the disk allows."""
    onnxruntime_module()  # first: no uploader, no device id file
    from onnxruntime.quantization import QuantType, quantize_dynamic

    torch = torch_module()
    # built in the system's temp folder: a full or unwritable cache only loses the copy
    with tempfile.TemporaryDirectory() as folder:
        fp32, int8 = Path(folder, "fp32.onnx"), Path(folder, "int8.onnx")
        # not under inference_mode or no_grad: torch would trace nn.MultiheadAttention's
        # fast path, which ONNX has no operator for
        with warnings.catch_warnings(), torch.inference_mode(False), torch.enable_grad():
            warnings.simplefilter("ignore")  # the exporter's deprecation notices
            torch.onnx.export(loaded.model.visual, (_probe_pixels(loaded)[:1],), str(fp32),
                              input_names=["pixels"], output_names=["features"],
                              dynamic_axes={"pixels": {0: "batch"}}, opset_version=17,
                              dynamo=False)
            with _quiet_root_logger():  # the quantizer's notes, a line per tensor
                # the linear layers only: ORT's ConvInteger (the patch embedding) is slow,
                # 10 of 47 ms an image on one core, against 3 ms for the fp32 Conv
                quantize_dynamic(fp32, int8, weight_type=QuantType.QInt8,
                                 op_types_to_quantize=["MatMul"])
        model = int8.read_bytes()
    _keep(model, path)
    return model


def _keep(model: bytes, path: Path) -> None:
    """Write the tower to `path` whole or not at all (a full disk, an unwritable cache:
    used now, built again next run), then remove the model's older towers."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(model)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        log.info("int8 image tower not kept on disk: %s", exc)
        return
    _remove_stale(path)


def _model_name(loaded: LoadedModel) -> str:
    return fingerprint(loaded.spec.id)[:16]


def _remove_stale(kept: Path) -> None:
    """Remove the model's towers built before `kept` (other weights, library versions or
    REVISION: never read again, 88 MB each for ViT-B-32), and those named before towers
    were named by model (one file name, no '-'). Other models' towers stay."""
    model = kept.name.split("-", 1)[0]
    for old in kept.parent.glob("*.onnx"):
        if old != kept and (old.name.startswith(f"{model}-") or "-" not in old.name):
            with contextlib.suppress(OSError):
                old.unlink()


def _remove_half_written(cache: Path) -> None:
    """Remove the towers a crash or a power cut left half written (`_keep`'s .tmp files
    over STALE_WRITE seconds old: another process may be writing a young one)."""
    for half in cache.glob("*.onnx.*.tmp"):
        with contextlib.suppress(OSError):
            if time.time() - half.stat().st_mtime > STALE_WRITE:
                half.unlink()


@contextlib.contextmanager
def _quiet_root_logger() -> Iterator[None]:
    """Drop what is logged on the root logger itself (onnxruntime's quantizer logs there;
    clipdesk's own loggers are named, and pass)."""
    def drop(record: logging.LogRecord) -> bool:
        return False

    logging.root.addFilter(drop)
    try:
        yield
    finally:
        logging.root.removeFilter(drop)


def _probe_pixels(loaded: LoadedModel) -> Any:
    """Model inputs of a few deterministic pictures (gradients and noise, the model's own
    preprocessing)."""
    from PIL import Image

    torch = torch_module()
    rng = np.random.default_rng(0)
    side = loaded.image_size
    pictures = []
    for i in range(_PROBES):
        ramp = np.linspace(0, 255, side * 2, dtype=np.float32)
        base = np.stack([np.add.outer(ramp[:side], ramp[::-1][:side]) / 2] * 3, axis=-1)
        noisy = np.roll(base, 40 * i, axis=i % 2) + rng.normal(0, 30 + 20 * i, base.shape)
        pictures.append(Image.fromarray(noisy.clip(0, 255).astype(np.uint8)))
    return torch.stack([loaded.preprocess(p) for p in pictures])


def _probe_cosine(loaded: LoadedModel, tower: Int8Tower) -> float:
    """The worst cosine between the tower's features and torch fp32's on the probe."""
    torch = torch_module()
    pixels = _probe_pixels(loaded)
    with torch.inference_mode():
        exact = loaded.model.encode_image(pixels).float().numpy()
    fast = tower(pixels.numpy())
    exact /= np.linalg.norm(exact, axis=1, keepdims=True)
    fast = fast / np.linalg.norm(fast, axis=1, keepdims=True)
    return float((exact * fast).sum(axis=1).min())


def _key(loaded: LoadedModel) -> str:
    """Names the tower by everything it is made from: the model and its weights, and the
    versions of the exporter, open_clip and ONNX Runtime."""
    ort = onnxruntime_module()
    torch, open_clip = torch_module(), open_clip_module()
    weights = ""
    if loaded.spec.source == "local-dir":  # a folder's weights may be replaced in place
        folder = loaded.spec.location
        weights = ",".join(f"{n}:{s.st_size}:{s.st_mtime_ns}" for n in sorted(os.listdir(folder))
                           for s in [os.stat(os.path.join(folder, n))])
    return fingerprint("|".join([loaded.spec.id, weights, torch.__version__,
                                 open_clip.__version__, ort.__version__, str(REVISION)]))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
