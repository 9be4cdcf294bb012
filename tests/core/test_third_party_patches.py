"""clipdesk patches three third-party internals; each test here fails, saying which
assumption broke, when an upgrade changes what a patch relies on. Written against torch
2.14.1, open_clip_torch 3.3.0, huggingface_hub 0.36.2, transformers 4.56.2 and timm
1.0.31.

- skip_init.py wraps torch.nn.init's initialisers so a model is built without drawing
  random weights that its checkpoint overwrites anyway;
- download.py wraps open_clip.pretrained.hf_hub_download, open_clip's one door to the hub,
  to load from the Hugging Face cache first;
- imports.py imports open_clip with sys.modules['transformers'] and ['timm'] = None, and
  reloads open_clip's modules that use one when a model needs it.
"""
from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import huggingface_hub
import open_clip
import pytest
import torch

from clipdesk.core.models import download
from clipdesk.core.models.imports import OPTIONAL_USERS
from clipdesk.core.models.skip_init import INITIALISERS, weights_from_checkpoint
from tests.conftest import REPO, TINY_MODEL

# -- torch.nn.init wrappers -------------------------------------------------------------


def test_every_wrapped_initialiser_is_still_in_torch_nn_init():
    missing = [name for name in INITIALISERS if not callable(getattr(torch.nn.init, name, None))]
    assert not missing, (f"torch {torch.__version__} has no torch.nn.init.{missing}: "
                         "skip_init.INITIALISERS must follow torch's initialisers")


def initialisers_run(build) -> set[str]:
    """The public functions of torch/nn/init.py that ran (in this thread) during build()."""
    init_file = torch.nn.init.__file__
    ran: set[str] = set()

    def profile(frame, event, arg):
        if event == "call" and frame.f_code.co_filename == init_file:
            ran.add(frame.f_code.co_name)

    sys.setprofile(profile)
    try:
        build()
    finally:
        sys.setprofile(None)
    return {name for name in ran if not name.startswith("_") and name != "calculate_gain"}


def test_open_clip_models_initialise_only_through_the_wrapped_initialisers():
    """Built as usual, the tiny model runs torch's initialisers (so the check sees them);
    built within weights_from_checkpoint() it runs none but the known BYPASSED ones: the
    initialisers its constructors call are looked up on torch.nn.init at call time, and
    wrapped."""
    def build() -> None:
        open_clip.create_model(TINY_MODEL)

    with weights_from_checkpoint():  # installs the wrappers; then off, to see them pass
        pass
    usual = initialisers_run(build)
    assert usual, "open_clip's constructors no longer call torch.nn.init: check skip_init"
    assert usual <= set(INITIALISERS), (
        f"open_clip/torch now initialise with torch.nn.init.{sorted(usual - set(INITIALISERS))}"
        ", which skip_init.INITIALISERS does not wrap")
    with weights_from_checkpoint():
        skipped = initialisers_run(build)
    assert skipped == BYPASSED, (
        f"torch.nn.init.{sorted(skipped)} ran within weights_from_checkpoint(), "
        f"{sorted(BYPASSED)} expected: the model's constructors reach torch's initialisers "
        "other than through the torch.nn.init module (see skip_init.py)")


# torch 2.14.1's nn.MultiheadAttention (torch/nn/modules/activation.py) binds these at its
# own import (`from torch.nn.init import constant_, xavier_uniform_`), so the wrappers do
# not reach its _reset_parameters: its projections still draw random weights (harmless:
# the checkpoint overwrites them). A change here is a change in what skip_init saves.
BYPASSED = {"constant_", "xavier_uniform_"}


# -- open_clip's door to the hub ----------------------------------------------------------


def test_open_clip_fetches_hub_files_through_its_module_global_hf_hub_download(monkeypatch):
    """The hub edge replaces open_clip.pretrained.hf_hub_download; that only works while
    download_pretrained_from_hf looks the name up there at call time."""
    assert hasattr(open_clip.pretrained, "hf_hub_download"), (
        f"open_clip {open_clip.__version__} has no pretrained.hf_hub_download: "
        "download._install_hub_edge wraps nothing")
    asked: list[dict] = []

    def hub(*args, **kwargs):  # the hub client under the edge: nothing in the cache
        asked.append(kwargs)
        raise huggingface_hub.errors.LocalEntryNotFoundError("not in the cache")

    monkeypatch.setattr(open_clip.pretrained, "hf_hub_download", hub)
    with download.cache_only() as missed, pytest.raises(FileNotFoundError):
        open_clip.pretrained.download_pretrained_from_hf("clipdesk/not-cached")
    assert asked, ("open_clip.pretrained.download_pretrained_from_hf no longer calls the "
                   "module's hf_hub_download: the hub edge is bypassed")
    assert all(kwargs.get("local_files_only") is True for kwargs in asked), (
        "a hub download went past the edge without local_files_only")
    assert missed, "the edge did not see the cache miss"


