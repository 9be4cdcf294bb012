"""The vector store: the answering model's index (a cache of the catalog's vectors, made
to agree with it) and one long-lived Embedder per model. A model switch swaps the model
and its index at once, so a query never mixes one model's text with another's vectors.

Another process may share the library (`clipdesk index` in a terminal while the app is
open): before each answer the store takes in what that process committed (see
changes.py), and before each save it takes in the index file that process saved, so a
save never drops another process's photos."""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from clipdesk.core.errors import ClipdeskError
from clipdesk.core.models.loading import load_model
from clipdesk.core.paths import index_dir, index_path
from clipdesk.core.store.catalog import Catalog
from clipdesk.core.store.catalog.crops import is_part
from clipdesk.core.store.changes import Watch
from clipdesk.core.store.lock import save_lock
from clipdesk.core.store.settings import Settings
from clipdesk.core.store.vindex import Stamp, VectorIndex, file_stamp

if TYPE_CHECKING:
    from clipdesk.core.models.embedder import Embedder

log = logging.getLogger(__name__)

SAVE_EVERY_S = 300.0  # a kill loses at most this much re-adding work (the catalog has all)
# another process's saved index is loaded (rather than its new vectors added) when they
# are over this share of ours: loading a vector costs about a twentieth of adding one
# (measured at 5k and 20k photos on 2 busy cores: 0.06-0.12 ms against 2-3 ms)
LOAD_SHARE = 0.05


def load_embedder(model_id: str) -> Embedder:
    """An Embedder over the loaded model (may load, or download, for minutes)."""
    from clipdesk.core.models.embedder import Embedder  # torch: imported only when needed

    return Embedder(load_model(model_id))


