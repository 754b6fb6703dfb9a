"""High-level operations on a ledger file: what the CLI calls."""

from __future__ import annotations

from datetime import date, tzinfo
from pathlib import Path

from jusage.aggregate import Aggregator, Stats, stats_view, window
from jusage.scan import aggregate_file

__all__ = ["log_stats"]


def log_stats(
    path: Path,
    *,
    today: date,
    tz: tzinfo | None = None,
    since: date | None = None,
    until: date | None = None,
) -> Stats:
    """The :class:`~jusage.aggregate.Stats` of the log at ``path`` over ``[since, until]``.

    Days are calendar days in ``tz`` (``None``: local). A missing file is an empty log;
    malformed lines are skipped and counted in ``skipped_lines``.
    """
    agg = Aggregator(("model", "project"), tz=tz)
    partial = aggregate_file(path, agg)
    partial = window(
        partial, since.isoformat() if since else None, until.isoformat() if until else None
    )
    return stats_view(partial, agg, today)
