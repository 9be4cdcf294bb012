"""What every command shares: the library it opens, progress bars, and output."""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING

from clipdesk.core.types import Hit, IndexSummary, Phase, Problem, Progress
from clipdesk.wording import clock

if TYPE_CHECKING:
    from clipdesk.core.library import Library

DEFAULT_K = 20


def command(sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help: str,
            run: Callable[[argparse.Namespace], int], json: bool = False,
            ) -> argparse.ArgumentParser:
    """A subcommand that `run` carries out (with --json when it can print JSON)."""
    p = sub.add_parser(name, help=help)
    p.set_defaults(run=run)
    if json:
        add_json_option(p)
    return p


def add_result_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("-k", type=int, default=DEFAULT_K, metavar="N",
                   help=f"how many results (default {DEFAULT_K})")
    add_json_option(p)


def add_json_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print JSON")


@contextlib.contextmanager
def open_library(args: argparse.Namespace) -> Iterator[Library]:
    from clipdesk.core.library import Library  # torch and friends load only when needed

    lib = Library(args.home)
    lib.warn = lambda message: print(f"clipdesk: {message}", file=sys.stderr)
    try:
        yield lib
        # a command's edits reach a backup before it ends (and what a killed run left
        # unsaved with them); not after an error: that one line stays the only one
        if lib.edits.made:
            lib.backup_if_due()
    finally:
        lib.close()


def drive(job: Iterator[Progress], title: str = "Indexing") -> IndexSummary | None:
    """Run a job, with a progress bar on a terminal and silence when piped."""
    bar = None
    phase: Phase | None = None
    summary = None
    show = sys.stderr.isatty()
    try:
        for step in job:
            if step.summary is not None:
                summary = step.summary
            if not show or step.phase not in (Phase.INDEX, Phase.CAPTION, Phase.READ_TEXT,
                                                   Phase.FACES):
                continue
            if bar is None or step.phase != phase:  # an index run's faces step: a bar of its own
                from tqdm import tqdm

                if bar is not None:
                    bar.close()
                phase = step.phase
                bar = tqdm(total=step.total, unit="photo", file=sys.stderr, dynamic_ncols=True,
                           desc="Finding people" if phase == Phase.FACES else title)
            bar.update(step.done - bar.n)
    finally:
        if bar is not None:
            bar.close()
    return summary


def say_problems(job: Iterator[Progress], problems: list[Problem]) -> Iterator[Progress]:
    """The job's steps, each problem printed on stderr as it comes and kept in `problems`."""
    for step in job:
        if step.problem is not None:
            problems.append(step.problem)
            print(f"clipdesk: {step.problem.reason}", file=sys.stderr)
        yield step


def print_hits(hits: Iterable[Hit], as_json: bool, lib: Library | None) -> None:
    hits = list(hits)
    if as_json and lib is not None:
        sharp = lib.photos.sharpness(h.photo_id for h in hits)
        print_json([{"path": os.fsdecode(h.path), "score": round(h.score, 4),
                     "sharpness": rounded(sharp.get(h.photo_id)),
                     "tags": [t for t, _, _ in lib.tags.of(h.photo_id)],
                     "caption": lib.captions.of(h.photo_id)[0],
                     "text": lib.text.of(h.photo_id),
                     # a video: the time of the keyframe that matched best, in seconds
                     "at": None if h.at is None else round(h.at, 2)} for h in hits])
        return
    out = sys.stdout.buffer
    for h in hits:  # raw bytes: a non-UTF-8 file name is printed as the OS has it
        at = b"" if h.at is None else f"  (at {clock(h.at)})".encode()
        out.write(f"{h.score:6.3f}  ".encode() + h.path + at + b"\n")
    out.flush()


def rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def local_time(when: datetime) -> str:
    return when.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def print_json(data: object) -> None:
    # ensure_ascii keeps non-UTF-8 names (surrogate escapes) round-trippable
    print(json.dumps(data, ensure_ascii=True, indent=2))
