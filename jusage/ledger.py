"""High-level operations on a ledger file: what the CLI calls."""

from __future__ import annotations

from datetime import date, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

from jusage.aggregate import Aggregator, Coster, Stats, stats_view, window
from jusage.scan import aggregate_file

if TYPE_CHECKING:
    from jusage.costing import Spend

__all__ = ["log_stats", "log_stats_and_spend"]


def log_stats(
    path: Path,
    *,
    today: date,
    tz: tzinfo | None = None,
    since: date | None = None,
    until: date | None = None,
    coster: Coster | None = None,
) -> Stats:
    """The :class:`~jusage.aggregate.Stats` of the log at ``path`` over ``[since, until]``.

    Days are calendar days in ``tz`` (``None``: local). A missing file is an empty log;
    malformed lines are skipped and counted in ``skipped_lines``. ``coster`` (see
    :func:`jusage.costing.make_coster`) fills the cost figures; without one they are zero.
    """
    return log_stats_and_spend(path, today=today, tz=tz, since=since, until=until, coster=coster)[0]


def log_stats_and_spend(
    path: Path,
    *,
    today: date,
    tz: tzinfo | None = None,
    since: date | None = None,
    until: date | None = None,
    coster: Coster | None = None,
) -> tuple[Stats, Spend]:
    """:func:`log_stats` and the :class:`~jusage.costing.Spend` (today, this month, projection).

    The spend ignores ``[since, until]``: it is always about today and today's month.
    """
    from jusage.aggregate import COST
    from jusage.costing import spend_view

    agg = Aggregator(("model", "project"), tz=tz, coster=coster)
    whole = aggregate_file(path, agg, cache="")
    daily: dict[str, int] = {}
    for (day, _dims), counters in whole.groups.items():
        daily[day] = daily.get(day, 0) + counters[COST]
    partial = window(whole, since.isoformat() if since else None, until.isoformat() if until else None)
    return stats_view(partial, agg, today), spend_view(daily, today)
