"""Where clipdesk keeps its data. `--home` or CLIPDESK_HOME overrides everything."""
from __future__ import annotations

import os
from pathlib import Path

import platformdirs

ENV_HOME = "CLIPDESK_HOME"


def home_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The folder holding the catalog, the vector index, thumbnails and settings."""
    if override:
        path = Path(override)
    elif os.environ.get(ENV_HOME):
        path = Path(os.environ[ENV_HOME])
    else:
        path = Path(platformdirs.user_data_dir("clipdesk", appauthor=False))
    path = path.expanduser().absolute()
    path.mkdir(parents=True, exist_ok=True)
    return path


def catalog_path(home: Path) -> Path:
    return home / "catalog.sqlite"


def index_dir(home: Path) -> Path:
    return home / "index"


def thumbnail_path(home: Path, content_hash: str) -> Path:
    """Thumbnails are named by content, so a moved photo keeps its thumbnail."""
    return home / "thumbs" / content_hash[:2] / f"{content_hash}.jpg"
