"""Loading open_clip models: the one way clipdesk gets a model, and the one place that
imports torch.

A model spec is written the way open_clip names models:
  ARCH:TAG            a built-in architecture and a pretrained tag, e.g.
                      ViT-B-32-256:datacomp_s34b_b86k (downloaded once into the
                      Hugging Face cache)
  hf-hub:ORG/REPO     an open_clip model repository on the Hugging Face hub
  local-dir:PATH      a folder with open_clip_config.json and the weights (the hub
                      repositories' layout), for offline machines and custom models

A hub model is first loaded from the Hugging Face cache alone, with no network; only when
its files are missing is the hub asked, after a quick check (seconds) that it answers at
all. A failed hub load is remembered for the process, so an offline machine is told once,
at once, and does not retry on every search or selection (forget_failures() retries).
"""
from __future__ import annotations

import importlib
import json
import logging
import os
import sys
import threading
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future
from concurrent.futures import TimeoutError as StillRunning
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from clipdesk.core.errors import ClipdeskError, ModelLoadError
from clipdesk.core.indexing import cpu
from clipdesk.core.types import Phase, Progress

log = logging.getLogger(__name__)

DEFAULT_MODEL = "ViT-B-32-256:datacomp_s34b_b86k"
HF_PREFIX = "hf-hub:"
LOCAL_PREFIX = "local-dir:"
REACH_TIMEOUT_S = 4.0  # how long the hub may take to answer before we call it offline
HF_WEIGHTS = "open_clip_pytorch_model.bin"
HF_SAFE_WEIGHTS = "open_clip_model.safetensors"

T = TypeVar("T")

# -- torch and open_clip: imported here, once -------------------------------------------

_import_lock = threading.Lock()
_torch: Any = None  # set only after `import torch` has fully completed
_open_clip: Any = None
_open_clip_transformers = False  # whether open_clip saw transformers (see below)


def torch_module() -> Any:
    """torch, imported on first use. Every module gets torch from here: a thread that
    looks at torch while another thread is still importing it sees a half-made module
    (no `torch.cuda` yet), so the module is published only once its import is done."""
    global _torch
    if _torch is None:
        with _import_lock:
            if _torch is None:
                # before OpenMP starts: threads that wait sleep instead of spinning, so
                # the model's threads and the decoders do not steal the cores from each
                # other (a query under load: 280-730 ms spinning, 57 ms sleeping; cpu.py)
                os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
                import torch

                torch.set_num_threads(cpu.torch_threads())
                _torch = torch
    return _torch


def open_clip_module(transformers: bool = False) -> Any:
    """open_clip (which imports torch), imported on first use, after torch.

    open_clip imports Hugging Face transformers at its own import (about 2 s on 2 cores),
    for CoCa's generate() and Hugging Face text towers and tokenizers only; a plain CLIP
    model (the default embedder) uses none of that. So open_clip is first imported with
    transformers held back, and a caller that needs it (`transformers=True`: a model that
    uses it, captions) imports it then, and open_clip's two modules that use it are run
    again (their classes read it from their module globals, as they would have)."""
    global _open_clip, _open_clip_transformers
    torch_module()
    if _open_clip is None:
        with _import_lock:
            if _open_clip is None:
                _open_clip, _open_clip_transformers = _import_open_clip(transformers)
    if transformers and not _open_clip_transformers:
        with _import_lock:
            if not _open_clip_transformers:
                import transformers as _  # noqa: F401  (the real import, now)

                importlib.reload(_open_clip.hf_model)
                importlib.reload(_open_clip.coca_model)
                _open_clip_transformers = True
    return _open_clip


def _import_open_clip(transformers: bool) -> tuple[Any, bool]:
    """Called with _import_lock held: open_clip, and whether it saw transformers."""
    hold_back = not transformers and "transformers" not in sys.modules
    if hold_back:
        sys.modules["transformers"] = None  # type: ignore[assignment]  # import -> ImportError
    try:
        import open_clip
    finally:
        if hold_back and sys.modules.get("transformers", 0) is None:
            del sys.modules["transformers"]
    return open_clip, not hold_back


