"""paths: where a library keeps its files, and the one-line error when it cannot."""
from __future__ import annotations

import pytest

from clipdesk.core import paths
from clipdesk.core.errors import ClipdeskError


def test_the_override_wins_over_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.ENV_HOME, str(tmp_path / "from-env"))
    assert paths.home_dir(tmp_path / "given") == tmp_path / "given"
    assert (tmp_path / "given").is_dir()
    assert paths.home_dir() == tmp_path / "from-env"


def test_a_relative_home_becomes_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert paths.home_dir("lib") == tmp_path / "lib"


def test_a_home_that_is_a_file_is_one_line_saying_what_to_do(tmp_path):
    (tmp_path / "home").write_text("not a folder")
    with pytest.raises(ClipdeskError, match=r"is a file, not a folder; .* --home") as info:
        paths.home_dir(tmp_path / "home")
    assert "\n" not in str(info.value)


def test_a_home_that_cannot_be_made_names_the_reason(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(ClipdeskError, match=r"cannot write to the data folder .*not a directory"):
        paths.home_dir(tmp_path / "file" / "home")


def test_each_model_has_its_own_index_and_prompt_cache(tmp_path):
    a, b = "ViT-B-32:openai", "hf-hub:org/model"
    assert paths.index_path(tmp_path, a) != paths.index_path(tmp_path, b)
    assert paths.index_path(tmp_path, a) == paths.index_path(tmp_path, a)
    assert paths.prompt_cache_path(tmp_path, a) != paths.prompt_cache_path(tmp_path, b)
    # a model id's '/' and ':' never become folders
    assert paths.index_path(tmp_path, b).parent == paths.index_dir(tmp_path)


def test_thumbnails_are_named_by_content_in_small_folders(tmp_path):
    thumb = paths.thumbnail_path(tmp_path, "ab" + "0" * 30)
    assert thumb.name == "ab" + "0" * 30 + ".jpg"
    assert thumb.parent.name == "ab"
