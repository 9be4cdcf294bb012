"""Words for counts and times, shared by the app and the command line: "1 photo",
"2 photos", a video's "0:42"."""
from __future__ import annotations

IRREGULAR = {"copy": "copies", "person": "people", "weaker match": "weaker matches"}


def plural(n: int, word: str) -> str:
    """`n` (with thousands separators) and `word`, in the plural unless n is 1."""
    return f"{n:,} {word if n == 1 else IRREGULAR.get(word, word + 's')}"


def clock(seconds: float) -> str:
    """A time in a video as a player shows it: "0:42", "12:05", "1:02:09"."""
    total = max(0, int(seconds + 0.5))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
