"""The pure aggregation: events in, derived statistics out, built as a mergeable partial.

Three steps, so logs can be split, merged across machines and aggregated in parallel:

* :meth:`Aggregator.accumulate` folds events (or decoded rows) into a :class:`Partial`;
* :meth:`Partial.merge` combines two partials (associative and commutative);
* a finisher (:func:`stats_view` here, the reports elsewhere) turns a partial into a view.

A partial is a table of integer counters keyed by ``(bucket, dimensions)``: the bucket is the
calendar day of the event in the reader's time zone (or its hour, for the 5-hour blocks) and
the dimensions are event fields chosen by the caller (``model`` and ``project`` for ``stats``).
Money is summed as integer pico-dollars, so totals never depend on order. Nothing here reads a
file or the clock.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta, tzinfo
from operator import attrgetter
from pathlib import Path
from typing import Any, Protocol

import msgspec

from jusage.days import day_fn
from jusage.events import EventRow
from jusage.store import ReadStats, read_rows

__all__ = [
    "COLUMNS",
    "Aggregator",
    "Coster",
    "DayBucket",
    "Partial",
    "Share",
    "Stats",
    "Totals",
    "add_counters",
    "aggregate",
    "current_streak",
    "longest_streak",
    "stats_view",
    "window",
]

#: The counters of one group, in order. ``cost`` is pico-dollars (1e-12 USD) of the priced
#: events; ``unpriced`` counts the tokens of events no price was found for; ``first`` and
#: ``last`` are the smallest and largest ``ts`` seen.
COLUMNS: tuple[str, ...] = (
    "total",
    "prompt",
    "completion",
    "cached",
    "reasoning",
    "cache_write",
    "calls",
    "turns",
    "cost",
    "unpriced",
    "first",
    "last",
)
TOTAL, PROMPT, COMPLETION, CACHED, REASONING, CACHE_WRITE, CALLS, TURNS, COST, UNPRICED, FIRST, LAST = range(
    len(COLUMNS)
)
_SUMMED = range(UNPRICED + 1)

Key = tuple[Any, Any]
"""A group key: ``(bucket, dimension values)``; the values are a tuple when several."""


class EventLike(Protocol):
    """What the aggregation reads of an event: :class:`~jusage.events.Event` and rows both fit."""

    ts: int
    prompt: int
    completion: int
    cached: int
    cache_write: int
    cache_write_1h: int
    reasoning: int
    total: int
    calls: int
    corrects: str
    model: str
    cost_usd: float | None


class Coster(Protocol):
    """Prices one event: pico-dollars, or ``None`` when no price is known for it.

    ``day`` is the event's UTC calendar day (``YYYY-MM-DD``) so prices can follow history.
    """

    def __call__(self, event: Any, day: str) -> int | None: ...


def add_counters(mine: list[int], theirs: Sequence[int]) -> None:
    """Add one group's counters into another's: sums, and the earliest and latest ``ts``."""
    for i in _SUMMED:
        mine[i] += theirs[i]
    if theirs[FIRST] < mine[FIRST]:
        mine[FIRST] = theirs[FIRST]
    if theirs[LAST] > mine[LAST]:
        mine[LAST] = theirs[LAST]


def _add_run(groups: dict[Key, list[int]], key: Key, run: list[int]) -> None:
    mine = groups.get(key)
    if mine is None:
        groups[key] = run
    else:
        add_counters(mine, run)


_NO_RUN: Any = object()


@dataclass(slots=True)
class Partial:
    """A mergeable partial aggregation: counters per group plus the count of skipped lines."""

    groups: dict[Key, list[int]] = field(default_factory=dict)
    skipped: int = 0

    def merge(self, other: Partial) -> Partial:
        """A new partial holding both (neither input changes)."""
        out = Partial({k: list(v) for k, v in self.groups.items()}, self.skipped)
        out.absorb(other)
        return out

    def absorb(self, other: Partial) -> None:
        """Add ``other`` into this partial in place."""
        groups = self.groups
        for key, theirs in other.groups.items():
            mine = groups.get(key)
            if mine is None:
                groups[key] = list(theirs)
            else:
                add_counters(mine, theirs)
        self.skipped += other.skipped

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Partial) and self.skipped == other.skipped and self.groups == other.groups


class Aggregator:
    """Folds events into partials, grouped by a time bucket and some event fields.

    ``dims`` names the event fields to group by (default ``model`` and ``project``).
    ``bucket`` is ``"day"`` (calendar day in ``tz``; ``None`` = the local zone) or ``"hour"``
    (unix seconds of the UTC hour start). ``coster`` prices events; without one the cost
    columns stay zero.
    """

    def __init__(
        self,
        dims: tuple[str, ...] = ("model", "project"),
        *,
        tz: tzinfo | None = None,
        bucket: str = "day",
        coster: Coster | None = None,
    ) -> None:
        if bucket not in ("day", "hour"):
            raise ValueError(f"unknown bucket {bucket!r}")
        self.dims = dims
        self.tz = tz
        self.bucket = bucket
        self.coster = coster
        self._keyer: Callable[[Any], Any] = attrgetter(*dims) if dims else (lambda _e: ())
        self._decoder = row_decoder(dims)
        self._day = day_fn(tz)
        self._days: dict[int, Any] = {}
        self._utc_day = day_fn(_utc())

    @property
    def signature(self) -> str:
        """What this aggregator's result depends on besides the events and the coster.

        Used to key checkpoints: the dimensions, the bucket and the time zone's rules (for
        the local zone, its name and offsets, so a changed ``TZ`` is a different signature).
        """
        if self.tz is None:
            import time

            zone = f"local:{os.environ.get('TZ', '')}:{time.tzname}:{time.timezone}:{time.altzone}"
        else:
            zone = str(getattr(self.tz, "key", None) or self.tz)
        return f"{','.join(self.dims)}|{self.bucket}|{zone}"

    def dim_values(self, key: Key) -> tuple[Any, ...]:
        """The dimension values of a group key, always as a tuple."""
        return key[1] if len(self.dims) != 1 else (key[1],)

    def accumulate(self, partial: Partial, events: Iterable[EventLike]) -> Partial:
        """Fold ``events`` into ``partial`` (in place) and return it.

        Events whose counts break a consistency rule (``cached + cache_write > prompt``,
        ``reasoning > completion``) are counted in ``partial.skipped`` instead. An event
        with ``corrects`` set adds its tokens but is not a turn of its own.
        """
        groups = partial.groups
        keyer = self._keyer
        hourly = self.bucket == "hour"
        day = self._day
        days = self._days  # quarter-hour -> (bucket, UTC day): most events cost one dict lookup
        utc_day = self._utc_day
        coster = self.coster
        bad = 0
        # Consecutive events mostly share a group (one session works on, so one model and
        # project in one day), so the counters of a run of them are summed in local
        # variables and added to the group once, when the run ends.
        run_bucket: Any = _NO_RUN
        run_dims: Any = None
        total = prompt = completion = cached = reasoning = write = calls = turns = cost = unpriced = 0
        first = last = 0
        for e in events:
            p = e.prompt
            c = e.completion
            ca = e.cached
            cw = e.cache_write
            rs = e.reasoning
            if ca + cw > p or rs > c or e.cache_write_1h > cw:
                bad += 1
                continue
            t = e.total
            if t < 0:
                t = p + c
            ts = e.ts
            quarter = ts // 900
            when = days.get(quarter)
            if when is None:
                when = days[quarter] = ((ts // 3600) * 3600 if hourly else day(ts), utc_day(ts))
            dims = keyer(e)
            if when[0] != run_bucket or dims != run_dims:
                if run_bucket is not _NO_RUN:
                    _add_run(groups, (run_bucket, run_dims), [
                        total, prompt, completion, cached, reasoning, write, calls, turns, cost, unpriced,
                        first, last,
                    ])  # fmt: skip
                run_bucket = when[0]
                run_dims = dims
                total = prompt = completion = cached = reasoning = write = calls = turns = cost = unpriced = 0
                first = last = ts
            total += t
            prompt += p
            completion += c
            cached += ca
            reasoning += rs
            write += cw
            calls += e.calls
            if not e.corrects:
                turns += 1
            if coster is not None:
                priced = coster(e, when[1])
                if priced is None:
                    unpriced += t
                else:
                    cost += priced
            if ts < first:
                first = ts
            elif ts > last:
                last = ts
        if run_bucket is not _NO_RUN:
            _add_run(groups, (run_bucket, run_dims), [
                total, prompt, completion, cached, reasoning, write, calls, turns, cost, unpriced,
                first, last,
            ])  # fmt: skip
        partial.skipped += bad
        return partial

    def accumulate_file(
        self, partial: Partial, path: Path, start: int = 0, end: int | None = None
    ) -> Partial:
        """Fold the valid lines of ``path`` (bytes ``[start, end)``) into ``partial``."""
        stats = ReadStats()
        # Millions of short-lived key tuples would trigger the cycle collector thousands of
        # times; nothing here forms a cycle, so pause it while folding.
        collecting = gc.isenabled()
        gc.disable()
        try:
            for rows in read_rows(path, stats, start, end, decoder=self._decoder):
                self.accumulate(partial, rows)
        finally:
            if collecting:
                gc.enable()
        partial.skipped += stats.skipped
        return partial


# Fields every aggregation reads; the grouping dimensions come on top.
_READ_FIELDS = (
    "ts",
    "model",
    "prompt",
    "completion",
    "cached",
    "cache_write",
    "cache_write_1h",
    "reasoning",
    "total",
    "calls",
    "corrects",
    "cost_usd",
)


@functools.cache
def row_decoder(dims: tuple[str, ...]) -> msgspec.json.Decoder[Any]:
    """A msgspec decoder for just the fields an aggregation by ``dims`` reads.

    Decoding only what is read (with the same types and constraints as
    :class:`~jusage.events.EventRow`) is about twice as fast as decoding every field,
    because the strings nobody reads are never built. So the aggregation judges a line by
    the fields it reads: a line whose *other* fields have the wrong type is counted, where
    :meth:`jusage.store.Store.iter_events` would skip it.
    """
    wanted = set(_READ_FIELDS) | set(dims)
    fields = [(f.name, f.type, f.default) for f in msgspec.structs.fields(EventRow) if f.name in wanted]
    row = msgspec.defstruct("AggregateRow", fields, gc=False)
    return msgspec.json.Decoder(row)


def _utc() -> tzinfo:
    from datetime import UTC

    return UTC


# -- the stats view ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Totals:
    """Cumulative counters over the aggregated window (tokens, calls, turns, cost)."""

    total: int = 0
    prompt: int = 0
    completion: int = 0
    cached: int = 0
    reasoning: int = 0
    cache_write: int = 0
    calls: int = 0
    turns: int = 0
    cost_pico: int = 0
    unpriced_tokens: int = 0

    @property
    def cost_micro(self) -> int:
        """Cost in integer micro-dollars (rounded half up from pico-dollars)."""
        return (self.cost_pico + 500_000) // 1_000_000


@dataclass(frozen=True, slots=True)
class DayBucket:
    """One day's rolled-up usage."""

    date: str
    tokens: int = 0
    turns: int = 0
    calls: int = 0
    cost_pico: int = 0


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
    """The full derived view over a set of events (jcode's semantics)."""

    totals: Totals
    active_days: int
    current_streak: int
    longest_streak: int
    most_used_model: str
    cache_hit_rate: float
    cache_supported: bool
    days: dict[str, DayBucket]
    by_model: list[Share]
    by_project: list[Share]
    skipped_lines: int = 0

    @property
    def trend(self) -> list[DayBucket]:
        """The day buckets in ascending date order."""
        return [self.days[d] for d in sorted(self.days)]


