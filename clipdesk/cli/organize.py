"""Organising photos: tags, teaching a tag by example, rejects, captions and the text
in photos."""
from __future__ import annotations

import argparse
import contextlib
import os
import sys

from clipdesk.cli.common import (
    DEFAULT_K,
    command,
    drive,
    open_library,
    print_hits,
    print_json,
    say_problems,
)
from clipdesk.core.errors import ClipdeskError
from clipdesk.core.library import DEFAULT_CAPTIONER
from clipdesk.core.types import Problem
from clipdesk.wording import plural


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = command(sub, "tags", "every tag with its count, or one photo's tags", cmd_tags, json=True)
    p.add_argument("image", nargs="?", help="a photo in the library")
    p.add_argument("--rejudge", action="store_true",
                   help="judge every photo's automatic tags again, against the library as it "
                        "is now (photos added since the last time were judged against the "
                        "thresholds of then)")

    p = command(sub, "teach", "teach a tag by example: photos that show it (and not)", cmd_teach)
    p.add_argument("tag")
    p.add_argument("--yes", nargs="+", default=[], metavar="IMG", help="photos that show it")
    p.add_argument("--no", nargs="+", default=[], metavar="IMG", help="photos that do not")

    p = command(sub, "suggest", "photos a taught tag would add, most likely first",
                cmd_suggest, json=True)
    p.add_argument("tag")
    p.add_argument("-k", type=int, default=DEFAULT_K, metavar="N",
                   help=f"how many (default {DEFAULT_K})")

    p = command(sub, "reject", "mark photos as rejects (nothing is deleted)", cmd_reject)
    p.add_argument("images", nargs="+", metavar="IMG")
    p.add_argument("--undo", action="store_true", help="take the mark off again")

    p = command(sub, "caption", "a photo's caption, written first if it has none",
                cmd_caption, json=True)
    p.add_argument("image", nargs="?", help="an image file, in the library or not")
    p.add_argument("--all", action="store_true",
                   help="write a caption for every photo in the library that has none")
    p.add_argument("--set", metavar="TEXT", help="give a library photo your own caption")
    p.add_argument("--model", metavar="SPEC",
                   help=f"the CoCa model that writes captions (default {DEFAULT_CAPTIONER}); "
                        "remembered for this library")

    p = command(sub, "read-text", "read the text in photos (signs, screenshots, documents) "
                "so that search finds it", cmd_read_text, json=True)
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help="photos or folders of the library to read (default: the photos "
                        "never read that look like they hold text)")
    p.add_argument("--all", action="store_true",
                   help="every photo never read, not only those that look like they hold text "
                        "(about 0.5-3 s a photo on a CPU)")
    p.add_argument("--again", action="store_true",
                   help="read the named photos again even when read before")


def cmd_tags(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        if args.rejudge:
            lib.tags.retag()
        if args.image is None:
            counts = lib.tags.counts()
            if args.json:
                print_json([{"tag": t, "count": n} for t, n in counts])
            for tag, n in [] if args.json else counts:
                print(f"{n:6d}  {tag}")
            return 0
        tags = lib.tags.of(lib.photos.id_of(args.image))
    if args.json:
        print_json({"path": os.path.abspath(args.image), "tags": [
            {"tag": t, "score": None if s is None else round(s, 4), "source": src}
            for t, s, src in tags]})
    else:
        print(", ".join(t for t, _, _ in tags) or "(no tags)")
    return 0


def cmd_teach(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        count = lib.teach(args.tag, args.yes, args.no)
    print(f"Taught {args.tag!r}: {len(args.yes)} yes, {len(args.no)} no; "
          f"{plural(count, 'photo')} "
          f"suggested (clipdesk suggest {args.tag})")
    return 0


def cmd_suggest(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        print_hits([h for h in lib.tags.suggest(args.tag, args.k) if h.relevant], args.json, lib)
    return 0


def cmd_reject(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        lib.groups.reject([lib.photos.id_of(p) for p in args.images], not args.undo)
    print(f"{plural(len(args.images), 'photo')} "
          f"{'no longer marked' if args.undo else 'marked'} as "
          "rejects (the files are untouched)")
    return 0


def cmd_caption(args: argparse.Namespace) -> int:
    if args.image is None and not args.all:
        raise ClipdeskError("name an image, or use --all to caption the whole library")
    with open_library(args) as lib:
        if args.model:
            lib.captions.choose_captioner(args.model)
        if args.all:
            with contextlib.closing(lib.captions.write_all()) as job:
                drive(job, "Captioning")
            print(f"{plural(lib.captions.count_missing(), 'photo')} still without a caption")
        if args.image is None:
            return 0
        if args.set is not None:
            lib.captions.set(lib.photos.id_of(args.image), args.set)
        caption = lib.captions.of_file(args.image)
    if args.json:
        print_json({"path": os.path.abspath(args.image), "caption": caption})
    else:
        print(caption)
    return 0


def cmd_read_text(args: argparse.Namespace) -> int:
    """Progress and each photo that cannot be read on stderr; then each named photo's text
    (or, for a pass, a count). Ctrl-C stops after the photo in hand: the texts read stay."""
    with open_library(args) as lib:
        if args.paths:
            ids: list[int] | None = lib.photos.ids_at(args.paths)
        else:
            ids = lib.text.unread() if args.all else None
        problems: list[Problem] = []
        before = lib.text.counts()[0]
        with contextlib.closing(lib.text.read(ids, again=args.again)) as job:
            drive(say_problems(job, problems), "Reading text")
        read, with_text = lib.text.counts()
        if args.paths:
            texts = lib.photos.paths(ids or [])
            shown = [(texts[i], lib.text.of(i)) for i in ids or [] if i in texts]
            if args.json:
                print_json([{"path": os.fsdecode(p), "text": t} for p, t in shown])
            for path, text in [] if args.json else shown:
                one_line = " / ".join((text or "").splitlines()) or "(no text)"
                sys.stdout.buffer.write(path + b": " + one_line.encode() + b"\n")
        elif args.json:
            print_json({"read_now": read - before, "read": read, "with_text": with_text,
                        "problems": len(problems)})
        else:
            print(f"Read {plural(read - before, 'photo')} now; {read:,} read so far, "
                  f"{with_text:,} with text")
    return 1 if problems else 0
