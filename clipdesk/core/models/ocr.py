"""Reading text in photos: PP-OCRv6 (detection, recognition) and PP-OCR's angle
classifier, run by onnxruntime through `rapidocr` (Apache-2.0, code and weights: its
MODEL_LICENSES.md; the weights are Baidu's PaddleOCR models, shipped inside the wheel).

Loaded once per process on first use, like every model (loading.py for open_clip ones).
Nothing here reaches the network or writes to disk: each model is the wheel's own file,
named by an explicit path (rapidocr downloads a model only when it has no path), its
recognition dictionary is inside the ONNX file, and onnxruntime's telemetry is off. A
failure is one ModelLoadError line, remembered for the process.
"""
from __future__ import annotations

import importlib.resources
import logging
import os
from typing import Any

from PIL import Image

from clipdesk.core.errors import ModelLoadError
from clipdesk.core.models.imports import onnxruntime_module
from clipdesk.core.models.loading import BuiltOnce

log = logging.getLogger(__name__)

READER_ID = "rapidocr:PP-OCRv6-small"  # stored with each text (photos.text_by)
_MODELS = {"Det": "PP-OCRv6_det_small.onnx", "Rec": "PP-OCRv6_rec_small.onnx",
           "Cls": "ch_ppocr_mobile_v2.0_cls_mobile.onnx"}
# a line read with less confidence is left out (rapidocr's own default is 0.5: on rendered
# words and photos without text, wrong lines scored below 0.8, right ones above 0.95)
MIN_SCORE = 0.8
# the short side a photo is decoded at for reading: rapidocr scales detection to 736 px
# on the short side, its recognizer reads lines 48 px high
READ_SIDE = 1024

def _build() -> Any:
    try:
        onnxruntime_module()  # first: no uploader, no device id file
        from rapidocr import RapidOCR

        folder = importlib.resources.files("rapidocr").joinpath("models")
        params: dict[str, Any] = {"Global.log_level": "critical",
                                  "EngineConfig.onnxruntime.inter_op_num_threads": 1,
                                  "EngineConfig.onnxruntime.intra_op_num_threads": _threads()}
        for part, name in _MODELS.items():
            path = folder.joinpath(name)
            if not path.is_file():
                raise ModelLoadError(f"cannot read text in photos: rapidocr's model {name} "
                                     "is missing (reinstall rapidocr)")
            params[f"{part}.model_path"] = str(path)
        engine = RapidOCR(params=params)
    except ModelLoadError:
        raise
    except Exception as exc:  # not installed, a broken build, a damaged model file
        raise ModelLoadError(f"cannot read text in photos: {type(exc).__name__}: "
                             f"{str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
                             " (pip install 'rapidocr>=3.10,<3.11')") from exc
    logging.getLogger("RapidOCR").setLevel(logging.CRITICAL)  # "no text found" is no news
    return engine


_engine: BuiltOnce[Any] = BuiltOnce(_build)


def _threads() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
               else os.cpu_count() or 1)


def read_text(image: Image.Image) -> str:
    """The text in a decoded photo, line by line in reading order ("" when none)."""
    engine = _engine.get()
    result = engine(image.convert("RGB"))
    texts, scores = result.txts or (), result.scores or ()
    lines = [" ".join(t.split()) for t, s in zip(texts, scores, strict=False)
             if s >= MIN_SCORE and t.strip()]
    return "\n".join(line for line in lines if line)


def warm_up() -> None:
    """Load the reader now (its first photo would otherwise pay for it)."""
    _engine.get()
