"""Reading a log: streaming whole lines in batches, and typed rows that skip bad lines.

A reader never takes the writers' lock: the log is append-only, so the bytes up to the last
newline never change, and a last line without its newline (a writer still busy, or one that
died) is handed over on its own for the caller to judge.
"""

from __future__ import annotations

import itertools
from array import array
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, TypeVar

import msgspec

__all__ = [
    "BLOCK",
    "MAX_DEPTH",
    "MAX_LINE",
    "ReadStats",
    "decode_rows",
    "last_line_end",
    "read_lines",
    "read_rows",
    "split_ranges",
    "too_deep",
]

T = TypeVar("T")

BLOCK = 1 << 22
"""Bytes read at a time when streaming the log."""

MAX_LINE = 16 << 20
"""A log line that grows past this while it is read is malformed: skipped (and counted by
the row reader) without being held whole in memory."""


class ReadStats:
    """Counts of what a read met: lines parsed and lines skipped as malformed."""

    __slots__ = ("lines", "skipped")

    def __init__(self) -> None:
        self.lines = 0
        self.skipped = 0


def split_ranges(path: Path, parts: int, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Split bytes ``[start, end)`` of the file into up to ``parts`` ranges cut after newlines.

    ``start`` must itself be a line start (0 or just after a newline).
    """
    stop = path.stat().st_size if end is None else end
    if parts <= 1 or stop <= start:
        return [(start, stop)]
    cuts = [start]
    with path.open("rb") as fh:
        for i in range(1, parts):
            pos = min(_next_line_start(fh, max(start + (stop - start) * i // parts, cuts[-1])), stop)
            if pos > cuts[-1]:
                cuts.append(pos)
    if cuts[-1] != stop:
        cuts.append(stop)
    return list(itertools.pairwise(cuts))


def _next_line_start(fh: BinaryIO, pos: int) -> int:
    """The offset just after the first newline at or after ``pos`` (the file's end if none),
    read in small steps: ``readline`` would hold a whole line, however long, in memory."""
    fh.seek(pos)
    while chunk := fh.read(1 << 16):
        cut = chunk.find(b"\n")
        if cut >= 0:
            return pos + cut + 1
        pos += len(chunk)
    return pos


def last_line_end(path: Path, size: int) -> int:
    """The offset just after the last newline in the first ``size`` bytes (0 if none)."""
    with path.open("rb") as fh:
        pos = size
        while pos > 0:
            step = min(pos, 1 << 16)
            fh.seek(pos - step)
            chunk = fh.read(step)
            cut = chunk.rfind(b"\n")
            if cut >= 0:
                return pos - step + cut + 1
            pos -= step
    return 0


def read_lines(path: Path, start: int = 0, end: int | None = None) -> Iterator[list[bytes]]:
    """The lines of ``[start, end)`` in batches, newlines removed; blank lines included.

    A last line without its newline (a torn write, or a writer still busy) comes last. A
    line that outgrows :data:`MAX_LINE` while it is read is dropped, so memory stays
    bounded. A missing file yields nothing.
    """
    for buf, n in _line_runs(path, start, end):
        if n >= 0:
            with memoryview(buf) as whole, whole[:n] as lines:
                data = bytes(lines)
            yield data.split(b"\n")


def _line_runs(path: Path, start: int = 0, end: int | None = None) -> Iterator[tuple[bytearray, int]]:
    """Stream ``[start, end)`` as ``(buffer, n)``: ``buffer[:n]`` is a run of whole lines
    without its final newline, read into one reused buffer. A last line without its newline
    (a torn write, or a writer still busy) comes as a run of its own.

    The lines are read straight into the buffer and only the unfinished tail is moved to its
    front, so a consumer makes at most one copy of each block. The buffer is overwritten on
    the next step, so a consumer must be done with it (and have released any ``memoryview``
    of it) before asking for more.

    A line that outgrows :data:`MAX_LINE` (twice the buffer at most) is not an event: it is
    dropped as it is read, and ``(buffer, -1)`` says one such line was skipped. Without the
    cap, a long run of garbage without a newline would be held whole in memory.
    """
    try:
        fh = path.open("rb", buffering=0)
    except FileNotFoundError:
        return
    with fh:
        fh.seek(start)
        remaining = -1 if end is None else end - start
        buf = bytearray(BLOCK)
        have = 0  # bytes of an unfinished line carried at the front of buf
        skipping = False  # inside a line longer than MAX_LINE, dropping it
        while remaining != 0:
            if have == len(buf):  # one line longer than the buffer: make room, or drop it
                if len(buf) >= MAX_LINE:
                    skipping = True
                    have = 0
                else:
                    buf.extend(bytes(len(buf)))
            want = len(buf) - have if remaining < 0 else min(len(buf) - have, remaining)
            with memoryview(buf) as view, view[have : have + want] as target:
                got = fh.readinto(target)
            if not got:
                break
            if remaining > 0:
                remaining -= got
            filled = have + got
            search_from = have  # the carried bytes hold no newline
            if skipping:
                end_of_long = buf.find(b"\n", have, filled)
                if end_of_long < 0:
                    have = 0
                    continue
                skipping = False
                yield buf, -1
                have = filled - end_of_long - 1
                buf[:have] = buf[end_of_long + 1 : filled]
                filled = have
                search_from = 0
            cut = buf.rfind(b"\n", search_from, filled)
            if cut < 0:
                have = filled
                continue
            yield buf, cut
            have = filled - cut - 1
            buf[:have] = buf[cut + 1 : filled]  # the same length: moved, never reallocated
        if skipping:
            yield buf, -1
        elif have:
            yield buf, have


def _one_object_per_line(data: bytes, values: int) -> bool:
    """Whether ``values`` decoded from ``data`` by ``decode_lines`` are its lines one for one.

    ``decode_lines`` reads whitespace-separated JSON values, so on its own it would accept two
    objects on one line, or one object spread over two. If the run starts with ``{``, ends
    with ``}`` and every newline sits between a ``}`` and a ``{``, no value can continue past
    a line end (after a ``}`` JSON allows only ``,``, ``}`` or ``]``, never ``{``, and a
    string cannot hold a raw newline), so every line starts a value of its own; then as many
    values as lines means exactly one per line (docs/performance.md says why it counts the
    newlines the way it does).
    """
    newlines = len(data) - len(data.replace(b"\n", b""))
    return (
        values == newlines + 1 and data[:1] == b"{" and data[-1:] == b"}" and data.count(b"}\n{") == newlines
    )


def read_rows(
    path: Path,
    stats: ReadStats,
    start: int = 0,
    end: int | None = None,
    *,
    decoder: msgspec.json.Decoder[T],
) -> Iterator[list[T]]:
    """Stream the typed rows of the lines in ``[start, end)``, in batches.

    ``decoder`` is a msgspec decoder for a struct (e.g. :data:`~jusage.events.EVENT_DECODER`).
    Lines it rejects (not JSON, wrong types, out of range, garbage, torn writes, invalid
    UTF-8) and lines nested deeper than :data:`MAX_DEPTH` are skipped and counted in
    ``stats.skipped``; blank lines are ignored.
    """
    for buf, n in _line_runs(path, start, end):
        if n < 0:  # a line too long to be an event
            stats.lines += 1
            stats.skipped += 1
            continue
        with memoryview(buf) as whole, whole[:n] as lines:
            data = bytes(lines)
        yield decode_rows(data, stats, decoder)


def decode_rows(data: bytes, stats: ReadStats, decoder: msgspec.json.Decoder[T]) -> list[T]:
    """The typed rows of ``data``, whole lines without the last newline, as :func:`read_rows`
    reads them: bad lines (and lines nested deeper than :data:`MAX_DEPTH`) skipped and
    counted in ``stats``, blank lines ignored."""
    # The common case, a run of good lines, is decoded in one call; anything unusual
    # (a bad line, a blank one, CRLF) is decoded line by line, which is exact.
    try:
        rows = decoder.decode_lines(data)
    except (msgspec.DecodeError, RecursionError):  # a value nested past msgspec's depth
        rows = None
    if rows is not None and _one_object_per_line(data, len(rows)) and _flat(data, len(rows)):
        stats.lines += len(rows)
        return rows
    rows = []
    decode = decoder.decode
    for line in data.split(b"\n"):
        if not line or line.isspace():
            continue
        stats.lines += 1
        try:
            if too_deep(line):
                raise msgspec.DecodeError
            rows.append(decode(line))
        except (msgspec.DecodeError, RecursionError):
            stats.skipped += 1
    return rows


MAX_DEPTH = 64
"""A line whose JSON nests deeper than this is malformed. No event nests at all; msgspec's
own limit depends on how deep the caller's stack already is, so a fixed one is what keeps
a log's answer the same in every process and every report."""


