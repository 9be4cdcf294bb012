"""The `clipdesk` command: the engine's jobs, headless. Qt is imported only by `gui`.

Each module here registers its subcommands (`register(sub)`, each with common.command())
and talks only to the Library facade: upkeep (index, status, problems, backups, models,
gui), find (search, similar, blurry, groups, flagged), organize (tags, teaching, rejects,
captions), sync (XMP sidecars, watching the folders).

Exit status: 0 done, 1 an error (one line on stderr), 2 a usage error, 130 interrupted,
141 (128 + SIGPIPE, what `cat` or `grep` give) when the reader of the output went away,
as with `clipdesk search ... | head`: the output stops quietly, without a traceback. An
output that cannot be written (`> /dev/full`, a full disk) is one line and exit 1."""
from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Sequence

from clipdesk.cli import find, organize, people, sync, upkeep, when_where
from clipdesk.core.errors import ClipdeskError

_GROUPS = (upkeep, find, organize, people, when_where, sync)  # the order of the commands in --help


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clipdesk", description="Find your photos by what is in them.")
    parser.add_argument("--home", metavar="DIR",
                        help="where the catalog, index and thumbnails live "
                             "(default: $CLIPDESK_HOME or the user data folder)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for group in _GROUPS:
        group.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if args.verbose:
        from clipdesk.core.library import show_native_messages

        show_native_messages(True)  # libtiff's own warnings, quiet by default
    if args.command is None:
        args = parser.parse_args(["gui"], namespace=args)
    if getattr(args, "k", 1) < 1:
        parser.error("-k must be at least 1")
    if args.command == "search" and not args.text.strip():
        parser.error("the search text is empty: describe what is in the photos")
    try:
        rc: int = args.run(args)
        sys.stdout.flush()  # a closed pipe shows here, not at exit as an "ignored" error
        return rc
    except BrokenPipeError:
        return _reader_went_away()
    except OSError as exc:
        if not _from_output(exc):
            raise
        _reader_went_away()  # the last flush at exit would fail again, with a traceback
        print(f"clipdesk: error: cannot write the output ({exc.strerror}): write it to "
              "another file or disk", file=sys.stderr)
        return 1
    except ClipdeskError as exc:
        print(f"clipdesk: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("clipdesk: interrupted; what was done so far is saved", file=sys.stderr)
        return 130


def _from_output(exc: OSError) -> bool:
    """Whether writing the output failed: the commands here only print (the engine does
    all file work, and turns its own failures into ClipdeskError), so an OSError raised
    by this package's own code is a failed write to stdout."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and tb.tb_frame.f_globals.get("__name__", "").startswith(__name__)


def _reader_went_away() -> int:
    """The reader of stdout closed it (`| head`): point stdout at /dev/null so that the
    interpreter's last flush has nowhere to fail, and exit as SIGPIPE would."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return 141