class VectorStore:
    def __init__(self, home: Path, catalog: Catalog, settings: Settings,
                 make_embedder: Callable[[str], Embedder] = load_embedder) -> None:
        """`make_embedder`: model id -> its Embedder (the unit tests pass a fake)."""
        self.home, self.catalog, self.settings = home, catalog, settings
        self._make_embedder = make_embedder
        self._index: VectorIndex | None = None
        self._index_model: str | None = None  # the model of _index
        # the file _index was loaded from or saved to (another process may save a newer
        # one), and the catalog commits _index holds: checked before answering and saving
        self._stamp: Stamp = None
        self._watch = Watch(catalog)
        # one load/rebuild at a time across threads; guards _index with the meta "model"
        self._index_lock = threading.Lock()
        self._last_save = time.monotonic()
        self._embedders: dict[str, Embedder] = {}
        self._embedders_lock = threading.Lock()

    # -- embedders --------------------------------------------------------------------

    def embedder(self, model_id: str) -> Embedder:
        """The model's one Embedder, kept for the library's life (its text cache then
        serves a repeated query without encoding it again)."""
        with self._embedders_lock:
            embedder = self._embedders.get(model_id)
        if embedder is None:
            embedder = self._make_embedder(model_id)  # may load for minutes: not locked
            with self._embedders_lock:
                embedder = self._embedders.setdefault(model_id, embedder)
        return embedder

    def encoding(self) -> str | None:
        """How this process encodes the answering model's photos (Embedder.precision),
        if it has loaded that model; loads nothing."""
        with self._embedders_lock:
            embedder = self._embedders.get(self.settings.model or "")
        return embedder.precision if embedder is not None else None

    def query_embedder(self) -> Embedder:
        return self.embedder(self.answering()[0])

    # -- the index --------------------------------------------------------------------

    def vector_index(self) -> VectorIndex:
        """The index for the active model, made to agree with the catalog: loaded if the
        file is intact, then repaired (a crash loses only the vectors added since the last
        save); rebuilt from the catalog if the file is missing, damaged or foreign."""
        with self._index_lock:
            model_id = self.settings.model
            return VectorIndex() if model_id is None else self._index_for(model_id)

    def answering(self) -> tuple[str, VectorIndex]:
        """The model that answers queries and its index, read together: a model switch
        swaps both at once, so a query never mixes one model's text with another's index."""
        with self._index_lock:
            model_id = self.settings.model
            if model_id is None:
                raise ClipdeskError("the library is empty: run `clipdesk index FOLDER` first")
            return model_id, self._index_for(model_id)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        self.vector_index().add(ids, vectors)

    def delete(self, ids: list[int]) -> None:
        self.vector_index().delete(ids)

    def _index_for(self, model_id: str) -> VectorIndex:
        """Called with _index_lock held."""
        if self._index is None or self._index_model != model_id:
            self._watch.changed()  # the load below reads every commit up to here
            path = index_path(self.home, model_id)
            self._stamp = file_stamp(path)
            loaded = VectorIndex.load(path, model_id)
            self._index = loaded or self._build(model_id)
            self._index_model = model_id
            if loaded is None or self._reconcile(loaded, model_id):
                self._try_save()
        elif self._watch.changed():  # another process added or removed photos
            self._take_in(model_id)
        return self._index

    def _build(self, model_id: str) -> VectorIndex:
        """A new index of the model's photos and their parts, from the catalog."""
        index = VectorIndex.build(*self.catalog.embeddings.vectors(model_id))
        index.add(*self.catalog.crops.vectors(model_id))
        return index

    def _take_in(self, model_id: str) -> bool:
        """With _index_lock held: what another process did since _index was loaded or
        saved comes in: the vectors it committed, or when they are many, the index file
        it saved, loaded in place of _index. True when _index now differs from the file."""
        assert self._index is not None
        path = index_path(self.home, model_id)
        stamp = file_stamp(path)
        missing, extra = self._difference(self._index, model_id)
        loaded = None
        if stamp != self._stamp and len(missing) > LOAD_SHARE * len(self._index):
            loaded = VectorIndex.load(path, model_id)
        if loaded is not None:
            self._index, self._stamp = loaded, stamp
            missing, extra = self._difference(loaded, model_id)
        self._repair(self._index, model_id, missing, extra)
        return loaded is None or bool(missing or extra)

    def _try_save(self) -> None:
        """With _index_lock held: save _index, unless the file another process saved
        meanwhile already holds all it does (a newer file is taken in first, never
        overwritten). The catalog is the truth: an index that cannot be saved (a full or
        read-only disk) goes on answering from memory and is saved at the next chance."""
        if self._index is None or self._index_model is None:
            return
        path = index_path(self.home, self._index_model)
        try:
            with save_lock(index_dir(self.home)):
                if file_stamp(path) != self._stamp and not self._take_in(self._index_model):
                    return
                self._index.save(path, self._index_model)
                self._stamp = file_stamp(path)
        except OSError as exc:
            log.warning("the vector index was not saved (%s); it is used from memory and "
                        "saved later", exc.strerror or exc)

    def _reconcile(self, index: VectorIndex, model_id: str) -> bool:
        """Add what the catalog has and the index lacks, drop what it no longer has."""
        return self._repair(index, model_id, *self._difference(index, model_id))

    def _difference(self, index: VectorIndex, model_id: str) -> tuple[set[int], set[int]]:
        """(missing, extra): the labels (photos and their parts) the catalog has and
        the index lacks, and back."""
        # the index first: this process's writer commits a photo before adding it, so
        # a photo added meanwhile is in the catalog read after (read the other way, it
        # would look deleted)
        live = index.labels
        expected = self.catalog.embeddings.ids(model_id) | self.catalog.crops.labels(model_id)
        return expected - live, live - expected

    def _repair(self, index: VectorIndex, model_id: str, missing: set[int],
                extra: set[int]) -> bool:
        if missing:
            index.add(*self.catalog.embeddings.vectors(
                model_id, sorted(i for i in missing if not is_part(i))))
            index.add(*self.catalog.crops.vectors(model_id, {i for i in missing if is_part(i)}))
        index.delete(sorted(extra))
        if missing or extra:
            log.info("vector index repaired: %d added, %d removed", len(missing), len(extra))
        return bool(missing or extra)

    def state(self) -> str:
        model_id = self.settings.model
        stored = set() if model_id is None else self.catalog.embeddings.ids(model_id)
        if model_id is None or not stored:
            return "none yet (clipdesk index makes it)"
        index = VectorIndex.load(index_path(self.home, model_id), model_id)
        if index is None:
            return "missing or damaged (rebuilt from the catalog on next use)"
        if index.labels != stored | self.catalog.crops.labels(model_id):
            return "behind the catalog (repaired on next use)"
        return "ok"

    def maybe_save(self) -> None:
        """The catalog is the truth; saving the index now and then only saves a rebuild."""
        if time.monotonic() - self._last_save > SAVE_EVERY_S:
            self.save()

    def save(self) -> None:
        with self._index_lock:
            if self._index is not None and self._index_model is not None:
                self._index_for(self._index_model)  # another process's commits first
                self._try_save()
        self._last_save = time.monotonic()

    def refresh(self) -> None:
        """Take in what another process did, now rather than at the next query."""
        with self._index_lock:
            model_id = self.settings.model
            if self._index is not None and model_id is not None:
                self._index_for(model_id)

    def switch_model(self, target: str) -> None:
        """Every photo has a vector from the new model: start answering with it. Queries
        go on with the old model while the new index is built, then both swap at once."""
        index = self._build(target)
        with self._index_lock:
            with self.catalog.transaction():
                self.settings.model = target
                self.settings.target_model = None
            self._watch.changed()  # the build read every commit up to the switch
            self._index, self._index_model = index, target
            self._stamp = file_stamp(index_path(self.home, target))  # built: overwrite it
            self._try_save()
        self.catalog.embeddings.drop_other_models(target)
        self.catalog.crops.drop_other_models(target)
