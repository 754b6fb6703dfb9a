"""Retention: remove events older than a cutoff, keeping them in a compressed archive if asked.

The log is rewritten with :func:`jusage.rewrite.rewrite_log`, so agents appending meanwhile
lose nothing. With an archive, the removed lines are first written to a gzip-compressed
JSON-lines file, flushed and synced, before the log is replaced. The importers' index is
told about the rewrite, so the pruned events are remembered as imported and never come back.
Lines that are not valid events have no date to judge them by: they are kept (``jusage
verify --repair`` removes them).
"""

from __future__ import annotations

import contextlib
import gzip
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from jusage.events import Event

if TYPE_CHECKING:
    from jusage.costing import Coster

__all__ = ["PruneSummary", "prune_log"]


@dataclass(frozen=True, slots=True)
class PruneSummary:
    """What a prune removed (or, in a dry run, would remove): events, their tokens and cost
    (pico-dollars; ``unpriced`` tokens had no price), their first and last ``ts`` (0 when
    none), the events kept, the archive written, and how long writers were held up."""

    removed: int
    tokens: int
    cost_pico: int
    unpriced: int
    first: int
    last: int
    kept: int
    archive: Path | None = None
    locked_seconds: float = 0.0
    dry_run: bool = False


class _Removed:
    """The removed events, counted and folded (for their tokens, cost and dates) as they go."""

    def __init__(self, coster: Coster | None) -> None:
        from jusage.aggregate import Aggregator, Partial

        self.aggregator = Aggregator((), coster=coster)
        self.partial = Partial()
        self.batch: list[Event] = []
        self.count = 0

    def add(self, event: Event | None) -> None:
        self.count += 1
        if event is not None:
            self.batch.append(event)
            if len(self.batch) >= 10_000:
                self.aggregator.accumulate(self.partial, self.batch)
                self.batch = []

    def summary(self, kept: int, **extra: object) -> PruneSummary:
        from jusage.aggregate import Usage, rollup, sum_rows

        self.aggregator.accumulate(self.partial, self.batch)
        self.batch = []
        usage = Usage.of(sum_rows(rollup(self.partial, self.aggregator).rows.values()))
        return PruneSummary(
            self.count,
            usage.total,
            usage.cost_pico,
            usage.unpriced,
            usage.first,
            usage.last,
            kept,
            **extra,  # type: ignore[arg-type]
        )


def prune_log(
    path: Path,
    *,
    cutoff: int | None,
    archive: Path | None = None,
    dry_run: bool = False,
    coster: Coster | None = None,
) -> PruneSummary:
    """Remove the events of the log at ``path`` whose ``ts`` is before ``cutoff`` (unix
    seconds; ``None`` removes every line), or with ``dry_run`` only say what would go.

    ``archive`` (a new or existing ``.gz`` file, appended to) receives the removed lines
    first. ``coster`` prices the summary. A missing log has nothing to prune.
    """
    from jusage.rewrite import rewrite_log, scan_lines

    removed = _Removed(coster)

    def decide(_number: int, _line: bytes, event: Event | None) -> bool:
        if cutoff is not None and (event is None or event.ts >= cutoff):
            return True
        removed.add(event)
        return False

    if not path.exists():
        return removed.summary(0, dry_run=dry_run)
    if dry_run:
        kept = sum(decide(number, line, event) for number, line, event in scan_lines(path))
        return removed.summary(kept, dry_run=True)

    def keep_removed(gathered: Path) -> None:
        if archive is not None:
            _append_gzip(gathered, archive)

    with _index_of(path) as adopt:
        result = rewrite_log(path, decide, keep_removed=keep_removed, after_replace=adopt)
    return removed.summary(
        result.kept, archive=archive if result.removed else None, locked_seconds=result.locked_seconds
    )


def _append_gzip(source: Path, archive: Path) -> None:
    """Append ``source``'s bytes to the gzip file ``archive`` as a new member, durably."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    with archive.open("ab") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb") as packed, source.open("rb") as lines:
            shutil.copyfileobj(lines, packed, 1 << 20)
        raw.flush()
        os.fsync(raw.fileno())


@contextlib.contextmanager
def _index_of(path: Path) -> Iterator[Callable[[], None] | None]:
    """The importers' index of the log, held for the rewrite (imports wait), and what tells
    it the rewritten log is its ledger, keeping what it had seen (``None`` without one)."""
    from jusage.importers.index import ImportIndex, index_path

    if not index_path(path).exists():
        yield None  # nothing was ever imported into this log: nothing to remember
        return
    with ImportIndex(path) as index:
        yield index.adopt_rewritten_ledger
