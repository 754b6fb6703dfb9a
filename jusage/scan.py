"""Reading a whole log into a partial aggregation: in parallel, and from a checkpoint.

Two things make reading years of history cheap:

* **Parallel scan.** A large range is cut at line boundaries into one piece per CPU; each
  piece is folded by a forked worker that sends its :class:`~jusage.aggregate.Partial` back
  through a pipe, and the pieces are merged (the merge is exact: integers only).
* **Checkpoints.** The log is append-only, so the partial of its first N bytes never
  changes. With ``cache`` given, the partial up to the last complete line is saved under
  ``$JUSAGE_HOME/cache/`` and the next run reads only the bytes appended since. A checkpoint
  is used only if the file is the same file (device and inode), is at least as long, and the
  bytes at its start and just before the checkpoint are unchanged; anything else (a
  retention rewrite, a replaced or truncated file) falls back to a full read.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import time
from pathlib import Path

from jusage.aggregate import Aggregator, Partial
from jusage.forked import map_forked
from jusage.locations import jusage_home
from jusage.reading import last_line_end, split_ranges

__all__ = ["CHECKPOINT_VERSION", "PARALLEL_THRESHOLD", "aggregate_file", "checkpoint_path"]

PARALLEL_THRESHOLD = 32 << 20
"""Ranges smaller than this (bytes) are read in one process: forking would cost more."""

CHECKPOINT_VERSION = 2
"""Bumped whenever the partial's layout or the aggregation's rules change."""

_PROBE = 256  # bytes compared at the start of the file and before the checkpoint


def aggregate_file(
    path: Path, aggregator: Aggregator, *, workers: int | None = None, cache: str | None = None
) -> Partial:
    """Aggregate a whole log file, streaming, in parallel processes when it is large.

    ``workers`` defaults to the number of CPUs for more than 32 MB to read, else 1.
    ``cache`` turns on checkpoints: it names anything besides the aggregator's settings and
    its coster's ``cache_key`` that the result depends on (``""`` for nothing). ``None``
    reads the whole file every time, and so does a coster without a ``cache_key`` or
    ``JUSAGE_NO_CACHE=1`` in the environment. A missing file is an empty log.
    """
    try:
        st = path.stat()
    except FileNotFoundError:
        return Partial()
    if cache is not None and aggregator.coster is not None:
        coster_key = getattr(aggregator.coster, "cache_key", None)
        cache = None if coster_key is None else f"{cache}|{coster_key}"
    if cache is None or os.environ.get("JUSAGE_NO_CACHE", "") not in ("", "0"):
        return _scan(path, aggregator, 0, st.st_size, workers)
    ckpt = checkpoint_path(path, aggregator, cache)
    start, base = _load(ckpt, path, st)
    boundary = last_line_end(path, st.st_size)
    if boundary < start:  # cannot happen for an append-only file; be safe
        start, base = 0, Partial()
    base.absorb(_scan(path, aggregator, start, boundary, workers))  # the new part is the smaller
    if boundary > start:
        _save(ckpt, path, st, boundary, base)
    if st.st_size > boundary:  # a last line still being written: read it, do not keep it
        base.absorb(_scan(path, aggregator, boundary, st.st_size, 1))
    return base


def checkpoint_path(path: Path, aggregator: Aggregator, cache: str) -> Path:
    """Where the checkpoint of ``path`` for this aggregation and ``cache`` key lives."""
    import hashlib  # here: it loads OpenSSL (about 9 ms), which a read without checkpoints skips

    ident = "\0".join([str(path.resolve()), aggregator.signature, cache, str(CHECKPOINT_VERSION)])
    digest = hashlib.sha256(ident.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return jusage_home() / "cache" / f"{digest}.partial"


def _probe(path: Path, offset: int) -> bytes:
    with path.open("rb") as fh:
        head = fh.read(_PROBE)
        fh.seek(max(0, offset - _PROBE))
        return head + fh.read(min(offset, _PROBE))


def _load(ckpt: Path, path: Path, st: os.stat_result) -> tuple[int, Partial]:
    try:
        with ckpt.open("rb") as fh:
            saved = pickle.load(fh)
        ident, offset, probe, partial = saved
        if (
            ident == (st.st_dev, st.st_ino)
            and isinstance(offset, int)
            and 0 < offset <= st.st_size
            and isinstance(partial, Partial)
            and probe == _probe(path, offset)
        ):
            return offset, partial
    except Exception:  # a missing, stale or unreadable checkpoint means a full read
        pass
    return 0, Partial()


def _save(ckpt: Path, path: Path, st: os.stat_result, offset: int, partial: Partial) -> None:
    # Best effort: a cache that cannot be written only costs time on the next run.
    with contextlib.suppress(OSError):
        ckpt.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = ckpt.with_suffix(f".{os.getpid()}.{time.monotonic_ns()}.tmp")
        data = pickle.dumps(((st.st_dev, st.st_ino), offset, _probe(path, offset), partial), protocol=5)
        tmp.write_bytes(data)
        tmp.replace(ckpt)


def _scan(path: Path, aggregator: Aggregator, start: int, end: int, workers: int | None) -> Partial:
    if end <= start:
        return Partial()
    if workers is None:
        workers = (os.cpu_count() or 1) if end - start > PARALLEL_THRESHOLD else 1
    if workers <= 1:
        return aggregator.accumulate_file(Partial(), path, start, end)

    def fold(rng: tuple[int, int]) -> Partial:
        return aggregator.accumulate_file(Partial(), path, *rng)

    parts = map_forked(fold, split_ranges(path, workers, start, end))
    result = parts[0]
    for part in parts[1:]:
        result.absorb(part)
    return result
