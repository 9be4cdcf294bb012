"""lock: one indexer per library, across processes, released however the holder ends."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from clipdesk.core.errors import LibraryBusyError
from clipdesk.core.store.lock import index_lock

HOLD = """
import sys, time
from pathlib import Path
from clipdesk.core.store.lock import index_lock
with index_lock(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(600)
"""


def test_a_second_holder_is_refused_at_once_naming_the_first(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        with pytest.raises(LibraryBusyError, match=f"process {holder.pid}.*--wait"), \
                index_lock(tmp_path):
            pass
        holder.kill()  # killed, not closed: the system drops the lock
        holder.wait()
        with index_lock(tmp_path):
            pass
    finally:
        holder.kill()
        holder.wait()


def test_the_lock_is_free_again_after_a_run(tmp_path):
    with index_lock(tmp_path):
        assert (tmp_path / "index.lock").read_text() == str(os.getpid())
    # a second open of the file: flock refuses it as it would another process
    with index_lock(tmp_path), pytest.raises(LibraryBusyError), index_lock(tmp_path):
        pass
