"""Photo quality in the library: the sharpness / exposure back-fill, burst and
near-duplicate groups (incremental), rejects, blurry and sharper look-alikes; the front
ends reach it as `library.groups`. quality.py holds the pure maths."""
from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

from clipdesk.core.errors import DecodeError
from clipdesk.core.indexing import cpu, pipeline
from clipdesk.core.media import imaging, quality
from clipdesk.core.organize import group_rules
from clipdesk.core.photos import PathArg, Photos, absolute, decode_file
from clipdesk.core.search.queries import Search
from clipdesk.core.store.catalog import Catalog
from clipdesk.core.store.edits import Edits
from clipdesk.core.store.settings import Settings
from clipdesk.core.store.vectors import VectorStore
from clipdesk.core.types import GroupMember, Hit, Phase, PhotoMeta, Progress

log = logging.getLogger(__name__)

CHUNK = 10_000     # photos per neighbour query: bounded memory at any library size
QUALITY_BATCH = 256  # measured photos per catalog write
SHARPER_BY = 0.02  # "sharper" must beat the photo by more than measuring noise


class Grouping:
    def __init__(self, catalog: Catalog, settings: Settings, store: VectorStore,
                 photos: Photos, search: Search, edits: Edits) -> None:
        self.catalog, self.settings, self.store = catalog, settings, store
        self.photos, self.search, self.edits = photos, search, edits

    def measure_missing(self) -> Iterator[Progress]:
        """Back-fill sharpness and exposure for photos indexed before they existed: one
        decode at the thumbnail scale each, no re-embedding."""
        paths = self.catalog.files.paths_for(self.catalog.quality.unmeasured())
        if not paths:
            return

        def measure(photo_id: int) -> tuple[int, PhotoMeta] | None:
            try:
                data, _ = imaging.read_file(paths[photo_id])
                decoded = imaging.decode(data, quality.QUALITY_SIDE, paths[photo_id])
                return photo_id, pipeline.measured_meta(decoded, "")
            except (OSError, DecodeError) as exc:  # the next index run reports the file
                log.warning("cannot measure %r: %s", paths[photo_id], exc)
                return None

        workers = cpu.decode_workers()
        done, measured = 0, []
        with ThreadPoolExecutor(workers, thread_name_prefix="clipdesk-quality") as pool:
            for result in pool.map(measure, list(paths)):
                done += 1
                if result is not None:
                    measured.append(result)
                if len(measured) >= QUALITY_BATCH or done == len(paths):
                    self.catalog.quality.set(measured)
                    measured = []
                    yield Progress(Phase.QUALITY, done=done, total=len(paths),
                                   message="Measuring sharpness…")

    def ungrouped(self) -> list[int] | None:
        """Photos not looked at for groups yet (None: all of them, after a model switch or
        a change of the grouping rules)."""
        model_id = self.settings.model
        if model_id is None:
            return []
        if self.settings.grouped_version != group_rules.version(model_id):
            return None
        until = self.settings.grouped_until
        return sorted(i for i in self.store.vector_index().ids if i > until)

    def regroup(self, photo_ids: list[int] | None = None) -> int:
        """Group bursts and near-duplicates (group_rules.links) among `photo_ids` and the
        photos they resemble, or across the whole library (None). Incremental: other
        groups stay as they are. Returns how many groups the library has."""
        model = self.settings.model
        if model is None:
            return 0
        current = self.catalog.groups.map()
        if photo_ids is None:
            touched, keep = None, {}
        else:
            broken = {current[i] for i in photo_ids if i in current}
            touched = set(photo_ids) | {p for p, g in current.items() if g in broken}
            keep = {p: g for p, g in current.items() if p not in touched}
        ids, vectors = self.catalog.embeddings.vectors(
            model, None if touched is None else sorted(touched))
        taken = self.catalog.photos.capture_times()
        index = self.store.vector_index()
        pairs = list(keep.items())  # untouched groups stay together
        for start in range(0, len(ids), CHUNK):
            labels, sims = index.neighbours(vectors[start:start + CHUNK], group_rules.NEIGHBOURS)
            pairs += group_rules.links(ids[start:start + CHUNK], labels, sims, taken)
        pairs += group_rules.twins(self.catalog.groups.twin_candidates(touched))
        groups = group_rules.components(pairs)
        self.catalog.groups.set(groups)
        newest = max(self.store.vector_index().ids, default=0)
        self.settings.set_grouped(group_rules.version(model), newest)
        return len(set(groups.values()))

    def all(self) -> list[list[GroupMember]]:
        """Every group of bursts / near-duplicates, best shot first (quality.best_first)."""
        by_group: dict[int, list[GroupMember]] = {}
        for gid, pid, path, pixels, sharp, clipped, crushed, rejected, raw in \
                self.catalog.groups.members():
            by_group.setdefault(gid, []).append(GroupMember(
                pid, path, sharp, clipped, crushed, pixels or 0, bool(rejected), bool(raw)))
        groups = [quality.best_first(members) for members in by_group.values()
                  if len(members) > 1]
        groups.sort(key=lambda members: -members[0].photo_id)
        return groups

    def stacked(self, photo_ids: list[int]) -> tuple[list[int], dict[int, int]]:
        """`photo_ids` with each group collapsed into its best shot (where the group's
        first photo was), and best shot -> group size."""
        allowed = set(photo_ids)
        best_of: dict[int, int] = {}
        sizes: dict[int, int] = {}
        for group in self.all():
            best = next((m.photo_id for m in group if m.photo_id in allowed), None)
            if best is None:  # none of the group is in this list
                continue
            sizes[best] = len(group)
            best_of.update((m.photo_id, best) for m in group)
        out: list[int] = []
        seen: set[int] = set()
        for pid in photo_ids:
            shown = best_of.get(pid, pid)
            if shown not in seen:
                seen.add(shown)
                out.append(shown)
        return out, sizes

    def of(self, photo_id: int) -> list[GroupMember]:
        """The photo's burst / near-duplicate group, best shot first ([] when alone)."""
        return next((g for g in self.all() if any(m.photo_id == photo_id for m in g)), [])

    def reject(self, photo_ids: list[int], on: bool = True) -> None:
        """Mark photos as rejects (or not; a person's edit). Nothing is deleted or moved."""
        with self.edits.editing(photo_ids):
            self.catalog.groups.set_rejected(photo_ids, on)

    def rejected(self) -> set[int]:
        return self.catalog.groups.rejected()

    def blurry(self, below: float = quality.BLURRY) -> list[Hit]:
        """Photos judged blurry, blurriest first (score = sharpness)."""
        return self.photos.hits(self.catalog.quality.blurry(below))

    def sharper(self, path: PathArg, k: int = 20) -> list[Hit]:
        """Look-alikes of the image at `path` (same moment or same picture) that are
        sharper than it, sharpest first."""
        photo_id = self.photos.find(path)
        own = self.catalog.quality.sharpness_of([photo_id]).get(photo_id) if photo_id else None
        if own is None:
            image = decode_file(absolute(path), quality.QUALITY_SIDE)
            own = quality.measure(image).sharpness
        alike = [h for h in self.search.similar(path, max(50, k)) if h.score >= group_rules.BURST]
        sharp = self.catalog.quality.sharpness_of(h.photo_id for h in alike)
        better = [h for h in alike if (sharp.get(h.photo_id) or 0.0) > own + SHARPER_BY]
        return self.photos.by_sharpness(better)[:k]
