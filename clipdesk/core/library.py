"""The facade over the engine: index(), search(), similar(), status(), problems().

Long jobs are generators that yield Progress; closing the generator cancels the job and
runs its clean-up. A Library may be shared between threads (the catalog gives each thread
its own connection and the vector index is locked), with one writer at a time.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from clipdesk.core import (backup, captions, imaging, pipeline, quality, ranking, scanner,
                           tagging, teaching)
from clipdesk.core.catalog import Catalog, FileRecord, writer_thread
from clipdesk.core.errors import ClipdeskError, DecodeError, ModelLoadError, RootError
from clipdesk.core.lock import index_lock
from clipdesk.core.models import DEFAULT_MODEL, load_model, loading, parse_spec
from clipdesk.core.paths import (catalog_path, fingerprint, home_dir, prompt_cache_path,
                                 thumbnail_path)
from clipdesk.core.types import (GroupMember, Hit, IndexSummary, PhotoInfo, Problem, Progress,
                                 Status)
from clipdesk.core.settings import Settings
from clipdesk.core.store import VectorStore
from clipdesk.core.vindex import VectorIndex

if TYPE_CHECKING:
    from clipdesk.core.embedder import Embedder

log = logging.getLogger(__name__)

__all__ = ["Library", "writer_thread"]  # writer_thread: the app's writer marks itself


class Library:
    def __init__(self, home: str | os.PathLike[str] | None = None) -> None:
        self.home = home_dir(home)
        self.catalog = Catalog(catalog_path(self.home))
        self.settings = Settings(self.catalog)
        self.store = VectorStore(self.home, self.catalog, self.settings)
        self._sample: tuple | None = None  # (model, library size, vectors) for ranking

    def close(self) -> None:
        self.catalog.close()

    # -- the facade's small questions (qt/ and cli.py ask only these) ------------------

    def roots(self) -> list[bytes]:
        """The photo folders the library indexes."""
        return self.catalog.roots()

    def captions_mode(self) -> str:
        """The library setting "captions": "selected" | "all" | "off" | "auto"."""
        return self.settings.captions

    def set_captions_mode(self, mode: str) -> None:
        self.settings.captions = mode

    def check_one_writer(self, on: bool) -> None:
        """Make a catalog write from a thread not in writer_thread() raise (app test mode)."""
        self.catalog.check_writer = on

    def in_write(self) -> bool:
        """Whether this thread is inside a write transaction."""
        return self.catalog.in_transaction

    def rejected_ids(self) -> set[int]:
        return self.catalog.rejected_ids()

    def tag_counts(self) -> list[tuple[str, int]]:
        return self.catalog.tag_counts()

    def taught_tags(self) -> list[str]:
        """The names of the tags a person has taught by example."""
        return [tag for tag, _ in self.catalog.taught_tags()]

    def photo_tags(self, photo_id: int) -> list[tuple[str, float | None, str]]:
        """A photo's tags: (tag, similarity or None, "auto" | "manual")."""
        return self.catalog.tags_of(photo_id)

    def set_photo_tag(self, photo_id: int, tag: str, on: bool = True) -> None:
        """Add (on) or take off a tag by hand; it wins over automatic tagging for good."""
        if on:
            tag = tag_name(tag)
        self.catalog.set_tag(photo_id, " ".join(tag.split()).lower(), on)

    def caption_of(self, photo_id: int) -> tuple[str | None, str | None]:
        """The stored caption and who wrote it (a model id or "manual"), without writing."""
        return self.catalog.caption(photo_id)

    def store_caption(self, photo_id: int, text: str, by: str) -> str:
        """Store a model's caption unless a person's (or any) caption is there already;
        returns the caption now stored."""
        current, _ = self.catalog.caption(photo_id)
        if current is None:
            self.catalog.set_caption(photo_id, text, by)
        return current or text

    def paths_for(self, photo_ids) -> dict[int, bytes]:
        return self.catalog.paths_for(photo_ids)

    def sharpness_of(self, photo_ids) -> dict[int, float | None]:
        return self.catalog.sharpness_of(photo_ids)

    def captionless_count(self) -> int:
        return len(self.catalog.photos_without_caption())

    # -- model and vector store ---------------------------------------------------------

    @property
    def model_id(self) -> str | None:
        """The model whose vectors answer queries."""
        return self.settings.model

    def _embedder(self, model_id: str) -> Embedder:
        return self.store.embedder(model_id)

    def _query_embedder(self) -> Embedder:
        return self.store.query_embedder()

    def warm_up(self) -> None:
        """Load the query model and the index ahead of the first search."""
        if self.model_id is not None:
            self.store.query_embedder()

    def vector_index(self) -> VectorIndex:
        return self.store.vector_index()

    def _answering(self) -> tuple[str, VectorIndex]:
        return self.store.answering()

    def index_state(self) -> str:
        return self.store.state()

    # -- indexing ---------------------------------------------------------------------

    def index(self, roots: list[str | bytes] | None = None, model: str | None = None,
              wait: bool = False) -> Iterator[Progress]:
        """Scan the roots, then decode and embed what is new or changed. One run at a time
        per library (LibraryBusyError, or with `wait` block until the other run ends)."""
        with index_lock(self.home, wait):
            yield from self._run_index(roots, model)

    def _run_index(self, roots: list[str | bytes] | None, model: str | None
                   ) -> Iterator[Progress]:
        started = time.monotonic()
        target = self._choose_model(model)
        root_list = self._resolve_roots(roots)

        yield Progress("scan", message="Looking for photos…")
        jobs: list = []
        removed: list[bytes] = []
        problems: list = []
        stats = dict.fromkeys(("new", "changed", "moved", "copies", "problems", "embedded",
                               "unchanged"), 0)
        for root in root_list:
            yield from self._scan_root(root, target, jobs, removed, problems, stats)
        jobs.extend(self._needs_embedding(target, jobs))
        # loaded only when there is work (a re-run over an unchanged library is instant),
        # and before a new model is recorded: a model that cannot load is never saved
        # (on a helper thread: a download yields Progress("download") as it goes)
        embedder = ((yield from loading(lambda: self._embedder(target), target))
                    if jobs or target != self.model_id else None)
        if self.model_id is None:
            self.settings.model = target
        switching = target != self.model_id
        self.settings.target_model = target if switching else None
        self._record_scan_problems(problems, stats)
        if not switching:
            self.vector_index()

        if embedder is not None:
            add = None if switching else self.store.add
            writer = pipeline.BatchWriter(self.catalog, add, embedder, stats,
                                          frozenset(removed))
            yield from self._process(jobs, embedder, writer)
        removed_ids, mates = self._remove(removed)
        if not switching:
            self.store.delete(removed_ids)
        if switching and not self.catalog.files_missing_embedding(target):
            self.store.switch_model(target)
        yield Progress("save", message="Saving the index…")
        self.store.save()
        if embedder is not None or removed or switching or self._tags_stale():
            yield Progress("tag", message="Tagging…")
            self.retag()
        yield from self._measure_missing()
        ungrouped = self._ungrouped()
        if ungrouped is None or ungrouped or mates:
            yield Progress("group", message="Finding bursts and duplicates…")
            self.regroup(None if ungrouped is None else ungrouped + mates)
        if jobs or removed or switching or stats["problems"]:  # changed: keep a good copy
            yield Progress("backup", message="Backing up the catalog…")
            backup.make_backup(self.home)
        seconds = time.monotonic() - started
        summary = IndexSummary(removed=len(removed), seconds=seconds,
                               photos=self.catalog.counts()["photos"], **stats)
        yield Progress("done", done=len(jobs), total=len(jobs), summary=summary)

    # -- tags -------------------------------------------------------------------------

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

    def rename_tag(self, old: str, new: str) -> None:
        """Rename a tag on every photo and in the vocabulary."""
        new = tag_name(new)
        self._edit_vocabulary(old, new)
        self.catalog.rename_tag(old, new)

    def remove_tag(self, tag: str) -> None:
        """Take a tag off every photo and out of the vocabulary."""
        self._edit_vocabulary(tag, None)
        self.catalog.remove_tag(tag)

    def _edit_vocabulary(self, old: str, new: str | None) -> None:
        if old.startswith(tagging.SENSITIVE):
            return  # sensitive concepts are edited in sensitive.txt
        text = self.vocabulary_text()
        edited = tagging.edit_vocabulary(text, old, new)
        if [t.name for t in tagging.parse_vocabulary(edited)] != \
                [t.name for t in tagging.parse_vocabulary(text)]:
            self.save_vocabulary(edited)

    def flagged(self) -> list[Hit]:
        """Photos with a sensitive-content flag, the strongest first (score: similarity)."""
        rows = self.catalog.flagged(tagging.SENSITIVE)
        paths = self.catalog.paths_for(pid for pid, _ in rows)
        return [Hit(pid, paths[pid], score) for pid, score in rows if pid in paths]

    def _tags_version(self) -> str:
        text = "\n".join(f"{t.name}:{'|'.join(t.prompts)}" for t in self.vocabulary())
        return fingerprint(f"{self.model_id}\n{text}")

    def _tags_stale(self) -> bool:
        return self.model_id is not None and \
            self.settings.tags_version != self._tags_version()

    def retag(self) -> None:
        """Recompute every automatic tag from the stored vectors (seconds at 100k photos)."""
        if self.model_id is None:
            return
        embedder = self._query_embedder()
        vocabulary = self.vocabulary()
        version = self._tags_version()
        tag_vecs = tagging.tag_vectors(vocabulary, self._prompt_vectors(embedder))
        ids, vectors = self.catalog.vectors(self.model_id)
        chosen = tagging.assign(vectors, tag_vecs, embedder.logit_scale)
        assigned = {int(pid): [(vocabulary[t].name, score) for t, score in pairs]
                    for pid, pairs in zip(ids, chosen) if pairs}
        for tag, until in self.catalog.taught_tags():  # photos that came after the teaching
            newer = ids > until
            if newer.any() and (model := self._classifier(tag)) is not None:
                for pid, p in zip(ids[newer], teaching.probability(vectors[newer], model)):
                    if p >= teaching.SUGGEST_AT:
                        assigned.setdefault(int(pid), []).append((tag, float(p)))
        self.catalog.set_auto_tags(assigned)
        self.settings.tags_version = version

    def _prompt_vectors(self, embedder: Embedder):
        """encode_texts with a file cache per model: editing the vocabulary encodes only
        the new prompts (all 357 default prompts take about 40 s on a CPU)."""
        cache = prompt_cache_path(self.home, embedder.model_id)
        known: dict[str, np.ndarray] = {}
        if cache.exists():
            with np.load(cache) as stored:
                known = dict(zip(stored["prompts"].tolist(), stored["vectors"]))

        def encode(prompts: list[str]) -> np.ndarray:
            missing = [p for p in dict.fromkeys(prompts) if p not in known]
            if missing:
                known.update(zip(missing, embedder.encode_texts(missing)))
                tmp = cache.with_suffix(".tmp.npz")
                try:
                    np.savez(tmp, prompts=np.array(list(known)),
                             vectors=np.stack(list(known.values())))
                    tmp.replace(cache)
                except OSError as exc:  # a cache: encoded again next time
                    tmp.unlink(missing_ok=True)
                    log.warning("prompt cache not saved: %s", exc.strerror or exc)
            return np.stack([known[p] for p in prompts])
        return encode

    def tags(self, path: str | bytes) -> list[tuple[str, float | None, str]]:
        """A library photo's tags: (tag, similarity or None, "auto" | "manual")."""
        return self.catalog.tags_of(self.photo_id(path))

    def set_tag(self, path: str | bytes, tag: str, on: bool = True) -> None:
        """Add (on) or take off a tag by hand; it wins over automatic tagging for good."""
        self.set_photo_tag(self.photo_id(path), tag, on)

    def teach(self, tag: str, yes: list[str | bytes], no: list[str | bytes] = ()) -> int:
        """Record a person's examples for `tag` (yes: they get it; no: they never do).
        Returns how many other photos the taught tag now suggests."""
        self.teach_photos(tag, [self.photo_id(p) for p in yes], [self.photo_id(p) for p in no])
        return sum(h.relevant for h in self.suggest(tag, k=1_000_000))

    def teach_photos(self, tag: str, yes: list[int], no: list[int] = ()) -> None:
        """teach() by photo ids."""
        if not yes and not self.catalog.examples(tag)[0]:
            raise ClipdeskError(f"teaching {tag!r} needs at least one photo that shows it")
        self.catalog.add_examples(tag, list(yes), list(no))

    def _classifier(self, tag: str):
        yes, no = self.catalog.examples(tag)
        if not yes or self.model_id is None:
            return None
        _, positives = self.catalog.vectors(self.model_id, yes)
        _, negatives = self.catalog.vectors(self.model_id, no) if no else (None, positives[:0])
        background = self.catalog.sample_vectors(self.model_id, teaching.BACKGROUND, yes + no)
        return teaching.train(positives, negatives, background)

    def suggest(self, tag: str, k: int = 20) -> list[Hit]:
        """The k unlabelled photos most likely to show a taught tag, best first (score =
        probability); those the tag would add (relevant) come first."""
        model = self._classifier(tag)
        if model is None:
            raise ClipdeskError(f"{tag!r} has not been taught: clipdesk teach {tag} --yes PHOTO...")
        yes, no = self.catalog.examples(tag)
        ids, vectors = self.catalog.vectors(self.model_id)
        probs = teaching.probability(vectors, model)
        labelled = set(yes) | set(no)
        ranked = sorted(((int(i), float(p)) for i, p in zip(ids, probs)
                         if int(i) not in labelled), key=lambda pair: -pair[1])[:k]
        paths = self.catalog.paths_for(i for i, _ in ranked)
        return [Hit(i, paths[i], p, relevant=p >= teaching.SUGGEST_AT)
                for i, p in ranked if i in paths]

    # -- captions ---------------------------------------------------------------------

    @property
    def captioner_id(self) -> str:
        return self.settings.caption_model or captions.DEFAULT_CAPTIONER

    def choose_captioner(self, spec: str) -> None:
        """Write new captions with `spec` (a CoCa model); existing ones are kept."""
        self.settings.caption_model = parse_spec(spec).id

    def caption(self, photo_id: int, write: bool = True) -> str | None:
        """The photo's caption; when it has none and `write`, one is written and stored
        (about a second on a CPU; the caption model loads on first use)."""
        text, _ = self.catalog.caption(photo_id)
        if text is None and write:
            loaded = load_model(self.captioner_id)
            text = captions.write_caption(loaded, self.preview(photo_id, loaded.image_size))
            self.catalog.set_caption(photo_id, text, loaded.spec.id)
        return text

    def caption_file(self, path: str | bytes) -> str:
        """The caption of any image file: the stored one for a library photo."""
        raw = os.path.abspath(os.fsencode(path))
        photo_id, _ = self.catalog.photo_for_path(raw)
        if photo_id is not None:
            return self.caption(photo_id)
        loaded = load_model(self.captioner_id)
        return captions.write_caption(loaded, self._decode_file(raw, loaded.image_size))

    def set_caption(self, photo_id: int, text: str) -> None:
        """A person's caption: kept for good (an empty one lets the model write again)."""
        text = " ".join(text.split())
        self.catalog.set_caption(photo_id, text or None, "manual")

    def write_captions(self) -> Iterator[Progress]:
        """Caption every photo that has none, newest first (a low-priority pass). A photo
        that cannot be read is left for the next pass."""
        ids = self.catalog.photos_without_caption()
        started = time.monotonic()
        for done, photo_id in enumerate(ids, 1):
            try:
                self.caption(photo_id)
            except ModelLoadError:
                raise
            except ClipdeskError as exc:
                log.warning("no caption for photo %d: %s", photo_id, exc)
            rate = done / max(time.monotonic() - started, 1e-6)
            yield Progress("caption", done=done, total=len(ids), rate=rate,
                           eta=(len(ids) - done) / rate)

    # -- quality and groups -------------------------------------------------------------

    def _measure_missing(self) -> Iterator[Progress]:
        """Back-fill sharpness and exposure for photos indexed before they existed: one
        decode at the thumbnail scale each, no re-embedding."""
        ids = self.catalog.photos_without_quality()
        paths = self.catalog.paths_for(ids)
        if not paths:
            return

        def measure(photo_id: int):
            try:
                data, _ = imaging.read_file(paths[photo_id])
                decoded = imaging.decode(data, quality.QUALITY_SIDE)
                return photo_id, pipeline.measured_meta(decoded, "")
            except (OSError, DecodeError) as exc:  # the next index run reports the file
                log.warning("cannot measure %r: %s", paths[photo_id], exc)
                return None

        workers = max(1, min(8, os.cpu_count() or 1))
        done, measured = 0, []
        with ThreadPoolExecutor(workers, thread_name_prefix="clipdesk-quality") as pool:
            for result in pool.map(measure, list(paths)):
                done += 1
                if result is not None:
                    measured.append(result)
                if len(measured) >= 256 or done == len(paths):
                    self.catalog.set_quality(measured)
                    measured = []
                    yield Progress("quality", done=done, total=len(paths),
                                   message="Measuring sharpness…")

    def _ungrouped(self) -> list[int] | None:
        """Photos not looked at for groups yet (None: all of them, e.g. after a model
        switch)."""
        if self.model_id is None:
            return []
        if self.settings.grouped_model != self.model_id:
            return None
        until = self.settings.grouped_until
        return sorted(i for i in self.vector_index().ids if i > until)

    def regroup(self, photo_ids: list[int] | None = None) -> int:
        """Group bursts and near-duplicates (quality.links) among `photo_ids` and the
        photos they resemble, or across the whole library (None). Incremental: other
        groups stay as they are. Returns how many groups the library has."""
        model = self.model_id
        if model is None:
            return 0
        current = self.catalog.group_map()
        if photo_ids is None:
            touched, keep = None, {}
        else:
            broken = {current[i] for i in photo_ids if i in current}
            touched = set(photo_ids) | {p for p, g in current.items() if g in broken}
            keep = {p: g for p, g in current.items() if p not in touched}
        ids, vectors = self.catalog.vectors(model, None if touched is None else sorted(touched))
        taken = self.catalog.capture_times()
        pairs = list(keep.items())  # untouched groups stay together
        for start in range(0, len(ids), 10_000):  # bounded memory at any library size
            labels, sims = self.vector_index().neighbours(vectors[start:start + 10_000],
                                                          quality.NEIGHBOURS)
            pairs += quality.links(ids[start:start + 10_000], labels, sims, taken)
        groups = quality.components(pairs)
        self.catalog.set_groups(groups)
        self.settings.set_grouped(model, max(self.vector_index().ids, default=0))
        return len(set(groups.values()))

    def groups(self) -> list[list[GroupMember]]:
        """Every group of bursts / near-duplicates, best shot first (quality.best_first)."""
        by_group: dict[int, list[GroupMember]] = {}
        for gid, pid, path, pixels, sharp, clipped, crushed, rejected in \
                self.catalog.group_members():
            by_group.setdefault(gid, []).append(GroupMember(
                pid, path, sharp, clipped, crushed, pixels or 0, bool(rejected)))
        groups = [quality.best_first(members) for members in by_group.values()
                  if len(members) > 1]
        groups.sort(key=lambda members: -members[0].photo_id)
        return groups

    def stacked(self, photo_ids: list[int]) -> tuple[list[int], dict[int, int]]:
        """`photo_ids` with each group collapsed into its best shot (where the group's
        first photo was), and best shot -> group size."""
        allowed = set(photo_ids)
        best_of, sizes = {}, {}
        for group in self.groups():
            best = next((m.photo_id for m in group if m.photo_id in allowed), None)
            sizes[best] = len(group)
            best_of.update((m.photo_id, best) for m in group)
        out, seen = [], set()
        for pid in photo_ids:
            shown = best_of.get(pid, pid)
            if shown not in seen:
                seen.add(shown)
                out.append(shown)
        return out, sizes

    def group_of(self, photo_id: int) -> list[GroupMember]:
        """The photo's burst / near-duplicate group, best shot first ([] when alone)."""
        return next((g for g in self.groups() if any(m.photo_id == photo_id for m in g)), [])

    def set_rejected(self, photo_ids: list[int], on: bool = True) -> None:
        """Mark photos as rejects (or not). Nothing is deleted or moved."""
        self.catalog.set_rejected(photo_ids, on)

    def blurry(self, below: float = quality.BLURRY) -> list[Hit]:
        """Photos judged blurry, blurriest first (score = sharpness)."""
        rows = self.catalog.blurry(below)
        paths = self.catalog.paths_for(pid for pid, _ in rows)
        return [Hit(pid, paths[pid], s) for pid, s in rows if pid in paths]

    def by_sharpness(self, hits: list[Hit]) -> list[Hit]:
        """The same hits, sharpest first (unmeasured last)."""
        sharp = self.catalog.sharpness_of(h.photo_id for h in hits)
        return sorted(hits, key=lambda h: -1.0 if sharp.get(h.photo_id) is None
                      else sharp[h.photo_id], reverse=True)

    def sharper(self, path: str | bytes, k: int = 20) -> list[Hit]:
        """Look-alikes of the image at `path` (same moment or same picture) that are
        sharper than it, sharpest first."""
        raw = os.path.abspath(os.fsencode(path))
        photo_id, _ = self.catalog.photo_for_path(raw)
        own = self.catalog.sharpness_of([photo_id]).get(photo_id) if photo_id else None
        if own is None:
            own = quality.measure(self._decode_file(raw, quality.QUALITY_SIDE)).sharpness
        alike = [h for h in self.similar(path, max(50, k)) if h.score >= quality.BURST]
        sharp = self.catalog.sharpness_of(h.photo_id for h in alike)
        better = [h for h in alike if (sharp.get(h.photo_id) or 0.0) > own + 0.02]
        return self.by_sharpness(better)[:k]

    def photo_id(self, path: str | bytes) -> int:
        raw = os.path.abspath(os.fsencode(path))
        photo_id, _ = self.catalog.photo_for_path(raw)
        if photo_id is None:
            raise ClipdeskError(f"{os.fsdecode(raw)} is not in the library")
        return photo_id

    def choose_model(self, spec: str) -> None:
        """Use `spec` from the next index() on (the library is re-embedded with it)."""
        target = parse_spec(spec).id
        self.settings.target_model = None if target == self.model_id else target

    def _choose_model(self, model: str | None) -> str:
        if model:
            return parse_spec(model).id
        return self.settings.target_model or self.model_id or DEFAULT_MODEL

    def _resolve_roots(self, roots: list[str | bytes] | None) -> list[bytes]:
        if roots:
            given = [os.path.abspath(os.fsencode(r)) for r in roots]
            for root in given:
                if not os.path.isdir(root):
                    raise RootError(f"{os.fsdecode(root)} is not a folder")
                if not os.access(root, os.R_OK | os.X_OK):
                    raise RootError(f"cannot read folder {os.fsdecode(root)}: permission denied")
            self.catalog.add_roots(given)
        stored = self.catalog.roots()
        if not stored:
            raise RootError("no photo folders yet: run `clipdesk index FOLDER`")
        # a root inside another root is scanned with its parent
        return [r for r in stored if not any(r != o and scanner.is_under(r, o) for o in stored)]

    def _scan_root(self, root: bytes, target: str, jobs: list, removed: list, problems: list,
                   stats: dict) -> Iterator[Progress]:
        """Sorts every file below `root` into jobs, removed paths and problems."""
        if not os.path.isdir(root):
            # an unplugged drive is not a deleted library: keep its photos
            log.warning("folder %r is not available; its photos are kept", root)
            return
        recorded = self.catalog.files_under(root)
        has_vector = self.catalog.embedding_ids(target)
        seen: set[bytes] = set()
        unlisted: list[bytes] = []  # folders that could not be opened: their photos stay
        exclude = (os.fsencode(str(self.home)),)
        for entry in scanner.walk(root, exclude):
            seen.add(entry.path)
            if len(seen) % 1000 == 0:
                yield Progress("scan", done=len(seen), message="Looking for photos…")
            rec = recorded.get(entry.path)
            if entry.folder:
                unlisted.append(entry.path)
            if entry.problem:
                if rec is None or rec.status == "indexed" or entry.transient:
                    problems.append(entry)
                else:  # a pipe or broken link already on the problems list
                    stats["unchanged"] += 1
            elif _unchanged(rec, entry, has_vector):
                stats["unchanged"] += 1
            else:
                jobs.append((pipeline.Job(entry.path, entry.size, entry.mtime_ns), rec is None))
        removed.extend(p for p in recorded if p not in seen
                       and not any(scanner.is_under(p, folder) for folder in unlisted))

    def _needs_embedding(self, target: str, jobs: list) -> list:
        """Unchanged photos still lacking a vector from the target model (a model switch)."""
        queued = {job.path for job, _ in jobs}
        return [(pipeline.Job(f.path, f.size, f.mtime_ns), False)
                for f in self.catalog.files_missing_embedding(target) if f.path not in queued]

    def _record_scan_problems(self, problems: list, stats: dict) -> None:
        with self.catalog.transaction() as db:
            for entry in problems:
                self.catalog.put_file(db, entry.path, entry.size, entry.mtime_ns,
                                      "error" if entry.transient else "skipped",
                                      reason=entry.problem, retry=entry.transient)
        stats["problems"] += len(problems)

    def _process(self, jobs: list, embedder: Embedder, writer: pipeline.BatchWriter
                 ) -> Iterator[Progress]:
        """Decode on a thread pool, overlapped with embedding on this thread."""
        total = len(jobs)
        if not total:
            return
        known = writer.known_hashes()
        side = max(embedder.loaded.image_size, imaging.THUMBNAIL_SIZE)
        workers = max(1, min(8, os.cpu_count() or 1))
        in_flight: deque[tuple[Future, bool]] = deque()
        pending = iter(jobs)
        started, done = time.monotonic(), 0
        with ThreadPoolExecutor(workers, thread_name_prefix="clipdesk-decode") as pool:
            try:
                while True:
                    while len(in_flight) < embedder.batch_size * 2:
                        nxt = next(pending, None)
                        if nxt is None:
                            break
                        job, is_new = nxt
                        future = pool.submit(pipeline.process, job, known.get,
                                             embedder.prepare, side, self.home)
                        in_flight.append((future, is_new))
                    if not in_flight:
                        break
                    future, is_new = in_flight.popleft()
                    done += 1
                    if writer.add(future.result(), is_new) or not in_flight:
                        writer.flush()
                        rate = done / max(time.monotonic() - started, 1e-6)
                        yield Progress("index", done=done, total=total, rate=rate,
                                       eta=(total - done) / rate if rate else None)
                        self.store.maybe_save()
            finally:
                for future, _ in in_flight:
                    future.cancel()

    def _remove(self, removed: list[bytes]) -> list[int]:
        touched = self.catalog.photos_of_paths(removed)
        if removed:
            self.catalog.remove_files(removed)
        gone, mates = self.catalog.remove_orphan_photos()
        with self.catalog.transaction() as db:  # a moved photo loses its old name
            self.catalog.put_names(db, touched - set(gone), self.catalog.roots())
        return gone, mates

    # -- queries ----------------------------------------------------------------------

    def search(self, text: str, k: int = 20, tags: list[str] | None = None) -> list[Hit]:
        """The k best photos for `text`: photos whose names, tags or caption hold every
        word of the query first, then by CLIP similarity (the score). Each hit says whether it
        is above the query's relevance threshold (see ranking.py)."""
        if not text.strip():
            raise ClipdeskError("the search text is empty")
        model_id, index = self._answering()
        embedder = self._embedder(model_id)
        vector = embedder.encode_text(text)
        scores = dict(index.query(vector, max(k, 100)))
        terms = ranking.name_terms(text)
        named = self.catalog.match_words(ranking.fts_query(terms)) if terms else set()
        unscored = sorted(named - scores.keys())
        if unscored:
            ids, vecs = self.catalog.vectors(embedder.model_id, unscored)
            scores.update(zip(ids.tolist(), (vecs @ vector).tolist()))
        if tags:  # only photos carrying every tag, ranked among themselves
            allowed = self.catalog.photos_with_tags(tags)
            ids, vecs = self.catalog.vectors(embedder.model_id, sorted(allowed))
            scores = dict(zip(ids.tolist(), (vecs @ vector).tolist())) if len(ids) else {}
            named &= allowed
        threshold = ranking.relevance_threshold(vector, self._background(embedder.model_id))
        ranked = sorted(scores.items(), key=lambda pair: (pair[0] in named, pair[1]),
                        reverse=True)[:k]
        paths = self.catalog.paths_for(i for i, _ in ranked)
        return [Hit(i, paths[i], score, relevant=i in named or score >= threshold)
                for i, score in ranked if i in paths]

    def _background(self, model_id: str):
        """A random sample of the library's vectors (cached until the library grows)."""
        size = len(self.vector_index())
        cached = self._sample
        if cached is None or cached[0] != model_id or abs(cached[1] - size) > 0.1 * cached[1]:
            cached = (model_id, size, self.catalog.sample_vectors(model_id, ranking.SAMPLE))
            self._sample = cached
        return cached[2]

    def similar(self, path: str | bytes, k: int = 20) -> list[Hit]:
        """Photos that look like the image at `path`, in the library or not."""
        raw = os.path.abspath(os.fsencode(path))
        model_id, index = self._answering()
        photo_id, _ = self.catalog.photo_for_path(raw)
        vector = self.catalog.vector(photo_id, model_id) if photo_id else None
        if vector is None:
            vector = self._embed_file(raw, self._embedder(model_id))
            photo_id = None
        exclude = {photo_id} if photo_id is not None else set()
        return self._hits(index.query(vector, k, exclude=exclude))

    def _embed_file(self, path: bytes, embedder: Embedder) -> np.ndarray:
        return embedder.encode_image(self._decode_file(path, embedder.loaded.image_size))

    @staticmethod
    def _decode_file(path: bytes, side: int):
        """An upright RGB image at least `side` px on its short side, or a ClipdeskError
        that says what is wrong with the file."""
        name = os.fsdecode(path)
        try:
            data, _ = imaging.read_file(path)
            return imaging.decode(data, side).image
        except FileNotFoundError:
            raise ClipdeskError(f"{name}: no such file") from None
        except OSError as exc:
            raise ClipdeskError(f"{name}: cannot read file: {exc.strerror or exc}") from None
        except DecodeError as exc:
            raise ClipdeskError(f"{name}: {exc.reason}") from None

    def _hits(self, ranked: list[tuple[int, float]]) -> list[Hit]:
        paths = self.catalog.paths_for(i for i, _ in ranked)
        return [Hit(i, paths[i], score) for i, score in ranked if i in paths]

    def status(self) -> Status:
        counts = self.catalog.counts()
        return Status(photos=counts["photos"], files=counts["files"],
                      problems=counts["problems"], model=self.model_id,
                      pending_model=self.settings.target_model,
                      roots=[os.fsdecode(r) for r in self.catalog.roots()],
                      index_state=self.index_state(), home=str(self.home))

    def problems(self) -> list[Problem]:
        return self.catalog.problems()

    def photo_ids(self, tags: list[str] | None = None, sort: str = "date") -> list[int]:
        """Every photo (or those with all `tags`), newest first by date taken (or
        sharpest first: sort="sharpness")."""
        ids = (self.catalog.photo_ids_by_sharpness() if sort == "sharpness"
               else self.catalog.photo_ids_newest_first())
        if tags:
            allowed = self.catalog.photos_with_tags(tags)
            ids = [i for i in ids if i in allowed]
        return ids

    def photo_info(self, photo_id: int) -> PhotoInfo | None:
        return self.catalog.photo_info(photo_id)

    def preview(self, photo_id: int, side: int = 1600):
        """A large upright RGB rendering of a photo (PIL image), for viewing."""
        info = self.photo_info(photo_id)
        if info is None:
            raise ClipdeskError("this photo is no longer in the library")
        return self._decode_file(info.path, side)

    def thumbnail(self, content_hash: str) -> Path:
        return thumbnail_path(self.home, content_hash)


def tag_name(text: str) -> str:
    """A tag name as stored: words single-spaced, lower case; no ':' (kept for the
    sensitive: concepts) or '#', not empty."""
    name = " ".join(text.split()).lower()
    if not name or ":" in name or "#" in name:
        raise ClipdeskError(f"{name!r} cannot be a tag name (no ':' or '#', not empty)")
    return name


def _unchanged(rec: FileRecord | None, entry: scanner.Entry, has_vector: set[int]) -> bool:
    """A file to leave alone: same size and time as recorded, and either indexed with a
    vector from the target model or a problem of its own (environment failures retry)."""
    if rec is None or (rec.size, rec.mtime_ns) != (entry.size, entry.mtime_ns):
        return False
    if rec.status == "indexed":
        return rec.photo_id in has_vector
    return not rec.retry
