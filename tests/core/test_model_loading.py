"""Loading models in a hostile world: torch imported once, one lock per model, offline
said in one line within seconds and remembered, downloads that show their progress.

Only the hub is faked: either open_clip's hf_hub_download (in this process) or a local
HTTP server that speaks the hub's download protocol to the real huggingface_hub client
(in a subprocess whose HF_ENDPOINT points at it).
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import pty
import re
import shutil
import socket
import struct
import subprocess
import sys
import termios
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import huggingface_hub.constants
import open_clip
import pytest
from PIL import Image

from clipdesk.core.errors import ModelLoadError
from clipdesk.core.models import loading
from clipdesk.core.models.loading import forget_failures, load_model
from clipdesk.core.models.spec import DEFAULT_MODEL
from tests.conftest import REPO, TINY_MODEL, use_tiny_models

TINY_DIR = Path(TINY_MODEL.removeprefix("local-dir:"))
WEIGHTS = "open_clip_model.safetensors"
CHUNK = 10 * 1024 * 1024  # huggingface_hub writes what it downloads 10 MB at a time


# -- helpers ----------------------------------------------------------------------------

def run_python(code: str, *args: str, env: dict[str, str] | None = None,
               timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code, *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)


def online_env(tmp_path: Path, endpoint: str) -> dict[str, str]:
    """A fresh Hugging Face cache and a hub at `endpoint` (conftest sets HF_HUB_OFFLINE)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    env.update(HF_ENDPOINT=endpoint, HF_HOME=str(tmp_path / "hf-home"), PYTHONPATH=str(REPO))
    return env


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def photos(folder: Path, n: int = 3) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.new("RGB", (96, 64), (60 * i, 200, 90)).save(folder / f"IMG_{i}.jpg")
    return folder


class FakeHub(ThreadingHTTPServer):
    """The hub's download protocol (HEAD and GET /ORG/REPO/resolve/REV/FILE) over local
    folders. The first download of a file named in `hold` stops after CHUNK + 1 MB until
    released."""

    daemon_threads = True

    def __init__(self, repos: dict[str, Path]) -> None:
        super().__init__(("127.0.0.1", 0), _HubHandler)
        self.repos = repos
        self.hold: dict[str, threading.Event] = {}
        self.held = threading.Event()  # a held file is half sent
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _HubHandler(BaseHTTPRequestHandler):
    server: FakeHub

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def do_GET(self) -> None:
        self._serve(body=True)

    def _serve(self, body: bool) -> None:
        parts = self.path.split("?")[0].strip("/").split("/")
        folder = self.server.repos.get("/".join(parts[:2]))
        path = folder / "/".join(parts[4:]) if folder and parts[2:3] == ["resolve"] else None
        if path is None or not path.is_file():
            self.send_response(404)
            self.send_header("X-Error-Code", "EntryNotFound")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        data = path.read_bytes()
        self.send_response(200)
        self.send_header("X-Repo-Commit", "0123456789abcdef0123456789abcdef01234567")
        self.send_header("ETag", f'"{hashlib.sha256(data).hexdigest()}"')
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if not body:
            return
        release = self.server.hold.pop(path.name, None)  # only the first request waits
        if release is None:
            self.wfile.write(data)
            return
        split = CHUNK + 1024 * 1024
        self.wfile.write(data[:split])
        self.wfile.flush()
        self.server.held.set()
        release.wait(60)  # bounded, so that a failing test ends
        self.wfile.write(data[split:])

    def log_message(self, *args) -> None:
        pass


def big_tiny_repo(folder: Path) -> Path:
    """The tiny model as a hub repository whose weights span two download chunks: the
    same tensors, with 12 MB of padding in the safetensors header's metadata."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(TINY_DIR / "open_clip_config.json", folder)
    raw = (TINY_DIR / WEIGHTS).read_bytes()
    size = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + size])
    header["__metadata__"] = {**header.get("__metadata__", {}), "padding": "x" * (CHUNK + 2**21)}
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    (folder / WEIGHTS).write_bytes(struct.pack("<Q", len(text)) + text + raw[8 + size:])
    return folder


# -- 1. torch is imported in one place, once ----------------------------------------------

POLL_WHILE_LOADING = """
import json, sys, threading
from clipdesk.core.models.loading import load_model
from clipdesk.qt import background

loader = threading.Thread(target=load_model, args=(sys.argv[1], "cpu"))
polls, errors = 0, []
loader.start()
while loader.is_alive():
    polls += 1
    try:
        background.has_gpu()
    except Exception as exc:
        errors.append(f"{type(exc).__name__}: {exc}")
loader.join()
print(json.dumps({"polls": polls, "errors": len(errors), "first": errors[:1],
                  "torch": "torch" in sys.modules}))
