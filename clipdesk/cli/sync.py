"""Keeping in step with the disk and with other photo tools: `xmp` writes XMP sidecars
(tags, caption, reject) named as digiKam and darktable name them; `watch` keeps the
catalog current while files come and go."""
from __future__ import annotations

import argparse
import os
import sys
import time

from clipdesk.cli.common import command, open_library, print_json
from clipdesk.core.errors import ClipdeskError
from clipdesk.core.types import IndexSummary
from clipdesk.wording import plural


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = command(sub, "xmp", "write tags, caption, reject to XMP sidecars (IMG.jpg.xmp)",
                cmd_xmp, json=True)
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help="photos, or folders (every library photo below them)")
    p.add_argument("--all", action="store_true", help="every photo in the library")
    p.add_argument("--include-auto", action="store_true",
                   help="also the automatic tags and model captions (default: only what "
                        "a person set)")
    p.add_argument("--text", action="store_true",
                   help="also the text read in photos (clipdesk read-text), in the "
                        "description after the caption (default: never written)")

    command(sub, "watch", "keep the library current as files change (Ctrl+C ends)", cmd_watch)


def cmd_xmp(args: argparse.Namespace) -> int:
    if bool(args.paths) == bool(args.all):  # a usage error, said as argparse says them
        print("clipdesk xmp: error: give photos or folders, or --all (not both)",
              file=sys.stderr)
        return 2
    with open_library(args) as lib:
        summary = lib.write_sidecars(None if args.all else args.paths, args.include_auto,
                                     args.text)
    if args.json:
        print_json({"written": summary.written, "unchanged": summary.unchanged,
                    **{key: [{"path": os.fsdecode(p.path), "reason": p.reason} for p in ps]
                       for key, ps in (("failed", summary.failed),
                                       ("left_alone", summary.left_alone))}})
    else:
        for problem in summary.failed + summary.left_alone:
            print(f"clipdesk: {problem.reason}", file=sys.stderr)
        left = f"{len(summary.left_alone):,} left alone, " if summary.left_alone else ""
        print(f"Wrote {plural(summary.written, 'sidecar')} ({summary.unchanged:,} already "
              f"up to date, {left}{len(summary.failed):,} failed)")
    # a sidecar left alone (a link, a pipe, read-only) is the rule followed, not a failure
    return 1 if summary.failed else 0


def cmd_watch(args: argparse.Namespace) -> int:
    from clipdesk.core.indexing.watch import Batch, Watcher

    def said(text: str) -> None:
        print(f"clipdesk: {text}", file=sys.stderr, flush=True)

    runs = 0
    unavailable: set[str] = set()  # folders not there: said when first seen, not every run

    def ran(batch: Batch) -> None:
        nonlocal runs, unavailable
        runs += 1
        if batch.summary is not None:
            for text in batch.summary.unavailable:
                if text not in unavailable:
                    said(text)
            unavailable = set(batch.summary.unavailable)
        line = batch_line(batch.summary, len(batch.paths), batch.seconds)
        if not line and runs == 1 and batch.summary is not None:  # the catch-up run
            line = f"up to date: {plural(batch.summary.photos, 'photo')}"
        if line:  # a rescan that found nothing says nothing
            print(f"{time.strftime('%H:%M:%S')}  {line}", flush=True)

    with open_library(args) as lib:
        if not lib.roots():
            raise ClipdeskError("no photo folders yet: run `clipdesk index FOLDER`")
        Watcher(lib, on_batch=ran, on_status=said).run()
    return 0


def batch_line(s: IndexSummary | None, changes: int, seconds: float) -> str:
    """One line for a run: what it changed ("" when a rescan found nothing)."""
    if s is None:
        return f"{plural(changes, 'change')} not indexed yet (see above)"
    deleted = max(0, s.removed - s.moved)  # a move's old path counts as removed
    parts = [f"{n:,} {what}" for n, what in ((s.new, "new"), (s.changed, "changed"),
                                            (s.moved, "moved"), (deleted, "removed")) if n]
    parts += [plural(n, what) for n, what in ((s.copies, "copy"), (s.problems, "problem"))
              if n]
    if not parts and not changes:
        return ""
    what = ", ".join(parts) or "nothing to index"
    return f"{what} ({plural(changes, 'change')} seen) -> {plural(s.photos, 'photo')}, " \
           f"{seconds:.1f} s"
