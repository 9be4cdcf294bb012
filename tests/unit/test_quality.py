"""quality: sharpness and exposure of a decoded photo, the best shot of a group, and
which photos form a group."""
from __future__ import annotations

import numpy as np
from PIL import Image

from clipdesk.core.media import quality
from clipdesk.core.organize import group_rules
from clipdesk.core.types import GroupMember
from tests.synthetic import blur, motion_blur, scene

SIZE = (640, 480)


def test_blur_lowers_the_score_and_the_words_follow():
    image = scene(1, SIZE)
    sharp, soft = quality.measure(image), quality.measure(blur(image, 6))
    assert sharp.sharpness > soft.sharpness
    assert quality.describe(sharp.sharpness) == "sharp"
    assert quality.describe(soft.sharpness).startswith("blurry")
    assert quality.describe(None) == "not measured yet"


def test_shake_is_told_from_focus():
    shaken = quality.measure(motion_blur(scene(2, SIZE), 25))
    assert quality.describe(shaken.sharpness, shaken.motion) == "blurry (motion)"


def test_blown_highlights_and_crushed_shadows_are_counted():
    half = np.zeros((100, 100, 3), np.uint8)
    half[:, 50:] = 255
    measured = quality.measure(Image.fromarray(half))
    assert 0.4 < measured.clipped < 0.6 and 0.4 < measured.crushed < 0.6
    grey = quality.measure(Image.new("RGB", (100, 100), (128, 128, 128)))
    assert grey.clipped == 0 and grey.crushed == 0


def member(pid: int, sharpness: float | None, pixels: int = 100, clipped: float = 0.0
           ) -> GroupMember:
    return GroupMember(pid, f"/p/{pid}.jpg".encode(), sharpness, clipped, 0.0, pixels,
                       rejected=False)


def test_the_sharpest_shot_comes_first_and_a_tie_goes_to_the_better_copy():
    assert [m.photo_id for m in quality.best_first(
        [member(1, 0.3), member(2, 0.9), member(3, None)])] == [2, 1, 3]
    # within SAME_SHARPNESS: sharper by noise only; the larger, well exposed copy wins
    tied = [member(1, 0.81, pixels=100), member(2, 0.80, pixels=400),
            member(3, 0.80, pixels=400, clipped=0.3)]
    assert [m.photo_id for m in quality.best_first(tied)] == [2, 1, 3]


def test_near_duplicates_link_at_any_time_look_alikes_only_in_a_burst():
    ids = np.array([1, 2, 3])
    neighbours = np.array([[1, 2], [2, 3], [3, 1]])
    similarities = np.array([[1.0, 0.99], [1.0, 0.92], [1.0, 0.5]])
    far_apart = {1: 0.0, 2: 1000.0, 3: 2000.0}
    assert group_rules.links(ids, neighbours, similarities, far_apart) == [(1, 2)]
    seconds_apart = {1: 0.0, 2: 5.0, 3: 10.0}
    assert group_rules.links(ids, neighbours, similarities, seconds_apart) == [(1, 2), (2, 3)]


def test_linked_photos_form_one_group_named_by_its_smallest_id():
    assert group_rules.components([(5, 3), (3, 9), (20, 21)]) == {3: 3, 5: 3, 9: 3, 20: 20, 21: 20}
