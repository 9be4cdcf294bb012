"""Real model specs resolve through open_clip; only the hub download is faked."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import open_clip
import pytest
from PIL import Image

from clipdesk.core.errors import ModelLoadError
from clipdesk.core.models import loading
from clipdesk.core.models.embedder import Embedder
from clipdesk.core.models.imports import uses_optional
from clipdesk.core.models.loading import load_model
from clipdesk.core.models.skip_init import weights_from_checkpoint
from clipdesk.core.models.spec import DEFAULT_MODEL, parse_spec
from tests.conftest import TINY_MODEL

TINY_DIR = Path(TINY_MODEL.removeprefix("local-dir:"))


@pytest.fixture
def fake_hub(monkeypatch, tmp_path):
    """Stands in for huggingface_hub.hf_hub_download: serves files from `repos`."""
    repos: dict[str, Path] = {}
    calls: list[tuple[str, str]] = []

    def hf_hub_download(repo_id, filename, revision=None, cache_dir=None, **kwargs):
        calls.append((repo_id, filename))
        path = repos.get(repo_id, tmp_path / "missing") / filename
        if not path.is_file():
            raise FileNotFoundError(f"{repo_id}/{filename} not on the fake hub")
        return str(path)

    monkeypatch.setattr(open_clip.pretrained, "hf_hub_download", hf_hub_download)
    monkeypatch.setattr(loading, "_cache", {})
    return repos, calls


def test_default_spec_resolves_through_open_clip(fake_hub, tmp_path):
    repos, calls = fake_hub
    # Random weights in the real architecture: what the download would bring, minus training.
    repo = tmp_path / "vitb32"
    repo.mkdir()
    from safetensors.torch import save_file

    arch = open_clip.create_model("ViT-B-32-256")
    save_file({k: v.half().contiguous() for k, v in arch.state_dict().items()},
              repo / "open_clip_model.safetensors")
    del arch
    repos["laion/CLIP-ViT-B-32-256x256-DataComp-s34B-b86K"] = repo

    loaded = load_model(DEFAULT_MODEL, device="cpu")
    assert calls and calls[0][0] == "laion/CLIP-ViT-B-32-256x256-DataComp-s34B-b86K"
    assert loaded.image_size == 256
    embedder = Embedder(loaded)
    vec = embedder.encode_image(Image.new("RGB", (640, 480), (200, 50, 50)))
    assert vec.shape == (512,) and abs(float(np.linalg.norm(vec)) - 1) < 1e-4
    assert embedder.encode_text("a dog").shape == (512,)


def test_hf_hub_spec_loads_the_same_model_as_local_dir(fake_hub):
    repos, calls = fake_hub
    repos["clipdesk/tiny-clip"] = TINY_DIR
    hub = Embedder(load_model("hf-hub:clipdesk/tiny-clip", device="cpu"))
    local = Embedder(load_model(TINY_MODEL, device="cpu"))
    assert hub.model_id == "hf-hub:clipdesk/tiny-clip"
    assert np.allclose(hub.encode_text("a red circle"), local.encode_text("a red circle"),
                       atol=1e-5)


def test_hub_weights_that_cannot_be_fetched_are_an_error_not_random_weights(fake_hub, tmp_path):
    repos, _ = fake_hub
    config_only = tmp_path / "config-only"
    config_only.mkdir()
    shutil.copy(TINY_DIR / "open_clip_config.json", config_only)
    repos["clipdesk/no-weights"] = config_only
    with pytest.raises(ModelLoadError, match="cannot load model hf-hub:clipdesk/no-weights"):
        load_model("hf-hub:clipdesk/no-weights", device="cpu")


@pytest.mark.parametrize("spec,message", [
    ("ViT-B-32-256", "ARCH:TAG"),
    ("ViT-B-32-256:no_such_tag", "known: ViT-B-32-256:datacomp_s34b_b86k"),
    ("hf-hub:just-a-name", "ORG/REPO"),
    ("local-dir:", "needs a folder"),
])
def test_bad_specs_say_what_is_wrong(spec, message, fake_hub):
    with pytest.raises(ModelLoadError, match=message):
        load_model(spec, device="cpu")


def test_local_dir_spec_is_canonical_and_absolute():
    spec = parse_spec(f"local-dir:{os.path.relpath(TINY_DIR)}")
    assert spec.id == TINY_MODEL


# Which device a model runs on, judged against evidence torch does not give: the GPU's
# device node (Linux), and a process told to see no GPU.
GPU_PRESENT = Path("/dev/nvidia0").exists()


@pytest.mark.skipif(sys.platform != "linux", reason="the device node is Linux's")
def test_a_model_loads_onto_the_gpu_when_there_is_one_else_the_cpu():
    loaded = load_model(TINY_MODEL)  # no device given: the best one
    assert loaded.device == ("cuda" if GPU_PRESENT else "cpu")
    assert {p.device.type for p in loaded.model.parameters()} == {loaded.device}


def test_a_process_that_sees_no_gpu_runs_on_the_cpu():
    result = subprocess.run(
        [sys.executable, "-c",
         "from clipdesk.core.models.device import best_device; print(best_device())"],
        env={**os.environ, "CUDA_VISIBLE_DEVICES": ""}, capture_output=True, text=True,
        timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ("mps" if sys.platform == "darwin" else "cpu")


def test_a_text_search_leaves_transformers_unloaded_and_captions_still_load_it(tmp_path):
    """open_clip imports Hugging Face transformers (seconds) for CoCa and HF text towers
    only: a plain CLIP search goes without it; captions in the same process still work."""
    from tests.conftest import use_tiny_models
    from tests.synthetic import render

    photos = tmp_path / "photos"
    photos.mkdir()
    render("red", "circle", "white", (640, 480), seed=1).save(photos / "red.jpg")
    render("blue", "square", "white", (640, 480), seed=2).save(photos / "blue.jpg")
    home = tmp_path / "home"
    use_tiny_models(home)
    code = (
        "import sys\n"
        "from clipdesk.core.library import Library\n"
        f"lib = Library({str(home)!r})\n"
        f"for _ in lib.index([{str(photos)!r}], model={TINY_MODEL!r}): pass\n"
        "hits = lib.search('a red circle', k=2)\n"
        "assert hits[0].path.endswith(b'red.jpg'), hits\n"
        "assert 'transformers' not in sys.modules, 'a CLIP search imported transformers'\n"
        f"caption = lib.captions.of_file({str(photos / 'red.jpg')!r})\n"
        "assert 'transformers' in sys.modules\n"
        "print(caption)\n")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "red" in result.stdout.lower(), result.stdout  # the tiny CoCa (use_tiny_models)


@pytest.mark.parametrize("spec, wanted", [
    (DEFAULT_MODEL, (False, False)),  # a plain CLIP: every start saves both imports
    ("ViT-B-16-SigLIP2:webli", (True, True)),  # Hugging Face tokenizer, timm image tower
    ("convnext_base_w:laion2b_s13b_b82k", (False, True)),
    ("coca_ViT-B-32:mscoco_finetuned_laion2b_s13b_b90k", (True, False)),  # generate()
    ("hf-hub:timm/ViT-B-16-SigLIP", (True, True)),  # not known before its config is read
])
def test_open_clip_takes_transformers_and_timm_for_the_models_that_use_them(spec, wanted):
    assert uses_optional(parse_spec(spec)) == wanted


TIMM_AFTER_CLIP = """
import sys
from PIL import Image
from clipdesk.core.models.embedder import Embedder
from clipdesk.core.models.loading import load_model

