"""The number format a model computes in: bf16 on a CPU that multiplies bf16 natively
(about 4x faster a photo there), fp32 elsewhere, fp16 on a GPU; the user may choose."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from clipdesk.core.errors import ClipdeskError, ModelLoadError
from clipdesk.core.models import captions, device, int8_tower
from clipdesk.core.models.device import PRECISION_ENV, PRECISIONS, precision_for
from clipdesk.core.models.embedder import Embedder
from clipdesk.core.models.loading import LoadedModel, load_model
from tests.conftest import TINY_COCA, TINY_MODEL, run_cli, use_tiny_models
from tests.core.test_embedder import PROMPTS
from tests.synthetic import render


@pytest.fixture
def auto(monkeypatch):
    """The choice left to clipdesk (the suite itself pins fp32: conftest.py)."""
    monkeypatch.delenv(PRECISION_ENV)


@pytest.mark.parametrize("native", [True, False])
def test_a_cpu_computes_in_bf16_only_where_it_has_bf16_itself(auto, monkeypatch, native):
    monkeypatch.setattr(device, "_cpu_has_bf16", lambda: native)
    assert precision_for("cpu") == ("bf16" if native else "fp32")
    assert precision_for("cuda") == "fp16"


def test_the_precision_can_be_chosen_and_a_wrong_choice_says_what_is_right(monkeypatch,
                                                                            tmp_path):
    monkeypatch.setenv(PRECISION_ENV, " BF16 ")
    assert precision_for("cpu") == "bf16"
    assert load_model(TINY_MODEL, "cpu").dtype == torch.bfloat16
    monkeypatch.setenv(PRECISION_ENV, "fp8")
    with pytest.raises(ClipdeskError, match=r"CLIPDESK_PRECISION must be one of fp32, fp16, "
                                            r"bf16 \(or not set\), not 'fp8'") as caught:
        load_model(TINY_MODEL, "cpu")
    assert not isinstance(caught.value, ModelLoadError)  # the app offers no model folder
    home = tmp_path / "home"
    use_tiny_models(home)
    render("red", "circle", "white", (320, 240)).save(tmp_path / "red.jpg")
    result = run_cli("--home", str(home), "index", str(tmp_path), "--model", TINY_MODEL)
    assert result.rc == 1 and result.err.count("\n") == 1
    assert "CLIPDESK_PRECISION must be one of" in result.err


def loaded_in(precision: str, monkeypatch) -> LoadedModel:
    monkeypatch.setenv(PRECISION_ENV, precision)
    return load_model(TINY_MODEL, "cpu")


@pytest.mark.parametrize("low", ["bf16", "fp16"])  # fp16: a GPU's, run here on the CPU
def test_low_precision_vectors_are_within_cosine_0_99_of_fp32(monkeypatch, low):
    monkeypatch.setenv(int8_tower.INT8_ENV, "0")  # fp32's photo vectors from torch itself
    images = [render(c, s, bg, (320, 240), seed=i) for i, (c, s, bg) in enumerate(
        [("red", "circle", "white"), ("blue", "square", "gray"), ("green", "triangle", "black"),
         ("yellow", "circle", "gray"), ("purple", "square", "white")])]
    vectors = {}
    for precision in ("fp32", low):
        embedder = Embedder(loaded_in(precision, monkeypatch))
        # it really computes in that format: the image and text towers' weights hold it
        dtype = getattr(torch, PRECISIONS[precision])
        model = embedder.loaded.model
        assert model.visual.conv1.weight.dtype == dtype
        assert model.transformer.resblocks[0].mlp.c_fc.weight.dtype == dtype
        vectors[precision] = (embedder.encode_images([embedder.prepare(i) for i in images]),
                              embedder.encode_texts(PROMPTS),
                              np.stack([embedder.encode_text(t) for t in PROMPTS]))
    assert vectors[low][0].dtype == np.float32  # stored and searched as before
    for full, reduced in zip(vectors["fp32"], vectors[low], strict=True):
        cosines = (full * reduced).sum(axis=1)
        assert cosines.min() >= 0.99, cosines


@pytest.mark.parametrize("low", ["bf16", "fp16"])
def test_a_library_indexed_in_low_precision_finds_what_fp32_finds(monkeypatch, tmp_path,
                                                                  photo_library, low):
    from tests.test_cli import QUERIES

    monkeypatch.setenv(PRECISION_ENV, low)
    home = tmp_path / "home"
    use_tiny_models(home)
    assert run_cli("--home", str(home), "index", str(photo_library.root),
                   "--model", TINY_MODEL).rc == 0
    found = wanted = 0
    for color, shape in QUERIES:
        expected = {str(p) for p in photo_library.paths_of(color, shape)}
        result = run_cli("--home", str(home), "search", f"a {color} {shape}", "-k",
                         str(len(expected)), "--all", "--json")
        hits = [h["path"] for h in json.loads(result.out)]
        assert hits[0] in expected, f"a {color} {shape}: got {hits[0]}"
        found += len(expected & set(hits))
        wanted += len(expected)
    assert found / wanted >= 0.9  # the bar the fp32 suite holds (tests/test_cli.py)


@pytest.mark.parametrize("low", ["bf16", "fp16"])
def test_the_caption_model_writes_in_fp32_where_clip_computes_in_low_precision(monkeypatch,
                                                                                low):
    """open_clip's CoCa fails in fp16/bf16 (it mixes number formats in generate)."""
    photo = render("blue", "square", "white", (320, 240), seed=3)
    written = {}
    for precision in ("fp32", low):
        monkeypatch.setenv(PRECISION_ENV, precision)
        loaded = load_model(TINY_COCA, "cpu")
        assert loaded.dtype == torch.float32
        assert next(loaded.model.parameters()).dtype == torch.float32
        written[precision] = captions.write_caption(loaded, photo)
    assert "blue square" in written[low].lower()
    assert written[low] == written["fp32"]
