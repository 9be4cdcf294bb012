"""The decode threads of an index run, balanced against the model by measurement: the
count that embedded photos fastest is kept, measured again as the machine changes, and
never more photos decode at once than it allows."""
from __future__ import annotations

import threading
import time

from clipdesk.core.indexing.cpu import Decoders


def run(decoders: Decoders, rate_of, windows: int, clock: list[float], done: list[int]) -> None:
    """Embed `windows` windows of photos on a machine that embeds rate_of(limit) photos/s."""
    for _ in range(windows * decoders.WINDOW):
        clock[0] += 1 / rate_of(decoders.limit)
        done[0] += 1
        decoders.done(done[0], clock[0])


def started(start: int = 2, most: int = 3) -> tuple[Decoders, list[float], list[int]]:
    decoders = Decoders(start, most)
    decoders.done(8, 0.0)  # the first batch: warm-up (a model build, say) is not measured
    return decoders, [0.0], [8]


def test_the_fastest_count_is_kept():
    decoders, clock, done = started()
    run(decoders, {1: 4.0, 2: 8.0, 3: 10.0}.__getitem__, 3, clock, done)  # one round
    assert decoders.limit == 3
    run(decoders, {1: 4.0, 2: 8.0, 3: 10.0}.__getitem__, 5, clock, done)
    assert decoders.limit == 3


def test_a_gain_within_the_noise_keeps_the_start():
    decoders, clock, done = started()
    run(decoders, {1: 7.0, 2: 8.0, 3: 8.2}.__getitem__, 3, clock, done)
    assert decoders.limit == 2


def test_the_counts_are_measured_again_when_the_machine_changes():
    decoders, clock, done = started()
    run(decoders, {1: 4.0, 2: 8.0, 3: 10.0}.__getitem__, 3, clock, done)
    assert decoders.limit == 3
    # another program takes a core: fewer decoders now embed faster
    busy = {1: 9.0, 2: 6.0, 3: 3.0}.__getitem__
    run(decoders, busy, decoders.RETRY + 3, clock, done)
    assert decoders.limit == 1


def test_no_more_photos_decode_at_once_than_the_limit():
    decoders = Decoders(2, 3)
    lock, now, most = threading.Lock(), [0], [0]

    def decode() -> None:
        with decoders:
            with lock:
                now[0] += 1
                most[0] = max(most[0], now[0])
            time.sleep(0.02)
            with lock:
                now[0] -= 1

    threads = [threading.Thread(target=decode) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most[0] == 2
