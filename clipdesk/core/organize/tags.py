"""Tags: the vocabulary files, automatic tags (recomputed from stored vectors), a person's
own tags, and tags taught by example; the front ends reach it as `library.tags`.
tagging.py and teaching.py hold the pure maths."""
from __future__ import annotations

import dataclasses
import logging
from collections.abc import Generator, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from clipdesk.core.errors import ClipdeskError
from clipdesk.core.models import nsfw
from clipdesk.core.organize import tagging, teaching
from clipdesk.core.paths import fingerprint, prompt_cache_path
from clipdesk.core.photos import Photos
from clipdesk.core.store.catalog import Catalog
from clipdesk.core.store.edits import Edits
from clipdesk.core.store.settings import Settings
from clipdesk.core.store.vectors import VectorStore
from clipdesk.core.types import Hit, Phase, Progress

if TYPE_CHECKING:
    from clipdesk.core.models.embedder import Embedder

log = logging.getLogger(__name__)

PROMPT_CHUNK = 64  # prompts encoded between two Progress steps (one encode batch)


def tag_name(text: str) -> str:
    """A tag name as stored: words single-spaced, lower case; no ':' (kept for the
    sensitive: concepts) or '#', not empty."""
    name = " ".join(text.split()).lower()
    if not name or ":" in name or "#" in name:
        raise ClipdeskError(f"{name!r} cannot be a tag name (no ':' or '#', not empty)")
    return name


