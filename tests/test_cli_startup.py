"""A one-shot `clipdesk status` / `clipdesk search` loads only what it needs (issue 25):
each package below costs its import at every start (timm 0.4 s, transformers 2 s, torch
2 s on 2 cores; benchmarks/bench_startup.py), and none of them is needed to answer."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

# what a text search never needs: the app, videos, RAWs, faces, OCR, place names, the
# sensitive-content model, and open_clip's optional packages for models other than CLIP's
NOT_FOR_SEARCH = ["PySide6", "av", "rawpy", "dlib", "rapidocr", "reverse_geocode",
                  "onnxruntime", "transformers", "timm"]
NOT_FOR_STATUS = NOT_FOR_SEARCH + ["torch", "open_clip", "torchvision"]

ONE_SHOT = """
import json, sys
from clipdesk.cli import main

home, report = sys.argv[1], sys.argv[2]
looked = {looked!r}

def loaded():
    return sorted(name for name in looked if name in sys.modules)

status_rc = main(["--home", home, "status", "--json"])
after_status = loaded()
search_rc = main(["--home", home, "search", "a red circle", "--json"])
with open(report, "w") as f:
    json.dump({{"status": [status_rc, after_status], "search": [search_rc, loaded()]}}, f)
"""


def test_status_and_a_text_search_load_only_what_they_need(indexed_home, photo_library,
                                                           tmp_path):
    report = tmp_path / "report.json"
    code = ONE_SHOT.format(looked=NOT_FOR_STATUS)
    result = subprocess.run([sys.executable, "-c", code, str(indexed_home), str(report)],
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    seen = json.loads(report.read_text())
    assert seen["status"] == [0, []], f"`clipdesk status` imported {seen['status'][1]}"
    search_rc, after_search = seen["search"]
    assert search_rc == 0, result.stderr
    decoder = json.JSONDecoder()
    status, end = decoder.raw_decode(result.stdout)
    assert status["photos"] == len(photo_library.content)
    hits, _ = decoder.raw_decode(result.stdout[end:].lstrip())
    assert Path(hits[0]["path"]) in photo_library.paths_of("red", "circle")
    assert {"torch", "open_clip"} <= set(after_search)  # the model did answer
    extra = sorted(set(after_search) & set(NOT_FOR_SEARCH))
    assert not extra, f"a one-shot `clipdesk search` imported {extra}"
