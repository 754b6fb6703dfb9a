"""Several logs read as one ledger: one per machine, merged without counting an event twice.

Every machine appends to its own log, and a shared folder (Syncthing, Dropbox, a git
repository, a mounted bucket) brings the others' logs beside it. The aggregation is
mergeable, so a report over many logs is the merge of their partials, except for one thing:
the same event can sit in two logs (a Claude Code transcript imported on two machines gets
the same content-derived ``id`` on both). An event whose ``id`` was already counted from
another log is counted once: the copy in the log whose path sorts first counts. Within one
log every line counts (its writers never write an id twice; ``jusage verify`` reports it if
one did), and events without an ``id`` always count.

With checkpoints, a report over a set of logs keeps one checkpoint for the set: each log's
identity, the bytes of it covered, and the ids counted from it (as sorted 64-bit digests),
beside the merged partial. The next run reads only what each log gained since. A log that
was replaced, truncated or edited, one that disappeared, or a new copy of an id that a
later-sorted log already counted, means the set is read again from the start.
"""

from __future__ import annotations

import hashlib
import os
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import msgspec

from jusage.aggregate import Aggregator, Partial, Table, add_tables, rollup
from jusage.events import Event
from jusage.reading import last_line_end
from jusage.scan import (
    CHECKPOINT_VERSION,
    aggregate_file,
    checkpoint_named,
    checkpoints_enabled,
    decode_groups,
    decode_table,
    encode_groups,
    encode_table,
    probe,
    save_atomically,
    table_of_file,
)
from jusage.scan import (
    priced_by as _priced_by,
)

__all__ = ["LogPathError", "aggregate_logs", "expand_logs", "id_digest", "table_of_logs"]


class LogPathError(ValueError):
    """A log named for reading is neither a file nor a folder, or a folder holds no logs."""


def expand_logs(paths: Iterable[Path], *, recursive: bool = False) -> list[Path]:
    """The log files ``paths`` name: a file is itself (missing files included, as empty
    logs); a folder gives every ``*.jsonl`` in it (and below it with ``recursive``).

    The same file named twice (or through a link) is listed once. Raises
    :class:`LogPathError` for a path that exists but is neither a file nor a folder, and
    for a folder that holds no log.
    """
    out: list[Path] = []
    seen: set[str] = set()
    for given in paths:
        path = Path(given).expanduser()
        if path.is_dir():
            found = sorted(path.rglob("*.jsonl") if recursive else path.glob("*.jsonl"))
            candidates = [p for p in found if p.is_file()]
            if not candidates:
                deep = " (or below it)" if recursive else " (--recursive looks below it too)"
                raise LogPathError(f"{path}: a folder with no *.jsonl log in it{deep}")
        elif path.exists() and not path.is_file():
            raise LogPathError(f"{path}: not a regular file, so not a log file")
        else:
            candidates = [path]
        for candidate in candidates:
            key = os.path.realpath(candidate)
            if key not in seen:
                seen.add(key)
                out.append(candidate)
    return out


def id_digest(ident: str) -> int:
    """The 64-bit digest an event ``id`` is compared by across logs."""
    data = ident.encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")


class _LogRecord(msgspec.Struct, array_like=True):
    path: str
    dev: int
    ino: int
    offset: int
    probe: bytes
    ids: bytes  # sorted 64-bit digests of the ids counted from this log, native order


class _SetCheckpoint(msgspec.Struct, array_like=True):
    version: int
    log: str  # the first log of the set (the cache folder's trimming looks at it)
    logs: list[_LogRecord]
    skipped: int
    groups: list[list[Any]]
    priced_by: str = ""
    table: list[list[Any]] = []


_COMPACT_AFTER = 3
"""A set's checkpoint keeps the rows each update adds after the old ones until they are this
many times the priced table's rows; then the rows of one key are summed into one."""


class _Rebuild(Exception):
    """The set's checkpoint cannot be brought up to date: read every log again."""


def aggregate_logs(
    paths: Sequence[Path], aggregator: Aggregator, *, workers: int = 1, checkpoint: bool = False
) -> Partial:
    """Aggregate several logs as one ledger, an ``id`` counted once (see the module docstring).

    One log is read as :func:`jusage.scan.aggregate_file` reads it (``workers`` apply to
    it). Missing logs are empty. ``checkpoint`` keeps one checkpoint for the set.
    """
    logs = sorted({os.path.realpath(p): Path(p) for p in paths}.items())
    if len(logs) == 1:
        return aggregate_file(logs[0][1], aggregator, workers=workers, checkpoint=checkpoint)
    return _SetReader([Path(real) for real, _ in logs], aggregator).read(checkpoint, priced=False)[0]


