"""When and where: the timeline (photos by year and month) and the places (by country,
then city) that the app's sidebar shows, with the query terms that select each."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

from clipdesk.cli.common import command, open_library, print_json
from clipdesk.wording import plural

GEONAMES = ("Place names: GeoNames (https://www.geonames.org), CC BY 4.0, through the "
            "reverse_geocode package; looked up offline from the photos' EXIF GPS.")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = command(sub, "timeline", "how many photos each year and month holds", cmd_timeline,
                json=True)
    p.description = ("Photos by the local time they were taken (EXIF DateTimeOriginal; a "
                     "photo with no date in it by its file's time). Search a year or a "
                     "month with `clipdesk search 2019` or `2019-06`.")
    p = command(sub, "places", "how many photos each country and city holds", cmd_places,
                json=True)
    p.description = ("Photos by where they were taken (their EXIF GPS). Search a place "
                     f"with `clipdesk search 'in Lisbon'`. {GEONAMES}")


def cmd_timeline(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        months = lib.photos.timeline()
    if args.json:
        print_json([{"year": m.year, "month": m.month, "photos": m.photos} for m in months])
        return 0
    _by_group(months, lambda m: m.year, lambda m: f"{m.year}-{m.month:02d}")
    if not months:
        print("no dated photos", file=sys.stderr)
    return 0


def cmd_places(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        places = lib.photos.places()
    if args.json:
        print_json([{"country": p.country, "region": p.region, "city": p.city,
                     "photos": p.photos} for p in places])
        return 0
    _by_group(places, lambda p: p.country,
              lambda p: ", ".join(n for n in (p.city, p.region) if n))
    if not places:
        print("no photos with a known place (EXIF GPS)", file=sys.stderr)
    return 0


def _by_group(rows: Sequence[Any], group: Callable[[Any], object],
              name: Callable[[Any], str]) -> None:
    """Each group's total, then its rows (each with a count of `photos`) indented; the
    rows come grouped and ordered."""
    totals: dict[object, int] = {}
    for row in rows:
        totals[group(row)] = totals.get(group(row), 0) + row.photos
    for key, total in totals.items():
        print(f"{key}  {plural(total, 'photo')}")
        for row in rows:
            if group(row) == key:
                print(f"  {name(row)}  {plural(row.photos, 'photo')}")
