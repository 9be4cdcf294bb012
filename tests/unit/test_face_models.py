"""The face models load the one way models load: a missing model is one ModelLoadError
line naming the way out, remembered, and never a crash."""
from __future__ import annotations

import importlib.util

import pytest
from PIL import Image

from clipdesk.core.errors import ModelLoadError
from clipdesk.core.models import faces
from clipdesk.core.models.loading import BuiltOnce


def test_missing_face_models_are_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(faces, "_models", BuiltOnce(faces._build))  # not loaded yet
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None
                        if name == "face_recognition_models" else real(name, *a))
    with pytest.raises(ModelLoadError, match="face models are not installed .*pip install"):
        faces.find_faces(Image.new("RGB", (64, 64)))
    monkeypatch.setattr(importlib.util, "find_spec", real)
    with pytest.raises(ModelLoadError, match="not installed"):  # remembered for the process
        faces.warm_up()
