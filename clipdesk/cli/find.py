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
    p.add_argument("text")
    add_result_options(p)
    p.add_argument("--all", action="store_true",
                   help="also show the weaker matches below the relevance cutoff")
    p.add_argument("--tag", action="append", default=[], metavar="TAG",
                   help="only photos with this tag (repeat for several)")
    p.add_argument("--sort", choices=("relevance", "sharpness"), default="relevance",
                   help="order of the results (default: best match first)")

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


def cmd_search(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        print_ranked(lib.search(args.text, args.k, tags=args.tag), args, lib)
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
