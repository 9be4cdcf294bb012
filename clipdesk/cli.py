"""The `clipdesk` command: the engine's jobs, headless. Qt is imported only by `gui`.

Exit status: 0 done, 1 an error (one line on stderr), 2 a usage error, 130 interrupted,
141 (128 + SIGPIPE, what `cat` or `grep` give) when the reader of the output went away,
as with `clipdesk search ... | head`: the output stops quietly, without a traceback."""
from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
from collections.abc import Iterator, Sequence

from clipdesk.core.captions import DEFAULT_CAPTIONER
from clipdesk.core.errors import ClipdeskError
from clipdesk.core.quality import BLURRY, describe
from clipdesk.core.models import DEFAULT_MODEL
from clipdesk.core.types import Hit, IndexSummary, Phase, Progress, Sort

DEFAULT_K = 20

MODEL_HELP = (
    f"embedding model: ARCH:TAG (default {DEFAULT_MODEL}), hf-hub:ORG/REPO, or "
    "local-dir:FOLDER (open_clip_config.json + weights). Indexing with another model "
    "re-embeds the library; queries always use the model that made the stored vectors")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clipdesk", description="Find your photos by what is in them.")
    parser.add_argument("--home", metavar="DIR",
                        help="where the catalog, index and thumbnails live "
                             "(default: $CLIPDESK_HOME or the user data folder)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("index", help="add photo folders and index new or changed photos")
    p.add_argument("folders", nargs="*", help="folders to add (default: the known ones)")
    p.add_argument("--model", metavar="SPEC", help=MODEL_HELP)
    p.add_argument("--wait", action="store_true",
                   help="if another clipdesk is indexing this library, wait for it to finish "
                        "(default: say so and exit)")

    p = sub.add_parser("search", help="photos that match a description, best first")
    p.add_argument("text")
    _add_result_options(p)
    p.add_argument("--all", action="store_true",
                   help="also show the weaker matches below the relevance cutoff")
    p.add_argument("--tag", action="append", default=[], metavar="TAG",
                   help="only photos with this tag (repeat for several)")
    p.add_argument("--sort", choices=("relevance", "sharpness"), default="relevance",
                   help="order of the results (default: best match first)")

    p = sub.add_parser("tags", help="every tag with its count, or one photo's tags")
    p.add_argument("image", nargs="?", help="a photo in the library")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("similar", help="photos that look like an image file")
    p.add_argument("image", help="any image file, in the library or not")
    _add_result_options(p)
    p.add_argument("--sharper", action="store_true",
                   help="only look-alikes sharper than IMAGE, sharpest first")
    p.add_argument("--sort", choices=("relevance", "sharpness"), default="relevance",
                   help="order of the results (default: most alike first)")

    p = sub.add_parser("blurry", help="photos judged blurry, blurriest first")
    p.add_argument("--below", type=float, metavar="SCORE",
                   help=f"sharpness under which a photo counts as blurry (default {BLURRY}; "
                        "sharp photos score about 0.7-0.9)")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("groups", help="bursts and near-duplicates, best shot first")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("reject", help="mark photos as rejects (nothing is deleted)")
    p.add_argument("images", nargs="+", metavar="IMG")
    p.add_argument("--undo", action="store_true", help="take the mark off again")

    p = sub.add_parser("teach", help="teach a tag by example: photos that show it (and not)")
    p.add_argument("tag")
    p.add_argument("--yes", nargs="+", default=[], metavar="IMG", help="photos that show it")
    p.add_argument("--no", nargs="+", default=[], metavar="IMG", help="photos that do not")

    p = sub.add_parser("suggest", help="photos a taught tag would add, most likely first")
    p.add_argument("tag")
    p.add_argument("-k", type=int, default=DEFAULT_K, metavar="N",
                   help=f"how many (default {DEFAULT_K})")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("caption", help="a photo's caption, written first if it has none")
    p.add_argument("image", nargs="?", help="an image file, in the library or not")
    p.add_argument("--all", action="store_true",
                   help="write a caption for every photo in the library that has none")
    p.add_argument("--set", metavar="TEXT", help="give a library photo your own caption")
    p.add_argument("--model", metavar="SPEC",
                   help=f"the CoCa model that writes captions (default {DEFAULT_CAPTIONER}); "
                        "remembered for this library")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("flagged", help="photos with the sensitive-content flag")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("status", help="what is indexed, problems, model, folders")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("problems", help="files that were skipped or failed, with reasons")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("restore-backup",
                       help="put the last good backup of the catalog back (after damage)")
    p.add_argument("which", nargs="?", metavar="WHICH",
                   help="a backup's number in --list (1 = newest) or its file name "
                        "(default: the newest one that passes its check)")
    p.add_argument("--list", action="store_true", help="list the backups, newest first")

    sub.add_parser("models", help="list the built-in model specs open_clip knows")
    sub.add_parser("gui", help="open the desktop app (the default with no command)")
    return parser


def _add_result_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("-k", type=int, default=DEFAULT_K, metavar="N",
                   help=f"how many results (default {DEFAULT_K})")
    p.add_argument("--json", action="store_true", help="print JSON")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if args.verbose:
        from clipdesk.core.imaging import show_native_messages

        show_native_messages(True)  # libtiff's own warnings, quiet by default
    if args.command is None:
        args.command = "gui"
    if getattr(args, "k", 1) < 1:
        parser.error("-k must be at least 1")
    if args.command == "search" and not args.text.strip():
        parser.error("the search text is empty: describe what is in the photos")
    try:
        rc = _COMMANDS[args.command](args)
        sys.stdout.flush()  # a closed pipe shows here, not at exit as an "ignored" error
        return rc
    except BrokenPipeError:
        return _reader_went_away()
    except ClipdeskError as exc:
        print(f"clipdesk: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("clipdesk: interrupted; what was done so far is saved", file=sys.stderr)
        return 130


def _reader_went_away() -> int:
    """The reader of stdout closed it (`| head`): point stdout at /dev/null so that the
    interpreter's last flush has nowhere to fail, and exit as SIGPIPE would."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return 141


@contextlib.contextmanager
def _library(args: argparse.Namespace) -> Iterator:
    from clipdesk.core.library import Library

    lib = Library(args.home)
    try:
        yield lib
    finally:
        lib.close()


def cmd_index(args: argparse.Namespace) -> int:
    with _library(args) as lib, contextlib.closing(lib.index(args.folders, args.model, wait=args.wait)) as job:
        summary = _drive(job)
    if summary is not None:
        _print_summary(summary)
    return 0


def _drive(job: Iterator[Progress], title: str = "Indexing") -> IndexSummary | None:
    """Run a job, with a progress bar on a terminal and silence when piped."""
    bar = None
    summary = None
    show = sys.stderr.isatty()
    try:
        for step in job:
            if step.summary is not None:
                summary = step.summary
            if not show or step.phase not in (Phase.INDEX, Phase.CAPTION):
                continue
            if bar is None:
                from tqdm import tqdm

                bar = tqdm(total=step.total, unit="photo", desc=title, file=sys.stderr,
                           dynamic_ncols=True)
            bar.update(step.done - bar.n)
    finally:
        if bar is not None:
            bar.close()
    return summary


def _print_summary(s: IndexSummary) -> None:
    """What the library holds, then what this run did (per file)."""
    copies = f"{s.copies} {'copy' if s.copies == 1 else 'copies'}"
    print(f"Indexed {s.photos} photos in {s.seconds:.1f} s ({s.embedded} embedded, "
          f"{s.photos_per_second:.1f} photos/s): {s.new} new, {copies}, {s.changed} changed, "
          f"{s.moved} moved, {s.removed} removed, {s.unchanged} unchanged, "
          f"{s.problems} problems")
    if s.problems:
        print("See them with: clipdesk problems")


def cmd_search(args: argparse.Namespace) -> int:
    with _library(args) as lib:
        hits = lib.search(args.text, args.k, tags=args.tag)
        shown = hits if args.all else [h for h in hits if h.relevant]
        if Sort(args.sort) is Sort.SHARPNESS:
            shown = lib.by_sharpness(shown)
        _print_hits(shown, args.json, lib)
    if len(shown) < len(hits):
        print(f"{len(hits) - len(shown)} weaker matches hidden below the relevance cutoff; "
              "--all shows them", file=sys.stderr)
    return 0


def cmd_similar(args: argparse.Namespace) -> int:
    with _library(args) as lib:
        hits = lib.sharper(args.image, args.k) if args.sharper else lib.similar(args.image, args.k)
        by_sharpness = Sort(args.sort) is Sort.SHARPNESS
        _print_hits(lib.by_sharpness(hits) if by_sharpness else hits, args.json, lib)
    return 0


def _print_hits(hits: list[Hit], as_json: bool, lib) -> None:
    if as_json:
        sharp = lib.sharpness_of(h.photo_id for h in hits)
        _print_json([{"path": os.fsdecode(h.path), "score": round(h.score, 4),
                      "sharpness": _rounded(sharp.get(h.photo_id)),
                      "tags": [t for t, _, _ in lib.photo_tags(h.photo_id)],
                      "caption": lib.caption_of(h.photo_id)[0]} for h in hits])
        return
    out = sys.stdout.buffer
    for h in hits:  # raw bytes: a non-UTF-8 file name is printed as the OS has it
        out.write(f"{h.score:6.3f}  ".encode() + h.path + b"\n")
    out.flush()


def cmd_tags(args: argparse.Namespace) -> int:
    with _library(args) as lib:
        if args.image is None:
            counts = lib.tag_counts()
            if args.json:
                _print_json([{"tag": t, "count": n} for t, n in counts])
            for tag, n in [] if args.json else counts:
                print(f"{n:6d}  {tag}")
            return 0
        tags = lib.tags(args.image)
    if args.json:
        _print_json({"path": os.path.abspath(args.image), "tags": [
            {"tag": t, "score": None if s is None else round(s, 4), "source": src}
            for t, s, src in tags]})
    else:
        print(", ".join(t for t, _, _ in tags) or "(no tags)")
    return 0


def cmd_teach(args: argparse.Namespace) -> int:
    with _library(args) as lib:
        count = lib.teach(args.tag, args.yes, args.no)
    print(f"Taught {args.tag!r}: {len(args.yes)} yes, {len(args.no)} no; {count} photos "
          f"suggested (clipdesk suggest {args.tag})")
    return 0


def cmd_suggest(args: argparse.Namespace) -> int:
    with _library(args) as lib:
        _print_hits([h for h in lib.suggest(args.tag, args.k) if h.relevant], args.json, lib)
    return 0


def cmd_flagged(args: argparse.Namespace) -> int:
    with _library(args) as lib:
        _print_hits(lib.flagged(), args.json, lib)
    return 0


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def cmd_blurry(args: argparse.Namespace) -> int:
    with _library(args) as lib:
        hits = lib.blurry(BLURRY if args.below is None else args.below)
        if args.json:
            _print_json([{"path": os.fsdecode(h.path), "score": round(h.score, 4),
                          "sharpness": round(h.score, 4), "judged": describe(h.score)}
                         for h in hits])
            return 0
    _print_hits(hits, False, None)
    return 0


def cmd_groups(args: argparse.Namespace) -> int:
    with _library(args) as lib:
        groups = lib.groups()
        if args.json:
            _print_json([{"best": os.fsdecode(g[0].path), "members": [
                {"path": os.fsdecode(m.path), "score": _rounded(m.sharpness),
                 "sharpness": _rounded(m.sharpness), "rejected": m.rejected,
                 "best": i == 0} for i, m in enumerate(g)]} for g in groups])
            return 0
    out = sys.stdout.buffer
    for n, group in enumerate(groups, 1):
        out.write(f"Group {n} ({len(group)} photos):\n".encode())
        for i, m in enumerate(group):
            mark = "best" if i == 0 else ("reject" if m.rejected else "")
            sharp = "   -  " if m.sharpness is None else f"{m.sharpness:6.3f}"
            out.write(f"  {sharp}  {mark:6s}  ".encode() + m.path + b"\n")
    out.flush()
    return 0


def cmd_reject(args: argparse.Namespace) -> int:
    with _library(args) as lib:
        lib.set_rejected([lib.photo_id(p) for p in args.images], not args.undo)
    print(f"{len(args.images)} photos {'no longer marked' if args.undo else 'marked'} as "
          "rejects (the files are untouched)")
    return 0


def cmd_caption(args: argparse.Namespace) -> int:
    if args.image is None and not args.all:
        raise ClipdeskError("name an image, or use --all to caption the whole library")
    with _library(args) as lib:
        if args.model:
            lib.choose_captioner(args.model)
        if args.all:
            with contextlib.closing(lib.write_captions()) as job:
                _drive(job, "Captioning")
            print(f"{lib.captionless_count()} photos still without a caption")
        if args.image is None:
            return 0
        if args.set is not None:
            lib.set_caption(lib.photo_id(args.image), args.set)
        caption = lib.caption_file(args.image)
    if args.json:
        _print_json({"path": os.path.abspath(args.image), "caption": caption})
    else:
        print(caption)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    with _library(args) as lib:
        st = lib.status()
    if args.json:
        _print_json({"photos": st.photos, "files": st.files, "problems": st.problems,
                     "model": st.model, "pending_model": st.pending_model, "roots": st.roots,
                     "index": st.index_state, "home": st.home})
        return 0
    print(f"Photos:   {st.photos} ({st.files} files)")
    print(f"Problems: {st.problems}" + (" (clipdesk problems)" if st.problems else ""))
    print(f"Model:    {st.model or 'none yet'}")
    if st.pending_model:
        print(f"Switching to: {st.pending_model} (run clipdesk index to finish)")
    print(f"Index:    {st.index_state}")
    print("Folders:  " + (", ".join(st.roots) or "none yet"))
    print(f"Data in:  {st.home}")
    return 0


def cmd_problems(args: argparse.Namespace) -> int:
    with _library(args) as lib:
        problems = lib.problems()
    if args.json:
        _print_json([{"path": os.fsdecode(p.path), "status": p.status, "reason": p.reason}
                     for p in problems])
        return 0
    out = sys.stdout.buffer
    for p in problems:
        out.write(p.path + f"\t{p.status}: {p.reason}\n".encode())
    out.flush()
    return 0


def cmd_restore_backup(args: argparse.Namespace) -> int:
    from clipdesk.core import backup
    from clipdesk.core.paths import home_dir

    home = home_dir(args.home)  # not a Library: its catalog may be the damaged one
    if args.list:
        backups = backup.list_backups(home)
        if not backups:
            print(f"No backups yet in {backup.backup_dir(home)}; one is made after each "
                  "`clipdesk index` that changes something.")
        for n, b in enumerate(backups, 1):
            count = backup.info(b).photos
            held = "damaged" if count is None else f"{count} photos"
            print(f"{n}  {_local(b.made)}  {held:>14}  {b.path.name}")
        return 0
    restored = backup.restore(home, args.which)
    kept = ("" if restored.aside is None
            else f"; the catalog it replaced is kept as {restored.aside}")
    print(f"Restored the catalog from the backup of {_local(restored.backup.made)}: "
          f"{restored.backup.photos} photos{kept}.")
    print("Run `clipdesk index` to catch up with the changes since that backup.")
    return 0


def _local(when) -> str:
    return when.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def cmd_models(args: argparse.Namespace) -> int:
    from clipdesk.core.models import list_builtin

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

    return gui_main(args.home)


def _print_json(data: object) -> None:
    # ensure_ascii keeps non-UTF-8 names (surrogate escapes) round-trippable
    print(json.dumps(data, ensure_ascii=True, indent=2))


_COMMANDS = {"index": cmd_index, "search": cmd_search, "similar": cmd_similar,
             "status": cmd_status, "problems": cmd_problems, "models": cmd_models,
             "gui": cmd_gui, "tags": cmd_tags, "teach": cmd_teach, "suggest": cmd_suggest,
             "flagged": cmd_flagged, "caption": cmd_caption, "blurry": cmd_blurry,
             "groups": cmd_groups, "reject": cmd_reject,
             "restore-backup": cmd_restore_backup}
