"""Reading a whole log into a partial aggregation, in parallel processes when it is large."""

from __future__ import annotations

import contextlib
import os
import pickle
from pathlib import Path

from jusage.aggregate import Aggregator, Partial
from jusage.store import split_ranges

__all__ = ["PARALLEL_THRESHOLD", "aggregate_file"]

PARALLEL_THRESHOLD = 32 << 20
"""Logs smaller than this (bytes) are read in one process: forking would cost more."""


def aggregate_file(path: Path, aggregator: Aggregator, *, workers: int | None = None) -> Partial:
    """Aggregate a whole log file, streaming, in parallel processes when it is large.

    The file is cut at line boundaries into one range per worker (default: the number of
    CPUs, and only for files over 32 MB); each worker is a forked process that folds its range
    and sends back its partial. Memory stays bounded by the read block size per process.
    A missing file is an empty log.
    """
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return Partial()
    if workers is None:
        workers = (os.cpu_count() or 1) if size > PARALLEL_THRESHOLD else 1
    if workers <= 1 or not hasattr(os, "fork"):
        return aggregator.accumulate_file(Partial(), path)
    ranges = split_ranges(path, workers)
    children: list[tuple[int, int, tuple[int, int]]] = []
    result = Partial()
    for rng in ranges[1:]:
        children.append((*_fork_worker(aggregator, path, rng), rng))
    aggregator.accumulate_file(result, path, *ranges[0])
    for pid, fd, rng in children:
        part = _collect(pid, fd)
        if part is None:  # the worker died: do its share here
            part = aggregator.accumulate_file(Partial(), path, *rng)
        result.absorb(part)
    return result


def _fork_worker(aggregator: Aggregator, path: Path, rng: tuple[int, int]) -> tuple[int, int]:
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: fold the range, send the partial, leave without cleanup handlers
        code = 0
        try:
            os.close(read_fd)
            data = pickle.dumps(aggregator.accumulate_file(Partial(), path, *rng), protocol=5)
            with os.fdopen(write_fd, "wb") as out:
                out.write(data)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(write_fd)
    return pid, read_fd


def _collect(pid: int, fd: int) -> Partial | None:
    with os.fdopen(fd, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    if status != 0 or not data:
        return None
    with contextlib.suppress(Exception):
        part = pickle.loads(data)
        if isinstance(part, Partial):
            return part
    return None