clip = Embedder(load_model(sys.argv[1], "cpu"))
assert 'timm' not in sys.modules, 'a CLIP model without a timm tower imported timm'
timm_tower = Embedder(load_model(sys.argv[2], "cpu"))
print(timm_tower.encode_images([timm_tower.prepare(Image.new("RGB", (64, 48), "red"))]).shape)
"""


def test_a_model_with_a_timm_image_tower_loads_after_a_clip_model_without(tmp_path):
    """open_clip is imported with timm held back for a model that needs none (0.4 s of
    every start); a model whose image tower is timm's (SigLIP's, ConvNeXt's) then loads
    and embeds in the same process (the app switching models)."""
    import json

    from open_clip.model import CLIP
    from safetensors.torch import save_file

    config = json.loads((TINY_DIR / "open_clip_config.json").read_text())
    config["model_cfg"]["vision_cfg"] = {"timm_model_name": "test_convnext", "image_size": 32,
                                         "timm_pool": "avg", "timm_proj": "linear"}
    folder = tmp_path / "timm-tower"
    folder.mkdir()
    (folder / "open_clip_config.json").write_text(json.dumps(config))
    model = CLIP(**config["model_cfg"])
    save_file({k: v.contiguous() for k, v in model.state_dict().items()},
              folder / "open_clip_model.safetensors")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    result = subprocess.run([sys.executable, "-c", TIMM_AFTER_CLIP, TINY_MODEL,
                             f"local-dir:{folder}"], capture_output=True, text=True, env=env,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"(1, {config['model_cfg']['embed_dim']})"


def test_a_model_is_built_without_random_weights_yet_holds_its_checkpoints(monkeypatch):
    """The loader turns torch's initialisers off while it builds (every weight comes from
    the checkpoint), in its own thread only: a model built elsewhere meanwhile is
    initialised as usual."""
    import threading

    import torch

    monkeypatch.setattr(loading, "_cache", {})
    loaded = load_model(TINY_MODEL, device="cpu")
    reference = open_clip.create_model(TINY_MODEL).eval()
    ours, theirs = loaded.model.state_dict(), reference.state_dict()
    assert ours.keys() == theirs.keys()
    assert all(torch.equal(ours[k], theirs[k]) for k in ours)
    assert torch.equal(loaded.model.attn_mask, reference.attn_mask)  # not in a checkpoint

    torch.manual_seed(0)
    expected = torch.nn.Linear(64, 64).weight.detach().clone()
    built = []

    def build() -> None:
        torch.manual_seed(0)
        built.append(torch.nn.Linear(64, 64).weight.detach().clone())

    with weights_from_checkpoint():
        other = threading.Thread(target=build)
        other.start()
        other.join()
    assert torch.equal(built[0], expected)
    build()  # and after it, in this thread
    assert torch.equal(built[1], expected)
