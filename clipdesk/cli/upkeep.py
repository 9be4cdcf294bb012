"""Keeping the library: index, status, problems, backups, models, and the app itself."""
from __future__ import annotations

import argparse
import contextlib
import os
import sys

from clipdesk.cli.common import (
    command,
    drive,
    local_time,
    open_library,
    print_json,
)
from clipdesk.core.errors import ClipdeskError
from clipdesk.core.library import DEFAULT_MODEL, list_builtin
from clipdesk.core.types import IndexSummary
from clipdesk.wording import plural

MODEL_HELP = (
    f"embedding model: ARCH:TAG (default {DEFAULT_MODEL}), hf-hub:ORG/REPO, or "
    "local-dir:FOLDER (open_clip_config.json + weights). Indexing with another model "
    "re-embeds the library; queries always use the model that made the stored vectors")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = command(sub, "index", "add photo folders and index new or changed photos", cmd_index)
    p.add_argument("folders", nargs="*", help="folders to add (default: the known ones)")
    p.add_argument("--model", metavar="SPEC", help=MODEL_HELP)
    p.add_argument("--wait", action="store_true",
                   help="if another clipdesk is indexing this library, wait for it to finish "
                        "(default: say so and exit)")

    command(sub, "status", "what is indexed, problems, model, folders", cmd_status, json=True)

    command(sub, "problems", "photos that could not be read, with reasons",
            cmd_problems, json=True)

    p = command(sub, "restore-backup",
                "put the last good backup of the catalog back (after damage or loss)",
                cmd_restore_backup)
    p.add_argument("which", nargs="?", metavar="WHICH",
                   help="a backup's number in --list (1 = newest) or its file name "
                        "(default: the newest one that passes its check)")
    p.add_argument("--list", action="store_true", help="list the backups, newest first")

    command(sub, "models", "list the built-in model specs open_clip knows", cmd_models)
    p = command(sub, "gui", "open the desktop app (the default with no command), or bring "
                "its window forward", cmd_gui)
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help="an image to find look-alikes of, or a folder to add (as if dropped "
                        "on the window)")


def cmd_index(args: argparse.Namespace) -> int:
    with open_library(args) as lib, \
            contextlib.closing(lib.index(args.folders, args.model, wait=args.wait)) as job:
        summary = drive(job)
    if summary is not None:
        for line in summary.unavailable:  # the environment's, not a photo's: stderr
            print(f"clipdesk: {line}", file=sys.stderr)
        print_summary(summary)
    return 0


def print_summary(s: IndexSummary) -> None:
    """What the library holds, then what this run did (per file)."""
    print(f"Indexed {plural(s.photos, 'photo')} in {s.seconds:.1f} s ({s.embedded:,} "
          f"embedded, {s.photos_per_second:.1f} photos/s): {s.new:,} new, "
          f"{plural(s.copies, 'copy')}, {s.changed:,} changed, {s.moved:,} moved, "
          f"{s.removed:,} removed, {s.unchanged:,} unchanged, {plural(s.problems, 'problem')}"
          + (f", {plural(s.ignored, 'other file')} ignored" if s.ignored else "")
          + (f"; the whole frame of {plural(s.framed, 'photo')} indexed before it"
             if s.framed else ""))
    if s.problems:
        print("See them with: clipdesk problems")


def cmd_status(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        st = lib.status()
    if args.json:
        print_json({"photos": st.photos, "files": st.files, "problems": st.problems,
                    "ignored": st.ignored, "videos": st.videos,
                    "video_problems": st.video_problems,
                    "raw": st.raw, "raw_problems": st.raw_problems,
                    "model": st.model, "pending_model": st.pending_model, "roots": st.roots,
                    "index": st.index_state, "home": st.home, "encoding": st.encoding})
        return 0
    print(f"Photos:   {st.photos:,} ({plural(st.files, 'file')})"
          + _of_them(st.videos, st.raw))
    print(f"Problems: {st.problems:,}" + _of_them(st.video_problems, st.raw_problems)
          + (" (clipdesk problems)" if st.problems else ""))
    if st.ignored:
        print(f"Ignored:  {plural(st.ignored, 'other file')} (not photos)")
    print(f"Model:    {st.model or 'none yet'}")
    if st.pending_model:
        print(f"Switching to: {st.pending_model} (run clipdesk index to finish)")
    print(f"Index:    {st.index_state}")
    if st.encoding:
        print(f"Runs on:  {st.encoding} (the last index run)")
    print("Folders:  " + (", ".join(st.roots) or "none yet"))
    print(f"Data in:  {st.home}")
    return 0


def _of_them(videos: int, raw: int) -> str:
    """", of them 2 videos, 3 RAW" (what is not 0), or nothing."""
    kinds = [plural(videos, "video") if videos else "", f"{raw:,} RAW" if raw else ""]
    said = ", ".join(k for k in kinds if k)
    return f", of them {said}" if said else ""


def cmd_problems(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        problems = lib.problems()
    if args.json:
        print_json([{"path": os.fsdecode(p.path), "status": p.status, "reason": p.reason,
                     "video": p.video} for p in problems])
        return 0
    out = sys.stdout.buffer
    for p in problems:
        out.write(p.path + f"\t{p.status}: {p.reason}\n".encode())
    out.flush()
    return 0


def cmd_restore_backup(args: argparse.Namespace) -> int:
    from clipdesk.core.paths import home_dir
    from clipdesk.core.store import backup

    home = home_dir(args.home)  # not a Library: its catalog may be the damaged one
    if args.list:
        backups = backup.list_backups(home)
        if not backups:
            print(f"No backups yet in {backup.backup_dir(home)}; one is made after each "
                  "`clipdesk index` that changes something and after your edits.")
        for n, b in enumerate(backups, 1):
            count = backup.info(b).photos
            held = "damaged" if count is None else plural(count, "photo")
            print(f"{n}  {local_time(b.made)}  {held:>14}  {b.path.name}")
        return 0
    restored = backup.restore(home, args.which)
    kept = ("" if restored.aside is None
            else f"; the catalog it replaced is kept as {restored.aside}")
    print(f"Restored the catalog from the backup of {local_time(restored.backup.made)}: "
          f"{plural(restored.backup.photos or 0, 'photo')}{kept}.")
    print("Run `clipdesk index` to catch up with the changes since that backup.")
    return 0


def cmd_models(args: argparse.Namespace) -> int:

    print(f"Default: {DEFAULT_MODEL}")
    print("Also: hf-hub:ORG/REPO and local-dir:FOLDER. MobileCLIP weights are licensed "
          "for research use only.")
    for spec in list_builtin():
        print(spec)
    return 0


def cmd_gui(args: argparse.Namespace) -> int:
    if (sys.platform.startswith("linux") and not os.environ.get("QT_QPA_PLATFORM")
            and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))):
        raise ClipdeskError("no screen to show the app on (DISPLAY is not set); the "
                            "command line works without one: see clipdesk --help")
    from clipdesk.qt.app import main as gui_main  # the only place the CLI touches Qt

    return gui_main(args.home, args.paths)
