"""Faces: found and described on this computer by dlib (`dlib-bin`, a prebuilt wheel) with
the models of the `face-recognition-models` wheel (Davis King's, CC0): the HOG frontal
face detector built into dlib, the 5-point landmarks (to align a face) and the ResNet
that describes a face as 128 numbers (two photos of one person lie within about 0.6 of
each other, euclidean). Never the 68-point landmarks in the same wheel: its training data
(iBUG 300-W) forbids commercial use.

Loaded once per process on first use, like every model (loading.py for open_clip's, ocr.py
for one shipped in a wheel); the files are named by path, found without importing the
wheel's own module (it imports pkg_resources, gone from new setuptools). A failure is one
ModelLoadError line, remembered for the process. Measured on 2 cores
(benchmarks/bench_faces.py): HOG detection at 512 px about 40-70 ms a photo, landmarks +
descriptor about 75 ms a face.
"""
from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from clipdesk.core.errors import ModelLoadError
from clipdesk.core.models.loading import BuiltOnce

FINDER_ID = "dlib:hog+resnet_v1"  # stored with each photo looked at (photos.faces_by)
_FILES = {"landmarks": "shape_predictor_5_face_landmarks.dat",
          "descriptor": "dlib_face_recognition_resnet_model_v1.dat"}
# the short side a photo is decoded at for finding faces (HOG finds faces from about
# 80 px: at 512 a face a sixth of the short side is found), its long side at most:
DETECT_SIDE = 512
DETECT_LONG = 1024
INSTALL = "pip install 'dlib-bin>=20,<21' 'face-recognition-models==0.3.0'"

@dataclass(frozen=True)
class Face:
    box: tuple[float, float, float, float]  # left, top, right, bottom: fractions of the photo
    descriptor: np.ndarray  # float32, 128


def model_folder() -> str:
    """The folder holding the face models (a ModelLoadError when the wheel is missing)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError(f"cannot find faces: the face models are not installed ({INSTALL})")
    return os.path.join(list(spec.submodule_search_locations)[0], "models")


def _build() -> tuple[Any, Any, Any]:
    folder = model_folder()
    paths = {part: os.path.join(folder, name) for part, name in _FILES.items()}
    for name, path in paths.items():
        if not os.path.isfile(path):
            raise ModelLoadError(f"cannot find faces: the {name} model {_FILES[name]} is "
                                 f"missing ({INSTALL})")
    try:
        import dlib

        return (dlib.get_frontal_face_detector(), dlib.shape_predictor(paths["landmarks"]),
                dlib.face_recognition_model_v1(paths["descriptor"]))
    except Exception as exc:  # not installed, a broken build, a damaged model file
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise ModelLoadError(f"cannot find faces: {type(exc).__name__}: {first} "
                             f"({INSTALL})") from exc


_models: BuiltOnce[tuple[Any, Any, Any]] = BuiltOnce(_build)


def sized(image: Image.Image) -> Image.Image:
    """The photo at the size faces are looked for in."""
    image = image.convert("RGB")
    if max(image.size) > DETECT_LONG:
        image = image.copy()
        image.thumbnail((DETECT_LONG, DETECT_LONG), Image.Resampling.BILINEAR)
    return image


def find_faces(image: Image.Image) -> list[Face]:
    """The faces in an upright photo, each with its box and descriptor."""
    detector, landmarks, describer = _models.get()
    pixels = np.ascontiguousarray(np.asarray(sized(image), np.uint8))
    height, width = pixels.shape[:2]
    found: list[Face] = []
    for rect in detector(pixels, 1):
        shape = landmarks(pixels, rect)
        descriptor = np.asarray(describer.compute_face_descriptor(pixels, shape), np.float32)
        box = (max(rect.left(), 0) / width, max(rect.top(), 0) / height,
               min(rect.right(), width) / width, min(rect.bottom(), height) / height)
        found.append(Face((round(box[0], 5), round(box[1], 5), round(box[2], 5),
                           round(box[3], 5)), descriptor))
    return found


def detect(image: Image.Image) -> int:
    """How many faces the detector finds (benchmarks: detection alone)."""
    detector, _, _ = _models.get()
    return len(detector(np.ascontiguousarray(np.asarray(sized(image), np.uint8)), 1))


def warm_up() -> None:
    """Load the models now (its first photo would otherwise pay for it)."""
    _models.get()