def _flat(data: bytes, lines: int) -> bool:
    """Whether no line of ``data`` (``lines`` JSON objects, one a line) can nest deeper than
    one level: no ``[`` at all and one ``{`` a line (two quick scans in C)."""
    return b"[" not in data and len(data) - len(data.replace(b"{", b"")) == lines


_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))
_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")  # +1 and -1 as signed bytes


def too_deep(line: bytes) -> bool:
    """Whether the JSON value in ``line`` nests deeper than :data:`MAX_DEPTH` (brackets inside
    strings do not count).

    Exact for valid JSON; for text that is not JSON the answer may differ from a parser's
    (no decoder reads such a line anyway). Every step runs in C: importers ask this of every
    line that carries usage.
    """
    if line.count(b"[") + line.count(b"{") <= MAX_DEPTH:
        return False
    if b"\\" in line:
        # Escaped backslashes first: what is left of a run of them escapes a quote, or nothing.
        line = line.replace(b"\\\\", b"").replace(b'\\"', b"")
    # No escaped quote is left, so every other piece between quotes is outside the strings.
    brackets = b"".join(line.split(b'"')[::2]).translate(None, _NOT_BRACKETS)
    if len(brackets) <= MAX_DEPTH:
        return False
    return max(itertools.accumulate(array("b", brackets.translate(_STEPS)))) > MAX_DEPTH