def table_of_logs(
    paths: Sequence[Path], aggregator: Aggregator, *, workers: int = 1, checkpoint: bool = False
) -> Table:
    """Several logs aggregated and priced as one ledger: ``rollup(aggregate_logs(...))``.

    With ``checkpoint`` the set's checkpoint also keeps the priced table (for the
    aggregator's coster), so what the logs gained is all that is priced again.
    """
    logs = sorted({os.path.realpath(p): Path(p) for p in paths}.items())
    if len(logs) == 1:
        return table_of_file(logs[0][1], aggregator, workers=workers, checkpoint=checkpoint)
    partial, table = _SetReader([Path(real) for real, _ in logs], aggregator).read(checkpoint, priced=True)
    return table if table is not None else rollup(partial, aggregator)


def _checkpoint_path(paths: Sequence[Path], aggregator: Aggregator) -> Path:
    return checkpoint_named(*map(str, paths), aggregator.signature, "set")


class _SetReader:
    """Reads a sorted list of logs, keeping per log the digests of the ids it counted."""

    def __init__(self, paths: list[Path], aggregator: Aggregator) -> None:
        self.paths = paths
        self.aggregator = aggregator

    def read(self, checkpoint: bool, *, priced: bool) -> tuple[Partial, Table | None]:
        """The partial of the set and, when ``priced``, its priced table (else ``None``),
        from the set's checkpoint where it can be used."""
        if not checkpoint or not checkpoints_enabled():
            return self._with_table(self.read_all(), None, priced)
        ckpt = _checkpoint_path(self.paths, self.aggregator)
        try:
            return self.update(ckpt, priced)
        except _Rebuild:
            return self._with_table(self.read_all(), ckpt, priced)

    def _with_table(
        self, read: tuple[Partial, Partial, list[_LogRecord]], ckpt: Path | None, priced: bool
    ) -> tuple[Partial, Table | None]:
        """``(whole partial, priced table or None)`` of a full read, saved when ``ckpt``."""
        saved, tail, records = read
        table = rollup(saved, self.aggregator) if priced else None
        if ckpt is not None:
            self._save(ckpt, saved, records, table)
        saved.absorb(tail)
        whole = saved
        if table is not None and (tail.groups or tail.skipped):
            table = add_tables(table, rollup(tail, self.aggregator))
        return whole, table

    def read_all(self) -> tuple[Partial, Partial, list[_LogRecord]]:
        """Every log from its start: ``(the complete lines' partial, the unfinished last
        lines' partial, the logs' records)``."""
        partial = Partial()
        counted: list[set[int]] = []
        records: list[_LogRecord] = []
        tails: list[tuple[Path, int, int, int]] = []
        for index, path in enumerate(self.paths):
            mine: set[int] = set()
            try:
                st = path.stat()
            except FileNotFoundError:
                counted.append(mine)
                continue
            boundary = last_line_end(path, st.st_size)
            earlier = counted[:index]
            self._fold(partial, path, 0, boundary, lambda h, e=earlier: any(h in s for s in e), mine)
            counted.append(mine)
            records.append(_record(path, st, boundary, mine))
            tails.append((path, index, boundary, st.st_size))
        tail = Partial()
        self._fold_tails(tail, tails, lambda h, i: any(h in s for s in counted[:i]))
        return partial, tail, records

    def update(self, ckpt: Path, priced: bool) -> tuple[Partial, Table | None]:
        """From the set's checkpoint, reading what each log gained; :class:`_Rebuild` when
        that cannot be done."""
        try:
            saved = msgspec.msgpack.decode(ckpt.read_bytes(), type=_SetCheckpoint)
        except (OSError, msgspec.DecodeError, ValueError, TypeError):
            raise _Rebuild from None
        if saved.version != CHECKPOINT_VERSION:
            raise _Rebuild
        known = {record.path: record for record in saved.logs}
        if set(known) - {str(p) for p in self.paths}:
            raise _Rebuild  # a log left the set: its events must go
        digests: list[memoryview] = []
        fresh: list[set[int]] = []
        starts: list[tuple[Path, os.stat_result | None, int]] = []
        for path in self.paths:
            record = known.get(str(path))
            st = _stat(path)
            start = 0
            if record is not None:
                same = st is not None and (record.dev, record.ino) == (st.st_dev, st.st_ino)
                if (
                    not same
                    or st is None
                    or record.offset > st.st_size
                    or probe(path, record.offset) != record.probe
                ):
                    raise _Rebuild
                start = record.offset
            digests.append(memoryview(record.ids if record else b"").cast("Q"))
            fresh.append(set())
            starts.append((path, st, start))

        def seen_in(digest: int, logs: range) -> bool:
            return any(_contains(digests[j], digest) or digest in fresh[j] for j in logs)

        records: list[_LogRecord] = []
        tails: list[tuple[Path, int, int, int]] = []
        count = len(self.paths)
        gained = Partial()  # what the logs gained since the checkpoint
        for index, (path, st, start) in enumerate(starts):
            if st is None:
                continue
            boundary = last_line_end(path, st.st_size)
            record = known.get(str(path))
            if record is not None and boundary == start:
                records.append(record)  # nothing new in this log: its record stands
            else:

                def duplicate(digest: int, i: int = index) -> bool:
                    if seen_in(digest, range(i + 1, count)):
                        raise _Rebuild  # a later-sorted log counted it first: the earlier copy wins
                    return seen_in(digest, range(i))

                self._fold(gained, path, start, boundary, duplicate, fresh[index])
                records.append(_record(path, st, boundary, [*digests[index], *fresh[index]]))
            tails.append((path, index, boundary, st.st_size))
        changed = any(record is not known.get(record.path) for record in records)
        priced_by = _priced_by(self.aggregator) if priced else ""
        cached = bool(priced_by) and saved.priced_by == priced_by
        table = decode_table(saved.table, saved.skipped, self.aggregator) if cached else None
        partial: Partial | None = None
        if changed and table is not None and len(saved.groups) < _COMPACT_AFTER * max(len(saved.table), 1):
            # The common case: the kept partial's rows stay encoded, and what the logs gained
            # is added after them (rows of one key are summed when read).
            table = add_tables(table, rollup(gained, self.aggregator))
            rows = saved.groups + encode_groups(gained)
            self._save_rows(ckpt, rows, saved.skipped + gained.skipped, records, table)
        elif changed or (priced and not cached):
            partial = decode_groups(saved.groups, saved.skipped)
            partial.absorb(gained)
            if priced:
                table = (
                    add_tables(table, rollup(gained, self.aggregator))
                    if table is not None
                    else rollup(partial, self.aggregator)
                )
            self._save(ckpt, partial, records, table)
        tail = Partial()
        self._fold_tails(tail, tails, lambda h, i: seen_in(h, range(i)))
        if table is not None and (tail.groups or tail.skipped):
            table = add_tables(table, rollup(tail, self.aggregator))
        if partial is None and not priced:
            partial = decode_groups(saved.groups, saved.skipped)
        if partial is None:
            return Partial(), table
        partial.absorb(tail)
        return partial, table

    def _fold_tails(self, partial: Partial, tails: list[tuple[Path, int, int, int]], earlier: Any) -> None:
        """The last lines still being written (not kept in the checkpoint)."""
        for path, index, boundary, size in tails:
            if size > boundary:
                self._fold(partial, path, boundary, size, lambda h, i=index: earlier(h, i), set())

    def _fold(
        self, partial: Partial, path: Path, start: int, end: int, duplicate: Any, mine: set[int]
    ) -> None:
        if end > start:
            self.aggregator.accumulate_file(
                partial, path, start, end, keep=lambda rows: _first_copies(rows, duplicate, mine)
            )

    def _save(self, ckpt: Path, partial: Partial, records: list[_LogRecord], table: Table | None) -> None:
        self._save_rows(ckpt, encode_groups(partial), partial.skipped, records, table)

    def _save_rows(
        self,
        ckpt: Path,
        groups: list[list[Any]],
        skipped: int,
        records: list[_LogRecord],
        table: Table | None,
    ) -> None:
        first = str(self.paths[0])
        priced_by = _priced_by(self.aggregator) if table is not None else ""
        rows = encode_table(table) if table is not None else []
        save_atomically(
            ckpt, _SetCheckpoint(CHECKPOINT_VERSION, first, records, skipped, groups, priced_by, rows)
        )


def _first_copies(rows: list[Event], duplicate: Any, mine: set[int]) -> Iterator[Event]:
    """The events of ``rows`` not counted from another log; their ids' digests go to ``mine``."""
    for event in rows:
        if event.id:
            digest = id_digest(event.id)
            if duplicate(digest):
                continue
            mine.add(digest)
        yield event


def _contains(sorted_digests: memoryview, digest: int) -> bool:
    at = bisect_left(sorted_digests, digest)
    return at < len(sorted_digests) and sorted_digests[at] == digest


def _stat(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except FileNotFoundError:
        return None


def _record(path: Path, st: os.stat_result, offset: int, ids: Iterable[int]) -> _LogRecord:
    """A log's record: where it was read to, and the sorted digests of the ids it counted."""
    return _LogRecord(
        str(path), st.st_dev, st.st_ino, offset, probe(path, offset), array("Q", sorted(ids)).tobytes()
    )
