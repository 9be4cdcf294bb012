"""Start-up of a one-shot `clipdesk search` (issue 25): the whole process, and the
imports alone, against the floor (`import torch`, `import torch, open_clip`) and the
old path, all in the same run.

    python benchmarks/bench_startup.py                        # the tiny test model
    python benchmarks/bench_startup.py --model ViT-B-32-256   # random weights, local-dir:
    python benchmarks/bench_startup.py --repeat 9

A home is built in a temp folder (18 synthetic photos indexed by the model), then each case
runs as a fresh `python -X importtime` process, the cases taking turns, `--repeat` times.
Printed: the best and median wall time (time.perf_counter around subprocess.run), the best
CPU time (user + system: steadier while other work shares the cores), the import time
(each module's own time as -X importtime reports it, the least of the runs, summed: the
steadiest figure on shared cores), the modules imported (a count no busy core moves), and
the ratios.

- floor: `python -c pass`, `import torch`, `import torch, torch._dynamo` (torchvision's
  import brings torch._dynamo), `import torch, open_clip` (open_clip as it imports itself:
  with transformers, timm and torchvision);
- imports of a search: the imports of `clipdesk search`, without the search (clipdesk.cli,
  open_clip as imports.py imports it, the embedder);
- `clipdesk status` (must not import torch) and `clipdesk search "a red circle"`;
- the old path: the same imports and search with timm imported first, as open_clip's own
  import did before imports.py held it back.
"""
from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.conftest import TINY_MODEL, use_tiny_models  # noqa: E402
from tests.synthetic import COLORS, SHAPES, render  # noqa: E402

QUERY = "a red circle"
# what open_clip's own import did with timm before imports.py held it back (OMP's policy
# as torch_module sets it, since timm imports torch first)
OLD = "import os; os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE'); import timm; "
IMPORTS = ("from clipdesk.cli import main; "
           "from clipdesk.core.models.imports import open_clip_module; open_clip_module(); "
           "import clipdesk.core.models.embedder")


def cli(*args: str) -> str:
    """Python code running `clipdesk ARGS` as `python -m clipdesk` does."""
    return f"import sys; from clipdesk.cli import main; sys.exit(main({list(args)!r}))"


def build_home(tmp: Path, model: str) -> Path:
    photos, home = tmp / "photos", tmp / "home"
    photos.mkdir()
    for i, (color, shape) in enumerate((c, s) for c in COLORS for s in SHAPES):
        render(color, shape, "white", (640, 480), seed=i).save(photos / f"{color}-{shape}.jpg")
    use_tiny_models(home)
    if model == "tiny":
        spec = TINY_MODEL
    else:
        from bench_index import default_arch_dir  # beside this script (imports torch)

        assert model == "ViT-B-32-256", "--model: tiny or ViT-B-32-256"
        spec = default_arch_dir(tmp / "model")
    subprocess.run([sys.executable, "-m", "clipdesk", "--home", str(home), "index",
                    str(photos), "--model", spec], cwd=REPO, check=True,
                   stdout=subprocess.DEVNULL, env=env())
    return home


def env() -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}


class Run(NamedTuple):
    wall: float  # seconds, the whole process
    cpu: float  # user + system seconds of the process: moves less when the cores are shared
    imports: dict[str, int]  # each module imported: its own import time (us, -X importtime)


def import_time(runs: list[Run]) -> float:
    """Seconds in imports: each module's own time, the least of the runs (a busy moment
    adds to a module's time, never takes from it), summed."""
    modules = set().union(*(r.imports for r in runs))
    return sum(min(r.imports.get(m, 0) for r in runs) for m in modules) / 1e6


def measure(cases: dict[str, str], repeat: int) -> dict[str, list[Run]]:
    runs: dict[str, list[Run]] = {name: [] for name in cases}
    for _ in range(repeat):
        for name, code in cases.items():  # in turns: a busy moment hits every case alike
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            done = subprocess.run([sys.executable, "-X", "importtime", "-c", code], cwd=REPO,
                                  env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            wall = time.perf_counter() - start
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            err = done.stderr.decode(errors="replace")
            if done.returncode != 0:
                sys.exit(f"{name} failed:\n{err}")
            own = re.findall(r"^import time:\s+(\d+) \|\s+\d+ \|\s+(\S+)$", err, re.M)
            runs[name].append(Run(wall, cpu, {module: int(us) for us, module in own}))
    return runs


def report(best: dict[str, float], unit: str) -> None:
    floor = best["import torch, open_clip"]
    search, old = best["clipdesk search"], best["clipdesk search (old path)"]
    imports, old_imports = best["imports of a search"], best["imports of a search (old path)"]
    print(f"{unit}: clipdesk search {search:.2f} s, old path {old:.2f} s: "
          f"{old / search:.2f}x; {search / floor:.2f}x `import torch, open_clip`")
    print(f"{unit}: imports of a search {imports:.2f} s, old path {old_imports:.2f} s: "
          f"{old_imports / imports:.2f}x; {imports / floor:.2f}x `import torch, open_clip`; "
          f"{imports - best['import torch']:.2f} s over `import torch`, of which "
          f"torch._dynamo {best['import torch, torch._dynamo'] - best['import torch']:.2f} s")
    print(f"{unit}: clipdesk status {best['clipdesk status']:.2f} s, "
          f"{best['clipdesk status'] - best['python -c pass']:.2f} s over `python -c pass`")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="tiny", help="tiny or ViT-B-32-256")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = build_home(Path(tmp), args.model)
        h = ["--home", str(home)]
        cases = {
            "python -c pass": "pass",
            "import torch": "import torch",
            "import torch, torch._dynamo": "import torch, torch._dynamo",
            "import torch, open_clip": "import torch, open_clip",
            "imports of a search (old path)": OLD + IMPORTS,
            "imports of a search": IMPORTS,
            "clipdesk status": cli(*h, "status"),
            "clipdesk search (old path)": OLD + cli(*h, "search", QUERY),
            "clipdesk search": cli(*h, "search", QUERY),
        }
        runs = measure(cases, args.repeat)
    print(f"model {args.model}, {args.repeat} runs each, {os.cpu_count()} cores; seconds: "
          "wall (best, median), CPU (best), imports (import_time); modules imported")
    for name, each in runs.items():
        walls = [r.wall for r in each]
        print(f"  {name:32s} {min(walls):6.2f} {statistics.median(walls):6.2f} "
              f"{min(r.cpu for r in each):6.2f} {import_time(each):6.2f} "
              f"{len(each[0].imports):6d}")
    report({name: min(r.wall for r in each) for name, each in runs.items()}, "wall")
    report({name: min(r.cpu for r in each) for name, each in runs.items()}, "CPU")
    report({name: import_time(each) for name, each in runs.items()}, "imports")


if __name__ == "__main__":
    main()
