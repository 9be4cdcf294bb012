"""The hub edge: a model's files from the Hugging Face cache or, when missing there, the
hub; offline said at once in one line; download progress.

A hub model is first loaded from the Hugging Face cache alone, with no network; only when
its files are missing is the hub asked, after a quick check (seconds) that it answers at
all.

open_clip fetches every file through `open_clip.pretrained.hf_hub_download`, which this
module wraps (a patch of a third-party module, see _install_hub_edge). Written against
open_clip_torch 3.3.0 and huggingface_hub 0.36.2; tests/core/test_third_party_patches.py
fails when an upgrade changes what it relies on.
"""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future
from concurrent.futures import TimeoutError as StillRunning
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from clipdesk.core.errors import ModelLoadError
from clipdesk.core.models.imports import open_clip_module
from clipdesk.core.models.spec import ModelSpec, parse_spec
from clipdesk.core.types import Phase, Progress

log = logging.getLogger(__name__)

REACH_TIMEOUT_S = 4.0  # how long the hub may take to answer before we call it offline
HF_WEIGHTS = "open_clip_pytorch_model.bin"
HF_SAFE_WEIGHTS = "open_clip_model.safetensors"

T = TypeVar("T")

_lock = threading.Lock()  # guards _downloads and the installing of the hub edge
_downloads: dict[str, tuple[int, int]] = {}  # spec id -> (bytes so far, bytes in all)
_hub_state = threading.local()  # per loading thread: quiet, local_only, missed


def offline(spec: ModelSpec, why: str) -> ModelLoadError:
    return ModelLoadError(f"cannot load model {spec.id}: {why}; {spec.way_out}")


# -- progress ---------------------------------------------------------------------------

def download_progress(spec: str | ModelSpec) -> tuple[int, int] | None:
    """(bytes so far, bytes in all; 0 if unknown) while `spec` is being downloaded, else
    None. Safe to poll from any thread."""
    try:
        spec_id = (parse_spec(spec) if isinstance(spec, str) else spec).id
    except ModelLoadError:  # the load itself says what is wrong with the spec
        return None
    with _lock:
        return _downloads.get(spec_id)


def load_with_progress(load: Callable[[], T], spec: str) -> Generator[Progress, None, T]:
    """Run `load` (which loads the model of `spec`) on a helper thread and yield a
    Progress("download") now and then while that model is being downloaded; the value of
    `yield from load_with_progress(...)` is what `load` returned. Closing the generator
    does not wait for the load: it goes on in the background and lands in the cache."""
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


@contextmanager
def watch_download(spec: ModelSpec, total: int) -> Iterator[None]:
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
            with _lock:
                _downloads[spec.id] = (done, max(total, done))

    watcher = threading.Thread(target=poll, name="model-download-watch", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        stop.set()
        watcher.join()
        with _lock:
            _downloads.pop(spec.id, None)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:  # renamed into place between glob and stat
        return 0


# -- quiet logs -------------------------------------------------------------------------

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


@contextmanager
def quiet_logs() -> Iterator[None]:
    """Within, in this thread: the model load's own log lines stay quiet (_QuietLoad)."""
    for name in _QUIET_LOGGERS:
        logger = logging.getLogger(name)
        if _quiet not in logger.filters:
            logger.addFilter(_quiet)
    _hub_state.quiet = True
    try:
        yield
    finally:
        _hub_state.quiet = False


# -- the cache first, then the hub ------------------------------------------------------

class _Missed:
    """Truthy once a cache-only hub lookup found nothing (the files must be downloaded)."""

    def __bool__(self) -> bool:
        return bool(getattr(_hub_state, "missed", False))


@contextmanager
def cache_only() -> Iterator[_Missed]:
    """Within: open_clip's hub downloads in this thread use the cache only."""
    _install_hub_edge()
    _hub_state.local_only, _hub_state.missed = True, False
    try:
        yield _Missed()
    finally:
        _hub_state.local_only = False


def _install_hub_edge() -> None:
    """Wrap open_clip's hf_hub_download (the one door to the hub for open_clip weights and
    configs) so that a thread can ask for the cache only. Re-wrapped if replaced.

    Relies on (open_clip_torch 3.3.0): open_clip.pretrained binding `hf_hub_download` as a
    module global (a functools.partial over huggingface_hub's) and looking it up there at
    call time in download_pretrained_from_hf, which every hub file of a model goes
    through; and (huggingface_hub 0.36.2) on `local_files_only=True` raising
    huggingface_hub.errors.LocalEntryNotFoundError for a file not in the cache."""
    pretrained = open_clip_module().pretrained
    with _lock:
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


def check_hub_reachable(spec: ModelSpec) -> int:
    """One quick request (no retries) to the hub for the weights: raises the offline
    ModelLoadError within seconds when no hub answers. Returns the size of the weights in
    bytes (0 when the hub does not say)."""
    from huggingface_hub import constants
    from huggingface_hub.utils import build_hf_headers, get_session

    if constants.HF_HUB_OFFLINE:
        raise offline(spec, "it is not downloaded yet and HF_HUB_OFFLINE is set")
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
            raise offline(spec, why) from None
        if response.headers.get("X-Error-Code") == "EntryNotFound":
            continue  # open_clip tries the next name too
        if "X-Repo-Commit" in response.headers:
            size = response.headers.get("X-Linked-Size") or response.headers.get("Content-Length")
            return int(size) if size and size.isdigit() else 0
        if "X-Error-Code" in response.headers:
            return 0  # a hub that says no (no such repository, gated): the load says why
        log.info("hub check %s: HTTP %s without hub headers", url, response.status_code)
        raise offline(spec, f"it is not downloaded yet and {host} answers, but not as a "
                            "model hub (a proxy or a login page?)")
    return 0