"""


def test_asking_for_a_gpu_while_torch_is_being_imported_never_crashes():
    """The app asks has_gpu() on the GUI thread while the first model load imports torch
    on another: it must answer (False) rather than read a half-imported torch."""
    result = run_python(POLL_WHILE_LOADING, TINY_MODEL)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["torch"] and report["polls"] > 0
    assert report["errors"] == 0, report["first"]


def test_torch_is_imported_only_by_models():
    sources = (REPO / "clipdesk").rglob("*.py")
    importers = sorted(str(p.relative_to(REPO)) for p in sources
                       if re.search(r"^\s*(import torch|from torch)\b", p.read_text(), re.M))
    assert importers == ["clipdesk/core/models/imports.py"]


# -- 2. one load lock per model -----------------------------------------------------------

def test_a_slow_download_does_not_hold_up_another_model(monkeypatch):
    requested, release = threading.Event(), threading.Event()

    def hf_hub_download(repo_id, filename, **kwargs):  # the hub edge, slow for this repo
        requested.set()
        release.wait(120)
        path = TINY_DIR / filename
        if not path.is_file():
            raise FileNotFoundError(f"{repo_id}/{filename} not on the fake hub")
        return str(path)

    monkeypatch.setattr(open_clip.pretrained, "hf_hub_download", hf_hub_download)
    monkeypatch.setattr(loading, "_cache", {})
    slow_result: dict = {}
    slow = threading.Thread(target=lambda: slow_result.update(
        loaded=load_model("hf-hub:clipdesk/slow-tiny", device="cpu")))
    quick_done = threading.Event()
    quick = threading.Thread(target=lambda: (load_model(TINY_MODEL, device="cpu"),
                                             quick_done.set()))
    slow.start()
    try:
        assert requested.wait(60), "the slow load never reached the hub"
        quick.start()
        # bounded so that a failing test ends; on a single lock this waits for `release`
        assert quick_done.wait(120), "loading one model waited for another model's download"
        assert slow.is_alive() and not release.is_set()
    finally:
        release.set()
        slow.join()
        if quick.ident:
            quick.join()
    assert slow_result["loaded"].spec.id == "hf-hub:clipdesk/slow-tiny"


# -- 3. offline is said at once, in one line, and remembered --------------------------------

INDEX_TIMEOUT_S = 600


@pytest.mark.parametrize("where", ["closed port", "unroutable", "HF_HUB_OFFLINE"])
def test_offline_index_fails_in_one_line_that_names_the_way_out(tmp_path, where):
    endpoint = {"closed port": f"http://127.0.0.1:{closed_port()}",
                "unroutable": "http://10.255.255.1", "HF_HUB_OFFLINE": "https://huggingface.co"}
    env = online_env(tmp_path, endpoint[where])
    if where == "HF_HUB_OFFLINE":
        env["HF_HUB_OFFLINE"] = "1"
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "clipdesk", "--home", str(tmp_path / "home"), "index",
         str(photos(tmp_path / "photos"))],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=INDEX_TIMEOUT_S)
    seconds = time.monotonic() - started
    print(f"offline ({where}): exit {result.returncode} after {seconds:.1f} s: {result.stderr}")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr and "huggingface" not in lines[0].lower()
    assert "local-dir:FOLDER" in lines[0] and DEFAULT_MODEL in lines[0]
    assert "local_files_only" not in lines[0] and "--" not in lines[0]


def test_offline_captions_say_how_to_turn_them_off(tmp_path):
    image = photos(tmp_path / "photos", 1) / "IMG_0.jpg"
    result = subprocess.run(
        [sys.executable, "-m", "clipdesk", "--home", str(tmp_path / "home"), "caption", str(image)],
        cwd=REPO, env=online_env(tmp_path, f"http://127.0.0.1:{closed_port()}"),
        capture_output=True, text=True, timeout=INDEX_TIMEOUT_S)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Tags > Captions > Off" in lines[0] and "Traceback" not in result.stderr


class CountingEndpoint:
    """A hub endpoint that accepts connections and hangs up: counts network attempts."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1  # before hanging up: the client cannot have failed yet
            conn.close()


def test_a_failed_download_is_remembered_until_forgotten(monkeypatch, tmp_path):
    endpoint = CountingEndpoint()
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", endpoint.url)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(loading, "_cache", {})
    try:
        with pytest.raises(ModelLoadError) as first:
            load_model(DEFAULT_MODEL, device="cpu")
        assert endpoint.connections == 1
        with pytest.raises(ModelLoadError) as second:
            load_model(DEFAULT_MODEL, device="cpu")
        assert str(second.value) == str(first.value)
        assert endpoint.connections == 1  # said again at once, without the network
        forget_failures()
        with pytest.raises(ModelLoadError):
            load_model(DEFAULT_MODEL, device="cpu")
        assert endpoint.connections == 2
    finally:
        endpoint.sock.close()
    assert "cannot be reached" in str(first.value) and "\n" not in str(first.value)


