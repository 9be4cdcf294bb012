"""The fast unit tier: one test module per core module, no torch, no model, no window.

A run of this folder alone fails when anything in it imported torch (test_tier.py runs it
in a fresh process, so the full suite checks that too)."""
from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.kit import Kit, make_kit

UNIT = Path(__file__).parent


@pytest.fixture(scope="session", autouse=True)
def no_torch(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    only_unit = all(Path(item.path).is_relative_to(UNIT) for item in request.session.items)
    # (in a mixed run the other tiers load torch on purpose)
    if only_unit and "torch" in sys.modules:
        pytest.fail("the unit tier imported torch: keep it to code that needs no model",
                    pytrace=False)


@pytest.fixture
def kit(tmp_path: Path) -> Iterator[Kit]:
    """The core services over a real catalog in tmp_path, with a FakeEmbedder (kit.py)."""
    kit = make_kit(tmp_path)
    yield kit
    kit.catalog.close()
