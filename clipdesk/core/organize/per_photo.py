"""One photo's step of a model pass after indexing (reading text, finding faces): a photo
that cannot be read is that photo's problem, and the pass goes on."""
from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import TypeVar

from clipdesk.core.errors import ClipdeskError, ModelLoadError
from clipdesk.core.types import Problem

log = logging.getLogger(__name__)
T = TypeVar("T")


def guarded(path: bytes, doing: str, work: Callable[[], T]) -> T | Problem:
    """`work()`'s result, or the Problem of the photo at `path` when it fails; `doing`
    says what failed ("read its text"). A model that cannot load stops the whole pass
    (ModelLoadError: one line, before any photo is counted against)."""
    try:
        return work()
    except ModelLoadError:
        raise
    except ClipdeskError as exc:
        log.warning("%s: could not %s: %s", os.fsdecode(path), doing, exc)
        return Problem(path, "error", str(exc))
    except Exception as exc:  # the model failing on one photo must not stop the pass
        log.exception("%s: could not %s", os.fsdecode(path), doing)
        return Problem(path, "error", f"{os.fsdecode(path)}: cannot {doing} (internal "
                                      f"error: {type(exc).__name__})")
