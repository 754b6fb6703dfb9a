"""Rewriting a log safely while agents keep appending to it (for ``prune`` and ``verify --repair``).

A rewrite keeps some lines and removes the others. It never loses or duplicates a line that
any writer appended, whenever it appended it:

1. Without the writers' lock, the log's complete lines up to its current end are read, the
   kept ones written to a new file beside the log and the removed ones to another.
2. Under the writers' lock (:meth:`jusage.store.Store.exclusive`), the lines appended since
   step 1 get the same treatment, the caller makes the removed lines durable where they
   belong, the new file is synced and renamed over the log, and the folder is synced.
   Writers that were waiting for the lock then reopen the log by path.

So writers wait only while the lines appended during step 1 are copied. If the log was
replaced meanwhile (another rewrite), step 1 starts again from the new file.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from jusage.events import EVENT_DECODER, Event
from jusage.reading import last_line_end, read_lines, too_deep

__all__ = ["Decide", "RewriteResult", "rewrite_log", "scan_lines"]

Decide = Callable[[int, bytes, "Event | None"], bool]
"""``decide(line number, raw line, event or None when the line is not a valid event)``:
True keeps the line, False removes it."""


@dataclass(frozen=True, slots=True)
class RewriteResult:
    """What a rewrite did: lines kept and removed, and how long the writers' lock was held."""

    kept: int
    removed: int
    locked_seconds: float


class LineNumbers:
    """Where line numbers go on from: carried from one :func:`scan_lines` to the next."""

    __slots__ = ("next",)

    def __init__(self) -> None:
        self.next = 1


def scan_lines(
    path: Path, start: int = 0, end: int | None = None, numbers: LineNumbers | None = None
) -> Iterator[tuple[int, bytes, Event | None]]:
    """``(line number, line, event or None)`` of every non-blank line in ``[start, end)``; a
    last line without its newline comes too. Numbers count blank lines; with ``numbers`` they
    go on from ``numbers.next``, which is left at the number after the range's last line."""
    from msgspec import DecodeError

    counter = numbers if numbers is not None else LineNumbers()
    number = counter.next - 1
    decode = EVENT_DECODER.decode
    for batch in read_lines(path, start, end):
        for line in batch:
            number += 1
            if not line.strip():
                continue
            try:
                event: Event | None = None if too_deep(line) else decode(line)
            except (DecodeError, RecursionError):
                event = None
            yield number, line, event
    counter.next = number + 1


def rewrite_log(
    path: Path,
    decide: Decide,
    *,
    keep_removed: Callable[[Path], None] | None = None,
    after_replace: Callable[[], None] | None = None,
) -> RewriteResult:
    """Rewrite the log at ``path`` keeping the lines ``decide`` keeps (see the module docstring).

    The removed lines are gathered in a file beside the log; ``keep_removed`` gets its path
    under the lock just before the new file replaces the log, and must make them durable
    where they belong (an archive, a side file) before it returns. ``after_replace`` runs
    under the lock just after (to tell caches about the new file). On any error the log is
    left as it was and the temporary files are removed.
    """
    from jusage.store import Store

    store = Store(path)
    for _attempt in range(8):
        st = path.stat()
        tmp = path.with_name(f".{path.name}.rewrite.{os.getpid()}.tmp")
        gone = path.with_name(f".{path.name}.removed.{os.getpid()}.tmp")
        try:
            with tmp.open("wb") as out, gone.open("wb") as removed:
                end = last_line_end(path, st.st_size)
                numbers = LineNumbers()
                kept, dropped = _copy(path, 0, end, decide, out, removed, numbers)
                with store.exclusive():
                    began = time.monotonic()
                    now = path.stat()
                    if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino) or now.st_size < end:
                        continue  # replaced while we read: start again from the new file
                    more_kept, more_dropped = _copy(path, end, now.st_size, decide, out, removed, numbers)
                    kept, dropped = kept + more_kept, dropped + more_dropped
                    out.flush()
                    os.fsync(out.fileno())
                    removed.flush()
                    if dropped and keep_removed is not None:
                        keep_removed(gone)
                    tmp.chmod(st.st_mode & 0o7777)
                    tmp.replace(path)
                    _sync_folder(path.parent)
                    if after_replace is not None:
                        after_replace()
                    held = time.monotonic() - began
            return RewriteResult(kept, dropped, held)
        finally:
            for leftover in (tmp, gone):
                with contextlib.suppress(FileNotFoundError):
                    leftover.unlink()
    raise OSError(f"{path}: the log kept being replaced during the rewrite")


def _copy(
    path: Path, start: int, end: int, decide: Decide, out: BinaryIO, removed: BinaryIO, numbers: LineNumbers
) -> tuple[int, int]:
    kept = dropped = 0
    for number, line, event in scan_lines(path, start, end, numbers):
        if decide(number, line, event):
            out.write(line + b"\n")
            kept += 1
        else:
            removed.write(line + b"\n")
            dropped += 1
    return kept, dropped


def _sync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (where the platform allows opening a folder)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
