"""Photo quality: sharpness ordering, bokeh, motion, exposure; bursts and near-duplicates,
the best shot, rejects, the sharp twin of a blurry photo, back-filling old catalogs."""
from __future__ import annotations

import io
import json
import shutil
import sqlite3
from itertools import combinations

import numpy as np
import pytest
from PIL import Image

from clipdesk.core.library import Library
from clipdesk.core.media import imaging, quality
from clipdesk.core.organize import group_rules
from tests.conftest import TINY_MODEL, run_cli, use_tiny_models
from tests.photolib import BURSTS, SIGMAS
from tests.synthetic import blur, bokeh, motion_blur, render, scene


def decoded(image: Image.Image) -> Image.Image:
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=90)
    return imaging.decode(buf.getvalue(), quality.QUALITY_SIDE).image


def sharpness(image: Image.Image) -> float:
    return quality.measure(decoded(image)).sharpness


@pytest.fixture(scope="module")
def shots(quality_shots):
    return quality_shots


def cli_json(home, *args):
    result = run_cli("--home", str(home), *args, "--json")
    assert result.rc == 0, result.err
    return json.loads(result.out)


# -- the measure itself ---------------------------------------------------------------

def test_more_blur_always_scores_lower_at_any_size_and_content():
    pairs = wrong = 0
    for size in ((1600, 1200), (4000, 3000)):
        for image in (scene(1, size), scene(2, size), render("blue", "square", "gray", size, 2)):
            scores = [sharpness(blur(image, s * size[0] / 1600)) for s in SIGMAS]
            for a, b in combinations(range(len(SIGMAS)), 2):
                pairs += 1
                wrong += scores[a] <= scores[b]
    assert wrong == 0, f"{wrong} of {pairs} pairs out of order"


def test_words_follow_the_score():
    image = scene(3)
    assert quality.describe(sharpness(image)) == "sharp"
    assert quality.describe(sharpness(blur(image, 2))) == "slightly soft"
    assert quality.describe(sharpness(blur(image, 8))).startswith("blurry")


def test_a_sharp_subject_on_a_blurred_background_is_sharp():
    for seed in (1, 2, 3):
        assert sharpness(bokeh(seed)) >= quality.SHARP


def test_shake_is_told_apart_from_focus():
    image = scene(4)
    shaken = quality.measure(decoded(motion_blur(image, 24)))
    unfocused = quality.measure(decoded(blur(image, 6)))
    assert shaken.sharpness < quality.BLURRY and shaken.motion
    assert unfocused.sharpness < quality.BLURRY and not unfocused.motion
    assert quality.describe(shaken.sharpness, shaken.motion) == "blurry (motion)"


def test_exposure_counts_blown_highlights_and_crushed_shadows():
    bright = quality.measure(Image.new("RGB", (400, 300), (255, 255, 255)))
    dark = quality.measure(Image.new("RGB", (400, 300), (2, 2, 2)))
    fine = quality.measure(decoded(scene(5)))
    assert bright.clipped == 1.0 and dark.crushed == 1.0
    assert fine.clipped < 0.05 and fine.crushed < 0.05


def test_links_need_near_duplicates_or_a_burst_in_time():
    ids = np.array([1, 2])
    neighbours = np.array([[1, 2], [2, 1]])
    close = np.array([[1.0, 0.90], [1.0, 0.90]])  # look-alikes, not the same picture
    assert group_rules.links(ids, neighbours, close, {1: 0.0, 2: 5.0}) != []
    assert group_rules.links(ids, neighbours, close, {1: 0.0, 2: 3600.0}) == []
    assert group_rules.links(ids, neighbours, close, {}) == []
    same = np.array([[1.0, 0.97], [1.0, 0.97]])
    assert group_rules.links(ids, neighbours, same, {}) != []
    assert group_rules.components([(5, 3), (3, 9), (7, 8)]) == {3: 3, 5: 3, 9: 3, 7: 7, 8: 7}


# -- in the library ---------------------------------------------------------------------

def test_bursts_are_ordered_by_sharpness(shots):
    home, _, bursts, _, _ = shots
    lib = Library(home)
    try:
        for burst in bursts:
            ids = [lib.photos.id_of(p) for p in burst]
            scores = lib.catalog.quality.sharpness_of(ids)
            assert [scores[i] for i in ids] == sorted(scores.values(), reverse=True)
    finally:
        lib.close()


def test_blurry_lists_the_blurred_shots_blurriest_first(shots):
    home, _, bursts, duplicates, singles = shots
    found = cli_json(home, "blurry")
    paths = [h["path"] for h in found]
    expected = {str(p) for burst in bursts for p, s in zip(burst, SIGMAS, strict=True) if s >= 4}
    assert set(paths) == expected  # not the sharp shots, not the bokeh photo
    scores = [h["sharpness"] for h in found]
    assert scores == sorted(scores) and all(h["judged"].startswith("blurry") for h in found)


def test_groups_hold_bursts_and_duplicates_with_the_best_shot_first(shots):
    home, _, bursts, duplicates, singles = shots
    groups = cli_json(home, "groups")
    got = {frozenset(m["path"] for m in g["members"]) for g in groups}
    expected = {frozenset(map(str, b)) for b in bursts} | {frozenset(map(str, duplicates))}
    true_pairs = {pair for g in expected for pair in combinations(sorted(g), 2)}
    found_pairs = {pair for g in got for pair in combinations(sorted(g), 2)}
    precision = len(found_pairs & true_pairs) / len(found_pairs)
    recall = len(found_pairs & true_pairs) / len(true_pairs)
    assert precision == 1.0 and recall == 1.0, (precision, recall)
    assert not {str(p) for p in singles} & {p for g in got for p in g}
    best = {g["best"] for g in groups}
    assert {str(b[0]) for b in bursts} <= best  # the unblurred shot of each burst
    assert str(duplicates[0]) in best  # of equally sharp copies, the largest
    for g in groups:
        assert g["members"][0]["best"] and g["members"][0]["path"] == g["best"]