def _needs_transformers(spec: ModelSpec) -> bool:
    """Whether the model uses Hugging Face transformers through open_clip: a CoCa
    (generate), a Hugging Face text tower or tokenizer (SigLIP's too). Yes when unknown."""
    if spec.source == "local-dir":
        try:
            config = json.loads((Path(spec.location) / "open_clip_config.json").read_text())
            model_cfg = config["model_cfg"]
        except (OSError, ValueError, KeyError, TypeError):
            return True
    elif spec.source == "builtin" and spec.arch:
        model_cfg = open_clip_module().get_model_config(spec.arch)
    else:
        return True  # a hub repository's config is read by open_clip itself
    if not isinstance(model_cfg, dict):
        return True
    text_cfg = model_cfg.get("text_cfg") or {}
    return "multimodal_cfg" in model_cfg or any(str(k).startswith("hf_") for k in text_cfg)


def gpu_known() -> bool:
    """Whether has_gpu() can answer yet (torch has been imported by a model load)."""
    return _torch is not None


def has_gpu() -> bool:
    """Whether torch sees a GPU. Never imports torch (that would freeze a window for
    seconds) and never raises: False until a model load has imported torch."""
    torch = _torch
    if torch is None:
        return False
    try:
        return bool(torch.cuda.is_available())
    except Exception:  # a broken driver is "no GPU", not a crash
        return False


# -- specs ------------------------------------------------------------------------------

@dataclass(frozen=True)
class ModelSpec:
    """A parsed, canonical model spec. `id` is what the catalog records."""

    arch: str | None  # None for hf-hub: and local-dir:
    pretrained: str | None
    source: str  # "builtin" | "hf-hub" | "local-dir"
    location: str  # the repo id or the absolute folder

    @property
    def id(self) -> str:
        if self.source == "builtin":
            return f"{self.arch}:{self.pretrained}"
        prefix = HF_PREFIX if self.source == "hf-hub" else LOCAL_PREFIX
        return prefix + self.location

    @property
    def open_clip_name(self) -> str:
        if self.source == "builtin" and self.arch:
            return self.arch
        return self.id

    @property
    def writes_captions(self) -> bool:
        """A CoCa model: the captions model, whose way out when offline is to turn
        captions off."""
        return "coca" in self.id.lower()


def parse_spec(spec: str) -> ModelSpec:
    spec = spec.strip()
    if spec.startswith(LOCAL_PREFIX):
        folder = spec[len(LOCAL_PREFIX):]
        if not folder:
            raise ModelLoadError("local-dir: needs a folder, e.g. local-dir:~/models/my-clip")
        folder = os.path.abspath(os.path.expanduser(folder))
        return ModelSpec(None, None, "local-dir", folder)
    if spec.startswith(HF_PREFIX):
        repo = spec[len(HF_PREFIX):].strip("/")
        if repo.count("/") != 1:
            raise ModelLoadError(f"hf-hub: needs ORG/REPO, got {spec!r}")
        return ModelSpec(None, None, "hf-hub", repo)
    arch, sep, tag = spec.partition(":")
    if not sep or not arch or not tag:
        raise ModelLoadError(
            f"model spec {spec!r} is not ARCH:TAG, hf-hub:ORG/REPO or local-dir:PATH "
            f"(the default is {DEFAULT_MODEL}); `clipdesk models` lists the choices")
    return ModelSpec(arch, tag, "builtin", arch)


def best_device() -> str:
    torch = torch_module()
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


PRECISION_ENV = "CLIPDESK_PRECISION"
PRECISIONS = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}


