"""The ``stats`` view: totals, streaks, cache hit rate, shares, day buckets and spend.

Pure functions from a :class:`~jusage.aggregate.Table` (grouped by day, model and project)
to :class:`Stats`; ``today`` is always a parameter. :func:`log_stats` reads a log file.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

from jusage.aggregate import COST, Aggregator, EventLike, Partial, Table, Usage, rollup, sum_rows

if TYPE_CHECKING:
    from jusage.costing import Coster

__all__ = [
    "STATS_DIMS",
    "Share",
    "Spend",
    "Stats",
    "aggregate",
    "current_streak",
    "log_stats",
    "longest_streak",
    "spend_view",
    "stats_and_spend",
    "stats_view",
    "window",
]

STATS_DIMS = ("model", "project")
"""The dimensions a table must be grouped by for :func:`stats_view`."""


@dataclass(frozen=True, slots=True)
class Share:
    """A labelled token total and its fraction (0 to 1) of the grand total."""

    name: str
    tokens: int
    share: float
    cost_pico: int = 0
    unpriced_tokens: int = 0


@dataclass(frozen=True, slots=True)
class Stats:
    """The full derived view over a set of events (jcode's semantics).

    ``days`` maps each calendar day (``YYYY-MM-DD``) to its usage.
    """

    totals: Usage
    active_days: int
    current_streak: int
    longest_streak: int
    most_used_model: str
    cache_hit_rate: float
    cache_supported: bool
    days: dict[str, Usage]
    by_model: list[Share]
    by_project: list[Share]
    skipped_lines: int = 0

    @property
    def trend(self) -> list[tuple[str, Usage]]:
        """The days and their usage in ascending date order."""
        return [(d, self.days[d]) for d in sorted(self.days)]

    @property
    def unpriced_models(self) -> dict[str, int]:
        """The tokens with no price per model (``(no model)`` for events without one)."""
        named = {s.name: s.unpriced_tokens for s in self.by_model if s.unpriced_tokens}
        unnamed = self.totals.unpriced - sum(named.values())
        if unnamed:
            named["(no model)"] = unnamed
        return named


def _shares(per_name: dict[str, list[int]], grand: int) -> list[Share]:
    shares = []
    for name, row in per_name.items():
        if name:
            usage = Usage.of(row)
            shares.append(
                Share(
                    name, usage.total, usage.total / grand if grand else 0.0, usage.cost_pico, usage.unpriced
                )
            )
    shares.sort(key=lambda s: (-s.tokens, s.name))
    return shares


def _parse_days(days: Iterable[str]) -> list[date]:
    out = []
    for d in days:
        with contextlib.suppress(ValueError):
            out.append(date.fromisoformat(d))
    return sorted(out)


def longest_streak(active: Iterable[str]) -> int:
    """The longest run of consecutive calendar days among ``active`` (``YYYY-MM-DD``)."""
    best = run = 0
    prev: date | None = None
    for d in _parse_days(active):
        run = run + 1 if prev is not None and d - prev == timedelta(days=1) else 1
        best = max(best, run)
        prev = d
    return best


def current_streak(active: Iterable[str], today: date) -> int:
    """Consecutive active days ending today, or ending yesterday when today has none yet."""
    have = set(_parse_days(active))
    day = today if today in have else today - timedelta(days=1)
    run = 0
    while day in have:
        run += 1
        day -= timedelta(days=1)
    return run


def stats_view(table: Table, today: date) -> Stats:
    """Finish a table grouped by day, model and project into :class:`Stats`."""
    if table.dims != STATS_DIMS or table.bucket != "day":
        raise ValueError("stats_view needs a table grouped by day, model and project")
    per_day: dict[str, list[list[int]]] = {}
    per_model: dict[str, list[list[int]]] = {}
    per_project: dict[str, list[list[int]]] = {}
    for (day, (model, project)), row in table.rows.items():
        per_day.setdefault(day, []).append(row)
        per_model.setdefault(model, []).append(row)
        per_project.setdefault(project, []).append(row)
    totals = Usage.of(sum_rows(table.rows.values()))
    days = {day: Usage.of(sum_rows(rows)) for day, rows in per_day.items()}
    active = [d for d, usage in days.items() if usage.total > 0]
    models = {name: sum_rows(rows) or [] for name, rows in per_model.items()}
    projects = {name: sum_rows(rows) or [] for name, rows in per_project.items()}
    by_model = _shares(models, totals.total)
    return Stats(
        totals=totals,
        active_days=len(active),
        current_streak=current_streak(active, today),
        longest_streak=longest_streak(active),
        most_used_model=by_model[0].name if by_model and by_model[0].tokens > 0 else "",
        cache_hit_rate=min(1.0, max(0.0, totals.cached / totals.prompt)) if totals.prompt else 0.0,
        cache_supported=totals.cached > 0 or totals.cache_write > 0,
        days=days,
        by_model=by_model,
        by_project=_shares(projects, totals.total),
        skipped_lines=table.skipped,
    )


def window(table: Table, since: str | None = None, until: str | None = None) -> Table:
    """The rows of a day-bucketed table whose day is in ``[since, until]`` (inclusive)."""
    if since is None and until is None:
        return table
    lo = since or ""
    hi = until or "9999-99-99"
    rows = {k: v for k, v in table.rows.items() if lo <= k[0] <= hi}
    return Table(table.dims, table.bucket, rows, table.skipped)


def aggregate(
    events: Iterable[EventLike], today: date, *, tz: tzinfo | None = None, coster: Coster | None = None
) -> Stats:
    """Reduce events to :class:`Stats`; ``today`` anchors the current streak. Pure."""
    agg = Aggregator(STATS_DIMS, tz=tz, coster=coster)
    return stats_view(rollup(agg.accumulate(Partial(), events), agg), today)


@dataclass(frozen=True, slots=True)
class Spend:
    """Money over time, in integer micro-dollars: today, this month so far, and the month's
    projection from the trailing 7-day daily average (see :func:`jusage.periods.project`)."""

    today: int
    this_month: int
    projected_month: int


def spend_view(daily_pico: Mapping[str, int], today: date, lookback_days: int = 7) -> Spend:
    """The :class:`Spend` from each day's cost (``{"YYYY-MM-DD": pico-dollars}``) as of ``today``.

    Days that are not calendar dates are ignored; days after ``today`` are ignored.
    """
    from jusage.periods import month_start, project

    micro: dict[date, int] = {}
    for day, pico in daily_pico.items():
        try:
            d = date.fromisoformat(day)
        except ValueError:
            continue
        micro[d] = micro.get(d, 0) + pico
    first = month_start(today)
    # Round once per day, half up, so the figures add up to what the day rows show.
    micro = {d: (pico + 500_000) // 1_000_000 for d, pico in micro.items()}
    month = sum(v for d, v in micro.items() if first <= d <= today)
    return Spend(micro.get(today, 0), month, project(micro, today, lookback_days))


def log_stats(
    path: Path | Sequence[Path],
    *,
    today: date,
    tz: tzinfo | None = None,
    since: date | None = None,
    until: date | None = None,
    coster: Coster | None = None,
    workers: int = 1,
) -> Stats:
    """The :class:`Stats` of the log at ``path`` (or of several logs as one ledger) over
    ``[since, until]``.

    Days are calendar days in ``tz`` (``None``: local). A missing file is an empty log;
    malformed lines are skipped and counted in ``skipped_lines``. ``coster`` (see
    :class:`jusage.costing.Coster`) fills the cost figures; without one they are zero.
    """
    from jusage.views.reports import read_log

    whole = read_log(path, STATS_DIMS, tz=tz, coster=coster, workers=workers)
    return stats_and_spend(whole, today=today, since=since, until=until)[0]


def stats_and_spend(
    whole: Table, *, today: date, since: date | None = None, until: date | None = None
) -> tuple[Stats, Spend]:
    """:class:`Stats` of ``whole`` over ``[since, until]`` and its :class:`Spend`, which is
    always about today and today's month. Pure."""
    daily: dict[str, int] = {}
    for (day, _dims), row in whole.rows.items():
        daily[day] = daily.get(day, 0) + row[COST]
    table = window(whole, since.isoformat() if since else None, until.isoformat() if until else None)
    return stats_view(table, today), spend_view(daily, today)