class PromptCache:
    """Prompt vectors of one model in a file: each prompt is encoded once per model
    (all 357 default prompts take seconds on a CPU); editing the vocabulary encodes only
    the new prompts, and an interrupted first tagging keeps what it encoded."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.known: dict[str, np.ndarray] = {}
        if path.exists():
            with np.load(path) as stored:
                self.known = dict(zip(stored["prompts"].tolist(), stored["vectors"],
                                      strict=True))

    def missing(self, prompts: list[str]) -> list[str]:
        return [p for p in dict.fromkeys(prompts) if p not in self.known]

    def add(self, prompts: list[str], vectors: np.ndarray) -> None:
        self.known.update(zip(prompts, vectors, strict=True))
        tmp = self.path.with_suffix(".tmp.npz")
        try:
            np.savez(tmp, prompts=np.array(list(self.known)),
                     vectors=np.stack(list(self.known.values())))
            tmp.replace(self.path)
        except OSError as exc:  # a cache: encoded again next time
            tmp.unlink(missing_ok=True)
            log.warning("prompt cache not saved: %s", exc.strerror or exc)

    def vectors(self, prompts: list[str]) -> np.ndarray:
        """The vectors of prompts already added (missing() is empty for them)."""
        return np.stack([self.known[p] for p in prompts])


class Tags:
    def __init__(self, home: Path, catalog: Catalog, settings: Settings, store: VectorStore,
                 photos: Photos, edits: Edits) -> None:
        self.home, self.catalog, self.settings = home, catalog, settings
        self.store, self.photos, self.edits = store, photos, edits

    # -- the vocabulary -----------------------------------------------------------------

    def vocabulary(self) -> list[tagging.TagDef]:
        """Everyday tags and sensitive concepts: the user's tags.txt and sensitive.txt in
        the home folder where they exist, else the defaults."""
        tags = []
        for name, prefix in (("tags.txt", ""), ("sensitive.txt", tagging.SENSITIVE)):
            tags += [tagging.TagDef(prefix + t.name, t.prompts)
                     for t in tagging.parse_vocabulary(self.vocabulary_text(name))]
        return tags

    def vocabulary_text(self, name: str = "tags.txt") -> str:
        """The text of a vocabulary file: the user's own copy, else the default."""
        own = self.home / name
        default = tagging.RESOURCES / name
        return (own if own.exists() else default).read_text(encoding="utf-8")

    def save_vocabulary(self, text: str, name: str = "tags.txt") -> None:
        """Keep the user's own vocabulary; automatic tags follow it at the next retag()."""
        own = self.home / name
        tmp = own.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(own)

    def rename(self, old: str, new: str) -> None:
        """Rename a tag on every photo and in the vocabulary (a person's edit)."""
        with self.edits.editing():
            new = tag_name(new)
            self._edit_vocabulary(old, new)
            self.catalog.tags.rename(old, new)

    def remove(self, tag: str) -> None:
        """Take a tag off every photo and out of the vocabulary (a person's edit)."""
        with self.edits.editing():
            self._edit_vocabulary(tag, None)
            self.catalog.tags.remove(tag)

    def _edit_vocabulary(self, old: str, new: str | None) -> None:
        if old.startswith(tagging.SENSITIVE):
            return  # sensitive concepts are edited in sensitive.txt
        text = self.vocabulary_text()
        edited = tagging.edit_vocabulary(text, old, new)
        if [t.name for t in tagging.parse_vocabulary(edited)] != \
                [t.name for t in tagging.parse_vocabulary(text)]:
            self.save_vocabulary(edited)

    # -- automatic tags -------------------------------------------------------------------

    def _version(self) -> str:
        text = "\n".join(f"{t.name}:{'|'.join(t.prompts)}" for t in self.vocabulary())
        return fingerprint(f"{self.settings.model}\n{text}\nnsfw:{self.settings.nsfw_threshold}")

    def stale(self) -> bool:
        """Whether the automatic tags came from another model or vocabulary."""
        return self.settings.model is not None and \
            self.settings.tags_version != self._version()

    def retag(self) -> None:
        """Judge every photo again: each tag's cut is made over the library as it is now
        (seconds at 100k photos). Existing photos' automatic tags may change."""
        for _ in self.retagging(everything=True):
            pass

    def retagging(self, everything: bool = False) -> Iterator[Progress]:
        """Automatic tags as a job. Photos added since the last tagging are judged against
        the kept cuts (tagging.Cuts) and the others keep their tags; everything is judged
        again (new cuts) when asked, when the model or the vocabulary changed (stale), and
        when the library has grown past tagging.GROWTH since the cuts were made. Yields
        Progress(TAG) between batches of prompts to encode (the first tagging with a model
        encodes the whole vocabulary), so a run's other writes and a cancel get their
        turn; the prompts encoded so far stay cached."""
        model_id = self.settings.model
        if model_id is None:
            return
        vocabulary = self.vocabulary()
        first = self._work(model_id, vocabulary, everything)
        if first is None:
            return  # nothing new (photos removed, moved or copied)
        embedder = self.store.query_embedder()
        tag_vecs = yield from self._tag_vectors(embedder, vocabulary)
        yield Progress(Phase.TAG, message="Tagging…")
        # read again after the last step: a write run between two steps (the app does
        # that) may have tagged the library, or changed the vocabulary and tagged it
        work = self._work(model_id, vocabulary, everything)
        if work is None or work[0] != first[0]:
            return
        version, kept, ids, vectors, flags = work
        sims = tagging.similarities(vectors, tag_vecs)
        cuts = tagging.cuts(sims) if kept is None else kept.array(vocabulary)
        chosen = tagging.assign(sims, cuts, embedder.logit_scale)
        assigned = {int(pid): [(vocabulary[t].name, score) for t, score in pairs]
                    for pid, pairs in zip(ids, chosen, strict=True) if pairs}
        for tag, until in self.catalog.examples.taught():  # photos that came after the teaching
            newer = ids > until
            if newer.any() and (model := self._classifier(tag)) is not None:
                for pid, p in zip(ids[newer], teaching.probability(vectors[newer], model),
                                  strict=True):
                    if p >= teaching.SUGGEST_AT:
                        assigned.setdefault(int(pid), []).append((tag, float(p)))
        for photo_id, (tag, score) in flags.items():
            pairs = assigned.setdefault(photo_id, [])
            if all(name != tag for name, _ in pairs):  # CLIP may have found it too
                pairs.append((tag, score))
        until = int(ids.max()) if len(ids) else 0
        if kept is None:
            self.catalog.tags.set_auto(assigned)
            self.settings.tag_cuts = tagging.Cuts(version, len(ids), 0, until, {
                t.name: None if np.isinf(c) else float(c)
                for t, c in zip(vocabulary, cuts, strict=True)})
        else:  # the new photos only, against the kept cuts
            self.catalog.tags.set_auto(assigned, {*ids.tolist(), *flags})
            self.settings.tag_cuts = dataclasses.replace(
                kept, added=kept.added + len(ids), until=max(kept.until, until))
        self.settings.tags_version = version

    def _work(self, model_id: str, vocabulary: list[tagging.TagDef], everything: bool
              ) -> tuple[str, tagging.Cuts | None, np.ndarray, np.ndarray,
                         dict[int, tuple[str, float]]] | None:
        """What a tagging pass judges: (version, the kept cuts or None for the whole
        library, photo ids and vectors, open_nsfw flags); None when nothing is new."""
        version = self._version()
        kept = None if everything else self.settings.tag_cuts
        if kept is not None and kept.version != version:
            kept = None
        ids, vectors = self.catalog.embeddings.vectors(model_id, after=kept.until if kept else 0)
        if kept is not None and kept.grown(len(ids)):
            kept = None
            ids, vectors = self.catalog.embeddings.vectors(model_id)
        flags = self._nsfw_flags(vocabulary, kept.until if kept else 0)
        if kept is not None and not len(ids) and not flags:
            return None
        return version, kept, ids, vectors, flags

    def _tag_vectors(self, embedder: Embedder, vocabulary: list[tagging.TagDef]
                     ) -> Generator[Progress, None, np.ndarray]:
        """The vocabulary's tag vectors, encoding the prompts not in the cache yet."""
        prompts = [p for tag in vocabulary for p in tag.prompts]
        cache = PromptCache(prompt_cache_path(self.home, embedder.model_id))
        missing = sorted(cache.missing(prompts), key=len)  # alike lengths batch together
        for start in range(0, len(missing), PROMPT_CHUNK):
            yield Progress(Phase.TAG, done=start, total=len(missing),
                           message="Reading the tag vocabulary…")
            chunk = missing[start:start + PROMPT_CHUNK]
            cache.add(chunk, embedder.encode_texts(chunk))
        return tagging.tag_vectors(vocabulary, cache.vectors)

    def _nsfw_flags(self, vocabulary: list[tagging.TagDef], after: int
                    ) -> dict[int, tuple[str, float]]:
        """The second signal, for photos newer than `after`: those whose stored open_nsfw
        score reaches the threshold get `sensitive:nudity` (score: the probability). Off
        with the setting, and with an empty sensitive.txt (which turns the whole flag off);
        a photo a person has taken any sensitive flag off ("this photo is fine") is left
        alone. (Photos waiting for a model switch have no vector yet but get this flag.)"""
        threshold = self.settings.nsfw_threshold
        if threshold is None or not any(t.name.startswith(tagging.SENSITIVE)
                                        for t in vocabulary):
            return {}
        fine = self.catalog.tags.removed_with_prefix(tagging.SENSITIVE)
        tag = tagging.SENSITIVE + nsfw.TAG
        return {photo_id: (tag, score)
                for photo_id, score in self.catalog.photos.nsfw_over(threshold)
                if photo_id > after and photo_id not in fine}

    def flagged(self) -> list[Hit]:
        """Photos with a sensitive-content flag, the strongest first (score: similarity)."""
        return self.photos.hits(self.catalog.tags.flagged(tagging.SENSITIVE))

    # -- a person's tags --------------------------------------------------------------------

    def of(self, photo_id: int) -> list[tuple[str, float | None, str]]:
        """A photo's tags: (tag, similarity or None, "auto" | "manual")."""
        return self.catalog.tags.of(photo_id)

    def set(self, photo_id: int, tag: str, on: bool = True) -> None:
        """Add (on) or take off a tag by hand; it wins over automatic tagging for good.
        Taking off accepts any stored name (a sensitive: flag too)."""
        with self.edits.editing([photo_id]):
            name = tag_name(tag) if on else " ".join(tag.split()).lower()
            self.catalog.tags.set(photo_id, name, on)

    def counts(self) -> list[tuple[str, int]]:
        return self.catalog.tags.counts()

    # -- teaching -----------------------------------------------------------------------

    def taught(self) -> list[str]:
        """The names of the tags a person has taught by example."""
        return [tag for tag, _ in self.catalog.examples.taught()]

    def teach(self, tag: str, yes: Sequence[int], no: Sequence[int] = ()) -> None:
        """Record a person's examples for `tag` (yes: they get it; no: they never do)."""
        with self.edits.editing([*yes, *no]):
            if not yes and not self.catalog.examples.of(tag)[0]:
                raise ClipdeskError(f"teaching {tag!r} needs at least one photo that shows it")
            self.catalog.examples.add(tag, list(yes), list(no))

    def _classifier(self, tag: str) -> tuple[np.ndarray, float] | None:
        yes, no = self.catalog.examples.of(tag)
        model_id = self.settings.model
        if not yes or model_id is None:
            return None
        _, positives = self.catalog.embeddings.vectors(model_id, yes)
        _, negatives = (self.catalog.embeddings.vectors(model_id, no) if no
                        else (None, positives[:0]))
        background = self.catalog.embeddings.sample(model_id, teaching.BACKGROUND, yes + no)
        return teaching.train(positives, negatives, background)

    def suggest(self, tag: str, k: int = 20) -> list[Hit]:
        """The k unlabelled photos most likely to show a taught tag, best first (score =
        probability); those the tag would add (relevant) come first."""
        model, model_id = self._classifier(tag), self.settings.model
        if model is None or model_id is None:
            raise ClipdeskError(f"{tag!r} has not been taught: clipdesk teach {tag} --yes PHOTO...")
        yes, no = self.catalog.examples.of(tag)
        ids, vectors = self.catalog.embeddings.vectors(model_id)
        probs = teaching.probability(vectors, model)
        labelled = set(yes) | set(no)
        ranked = sorted(((int(i), float(p)) for i, p in zip(ids, probs, strict=True)
                         if int(i) not in labelled), key=lambda pair: -pair[1])[:k]
        paths = self.catalog.files.paths_for(i for i, _ in ranked)
        return [Hit(i, paths[i], p, relevant=p >= teaching.SUGGEST_AT)
                for i, p in ranked if i in paths]
