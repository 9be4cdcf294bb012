"""Where clipdesk keeps its data. `--home` or CLIPDESK_HOME overrides everything."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import platformdirs

from clipdesk.core.errors import ClipdeskError

ENV_HOME = "CLIPDESK_HOME"


def default_home() -> Path:
    return Path(platformdirs.user_data_dir("clipdesk", appauthor=False)).absolute()


def home_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The folder holding the catalog, the vector index, thumbnails and settings; a
    ClipdeskError (one line) when it cannot be made or written."""
    if override:
        path = Path(override)
    elif os.environ.get(ENV_HOME):
        path = Path(os.environ[ENV_HOME])
    else:
        path = default_home()
    path = path.expanduser().absolute()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ClipdeskError(f"the data folder {path} is a file, not a folder; move it or "
                            "choose another folder with --home") from None
    except OSError as exc:
        raise unusable_home(path, exc) from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise unusable_home(path, PermissionError(13, "Permission denied"))
    return path


def unusable_home(path: Path, exc: OSError) -> ClipdeskError:
    reason = exc.strerror or str(exc)
    return ClipdeskError(f"cannot write to the data folder {path} ({reason.lower()}); make it "
                         "writable or choose another folder with --home")


def catalog_path(home: Path) -> Path:
    return home / "catalog.sqlite"


def index_dir(home: Path) -> Path:
    return home / "index"


def fingerprint(text: str) -> str:
    """A short hex name for any text (a model id holds '/' and ':'; a vocabulary is long)."""
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def index_path(home: Path, model_id: str) -> Path:
    """The vector index file of one model."""
    return index_dir(home) / f"{fingerprint(model_id)}.hnsw"


def prompt_cache_path(home: Path, model_id: str) -> Path:
    """One model's cache of encoded tag prompts."""
    return home / f"prompts-{fingerprint(model_id)}.npz"


def thumbnail_path(home: Path, content_hash: str) -> Path:
    """Thumbnails are named by content, so a moved photo keeps its thumbnail."""
    return home / "thumbs" / content_hash[:2] / f"{content_hash}.jpg"