def precision_for(device: str) -> str:
    """The number format a model computes in on `device`: fp16 on a GPU; on a CPU bf16
    where the CPU multiplies bf16 itself (AMX or AVX-512 BF16: ViT-B-32 on one core went
    68 -> 16 ms a photo and a text query 36 -> 12 ms, vectors within cosine 0.9999 of
    fp32's), else fp32 (bf16 emulated is slower than fp32). $CLIPDESK_PRECISION (fp32,
    fp16 or bf16) overrides the choice; another value is a ClipdeskError, not a model's
    problem."""
    chosen = os.environ.get(PRECISION_ENV, "").strip().lower()
    if chosen:
        if chosen not in PRECISIONS:
            raise ClipdeskError(f"{PRECISION_ENV} must be one of {', '.join(PRECISIONS)} "
                                f"(or not set), not {chosen!r}")
        return chosen
    if device in ("cuda", "mps"):
        return "fp16"
    return "bf16" if device == "cpu" and _cpu_has_bf16() else "fp32"


def _cpu_has_bf16() -> bool:
    """Whether this CPU computes in bf16 natively (torch's own check, private in 2.x:
    absent means no)."""
    checks = torch_module().cpu
    return any(getattr(checks, name, lambda: False)()
               for name in ("_is_amx_tile_supported", "_is_avx512_bf16_supported"))


@dataclass
class LoadedModel:
    spec: ModelSpec
    model: Any  # open_clip.CLIP (or CustomTextCLIP), in eval mode on `device`
    preprocess: Any  # PIL image -> tensor, the model's own eval transform
    tokenizer: Any
    device: str
    dtype: Any

    @property
    def image_size(self) -> int:
        size = self.model.visual.image_size
        return int(max(size) if isinstance(size, (tuple, list)) else size)


# -- loading ----------------------------------------------------------------------------

_registry_lock = threading.Lock()  # guards the dicts below; held only for a lookup
# (spec id, device, precision) -> the model, or the one-line message of its failed hub load: a
# failure is remembered for the process, so an offline machine is not asked again
_cache: dict[tuple[str, str, str], LoadedModel | str] = {}
_load_locks: dict[tuple[str, str, str], threading.Lock] = {}  # one per model: a slow download
# of one model must not hold up searches with another
_downloads: dict[str, tuple[int, int]] = {}  # spec id -> (bytes so far, bytes in all)


def load_model(spec: str | ModelSpec, device: str | None = None) -> LoadedModel:
    """Load (once per process) the model for `spec` on the best device."""
    parsed = parse_spec(spec) if isinstance(spec, str) else spec
    device = device or best_device()
    key = (parsed.id, device, precision_for(device))
    with _registry_lock:
        lock = _load_locks.setdefault(key, threading.Lock())
    with lock:
        with _registry_lock:
            known = _cache.get(key)
        if isinstance(known, str):
            raise ModelLoadError(known)
        if known is not None:
            return known
        try:
            loaded = _load(parsed, device)
        except ModelLoadError as exc:
            if parsed.source != "local-dir":  # a folder is cheap to look at again
                with _registry_lock:
                    _cache[key] = str(exc)
            raise
        with _registry_lock:
            _cache[key] = loaded
        return loaded


def forget_failures() -> None:
    """Let the next load of a model that failed try the network again (a user's retry)."""
    with _registry_lock:
        for key in [k for k, v in _cache.items() if isinstance(v, str)]:
            del _cache[key]


def download_progress(spec: str | ModelSpec) -> tuple[int, int] | None:
    """(bytes so far, bytes in all; 0 if unknown) while `spec` is being downloaded, else
    None. Safe to poll from any thread."""
    try:
        spec_id = (parse_spec(spec) if isinstance(spec, str) else spec).id
    except ModelLoadError:  # the load itself says what is wrong with the spec
        return None
    with _registry_lock:
        return _downloads.get(spec_id)


def loading(load: Callable[[], T], spec: str) -> Generator[Progress, None, T]:
    """Run `load` (which loads the model of `spec`) on a helper thread and yield a
    Progress("download") now and then while that model is being downloaded; the value of
    `yield from loading(...)` is what `load` returned. Closing the generator does not wait
    for the load: it goes on in the background and lands in the cache."""
    future: Future[T] = Future()

    def run() -> None:
        try:
            future.set_result(load())
        except BaseException as exc:  # handed to the generator's thread below
            future.set_exception(exc)

    threading.Thread(target=run, name="model-load", daemon=True).start()
    while True:
        try:
            return future.result(timeout=0.25)
        except StillRunning:
            state = download_progress(spec)
            if state is not None:
                done, total = state
                yield Progress(Phase.DOWNLOAD, done=done, total=total,
                               message=f"Downloading the model… {_mb(done)} of {_mb(total)} MB")