def _sum(rows: Iterable[list[int]]) -> list[int]:
    out = [0] * (UNPRICED + 1)
    for a in rows:
        for i in _SUMMED:
            out[i] += a[i]
    return out


def _shares(per_name: dict[str, list[int]], grand: int) -> list[Share]:
    shares = [
        Share(name, a[TOTAL], a[TOTAL] / grand if grand else 0.0, a[COST], a[UNPRICED])
        for name, a in per_name.items()
        if name
    ]
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


def stats_view(partial: Partial, aggregator: Aggregator, today: date) -> Stats:
    """Finish a partial built with ``dims=("model", "project")`` into :class:`Stats`."""
    if aggregator.dims != ("model", "project") or aggregator.bucket != "day":
        raise ValueError("stats_view needs an aggregator grouped by day, model and project")
    per_day: dict[str, list[list[int]]] = {}
    per_model: dict[str, list[list[int]]] = {}
    per_project: dict[str, list[list[int]]] = {}
    for (day, (model, project)), a in partial.groups.items():
        per_day.setdefault(day, []).append(a)
        per_model.setdefault(model, []).append(a)
        per_project.setdefault(project, []).append(a)
    total = _sum(partial.groups.values())
    totals = Totals(*total)
    days = {}
    for day, rows in per_day.items():
        s = _sum(rows)
        days[day] = DayBucket(day, s[TOTAL], s[TURNS], s[CALLS], s[COST])
    active = [d for d, b in days.items() if b.tokens > 0]
    models = {name: _sum(rows) for name, rows in per_model.items()}
    projects = {name: _sum(rows) for name, rows in per_project.items()}
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
        skipped_lines=partial.skipped,
    )


def aggregate(events: Iterable[EventLike], today: date, *, tz: tzinfo | None = None) -> Stats:
    """Reduce events to :class:`Stats`; ``today`` anchors the current streak. Pure."""
    agg = Aggregator(tz=tz)
    return stats_view(agg.accumulate(Partial(), events), agg, today)


def window(partial: Partial, since: str | None = None, until: str | None = None) -> Partial:
    """The groups of a day-bucketed partial whose day is in ``[since, until]`` (inclusive)."""
    if since is None and until is None:
        return partial
    lo = since or ""
    hi = until or "9999-99-99"
    return Partial({k: v for k, v in partial.groups.items() if lo <= k[0] <= hi}, partial.skipped)


def iter_groups(partial: Partial, aggregator: Aggregator) -> Iterator[tuple[Any, tuple[Any, ...], list[int]]]:
    """``(bucket, dimension values, counters)`` for every group of ``partial``."""
    for key, counters in partial.groups.items():
        yield key[0], aggregator.dim_values(key), counters
