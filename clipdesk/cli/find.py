"""Finding photos: by words, by an image, and the quality views (blurry, groups, flagged)."""
from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from clipdesk.cli.common import (
    add_result_options,
    command,
    open_library,
    print_hits,
    print_json,
    rounded,
)
from clipdesk.core.errors import ClipdeskError
from clipdesk.core.library import BLURRY, NSFW_THRESHOLD, describe_sharpness
from clipdesk.core.types import Hit, Sort
from clipdesk.wording import plural

if TYPE_CHECKING:
    from clipdesk.core.library import Library


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = command(sub, "search", "photos that match a description, best first", cmd_search)
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.epilog = QUERY_HELP
    p.add_argument("text", help="words and filters in one query (see below)")
    add_result_options(p)
    p.add_argument("--all", action="store_true",
                   help="also show the weaker matches below the relevance cutoff")
    p.add_argument("--tag", action="append", default=[], metavar="TAG",
                   help="only photos with this tag (repeat for several)")
    p.add_argument("--sort", choices=("relevance", "date", "sharpness"), default="relevance",
                   help="order of the results (default: best match first; date: newest "
                        "first by date taken)")

    p = command(sub, "similar", "photos that look like an image file", cmd_similar)
    p.add_argument("image", help="any image file, in the library or not")
    add_result_options(p)
    p.add_argument("--all", action="store_true",
                   help="also show the weaker look-alikes below the relevance cutoff")
    p.add_argument("--sharper", action="store_true",
                   help="only look-alikes sharper than IMAGE, sharpest first")
    p.add_argument("--sort", choices=("relevance", "sharpness"), default="relevance",
                   help="order of the results (default: most alike first)")

    p = command(sub, "blurry", "photos judged blurry, blurriest first", cmd_blurry, json=True)
    p.add_argument("--below", type=float, metavar="SCORE",
                   help=f"sharpness under which a photo counts as blurry (default {BLURRY}; "
                        "sharp photos score about 0.7-0.9)")

    command(sub, "groups", "bursts and near-duplicates, best shot first", cmd_groups, json=True)

    p = command(sub, "flagged", "photos with the sensitive-content flag", cmd_flagged,
                json=True)
    p.add_argument("--nsfw-threshold", metavar="SCORE",
                   help="first set the open_nsfw score (over 0, at most 1) at or over which a "
                        "photo is flagged, or 'off'; remembered for this library (default "
                        f"{NSFW_THRESHOLD})")


QUERY_HELP = """\
the query language (one line; words are matched by meaning, the rest filters):
  beach                 words: photos that look like them (and whose names, tags or
                        caption hold them, first)
  "red car"             a quoted phrase, kept together ("2019" searches the number)
  -snow, not snow       leave out photos that match a word
  #holiday              only photos with this tag
  2019, 2019-06, 2017-2019, june, summer, june 2018, last summer, this year
                        when the photo was taken (local time; seasons are northern;
                        may, march and fall are dates only beside a year or after in)
  in Lisbon, in "New York"
                        where: a country, region or city of the library's photos
  Anna, person:Anna     who: a name given to a person in People (clipdesk people);
                        unquoted (quoted, "Anna" is a phrase of words)
  blurry, not blurry    by the sharpness measure
  A query of only filters lists every photo matching them, newest first. A query
  with filters says first, on stderr, how it was understood
  ("understood as: beach · 2019 · not snow").

examples:
  clipdesk search "beach 2019 -snow" --json
  clipdesk search "sunset in Lisbon" --sort date
  clipdesk search "Anna beach 2019"
  clipdesk search "birthday cake not blurry"
  clipdesk search '"red car" #holiday'
"""


def cmd_search(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        understood = lib.understand(args.text)
        if understood.has_filters or understood.excluded or understood.phrases:
            # said only when the language read more than plain words (scripts stay quiet)
            print(f"understood as: {understood.describe()}", file=sys.stderr)
        sort = Sort.NEWEST if args.sort == "date" else Sort.DATE
        print_ranked(lib.search(args.text, args.k, tags=args.tag, sort=sort), args, lib)
    return 0


def cmd_similar(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        find = lib.groups.sharper if args.sharper else lib.similar
        hits = find(args.image, args.k)
        print_ranked(hits, args, lib)
    return 0


def print_ranked(hits: list[Hit], args: argparse.Namespace, lib: Library) -> None:
    """The hits above the relevance cutoff (all with --all), in the order asked for."""
    shown = hits if args.all else [h for h in hits if h.relevant]
    if Sort(args.sort) is Sort.SHARPNESS:
        shown = lib.photos.by_sharpness(shown)
    print_hits(shown, args.json, lib)
    if len(shown) < len(hits):
        print(f"{len(hits) - len(shown)} weaker matches hidden below the relevance cutoff; "
              "--all shows them", file=sys.stderr)


def cmd_flagged(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        if args.nsfw_threshold is not None:
            lib.set_nsfw_threshold(_nsfw_threshold(args.nsfw_threshold))
        print_hits(lib.tags.flagged(), args.json, lib)
    return 0


def _nsfw_threshold(text: str) -> float | None:
    if text.strip().lower() == "off":
        return None
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0.0 < value <= 1.0:
        raise ClipdeskError(f"--nsfw-threshold is a score over 0 and at most 1, or 'off', "
                            f"not {text!r}")
    return value


def cmd_blurry(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        hits = lib.groups.blurry(BLURRY if args.below is None else args.below)
    if args.json:
        print_json([{"path": os.fsdecode(h.path), "score": round(h.score, 4),
                     "sharpness": round(h.score, 4), "judged": describe_sharpness(h.score)}
                    for h in hits])
    else:
        print_hits(hits, False, None)
    return 0


def cmd_groups(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        groups = lib.groups.all()
    if args.json:
        print_json([{"best": os.fsdecode(g[0].path), "members": [
            {"path": os.fsdecode(m.path), "score": rounded(m.sharpness),
             "sharpness": rounded(m.sharpness), "rejected": m.rejected,
             "best": i == 0} for i, m in enumerate(g)]} for g in groups])
        return 0
    out = sys.stdout.buffer
    for n, group in enumerate(groups, 1):
        out.write(f"Group {n} ({plural(len(group), 'photo')}):\n".encode())
        for i, m in enumerate(group):
            mark = "best" if i == 0 else ("reject" if m.rejected else "")
            sharp = "   -  " if m.sharpness is None else f"{m.sharpness:6.3f}"
            out.write(f"  {sharp}  {mark:6s}  ".encode() + m.path + b"\n")
    out.flush()
    return 0
