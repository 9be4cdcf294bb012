"""grouping: copies and bursts grouped with the best shot first, stacks in the library
order, rejects, blurry photos, sharper look-alikes, and the quality back-fill."""
from __future__ import annotations

import pytest

from clipdesk.core.media import quality
from tests.unit.fakes import unit_vector
from tests.unit.kit import blend, jpeg, put, text_vector

SCENE = text_vector("lake at dawn")


def like(cos: float, key: str):
    return blend(SCENE, unit_vector(key.encode()), cos)


def members(group):
    return [m.photo_id for m in group]


def test_copies_and_bursts_are_grouped_best_shot_first(kit):
    soft = put(kit, "burst1.jpg", like(0.999, "1"), "2024-06-01T07:00:00", sharpness=0.4)
    best = put(kit, "burst2.jpg", like(0.93, "2"), "2024-06-01T07:00:05", sharpness=0.8)
    copy = put(kit, "copy.jpg", like(0.99, "3"), None, sharpness=0.6)  # a re-save, undated
    hour_later = put(kit, "later.jpg", like(0.93, "4"), "2024-06-01T08:00:00", sharpness=0.9)
    other = put(kit, "other.jpg", unit_vector(b"other"), "2024-06-01T07:00:02")
    assert kit.groups.regroup() == 1
    group, = kit.groups.all()
    assert members(group) == [best, copy, soft]
    assert hour_later not in members(group) and other not in members(group)
    assert kit.groups.of(soft) == group and kit.groups.of(other) == []
    assert kit.photos.info(soft).group_size == 3


def test_a_stack_shows_the_best_shot_where_its_group_was(kit):
    a = put(kit, "a.jpg", like(0.999, "a"), sharpness=0.3)
    b = put(kit, "b.jpg", like(0.995, "b"), sharpness=0.9)
    alone = put(kit, "c.jpg", unit_vector(b"c"))
    kit.groups.regroup()
    assert kit.groups.stacked([a, alone, b]) == ([b, alone], {b: 2})
    assert kit.groups.stacked([alone, a]) == ([alone, a], {a: 2})  # b not in this list


def test_a_new_photo_joins_its_group_without_regrouping_the_library(kit):
    a = put(kit, "a.jpg", like(0.999, "a"))
    b = put(kit, "b.jpg", like(0.995, "b"))
    elsewhere = text_vector("city at night")
    x = put(kit, "x.jpg", blend(elsewhere, unit_vector(b"x"), 0.999))
    y = put(kit, "y.jpg", blend(elsewhere, unit_vector(b"y"), 0.995))
    assert kit.groups.regroup() == 2
    assert kit.groups.ungrouped() == []
    c = put(kit, "c.jpg", like(0.998, "c"))
    new = kit.groups.ungrouped()
    assert new == [c]
    assert kit.groups.regroup(new) == 2
    assert sorted(members(kit.groups.of(c))) == [a, b, c]
    assert sorted(members(kit.groups.of(x))) == [x, y]  # left as it was


def test_rejects_are_marked_and_unmarked_without_touching_files(kit):
    a = put(kit, "a.jpg", unit_vector(b"a"))
    b = put(kit, "b.jpg", unit_vector(b"b"))
    kit.groups.reject([a, b])
    kit.groups.reject([b], on=False)
    assert kit.groups.rejected() == {a}
    assert kit.photos.info(a).rejected and kit.catalog.files.counts()["photos"] == 2


def test_blurry_photos_blurriest_first(kit):
    put(kit, "sharp.jpg", unit_vector(b"1"), sharpness=0.9)
    slightly = put(kit, "soft.jpg", unit_vector(b"2"), sharpness=quality.BLURRY - 0.01)
    worst = put(kit, "worst.jpg", unit_vector(b"3"), sharpness=0.05)
    put(kit, "unmeasured.jpg", unit_vector(b"4"))
    assert [(h.photo_id, h.score) for h in kit.groups.blurry()] == [
        (worst, 0.05), (slightly, pytest.approx(quality.BLURRY - 0.01))]


def test_sharper_look_alikes_sharpest_first(kit):
    put(kit, "mine.jpg", like(0.999, "m"), sharpness=0.3)
    much = put(kit, "much.jpg", like(0.99, "a"), sharpness=0.9)
    more = put(kit, "more.jpg", like(0.99, "b"), sharpness=0.6)
    put(kit, "noise.jpg", like(0.99, "c"), sharpness=0.31)  # within measuring noise
    put(kit, "unlike.jpg", like(0.3, "d"), sharpness=1.0)  # sharp, but another picture
    hits = kit.groups.sharper(kit.root / "mine.jpg")
    assert [h.photo_id for h in hits] == [much, more]


def test_photos_indexed_before_quality_existed_are_measured_once(kit):
    measured = put(kit, "old.jpg", unit_vector(b"1"))
    original = jpeg(kit.root / "old.jpg", size=(400, 300)).read_bytes()
    gone = put(kit, "gone.jpg", unit_vector(b"2"))  # no file: the next index run says so
    steps = list(kit.groups.measure_missing())
    assert steps and steps[-1].done == steps[-1].total == 2
    sharpness = kit.catalog.quality.sharpness_of([measured, gone])
    assert sharpness[measured] is not None and sharpness[gone] is None
    assert kit.catalog.quality.unmeasured() == [gone]
    assert (kit.root / "old.jpg").read_bytes() == original  # read, never changed
