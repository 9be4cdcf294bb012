"""settings: the library's settings in the catalog, typed, under the key names every
catalog has always used, and safe when a newer clipdesk wrote a value this one lacks."""
from __future__ import annotations

import pytest

from clipdesk.core.store.catalog import Catalog
from clipdesk.core.store.settings import CaptionsMode, Settings


@pytest.fixture
def path(tmp_path):
    return tmp_path / "catalog.sqlite"


@pytest.fixture
def cat(path):
    catalog = Catalog(path)
    yield catalog
    catalog.close()


def test_a_new_library_has_no_model_and_automatic_captions(cat):
    settings = Settings(cat)
    assert (settings.model, settings.target_model, settings.tags_version) == (None, None, None)
    assert settings.caption_model is None and settings.grouped_version is None
    assert settings.captions is CaptionsMode.AUTO
    assert settings.grouped_until == 0


def test_settings_travel_with_the_catalog_under_their_stored_names(cat, path):
    settings = Settings(cat)
    settings.model = "ViT-B-32:openai"
    settings.target_model = "local-dir:/models/mine"
    settings.captions = "off"
    settings.set_grouped("3f2a", 42)
    cat.close()
    reopened = Catalog(path)  # a later launch, or a restored backup
    try:
        again = Settings(reopened)
        assert again.model == "ViT-B-32:openai"
        assert again.target_model == "local-dir:/models/mine"
        assert again.captions is CaptionsMode.OFF
        assert (again.grouped_version, again.grouped_until) == ("3f2a", 42)
        # the names older catalogs hold: renaming one would lose a person's settings
        assert reopened.meta.get("model") == "ViT-B-32:openai"
        assert reopened.meta.get("captions") == "off"
        assert reopened.meta.get("grouped_until") == "42"
        again.target_model = None  # a finished switch leaves no pending model
        assert again.target_model is None
    finally:
        reopened.close()


def test_a_captions_mode_from_a_newer_version_falls_back_to_auto(cat):
    cat.meta.set("captions", "when-idle")
    assert Settings(cat).captions is CaptionsMode.AUTO


def test_an_unknown_captions_mode_is_refused_and_the_setting_kept(cat):
    settings = Settings(cat)
    settings.captions = CaptionsMode.ALL
    with pytest.raises(ValueError):
        settings.captions = "sometimes"
    assert settings.captions is CaptionsMode.ALL
    settings.captions = "selected"  # the plain strings the app and CLI pass
    assert settings.captions is CaptionsMode.SELECTED