def _mb(size: int) -> str:
    return f"{size / 1e6:,.0f}" if size else "?"


def _load(spec: ModelSpec, device: str) -> LoadedModel:
    _quiet_hub_logs()
    _hub_state.quiet = True
    try:
        return _load_quietly(spec, device)
    finally:
        _hub_state.quiet = False


def _load_quietly(spec: ModelSpec, device: str) -> LoadedModel:
    if spec.source == "local-dir":
        _check_local_dir(spec.location)
        return _build(spec, device)
    with _hub_local_only() as missed:
        try:
            return _build(spec, device)  # the weights are in the cache: no network at all
        except ModelLoadError:
            if not missed:
                raise
    total = _check_hub_reachable(spec)
    with _watch_download(spec, total):
        return _build(spec, device)


def _build(spec: ModelSpec, device: str) -> LoadedModel:
    open_clip = open_clip_module(transformers=_needs_transformers(spec))
    torch = torch_module()
    precision = precision_for(device)
    log.info("loading model %s on %s (%s)", spec.id, device, precision)
    try:
        if spec.source == "hf-hub":
            # open_clip falls back to random weights with only a warning when the weights
            # cannot be fetched: fetch them first so that failure is an error.
            open_clip.pretrained.download_pretrained_from_hf(spec.location)
        known_tag = spec.source != "builtin" or open_clip.get_pretrained_cfg(spec.arch,
                                                                               spec.pretrained)
        if not known_tag:
            tags = open_clip.list_pretrained_tags_by_model(spec.arch)
            known = ", ".join(f"{spec.arch}:{t}" for t in tags) or "none: unknown architecture"
            raise ModelLoadError(f"no pretrained weights {spec.id!r} in open_clip (known: {known})")
        with _weights_from_checkpoint():
            # every path above loads a checkpoint (require_pretrained: never random weights)
            model, _, preprocess = open_clip.create_model_and_transforms(
                spec.open_clip_name, pretrained=spec.pretrained, precision=precision,
                device=device, require_pretrained=True)
            if precision != "fp32" and hasattr(model, "text_decoder"):
                # open_clip's CoCa in fp16/bf16 mixes number formats and fails in
                # generate() (its pooler's query and text embeddings stay fp32): fp32
                log.info("%s is a CoCa model: loading it again in fp32", spec.id)
                precision = "fp32"
                del model
                model, _, preprocess = open_clip.create_model_and_transforms(
                    spec.open_clip_name, pretrained=spec.pretrained, precision=precision,
                    device=device, require_pretrained=True)
        tokenizer = open_clip.get_tokenizer(spec.open_clip_name)
    except ModelLoadError:
        raise
    except Exception as exc:  # open_clip and the hub raise many kinds; all mean "no model"
        hint = "" if spec.source == "local-dir" else f" ({_way_out(spec)})"
        raise ModelLoadError(f"cannot load model {spec.id}: {_first_line(exc)}{hint}") from exc
    model.eval()
    dtype = getattr(torch, PRECISIONS[precision])
    return LoadedModel(spec, model, preprocess, tokenizer, device, dtype)


# torch's weight initialisers, which a model's constructor runs on every weight
_INITIALISERS = ("uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_",
                 "eye_", "dirac_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
                 "kaiming_normal_", "orthogonal_", "sparse_")
_skip_init = threading.local()


@contextmanager
def _weights_from_checkpoint() -> Iterator[None]:
    """Within, in this thread only, torch's weight initialisers do nothing: the model built
    here gets every weight from its checkpoint (loaded strictly), so drawing random ones
    first is wasted (about 1 s of a ViT-B-32's load on 2 cores). Buffers that are not in
    a checkpoint (the causal text mask) are not made by initialisers."""
    _install_skip_init()
    _skip_init.on = True
    try:
        yield
    finally:
        _skip_init.on = False


