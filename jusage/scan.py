"""Reading a whole log into a partial aggregation: in worker processes, and from a checkpoint.

Two things make reading years of history cheap:

* **Workers.** A large range is cut at line boundaries into one piece per worker; each piece
  is folded in a worker process (:func:`jusage.parallel.ordered_map`) and the partials are
  merged, which is exact (integers only). The library reads in one process unless told
  otherwise; the command line asks for one worker per CPU.
* **Checkpoints.** The log is append-only, so the partial of its first N bytes never
  changes. With ``checkpoint=True`` the partial up to the last complete line is saved under
  ``$JUSAGE_HOME/cache/`` and the next run reads only the bytes appended since. Prices are
  applied after the fold, so a checkpoint stays valid when prices or the cost mode change.

A checkpoint is used only when it is for the same file (device and inode), the file is at
least as long as the bytes it covers, and 17 windows of those bytes (its start, 15 points
spread over it and its end) still hold what they held. Anything else (a retention rewrite,
a replaced or truncated file, an edit caught by a window) falls back to a full read. An
edit in place that keeps the file's length and misses every window is not detected.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Any

import msgspec

from jusage.aggregate import Aggregator, Partial, Table, add_counters, add_tables, rollup
from jusage.locations import cache_dir
from jusage.reading import last_line_end, split_ranges

__all__ = [
    "CHECKPOINT_VERSION",
    "MAX_CHECKPOINTS",
    "PARALLEL_THRESHOLD",
    "aggregate_file",
    "checkpoint_path",
    "checkpoints_enabled",
    "decode_groups",
    "decode_table",
    "encode_groups",
    "encode_table",
    "priced_by",
    "probe",
    "save_atomically",
    "table_of_file",
]

PARALLEL_THRESHOLD = 32 << 20
"""Ranges smaller than this (bytes) are read in one process: starting workers would cost more."""

CHECKPOINT_VERSION = 4
"""Bumped whenever the partial's layout or the aggregation's rules change."""

MAX_CHECKPOINTS = 64
"""Checkpoints kept in the cache folder; the least recently used go first."""

_WINDOW = 256  # bytes per compared window
_WINDOWS = 16  # windows spread over the covered bytes, besides the one just before its end


class _Checkpoint(msgspec.Struct, array_like=True):
    """What a checkpoint file holds (msgpack: a format that cannot run code when read)."""

    version: int
    log: str
    dev: int
    ino: int
    offset: int
    probe: bytes
    skipped: int
    groups: list[list[Any]]
    priced_by: str = ""
    table: list[list[Any]] = []


def aggregate_file(
    path: Path, aggregator: Aggregator, *, workers: int = 1, checkpoint: bool = False
) -> Partial:
    """Aggregate a whole log file, streaming; a missing file is an empty log.

    ``workers`` above 1 folds a large log (more than 32 MB to read) in that many worker
    processes. ``checkpoint`` saves and reuses a checkpoint (see the module docstring);
    ``JUSAGE_NO_CACHE=1`` in the environment turns checkpoints off.
    """
    try:
        st = path.stat()
    except FileNotFoundError:
        return Partial()
    if not checkpoint or not checkpoints_enabled():
        return _scan(path, aggregator, 0, st.st_size, workers)
    ckpt = checkpoint_path(path, aggregator)
    saved = _valid(ckpt, path, st)
    start, base = (saved.offset, _groups_of(saved)) if saved is not None else (0, Partial())
    boundary = last_line_end(path, st.st_size)
    if boundary < start:  # cannot happen for an append-only file; be safe
        start, base = 0, Partial()
    base.absorb(_scan(path, aggregator, start, boundary, workers))
    if boundary > start:
        _save(ckpt, path, st, boundary, base)
    if st.st_size > boundary:  # a last line still being written: read it, do not keep it
        base.absorb(_scan(path, aggregator, boundary, st.st_size, 1))
    return base


def table_of_file(path: Path, aggregator: Aggregator, *, workers: int = 1, checkpoint: bool = False) -> Table:
    """The log at ``path`` aggregated and priced: ``rollup(aggregate_file(...))``.

    With ``checkpoint``, the checkpoint also keeps the priced table of the bytes it covers
    (for the aggregator's coster: its mode and prices), so a log that gained nothing since is
    neither read nor priced again, and one that grew prices only what it gained (a
    calculated cost is linear in the counts, so priced tables add up exactly).
    """
    if not checkpoint or not checkpoints_enabled():
        return rollup(aggregate_file(path, aggregator, workers=workers), aggregator)
    try:
        st = path.stat()
    except FileNotFoundError:
        return rollup(Partial(), aggregator)
    ckpt = checkpoint_path(path, aggregator)
    saved = _valid(ckpt, path, st)
    boundary = last_line_end(path, st.st_size)
    priced = priced_by(aggregator)
    kept = (
        decode_table(saved.table, saved.skipped, aggregator)
        if saved and priced and saved.priced_by == priced
        else None
    )
    if saved is not None and saved.offset == boundary and kept is not None:
        table = kept
    else:
        start, base = (saved.offset, _groups_of(saved)) if saved is not None else (0, Partial())
        if boundary < start:  # cannot happen for an append-only file; be safe
            start, base, kept = 0, Partial(), None
        gained = _scan(path, aggregator, start, boundary, workers)
        base.absorb(gained)
        table = rollup(base, aggregator) if kept is None else add_tables(kept, rollup(gained, aggregator))
        if boundary > 0:
            _save(ckpt, path, st, boundary, base, priced, table)
    if st.st_size > boundary:  # a last line still being written: read it, do not keep it
        tail = rollup(_scan(path, aggregator, boundary, st.st_size, 1), aggregator)
        table = add_tables(table, tail)
    return table


def priced_by(aggregator: Aggregator) -> str:
    """What a priced table depends on besides the events (the checkpoint's path covers the
    rest): the cost mode and the prices; empty without a coster."""
    coster = aggregator.coster
    return f"{coster.mode}:{coster.cache_key}" if coster is not None else ""


def decode_table(rows: list[list[Any]], skipped: int, aggregator: Aggregator) -> Table:
    """The priced table a checkpoint keeps (rows of ``[bucket, values..., counters...]``)."""
    count = len(aggregator.dims)
    out: dict[tuple[Any, Any], list[int]] = {}
    for row in rows:
        values = row[1] if count == 1 else tuple(row[1 : 1 + count])
        out[(row[0], values)] = row[1 + count :]
    return Table(aggregator.dims, aggregator.bucket, out, skipped)


def encode_table(table: Table) -> list[list[Any]]:
    """A priced table's rows as plain lists (for msgpack): bucket, values, counters."""
    if len(table.dims) == 1:
        return [[bucket, value, *counters] for (bucket, value), counters in table.rows.items()]
    return [[bucket, *values, *counters] for (bucket, values), counters in table.rows.items()]


def checkpoints_enabled() -> bool:
    """Whether checkpoints may be used (``JUSAGE_NO_CACHE=1`` turns them off)."""
    return os.environ.get("JUSAGE_NO_CACHE", "") in ("", "0")


def checkpoint_path(path: Path, aggregator: Aggregator) -> Path:
    """Where the checkpoint of ``path`` for this aggregation lives."""
    return checkpoint_named(str(path.resolve()), aggregator.signature)


def checkpoint_named(*parts: str) -> Path:
    """The checkpoint file for what ``parts`` name (and this checkpoint version), in the
    cache folder under a digest of them."""
    import hashlib

    ident = "\0".join([*parts, str(CHECKPOINT_VERSION)])
    digest = hashlib.sha256(ident.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return cache_dir() / f"{digest}.checkpoint"


def probe(path: Path, offset: int) -> bytes:
    """The covered bytes' windows: at the start, spread over the range, and at its end."""
    spots = sorted({offset * i // _WINDOWS for i in range(_WINDOWS)} | {max(0, offset - _WINDOW)})
    with path.open("rb") as fh:
        parts = []
        for spot in spots:
            fh.seek(spot)
            parts.append(fh.read(min(_WINDOW, offset - spot)))
    return b"".join(parts)


def _valid(ckpt: Path, path: Path, st: os.stat_result) -> _Checkpoint | None:
    """The checkpoint in ``ckpt`` when it is one of this file as it is now, else ``None``."""
    try:
        saved = msgspec.msgpack.decode(ckpt.read_bytes(), type=_Checkpoint)
        if (
            saved.version == CHECKPOINT_VERSION
            and (saved.dev, saved.ino) == (st.st_dev, st.st_ino)
            and 0 < saved.offset <= st.st_size
            and saved.probe == probe(path, saved.offset)
        ):
            with contextlib.suppress(OSError):
                os.utime(ckpt)  # recently used: kept when the folder is trimmed
            return saved
    except (OSError, msgspec.DecodeError, ValueError, TypeError):
        pass  # a missing, stale or unreadable checkpoint means a full read
    return None


def _groups_of(saved: _Checkpoint) -> Partial:
    return decode_groups(saved.groups, saved.skipped)


def encode_groups(partial: Partial) -> list[list[Any]]:
    """A partial's groups as plain lists (for msgpack): each key's parts, then its counters."""
    return [
        [*when, list(named), tier, reported, *counters]
        for (when, named, tier, reported), counters in partial.groups.items()
    ]


def decode_groups(rows: list[list[Any]], skipped: int) -> Partial:
    """The partial :func:`encode_groups` wrote (rows of one key, which a set of logs'
    checkpoint may hold, are added up)."""
    partial = Partial(skipped=skipped)
    groups = partial.groups
    for bucket, utc_day, named, tier, reported, *counters in rows:
        key = ((bucket, utc_day), tuple(named), tier, reported)
        mine = groups.get(key)
        if mine is None:
            groups[key] = counters
        else:
            add_counters(mine, counters)
    return partial


def _save(
    ckpt: Path,
    path: Path,
    st: os.stat_result,
    offset: int,
    partial: Partial,
    priced_by: str = "",
    table: Table | None = None,
) -> None:
    groups = encode_groups(partial)
    rows = encode_table(table) if table is not None and priced_by else []
    saved = _Checkpoint(
        CHECKPOINT_VERSION, str(path.resolve()), st.st_dev, st.st_ino, offset, probe(path, offset),
        partial.skipped, groups, priced_by if rows else "", rows,
    )  # fmt: skip
    save_atomically(ckpt, saved)


def save_atomically(ckpt: Path, value: Any) -> None:
    """Write ``value`` as msgpack to the cache file ``ckpt`` (replaced atomically), then trim
    the folder. Best effort: a cache that cannot be written (or a sum past 64 bits, which
    msgpack cannot hold) only costs time on the next run."""
    with contextlib.suppress(OSError, OverflowError):
        ckpt.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = ckpt.with_suffix(f".{os.getpid()}.{time.monotonic_ns()}.tmp")
        tmp.write_bytes(msgspec.msgpack.encode(value))
        tmp.replace(ckpt)
        _trim(ckpt.parent)


def _trim(folder: Path) -> None:
    """Drop checkpoints of logs that no longer exist, and the least recently used beyond
    :data:`MAX_CHECKPOINTS`."""
    found = []
    for entry in os.scandir(folder):
        if not entry.name.endswith(".checkpoint"):
            continue
        with contextlib.suppress(OSError):
            found.append((entry.stat().st_mtime_ns, entry.path))
    if len(found) <= MAX_CHECKPOINTS // 2:
        return  # few enough that looking inside each is not worth it
    found.sort(reverse=True)
    for rank, (_, name) in enumerate(found):
        with contextlib.suppress(OSError, msgspec.DecodeError, ValueError, TypeError):
            if rank >= MAX_CHECKPOINTS or not Path(_log_of(Path(name))).exists():
                Path(name).unlink()


class _Head(msgspec.Struct, array_like=True):
    """The first fields of a checkpoint file (the rest is skipped when decoding)."""

    version: int
    log: str


def _log_of(ckpt: Path) -> str:
    """The log a checkpoint file belongs to."""
    return msgspec.msgpack.decode(ckpt.read_bytes(), type=_Head).log


def _fold_range(job: tuple[Path, Aggregator, int, int]) -> Partial:
    path, aggregator, start, end = job
    return aggregator.accumulate_file(Partial(), path, start, end)


def _scan(path: Path, aggregator: Aggregator, start: int, end: int, workers: int) -> Partial:
    if end <= start:
        return Partial()
    if workers <= 1 or end - start <= PARALLEL_THRESHOLD:
        return aggregator.accumulate_file(Partial(), path, start, end)
    from jusage.parallel import ordered_map

    jobs = [(path, aggregator, lo, hi) for lo, hi in split_ranges(path, workers, start, end)]
    result = Partial()
    for part in ordered_map(_fold_range, jobs, workers):
        result.absorb(part)
    return result
