"""The suite's longest tests start first, one at the head of each pytest-xdist worker's share.

`--dist worksteal` hands worker k the k-th contiguous slice of the collection (later it steals
from the end of the longest queue). A test marked `long` (a few minutes of CPU, e.g. two full
demo runs) that happens to sit late in a slice starts late and finishes the run on its own while
the other workers idle. So each slice starts with its share of the long tests, round-robin, and
the other tests keep their order. Nothing here changes what a test does; with one process (-n 0)
the long tests simply run first.
"""

from __future__ import annotations


def slice_sizes(total: int, workers: int) -> list[int]:
    """How worksteal's first distribution splits `total` tests over `workers` idle workers."""
    sizes, left = [], total
    for remaining in range(workers, 0, -1):
        sizes.append(left // remaining)
        left -= sizes[-1]
    return sizes


def long_first(items: list, is_long, workers: int) -> list:
    """The items reordered: each worker's slice begins with its round-robin share of the long ones."""
    workers = max(1, workers)
    long = [item for item in items if is_long(item)]
    rest = [item for item in items if not is_long(item)]
    ordered = []
    for k, size in enumerate(slice_sizes(len(items), workers)):
        head = long[k::workers]
        take = max(0, size - len(head))
        ordered += head + rest[:take]
        rest = rest[take:]
    return ordered + rest