def _install_skip_init() -> None:
    """Wrap torch.nn.init's initialisers (once) so that a thread can turn them off."""
    init = torch_module().nn.init
    with _import_lock:
        for name in _INITIALISERS:
            original = getattr(init, name, None)
            if original is None or getattr(original, "clipdesk_skip", False):
                continue

            def initialiser(tensor: Any, *args: Any, _original: Any = original,
                            **kwargs: Any) -> Any:
                if getattr(_skip_init, "on", False):
                    return tensor
                return _original(tensor, *args, **kwargs)

            initialiser.clipdesk_skip = True  # type: ignore[attr-defined]
            setattr(init, name, initialiser)


def _way_out(spec: ModelSpec) -> str:
    if spec.writes_captions:
        return "use a model folder (local-dir:FOLDER) or turn captions off (Tags > Captions > Off)"
    return "use a model folder instead (local-dir:FOLDER, Library > Embedding model…)"


def _offline(spec: ModelSpec, why: str) -> ModelLoadError:
    return ModelLoadError(f"cannot load model {spec.id}: {why}; {_way_out(spec)}")


# -- the hub edge -----------------------------------------------------------------------

_hub_state = threading.local()  # per loading thread: local_only, missed


class _QuietLoad(logging.Filter):
    """While a thread loads a model, open_clip's and the hub's log lines about it (hub
    retries, "Failed to download ...", hub internals) stay out of the terminal unless
    logging is verbose: the ModelLoadError says what happened, in one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        verbose = logging.getLogger().isEnabledFor(logging.INFO)
        return verbose or not getattr(_hub_state, "quiet", False)


_quiet = _QuietLoad()
# open_clip logs through the root logger; these are the hub client's chatty loggers
_QUIET_LOGGERS = ("", "huggingface_hub.utils._http", "huggingface_hub.file_download")


def _quiet_hub_logs() -> None:
    for name in _QUIET_LOGGERS:
        logger = logging.getLogger(name)
        if _quiet not in logger.filters:
            logger.addFilter(_quiet)


class _Missed:
    """Truthy once a cache-only hub lookup found nothing (the files must be downloaded)."""

    def __bool__(self) -> bool:
        return bool(getattr(_hub_state, "missed", False))


@contextmanager
def _hub_local_only() -> Iterator[_Missed]:
    """Within: open_clip's hub downloads in this thread use the cache only."""
    _install_hub_edge()
    _hub_state.local_only, _hub_state.missed = True, False
    try:
        yield _Missed()
    finally:
        _hub_state.local_only = False


def _install_hub_edge() -> None:
    """Wrap open_clip's hf_hub_download (the one door to the hub for open_clip weights and
    configs) so that a thread can ask for the cache only. Re-wrapped if replaced."""
    pretrained = open_clip_module().pretrained
    with _import_lock:
        fetch = pretrained.hf_hub_download
        if getattr(fetch, "clipdesk_edge", False):
            return

        def hf_hub_download(*args: Any, **kwargs: Any) -> str:
            if not getattr(_hub_state, "local_only", False):
                return str(fetch(*args, **kwargs))
            from huggingface_hub.errors import LocalEntryNotFoundError

            try:
                return str(fetch(*args, **{**kwargs, "local_files_only": True}))
            except LocalEntryNotFoundError:
                _hub_state.missed = True
                raise

        hf_hub_download.clipdesk_edge = True  # type: ignore[attr-defined]
        pretrained.hf_hub_download = hf_hub_download


