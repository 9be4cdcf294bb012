"""End-to-end: the `clipdesk` command over a generated library with the tiny trained model."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from PIL import Image

from clipdesk.core.library import Library
from clipdesk.core.media import imaging
from tests.conftest import TINY_MODEL, run_cli
from tests.photolib import make_library
from tests.synthetic import render


def search(home: Path, *args: str) -> list[dict]:
    result = run_cli("--home", str(home), *args, "--json")
    assert result.rc == 0, result.err
    return json.loads(result.out)


def test_status_counts_photos_problems_and_model(indexed_home, photo_library):
    status = json.loads(run_cli("--home", str(indexed_home), "status", "--json").out)
    assert status["photos"] == len(photo_library.content)
    assert status["problems"] == len(photo_library.bad)
    assert status["ignored"] == len(photo_library.ignored)
    assert status["model"] == TINY_MODEL
    assert status["roots"] == [str(photo_library.root)]
    assert status["index"] == "ok"


QUERIES = [(c, s) for c in ("red", "green", "blue", "yellow", "orange", "purple")
           for s in ("circle", "square", "triangle")]


def test_text_search_ranks_the_described_photos_first(indexed_home, photo_library):
    found = wanted = 0
    for color, shape in QUERIES:
        expected = {str(p) for p in photo_library.paths_of(color, shape)}
        hits = search(indexed_home, "search", f"a {color} {shape}", "-k", str(len(expected)),
                      "--all")
        assert hits[0]["path"] in expected, f"a {color} {shape}: got {hits[0]['path']}"
        found += len(expected & {h["path"] for h in hits})
        wanted += len(expected)
    assert found / wanted >= 0.9


def test_search_json_is_best_first_absolute_and_respects_k(indexed_home):
    hits = search(indexed_home, "search", "a blue square", "-k", "7", "--all")
    assert len(hits) == 7
    # photos whose names hold the words come first (ranking.name_terms), each part best first
    named = ["blue-square" in os.path.basename(h["path"]) for h in hits]
    assert named == sorted(named, reverse=True) and named[0]
    for part in (True, False):
        scores = [h["score"] for h, n in zip(hits, named, strict=True) if n == part]
        assert scores == sorted(scores, reverse=True)
    for hit in hits:
        assert os.path.isabs(hit["path"]) and os.path.exists(os.fsencode(hit["path"]))


def test_default_k_is_a_screenful(indexed_home):
    assert len(search(indexed_home, "search", "a green triangle", "--all")) == 20


def test_the_cutoff_hides_irrelevant_photos_and_keeps_the_relevant(indexed_home, photo_library):
    everything = len(photo_library.content)
    hidden_irrelevant = irrelevant = kept = relevant = 0
    for color, shape in QUERIES:
        expected = {str(p) for p in photo_library.paths_of(color, shape)}
        shown = {h["path"] for h in search(indexed_home, "search", f"a {color} {shape}",
                                           "-k", str(everything))}
        irrelevant += everything - len(expected)
        hidden_irrelevant += everything - len(expected) - len(shown - expected)
        relevant += len(expected)
        kept += len(shown & expected)
    assert hidden_irrelevant / irrelevant >= 0.95
    assert kept / relevant >= 0.9
    all_hits = search(indexed_home, "search", "a red circle", "-k", str(everything), "--all")
    assert len(all_hits) == everything


def test_hidden_results_are_announced_on_stderr(indexed_home):
    result = run_cli("--home", str(indexed_home), "search", "a purple square", "--json")
    assert result.rc == 0 and 0 < len(json.loads(result.out)) < 20
    assert "weaker matches hidden" in result.err and "--all" in result.err


def test_folder_and_file_names_are_searchable(indexed_home, photo_library):
    trip = {str(p) for p in photo_library.content if "/trip/" in str(p)}
    shown = search(indexed_home, "search", "trip", "-k", "40")
    # CLIP knows no "trip"; the folder name does, and lifts all of them to the top
    assert {h["path"] for h in shown[:len(trip)]} == trip
    top = search(indexed_home, "search", "really a png", "-k", "1")
    assert top[0]["path"].endswith("odd/really-a-png.jpg")


def test_plain_output_prints_score_and_path(indexed_home, photo_library):
    result = run_cli("--home", str(indexed_home), "search", "a red circle", "-k", "2")
    lines = result.out.splitlines()
    assert len(lines) == 2
    score, path = lines[0].split(maxsplit=1)
    assert float(score) > 0 and Path(path) in photo_library.paths_of("red", "circle")


def test_similar_finds_the_original_of_a_resized_reencoded_copy(indexed_home, photo_library,
                                                                 tmp_path):
    for original in sorted(photo_library.paths_of("green", "square")):
        copy = tmp_path / f"{original.stem}-small.png"
        with Image.open(original) as im:
            im.resize((im.width // 2, im.height // 2)).save(copy, "PNG")
        reencoded = tmp_path / f"{original.stem}-q60.jpg"
        with Image.open(original) as im:
            im.save(reencoded, "JPEG", quality=60)
        for query in (copy, reencoded):
            hits = search(indexed_home, "similar", str(query), "-k", "3")
            assert hits[0]["path"] == str(original)


def test_similar_on_a_library_photo_excludes_itself(indexed_home, photo_library):
    photo = sorted(photo_library.paths_of("blue", "triangle"))[0]
    hits = search(indexed_home, "similar", str(photo), "-k", "5", "--all")
    paths = [h["path"] for h in hits]
    assert str(photo) not in paths
    assert len(paths) == 5


def test_similar_stops_where_the_look_alikes_end(indexed_home, photo_library):
    """As a word search: the clear look-alikes, and a line saying how many were held back."""
    photo = sorted(photo_library.paths_of("blue", "triangle"))[0]
    result = run_cli("--home", str(indexed_home), "similar", str(photo), "-k", "100",
                     "--json")
    clear = [h["path"] for h in json.loads(result.out)]
    siblings = {str(p) for p in photo_library.paths_of("blue", "triangle")} - {str(photo)}
    assert clear and clear[0] in siblings
    assert len(clear) < len(photo_library.content) - 1
    assert "weaker matches hidden" in result.err


def test_problems_lists_every_bad_file_with_a_reason(indexed_home, photo_library):
    problems = json.loads(run_cli("--home", str(indexed_home), "problems", "--json").out)
    by_path = {p["path"]: p for p in problems}
    assert set(by_path) == {str(p) for p in photo_library.bad}  # not LICENSE, README, ...
    for path, word in photo_library.bad.items():
        assert word.lower() in by_path[str(path)]["reason"].lower(), by_path[str(path)]
        assert "not a photo" not in by_path[str(path)]["reason"]


def test_files_that_are_not_photos_are_counted_not_listed(small_library, tmp_path):
    """A folder as people have it: photos, a LICENSE, a README, a sidecar, a JPEG XL the
    decoder cannot read and a JPEG cut short. Only the last two are problems."""
    home = tmp_path / "home"
    (small_library / "LICENSE").write_text("CC BY 4.0\n")
    (small_library / "README.md").write_text("# Colours\n")
    (small_library / "red.jpg.xmp").write_text("<x:xmpmeta xmlns:x='adobe:ns:meta/'/>\n")
    (small_library / "new.jxl").write_bytes(  # a JPEG XL container's first boxes
        b"\x00\x00\x00\x0cJXL \r\n\x87\n\x00\x00\x00\x14ftypjxl \x00\x00\x00\x00jxl ")
    whole = (small_library / "red.jpg").read_bytes()
    (small_library / "cut.jpg").write_bytes(whole[: len(whole) // 2])

    result = run_cli("--home", str(home), "index", str(small_library), "--model", TINY_MODEL)
    assert result.rc == 0, result.err
    assert "2 problems, 3 other files ignored" in result.out
    assert "See them with: clipdesk problems" in result.out
    problems = json.loads(run_cli("--home", str(home), "problems", "--json").out)
    reasons = {os.path.basename(p["path"]): p["reason"] for p in problems}
    assert reasons.keys() == {"new.jxl", "cut.jpg"}
    assert reasons["new.jxl"] == "unsupported photo format (JPEG XL)"
    assert reasons["cut.jpg"].startswith("cannot decode JPEG: image file is truncated")
    status = run_cli("--home", str(home), "status")
    assert "Problems: 2 (clipdesk problems)" in status.out
    assert "Ignored:  3 other files (not photos)" in status.out
    assert json.loads(run_cli("--home", str(home), "status", "--json").out)["ignored"] == 3
    again = run_cli("--home", str(home), "index")
    assert "0 problems" in again.out and "ignored" not in again.out  # left alone


def test_non_utf8_file_name_round_trips(indexed_home, photo_library):
    weird = next(p for p in photo_library.content if "caf" in str(p))
    hits = search(indexed_home, "search", "a yellow circle", "-k", "20")
    paths = [h["path"] for h in hits]
    assert str(weird) in paths
    assert os.path.exists(os.fsencode(str(weird)))
    raw = run_cli("--home", str(indexed_home), "search", "a yellow circle", "-k", "20").out
    assert os.fsencode(str(weird)) in raw.encode("utf-8", "surrogateescape")


def test_a_second_run_decodes_and_embeds_nothing(indexed_home, photo_library, monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("decoded an unchanged file")

    monkeypatch.setattr(imaging, "decode", fail)
    result = run_cli("--home", str(indexed_home), "index")
    assert result.rc == 0, result.err
    assert result.err == ""  # no progress bar when output is not a terminal
    # "Indexed N": what the library holds; the run itself embedded nothing
    assert f"Indexed {len(photo_library.content)} photos" in result.out
    assert "(0 embedded" in result.out
    assert "0 new, 0 copies, 0 changed, 0 moved, 0 removed" in result.out


@pytest.fixture
def small_library(tmp_path):
    """Four photos, one per colour, named after their colour (modified by tests)."""
    root = tmp_path / "photos"
    root.mkdir()
    for i, (color, shape) in enumerate([("red", "circle"), ("blue", "square"),
                                        ("green", "triangle"), ("yellow", "circle")]):
        render(color, shape, "white", (1200, 900), seed=i).save(root / f"{color}.jpg")
    return root


def count_decodes(monkeypatch) -> list:
    calls = []
    real = imaging.decode

    def counting(data, side, path=None):
        calls.append(len(data))
        return real(data, side, path)

    monkeypatch.setattr(imaging, "decode", counting)
    return calls


def test_moved_file_keeps_its_identity_without_reembedding(small_library, tmp_path, monkeypatch):
    home = tmp_path / "home"
    assert run_cli("--home", str(home), "index", str(small_library), "--model", TINY_MODEL).rc == 0
    old, new = small_library / "red.jpg", small_library / "renamed" / "my red.jpg"
    lib = Library(home)
    old_id = lib.catalog.files.photo_for(os.fsencode(str(old)))[0]
    lib.close()
    new.parent.mkdir()
    shutil.move(old, new)
    decodes = count_decodes(monkeypatch)
    result = run_cli("--home", str(home), "index")
    assert "1 moved" in result.out and "1 removed" in result.out
    assert decodes == []
    lib = Library(home)
    assert lib.catalog.files.photo_for(os.fsencode(str(new)))[0] == old_id
    assert lib.catalog.files.photo_for(os.fsencode(str(old)))[0] is None
    lib.close()
    hits = search(home, "search", "a red circle", "-k", "1")
    assert hits[0]["path"] == str(new)


def test_deleted_photo_disappears_and_changed_photo_is_reembedded(small_library, tmp_path):
    home = tmp_path / "home"
    first = run_cli("--home", str(home), "index", str(small_library), "--model", TINY_MODEL)
    assert first.rc == 0 and first.err == ""  # piped: no progress bar
    assert "Indexed 4 photos" in first.out
    (small_library / "blue.jpg").unlink()
    render("purple", "triangle", "black", (1200, 900), seed=7).save(small_library / "green.jpg")
    result = run_cli("--home", str(home), "index")
    assert "1 changed" in result.out and "1 removed" in result.out
    status = json.loads(run_cli("--home", str(home), "status", "--json").out)
    assert status["photos"] == 3
    hits = search(home, "search", "a blue square", "-k", "10")
    assert str(small_library / "blue.jpg") not in [h["path"] for h in hits]
    top = search(home, "search", "a purple triangle", "-k", "1")
    assert top[0]["path"] == str(small_library / "green.jpg")


def test_a_failed_file_is_retried_only_once_it_changes(small_library, tmp_path, monkeypatch):
    home = tmp_path / "home"
    broken = small_library / "broken.jpg"
    broken.write_bytes((small_library / "red.jpg").read_bytes()[:3000])
    run_cli("--home", str(home), "index", str(small_library), "--model", TINY_MODEL)
    assert json.loads(run_cli("--home", str(home), "status", "--json").out)["problems"] == 1
    decodes = count_decodes(monkeypatch)
    run_cli("--home", str(home), "index")
    assert decodes == []
    render("orange", "square", "gray", (1200, 900), seed=3).save(broken)
    run_cli("--home", str(home), "index")
    assert len(decodes) == 1
    status = json.loads(run_cli("--home", str(home), "status", "--json").out)
    assert status["problems"] == 0 and status["photos"] == 5


def test_originals_are_never_written(tmp_path):
    lib = make_library(tmp_path / "photos", with_bad=False)
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in lib.content}
    run_cli("--home", str(tmp_path / "home"), "index", str(lib.root), "--model", TINY_MODEL)
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in lib.content} == before


def test_switching_model_reembeds_and_queries_use_the_stored_model(small_library, tmp_path):
    home = tmp_path / "home"
    run_cli("--home", str(home), "index", str(small_library), "--model", TINY_MODEL)
    other_dir = tmp_path / "other-model"
    shutil.copytree(TINY_MODEL.removeprefix("local-dir:"), other_dir)
    other = f"local-dir:{other_dir}"

    lib = Library(home)
    job = lib.index(model=other)
    for step in job:  # interrupted after the first batch is written
        if step.phase == "index":
            break
    job.close()
    lib.close()
    status = json.loads(run_cli("--home", str(home), "status", "--json").out)
    assert status["model"] == TINY_MODEL and status["pending_model"] == other
    assert search(home, "search", "a red circle", "-k", "1")[0]["path"].endswith("red.jpg")

    result = run_cli("--home", str(home), "index")  # resumes the switch
    assert result.rc == 0
    status = json.loads(run_cli("--home", str(home), "status", "--json").out)
    assert status["model"] == other and status["pending_model"] is None
    assert status["photos"] == 4
    assert search(home, "search", "a red circle", "-k", "1")[0]["path"].endswith("red.jpg")


def test_usage_errors_exit_nonzero_with_one_line(tmp_path):
    home = str(tmp_path / "home")
    missing = run_cli("--home", home, "index", str(tmp_path / "nope"))
    assert missing.rc != 0 and "is not a folder" in missing.err
    assert len(missing.err.strip().splitlines()) == 1
    empty = run_cli("--home", home, "search", "a cat")
    assert empty.rc != 0 and "clipdesk index" in empty.err
    bad_k = run_cli("--home", home, "search", "a cat", "-k", "0")
    assert bad_k.rc == 2


def test_a_model_that_cannot_be_loaded_is_a_clear_error(small_library, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-hf-cache"))
    home = str(tmp_path / "home")
    result = run_cli("--home", home, "index", str(small_library), "--model",
                     "ViT-B-32-256:datacomp_s34b_b86k")
    assert result.rc == 1
    assert "cannot load model ViT-B-32-256:datacomp_s34b_b86k" in result.err
    assert "local-dir:" in result.err
    folder = run_cli("--home", home, "index", "--model", f"local-dir:{tmp_path / 'none'}")
    assert folder.rc == 1 and "does not exist" in folder.err
    spec = run_cli("--home", home, "index", "--model", "ViT-B-32-256")
    assert spec.rc == 1 and "ARCH:TAG" in spec.err
