"""How to share the cores: torch's intra-op threads vs decode threads, measured.

A library of --photos 12 MP JPEGs is indexed once; then, for each split of the cores
(torch threads T, decode threads W) and each OpenMP wait policy (ACTIVE: threads spin
at barriers, the OpenMP default; PASSIVE: they sleep), the same --added new photos are
added to a copy of that library and the whole index run is timed (the run a person pays
for importing a card). Every figure is a ratio against the old default (T = W = cores,
ACTIVE), measured in the same run; each policy runs in its own process (OpenMP reads it
once). Then the latency of a text query (the text tower, one short query, no cache) for
each thread count and policy.

    python benchmarks/bench_threads.py                     # ViT-B-32-256, random weights
    python benchmarks/bench_threads.py --model tiny --photos 8 --added 16
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.bench_index import default_arch_dir, make_photos  # noqa: E402
from clipdesk.core.indexing import cpu  # noqa: E402
from clipdesk.core.library import Library  # noqa: E402
from clipdesk.core.models.embedder import encode_text_tokens  # noqa: E402
from clipdesk.core.models.imports import torch_module  # noqa: E402
from clipdesk.core.models.loading import load_model  # noqa: E402

POLICIES = ("ACTIVE", "PASSIVE")  # OpenMP's wait at barriers: spin, or sleep


def index_seconds(folder: Path, home: Path, spec: str) -> float:
    lib = Library(home)
    start = time.perf_counter()
    for _ in lib.index([str(folder)], model=spec):
        pass
    elapsed = time.perf_counter() - start
    lib.close()
    return elapsed


def added_run(base: Path, work: Path, new: list[Path], spec: str, threads: int,
              workers: int, measured: bool = False) -> float:
    """Seconds to add `new` to a copy of the library in `base`, with this split (fixed;
    `measured`: starting from it, cpu.Decoders choosing as the run goes)."""
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(base, work, symlinks=True)
    for path in new:  # the card's photos land in the indexed folder
        (work / "photos" / path.name).hardlink_to(path)
    torch_module().set_num_threads(threads)
    cpu.decode_workers = lambda on_gpu=False: workers  # type: ignore[assignment]
    cpu.Decoders._candidates = (_measured if measured  # type: ignore[method-assign]
                                else lambda self: [self.start])
    return index_seconds(work / "photos", work / "home", spec)


_measured = cpu.Decoders._candidates


def query_ms(spec: str, threads: int, n: int = 30) -> float:
    """p50 of one short text query through the text tower (the cache bypassed)."""
    torch = torch_module()
    torch.set_num_threads(threads)
    loaded = load_model(spec)
    tokens = loaded.tokenizer(["a dog running on the beach"])
    times = []
    with torch.inference_mode():
        for _ in range(n + 3):
            start = time.perf_counter()
            encode_text_tokens(loaded.model, tokens)
            times.append(time.perf_counter() - start)
    return statistics.median(times[3:]) * 1000


def child(args: argparse.Namespace) -> None:
    """One round of every split under this process's OMP_WAIT_POLICY (which the OpenMP
    runtime reads once, at torch's import): prints a JSON line of the results."""
    work = Path(args.child)
    new = sorted((work / "card").iterdir())
    spec = (work / "spec").read_text()
    load_model(spec)
    n = cpu.cores()
    result = {f"{t},{w}": added_run(work / "base", work / "work", new, spec, t, w)
              for t in sorted({1, n}) for w in sorted({n, n + 1})}
    result["measured"] = added_run(work / "base", work / "work", new, spec, n, n, measured=True)
    result.update({f"query {t}": query_ms(spec, t) for t in sorted({1, n})})
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["default", "tiny"], default="default")
    parser.add_argument("--photos", type=int, default=16, help="the library before")
    parser.add_argument("--added", type=int, default=96, help="new photos each split adds "
                        "(cpu.Decoders needs 56 to measure its three counts once)")
    parser.add_argument("--rounds", type=int, default=2, help="each split this many times")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)
    runs: dict[str, dict[str, list[float]]] = {p: {} for p in POLICIES}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        make_photos(work / "base" / "photos", args.photos)
        make_photos(work / "card", args.added, first=args.photos)
        spec = (default_arch_dir(work / "model") if args.model == "default"
                else f"local-dir:{REPO / 'tests/models/tiny-clip'}")
        (work / "spec").write_text(spec)
        index_seconds(work / "base" / "photos", work / "base" / "home", spec)  # tags set
        for _ in range(args.rounds):  # interleaved: a busy spell hits every split alike
            for policy in POLICIES:
                out = subprocess.run(
                    [sys.executable, __file__, "--child", str(work)], check=True,
                    capture_output=True, text=True,
                    env={**os.environ, "OMP_WAIT_POLICY": policy}).stdout
                for key, value in json.loads(out.splitlines()[-1]).items():
                    runs[policy].setdefault(key, []).append(value)
    n = cpu.cores()
    old = min(runs["ACTIVE"][f"{n},{n}"])  # torch's and the pool's old defaults
    print(f"{n} cores; {args.added} 12 MP JPEGs added to a library of {args.photos}, "
          f"model {args.model}, best of {args.rounds} (ratio: against torch {n} threads "
          f"+ {n} decoders with OpenMP's ACTIVE wait, the old default)")
    for policy in POLICIES:
        for key, values in runs[policy].items():
            if key == "measured":
                print(f"  {policy:7s} torch {n}, decoders measured from {n} (cpu.Decoders): "
                      f"{args.added / min(values):5.2f} photos/s, {old / min(values):4.2f}x")
                continue
            if key.startswith("query"):
                print(f"  {policy:7s} text query, torch {key[6:]} thread(s): "
                      f"p50 {min(values):.1f} ms")
                continue
            t, w = key.split(",")
            best = min(values)
            chosen = (policy == "PASSIVE" and int(t) == cpu.torch_threads()
                      and int(w) == cpu.decode_workers())
            print(f"  {policy:7s} torch {t} + decode {w}: {args.added / best:5.2f} photos/s "
                  f"({best:5.1f} s), {old / best:4.2f}x{'  <- cpu.py' if chosen else ''}")


if __name__ == "__main__":
    main()