def _hub_weights(spec: ModelSpec) -> tuple[str | None, list[str]]:
    """The hub repository of the spec's weights and the file names open_clip tries, in
    order (None: not on the hub; open_clip 3.3 has no such built-in weights)."""
    if spec.source == "hf-hub":
        return spec.location, [HF_SAFE_WEIGHTS, HF_WEIGHTS]
    cfg = open_clip_module().get_pretrained_cfg(spec.arch, spec.pretrained)
    if not cfg.get("hf_hub"):
        return None, []
    repo, name = os.path.split(cfg["hf_hub"])  # "org/repo/" means the default file name
    name = name or HF_WEIGHTS
    names = [HF_SAFE_WEIGHTS] if name == HF_WEIGHTS else []
    if name != HF_WEIGHTS and name.endswith((".bin", ".pth")):
        names.append(name[:-4] + ".safetensors")
    return repo, names + [name]


def _check_hub_reachable(spec: ModelSpec) -> int:
    """One quick request (no retries) to the hub for the weights: raises the offline
    ModelLoadError within seconds when no hub answers. Returns the size of the weights in
    bytes (0 when the hub does not say)."""
    from huggingface_hub import constants
    from huggingface_hub.utils import build_hf_headers, get_session

    if constants.HF_HUB_OFFLINE:
        raise _offline(spec, "it is not downloaded yet and HF_HUB_OFFLINE is set")
    repo, names = _hub_weights(spec)
    host = constants.ENDPOINT.split("://")[-1]  # HF_ENDPOINT, else huggingface.co
    for name in names:
        url = f"{constants.ENDPOINT}/{repo}/resolve/main/{name}"
        try:
            response = get_session().head(url, headers=build_hf_headers(), allow_redirects=False,
                                          timeout=REACH_TIMEOUT_S)
        except Exception as exc:  # refused, unreachable, DNS, proxy, TLS, timeout
            log.info("hub check %s: %s", url, exc)
            why = f"it is not downloaded yet and {host} cannot be reached (offline?)"
            raise _offline(spec, why) from None
        if response.headers.get("X-Error-Code") == "EntryNotFound":
            continue  # open_clip tries the next name too
        if "X-Repo-Commit" in response.headers:
            size = response.headers.get("X-Linked-Size") or response.headers.get("Content-Length")
            return int(size) if size and size.isdigit() else 0
        if "X-Error-Code" in response.headers:
            return 0  # a hub that says no (no such repository, gated): the load says why
        log.info("hub check %s: HTTP %s without hub headers", url, response.status_code)
        raise _offline(spec, f"it is not downloaded yet and {host} answers, but not as a "
                             "model hub (a proxy or a login page?)")
    return 0


@contextmanager
def _watch_download(spec: ModelSpec, total: int) -> Iterator[None]:
    """Publish download_progress(spec) while the hub writes the weights into the cache
    (the hub writes `blobs/*.incomplete` and renames it when done)."""
    from huggingface_hub import constants
    from huggingface_hub.file_download import repo_folder_name

    repo, _ = _hub_weights(spec)
    if repo is None:
        yield
        return
    folder = repo_folder_name(repo_id=repo, repo_type="model")
    blobs = Path(constants.HF_HUB_CACHE) / folder / "blobs"
    stop = threading.Event()

    def poll() -> None:
        done = 0
        while not stop.wait(0.2):
            done = max(done, sum(_size(p) for p in blobs.glob("*.incomplete")))
            with _registry_lock:
                _downloads[spec.id] = (done, max(total, done))

    watcher = threading.Thread(target=poll, name="model-download-watch", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        stop.set()
        watcher.join()
        with _registry_lock:
            _downloads.pop(spec.id, None)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:  # renamed into place between glob and stat
        return 0


def _check_local_dir(folder: str) -> None:
    if not os.path.isdir(folder):
        raise ModelLoadError(f"model folder {folder} does not exist")
    if not os.path.isfile(os.path.join(folder, "open_clip_config.json")):
        raise ModelLoadError(f"model folder {folder} has no open_clip_config.json")
    weights = [n for n in os.listdir(folder) if n.endswith((".safetensors", ".bin", ".pth"))]
    if not weights:
        raise ModelLoadError(f"model folder {folder} has no weights (.safetensors, .bin or .pth)")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def list_builtin() -> list[str]:
    return [f"{arch}:{tag}" for arch, tag in open_clip_module().list_pretrained()]
