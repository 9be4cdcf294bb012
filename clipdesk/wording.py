"""Words for counts, shared by the app and the command line: "1 photo", "2 photos"."""
from __future__ import annotations

IRREGULAR = {"copy": "copies", "person": "people"}


def plural(n: int, word: str) -> str:
    """`n` (with thousands separators) and `word`, in the plural unless n is 1."""
    return f"{n:,} {word if n == 1 else IRREGULAR.get(word, word + 's')}"