def test_no_other_open_clip_module_reaches_the_hub():
    """Only pretrained.py (the wrapped door) downloads from the hub; a new caller would
    load without the cache-first edge."""
    folder = Path(open_clip.__file__).parent
    callers = sorted(p.name for p in folder.glob("*.py")
                     if _calls(p, "hf_hub_download") or _calls(p, "snapshot_download"))
    assert callers == ["pretrained.py"], (
        f"open_clip {open_clip.__version__} calls the hub from {callers}: the hub edge "
        "(download._install_hub_edge) wraps only pretrained.hf_hub_download")


def _calls(path: Path, name: str) -> bool:
    tree = ast.parse(path.read_text())
    return any(isinstance(node, ast.Call) and (
        getattr(node.func, "id", None) == name or getattr(node.func, "attr", None) == name)
        for node in ast.walk(tree))


def test_a_cache_only_lookup_of_a_missing_file_raises_local_entry_not_found(tmp_path):
    """The edge tells "not in the cache" (go to the hub) from other failures by this
    exception."""
    with pytest.raises(huggingface_hub.errors.LocalEntryNotFoundError):
        huggingface_hub.hf_hub_download("clipdesk/not-cached", "open_clip_model.safetensors",
                                        cache_dir=tmp_path, local_files_only=True)


def test_the_hub_client_names_the_edge_uses_still_exist():
    from huggingface_hub import constants, file_download, utils

    for owner, name in [(constants, "HF_HUB_OFFLINE"), (constants, "ENDPOINT"),
                        (constants, "HF_HUB_CACHE"), (file_download, "repo_folder_name"),
                        (utils, "get_session"), (utils, "build_hf_headers")]:
        assert hasattr(owner, name), (f"huggingface_hub {huggingface_hub.__version__} has no "
                                      f"{owner.__name__}.{name}: see download.py")


# -- open_clip without transformers and timm ----------------------------------------------


@pytest.mark.parametrize("package", sorted(OPTIONAL_USERS))
def test_the_modules_reloaded_for_a_package_are_the_ones_that_import_it(package):
    """imports.py reloads OPTIONAL_USERS[package] once the package is wanted: the open_clip
    modules that import it at their own import (not inside a function)."""
    folder = Path(open_clip.__file__).parent
    users = sorted(p.stem for p in folder.glob("*.py") if _imports_at_load(p, package))
    assert users == sorted(OPTIONAL_USERS[package]), (
        f"open_clip {open_clip.__version__} imports {package} at import in {users}, "
        f"imports.OPTIONAL_USERS says {sorted(OPTIONAL_USERS[package])}")


def _imports_at_load(path: Path, package: str) -> bool:
    def top_level(body: list[ast.stmt]):
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            yield node
            for field in ("body", "orelse", "finalbody", "handlers"):
                yield from top_level(getattr(node, field, []))

    for node in top_level(ast.parse(path.read_text()).body):
        names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                 else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
        if any(n == package or n.startswith(f"{package}.") for n in names):
            return True
    return False


HELD_BACK = """
import json, sys
from clipdesk.core.models.imports import open_clip_module

def timm_tower(oc):
    try:
        oc.model.TimmModel("resnet18", embed_dim=8, image_size=32)
        return True
    except RuntimeError:  # open_clip's "Please install the latest timm"
        return False

def seen(oc):
    return {"loaded": [name in sys.modules for name in ("transformers", "timm")],
            "hf_model": getattr(oc.hf_model, "transformers", "gone") is not None,
            "coca_model": getattr(oc.coca_model, "_has_transformers", "gone"),
            "timm_model": getattr(oc.timm_model, "timm", "gone") is not None,
            "timm_tower": timm_tower(oc)}

held = seen(open_clip_module())
timm = seen(open_clip_module(timm=True))
both = seen(open_clip_module(transformers=True))
print(json.dumps({"held": held, "timm": timm, "both": both}))
"""


def test_open_clip_imports_with_transformers_and_timm_held_back_and_takes_each_when_wanted():
    """Held back: open_clip imports, and its users of transformers and timm keep the 'not
    installed' state their classes check (hf_model.transformers None,
    coca_model._has_transformers False, timm_model.timm None: a timm image tower refuses
    to build); after each reload they have it, and a timm tower builds."""
    result = subprocess.run([sys.executable, "-c", HELD_BACK], cwd=REPO, capture_output=True,
                            text=True, timeout=300, env=_env())
    assert result.returncode == 0, ("open_clip no longer imports without transformers and "
                                    f"timm:\n{result.stderr}")
    seen = json.loads(result.stdout)
    version = f"open_clip {open_clip.__version__}"
    assert seen["held"] == {"loaded": [False, False], "hf_model": False, "coca_model": False,
                            "timm_model": False, "timm_tower": False}, (
        f"{version} with transformers and timm held back: {seen['held']}")
    assert seen["timm"] == {"loaded": [False, True], "hf_model": False, "coca_model": False,
                            "timm_model": True, "timm_tower": True}, (
        f"{version} after the reload for timm: {seen['timm']}")
    assert seen["both"] == {"loaded": [True, True], "hf_model": True, "coca_model": True,
                            "timm_model": True, "timm_tower": True}, (
        f"{version} after the reload for transformers: {seen['both']}")


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO)}