def test_a_model_in_the_hugging_face_cache_loads_without_the_network(tmp_path):
    hub = FakeHub({"clipdesk/tiny": TINY_DIR})
    folder = photos(tmp_path / "photos")

    def index(home: str, endpoint: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "clipdesk", "--home", str(tmp_path / home), "index",
             str(folder), "--model", "hf-hub:clipdesk/tiny"],
            cwd=REPO, env=online_env(tmp_path, endpoint), capture_output=True, text=True,
            timeout=INDEX_TIMEOUT_S)

    try:
        first = index("home1", hub.url)  # downloads into the (fresh) cache
    finally:
        hub.shutdown()
    assert first.returncode == 0, first.stderr
    endpoint = CountingEndpoint()
    try:
        second = index("home2", endpoint.url)  # the same cache, and a hub that hangs up
    finally:
        endpoint.sock.close()
    assert second.returncode == 0, second.stderr
    assert endpoint.connections == 0 and second.stderr == ""
    assert "Indexed 3 photos" in second.stdout


# -- 4. a download shows its progress ---------------------------------------------------------

INDEX_WITH_PROGRESS = """
import json, sys
from clipdesk.core.library import Library

lib = Library(sys.argv[1])
for step in lib.index([sys.argv[2]], model=sys.argv[3]):
    embedded = step.summary.embedded if step.summary else None
    print(json.dumps({"phase": step.phase, "done": step.done, "total": step.total,
                      "message": step.message, "embedded": embedded}), flush=True)
"""


def test_indexing_shows_the_download_of_its_model(tmp_path):
    repo = big_tiny_repo(tmp_path / "repo")
    size = (repo / WEIGHTS).stat().st_size
    hub = FakeHub({"clipdesk/big-tiny": repo})
    release = hub.hold[WEIGHTS] = threading.Event()
    home = tmp_path / "home"
    use_tiny_models(home)
    process = subprocess.Popen(
        [sys.executable, "-c", INDEX_WITH_PROGRESS, str(home), str(photos(tmp_path / "photos")),
         "hf-hub:clipdesk/big-tiny"],
        cwd=REPO, env=online_env(tmp_path, hub.url), stdout=subprocess.PIPE, text=True)
    steps, while_held = [], []
    try:
        for line in process.stdout:
            step = json.loads(line)
            steps.append(step)
            if step["phase"] == "download" and step["done"] and not release.is_set():
                while_held.append(step)  # the hub has sent one chunk and waits
                release.set()
    finally:
        release.set()
        process.wait(INDEX_TIMEOUT_S)
        hub.shutdown()
    assert process.returncode == 0
    assert while_held, f"no download progress in {[s['phase'] for s in steps]}"
    step = while_held[0]
    assert CHUNK <= step["done"] < size and step["total"] == size
    assert step["message"] == (f"Downloading the model… {step['done'] / 1e6:,.0f} of "
                               f"{size / 1e6:,.0f} MB")
    assert steps[-1]["phase"] == "done" and steps[-1]["embedded"] == 3


def test_the_cli_shows_the_download_on_a_terminal_only(tmp_path):
    hub = FakeHub({"clipdesk/big-tiny": big_tiny_repo(tmp_path / "repo")})
    folder = photos(tmp_path / "photos")

    def command(home: str) -> list[str]:
        return [sys.executable, "-m", "clipdesk", "--home", str(tmp_path / home), "index",
                str(folder), "--model", "hf-hub:clipdesk/big-tiny"]

    try:
        piped = subprocess.run(command("home1"), cwd=REPO,
                               env=online_env(tmp_path / "piped", hub.url), capture_output=True,
                               text=True, timeout=INDEX_TIMEOUT_S)
        leader, follower = pty.openpty()
        # a terminal 100 columns wide (a new pty has 0, where tqdm draws nothing)
        fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
        on_tty = subprocess.Popen(command("home2"), cwd=REPO,
                                  env=online_env(tmp_path / "tty", hub.url),
                                  stdout=subprocess.PIPE, stderr=follower)
        os.close(follower)
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closes with the process
                break
            if not chunk:
                break
            shown += chunk
        on_tty.wait(INDEX_TIMEOUT_S)
        os.close(leader)
    finally:
        hub.shutdown()
    assert piped.returncode == 0 and on_tty.returncode == 0, piped.stderr
    assert WEIGHTS not in piped.stderr and "%|" not in piped.stderr
    text = shown.decode("utf-8", "replace")
    assert WEIGHTS in text and "100%" in text, text
