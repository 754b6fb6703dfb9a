"""Running one function over many parts of a job in worker processes: the one parallel mechanism.

Used where the work is CPU-bound and its parts are known up front (the ranges of a large log,
the files of a large transcript tree). Only the command line asks for workers: the library
runs everything in the calling process unless told otherwise, because starting processes
from a host program that runs threads is unsafe.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

__all__ = ["cpu_workers", "ordered_map"]

T = TypeVar("T")
R = TypeVar("R")


def cpu_workers() -> int:
    """The number of CPUs this process may run on (at least 1)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def ordered_map(
    func: Callable[[T], R], items: Sequence[T], workers: int = 1, *, chunksize: int = 1
) -> Iterator[R]:
    """``func`` over ``items``, results in the order of ``items``.

    With ``workers`` above 1 (and more than one item) the calls run in that many worker
    processes; ``func`` must then be a module-level function and items and results must
    pickle. A pool that breaks (a worker killed) does not lose work: what is left is done
    in this process, so the results are the same whatever happens to the workers.
    """
    if workers <= 1 or len(items) <= 1:
        yield from map(func, items)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    done = 0
    with ProcessPoolExecutor(min(workers, len(items)), mp_context=context) as pool:
        try:
            for result in pool.map(func, items, chunksize=chunksize):
                yield result
                done += 1
        except BrokenProcessPool:
            pass
    yield from map(func, items[done:])
