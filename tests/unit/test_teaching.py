"""teaching: a tag learnt from a few examples ranks the photos that show it first."""
from __future__ import annotations

import numpy as np
import pytest

from clipdesk.core.organize import teaching
from tests.unit.fakes import unit_vector


def photos_near(concept: np.ndarray, n: int, seed: int, spread: float = 1.0) -> np.ndarray:
    noise = np.random.default_rng(seed).standard_normal((n, len(concept))) / np.sqrt(len(concept))
    mixed = concept + spread * noise
    return mixed / np.linalg.norm(mixed, axis=1, keepdims=True)


def test_three_examples_rank_the_other_photos_of_the_concept_first():
    dog, other = unit_vector(b"my dog"), unit_vector(b"anything else")
    model = teaching.train(photos_near(dog, 3, seed=1), np.zeros((0, 64)),
                           photos_near(other, 200, seed=2, spread=3.0))
    p_dog = teaching.probability(photos_near(dog, 20, seed=3), model)
    p_rest = teaching.probability(photos_near(other, 20, seed=4, spread=3.0), model)
    assert p_dog.min() > p_rest.max()
    assert (p_dog >= teaching.SUGGEST_AT).all() and (p_rest < teaching.SUGGEST_AT).all()


def test_a_rejected_look_alike_is_pushed_below_the_line():
    dog, cat = unit_vector(b"dog"), unit_vector(b"cat")
    look_alike = photos_near(dog + cat, 1, seed=5, spread=0.1)
    background = photos_near(unit_vector(b"rest"), 100, seed=6, spread=3.0)
    yes = photos_near(dog, 4, seed=7, spread=0.5)
    before = teaching.probability(look_alike, teaching.train(yes, np.zeros((0, 64)), background))
    model = teaching.train(yes, look_alike, background)
    assert before[0] >= teaching.SUGGEST_AT > teaching.probability(look_alike, model)[0]
    # and the concept itself is still recognised
    assert (teaching.probability(photos_near(dog, 5, seed=9, spread=0.5), model)
            >= teaching.SUGGEST_AT).all()


def test_examples_alone_are_refused():
    with pytest.raises(ValueError, match="nothing to contrast"):
        teaching.train(np.ones((2, 4)), np.zeros((0, 4)), np.zeros((0, 4)))