def test_a_blurry_photo_finds_its_sharper_versions(shots):
    home, _, bursts, _, _ = shots
    burst = bursts[0]
    found = cli_json(home, "similar", str(burst[2]), "--sharper")
    assert [h["path"] for h in found] == [str(burst[0]), str(burst[1])]
    assert found[0]["sharpness"] > found[1]["sharpness"]
    assert cli_json(home, "similar", str(burst[0]), "--sharper") == []  # already the sharpest


def test_results_sort_by_sharpness(shots):
    home, _, bursts, _, _ = shots
    found = cli_json(home, "search", "a red circle", "--sort", "sharpness", "--all")
    scores = [h["sharpness"] for h in found]
    assert len(found) > 4 and scores == sorted(scores, reverse=True)


def test_rejects_are_marked_not_touched(shots, tmp_path):
    home, _, bursts, _, _ = shots
    work = tmp_path / "home"
    shutil.copytree(home, work)
    blurred = bursts[1][3]
    before = blurred.read_bytes()
    assert run_cli("--home", str(work), "reject", str(blurred)).rc == 0
    members = {m["path"]: m for g in cli_json(work, "groups") for m in g["members"]}
    assert members[str(blurred)]["rejected"] and not members[str(bursts[1][0])]["rejected"]
    assert blurred.read_bytes() == before
    assert run_cli("--home", str(work), "reject", "--undo", str(blurred)).rc == 0
    members = {m["path"]: m for g in cli_json(work, "groups") for m in g["members"]}
    assert not members[str(blurred)]["rejected"]


def test_groups_follow_new_and_removed_photos(shots, tmp_path):
    _, root, bursts, _, _ = shots
    photos, work = tmp_path / "photos", tmp_path / "home"
    shutil.copytree(root, photos)
    use_tiny_models(work)
    lib = Library(work)
    try:
        for _ in lib.index([str(photos)], model=TINY_MODEL):
            pass
        before = len(lib.groups.all())
        twin = photos / "burst0-extra.jpg"
        shutil.copy(photos / bursts[0][1].name, twin)
        Image.open(twin).resize((1200, 900)).save(twin, quality=80)
        for _ in lib.index():
            pass
        group = next(g for g in lib.groups.all() if any(m.path == bytes(twin) for m in g))
        assert len(group) == 5 and len(lib.groups.all()) == before
        for p in [twin] + [photos / b.name for b in bursts[0][1:]]:
            p.unlink()
        for _ in lib.index():
            pass
        assert len(lib.groups.all()) == before - 1  # a burst of one is no group
    finally:
        lib.close()


def test_new_grouping_rules_regroup_the_library_at_the_next_run(shots, tmp_path, monkeypatch):
    home, _, bursts, _, _ = shots
    work = tmp_path / "home"
    shutil.copytree(home, work)
    lib = Library(work)
    try:
        assert len(lib.groups.all()) == len(bursts) + 1
        # stricter rules in a later version: nothing is a duplicate or a burst any more
        monkeypatch.setattr(group_rules, "DUPLICATE", 1.01)
        monkeypatch.setattr(group_rules, "BURST_SECONDS", -1.0)
        for _ in lib.index():  # no photo is new: only the rules changed
            pass
        assert lib.groups.all() == []
    finally:
        lib.close()


def test_an_old_catalog_is_back_filled_without_re_embedding(shots, tmp_path, monkeypatch):
    home, _, bursts, _, _ = shots
    work = tmp_path / "home"
    shutil.copytree(home, work)
    db = sqlite3.connect(work / "catalog.sqlite")
    with db:
        db.execute("UPDATE photos SET sharpness=NULL, clipped=NULL, crushed=NULL")
        db.execute("UPDATE photos SET group_id=NULL")
        db.execute("DELETE FROM meta WHERE key LIKE 'grouped_%'")
    db.close()
    from clipdesk.core.models.embedder import Embedder

    monkeypatch.setattr(Embedder, "encode_images", lambda *a: pytest.fail("re-embedded"))
    assert run_cli("--home", str(work), "index").rc == 0
    lib = Library(work)
    try:
        assert lib.catalog.quality.unmeasured() == []
        assert len(lib.groups.all()) == len(BURSTS) + 1
    finally:
        lib.close()


def test_a_blurry_shot_is_found_by_words_like_any_other(shots):
    home, _, bursts, _, _ = shots
    hits = {h["path"]: h["score"] for h in cli_json(home, "search", "a blue triangle")}  # no --all
    assert {str(p) for p in bursts[1]} <= set(hits)  # shown, the blurriest too
    # and blur costs it next to nothing (the sharpest first, the blurriest last); the
    # bokeh scene, whose background holds blue triangles, may rank among them
    sharpest, blurriest = hits[str(bursts[1][0])], hits[str(bursts[1][-1])]
    assert blurriest >= sharpest - 0.02
    assert all(score < blurriest - 0.3 for path, score in hits.items()
               if "burst1" not in path and "bokeh" not in path)
