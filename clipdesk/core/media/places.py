"""Where a photo was taken, named offline: GPS degrees -> (country, region, city).

The names come from GeoNames (https://www.geonames.org, CC BY 4.0: attributed in the README
and `clipdesk places --help`) through the `reverse_geocode` package (LGPL), which ships the
cities of 1,000 people or more with their first-level region and a k-d tree over them (scipy).
Loading it costs about 1 s and 150 MB (measured: 1.05 s, 157 MB peak), so it is loaded
once, on first need, off the GUI thread (`warm_up` starts it on a thread of its own as soon
as an index run meets a GPS photo); naming 10,000 photos then takes about 0.3 s.

The nearest entry is often a neighbourhood ("Intendente" in the middle of Lisbon), so the
place is the one among the nearest candidates that best balances size and distance
(population / (1 km + distance)^3: a big city wins over its own neighbourhoods, a town
keeps its own name beside a big city 10 km away). Further than MAX_KM from any known
place (out at sea) names nothing.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

MAX_KM = 100.0
CANDIDATES = 64
# bump when the way places are named changes: named photos are named again (meta key)
VERSION = "geonames-1"

Name = tuple[str | None, str | None, str | None]  # country, region, city
NOWHERE: Name = (None, None, None)

_lock = threading.Lock()
_data: Any = None
_failed: str | None = None
_warming: threading.Thread | None = None


def _load() -> Any:
    """reverse_geocode's data (its k-d tree, locations and country names), once."""
    global _data, _failed
    with _lock:
        if _data is None and _failed is None:
            try:
                import reverse_geocode

                _data = reverse_geocode.GeocodeData()
            except Exception as exc:  # a broken install must not stop indexing
                _failed = f"{type(exc).__name__}: {exc}"
                log.warning("places cannot be named: %s", _failed)
        return _data


def warm_up() -> None:
    """Start loading the place data on a thread of its own (no wait)."""
    global _warming
    with _lock:
        if _data is not None or _failed is not None or _warming is not None:
            return
        _warming = threading.Thread(target=_load, name="clipdesk-places", daemon=True)
        _warming.start()


def available() -> bool:
    return _load() is not None


def name(points: Sequence[tuple[float, float]]) -> list[Name]:
    """The (country, region, city) of each (lat, lon); NOWHERE far from any known place
    (or, logged once, when the place data cannot be loaded)."""
    data = _load()
    if data is None or not points:
        return [NOWHERE] * len(points)
    where = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    k = min(CANDIDATES, len(data._locations))
    _, indices = data._tree.query(where, k=k)
    indices = np.asarray(indices).reshape(len(where), k)
    table = _table(data)
    km = distance_km(where[:, :1], where[:, 1:], table[0][indices], table[1][indices])
    score = np.where(km <= MAX_KM, table[2][indices] / (1.0 + km) ** 3, -1.0)
    best = np.argmax(score, axis=1)
    out: list[Name] = []
    for row, column in enumerate(best):
        if score[row, column] < 0:
            out.append(NOWHERE)
            continue
        loc = data._locations[int(indices[row, column])]
        country = data._countries.get(loc.get("country_code", "")) or None
        out.append((country, loc.get("state") or None, loc.get("city") or None))
    return out


_tables: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}


def _table(data: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Latitude, longitude and population (at least 1) of every known place, as arrays."""
    key = id(data)
    if key not in _tables:
        locations = data._locations
        _tables[key] = (np.array([loc["latitude"] for loc in locations], np.float64),
                        np.array([loc["longitude"] for loc in locations], np.float64),
                        np.maximum(np.array([int(loc.get("population") or 0)
                                             for loc in locations], np.float64), 1.0))
    return _tables[key]


def distance_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray
                ) -> np.ndarray:
    """Great-circle distances (haversine, mean earth radius), element-wise."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - lon1)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return np.asarray(2 * 6371.0 * np.arcsin(np.minimum(1.0, np.sqrt(a))))
