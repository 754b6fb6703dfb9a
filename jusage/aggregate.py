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
import itertools
import os
import textwrap
from collections.abc import Callable, Iterable, Iterator, Sequence, Sized
from dataclasses import dataclass, field
from datetime import date, timedelta, tzinfo
from pathlib import Path
from typing import Any, Protocol

import msgspec

from jusage.days import day_fn
from jusage.events import EventRow
from jusage.reading import ReadStats, read_rows

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
    A coster may also say how it prices, so whole runs of events are priced at once (see
    :class:`_RunPricer`): ``linear_rates(model, day)`` gives the rates it would use
    (``(input, output, cache read, 5-minute write, 1-hour write, tiers)``, tiers highest
    threshold first, each ``(threshold, rates)``) or ``None`` for no price, and ``reports``
    says whether an event's own ``cost_usd`` is its cost.
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


_NO_RUN: Any = object()

_ADAPT_AFTER = 256
"""Batches of at least this many events decide which fold loop the next batch gets."""


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
        unknown = [d for d in dims if d not in EventRow.__struct_fields__]
        if unknown:
            raise ValueError(f"cannot group by {', '.join(unknown)}: not event fields")
        self._decoder = row_decoder(dims)
        self._day = day_fn(tz)
        self._quarters: dict[int, tuple[Any, str, int, int]] = {}
        self._per_event = False  # which fold loop the next batch gets (see _fold_loop)
        self._run_pricer = _RunPricer.of(coster)
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
        ``reasoning > completion``, ``cache_write_1h > cache_write``) are counted in
        ``partial.skipped`` instead. An event with ``corrects`` set adds its tokens but is not
        a turn of its own.
        """
        if self._run_pricer is not None and not self._per_event:
            fold = _fold_loop(self.dims, priced=True, per_event=False, by_run=True)
            bad, changes = fold(partial.groups, events, self._when, self._run_pricer)
        else:
            fold = _fold_loop(self.dims, self.coster is not None, self._per_event)
            bad, changes = fold(partial.groups, events, self._when, self.coster)
        partial.skipped += bad
        if isinstance(events, Sized) and len(events) >= _ADAPT_AFTER:
            # Pick the loop for the next batch by how often groups changed in this one: the
            # event loop pays once a run is shorter than about three events.
            self._per_event = changes * 3 > len(events)
        return partial

    def _when(self, ts: int) -> tuple[Any, str, int, int]:
        """``(bucket, UTC day, lo, hi)`` of the quarter hour holding ``ts``: every second in
        ``[lo, hi)`` has the same bucket and the same UTC day (see :mod:`jusage.days`)."""
        quarter = ts // 900
        found = self._quarters.get(quarter)
        if found is None:
            lo = quarter * 900
            bucket = lo // 3600 * 3600 if self.bucket == "hour" else self._day(lo)
            found = self._quarters[quarter] = (bucket, self._utc_day(lo), lo, lo + 900)
        return found

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


# The fold loop is the aggregation's hot path: a few hundred nanoseconds per event. It is
# generated once per set of dimensions (and with or without a coster) so that each dimension
# field is read and compared in place, with no attrgetter call per event. It comes in two
# shapes, because logs come in two shapes:
#
# * runs: one agent at a time, so consecutive events mostly share a group (one session works
#   on one model and project). The counters of a run are summed in local variables and added
#   to the group once, when the run ends; no key is built per event (about 550 ns an event).
# * events: several agents at once, so groups alternate and runs are a line or two long.
#   Adding each event to its group's list straight away is cheaper then (about 900 ns an
#   event, against 1,300 ns for the run loop on such a log).
#
# Both loops return how many events they skipped as inconsistent and how often the group
# changed from one event to the next; :meth:`Aggregator.accumulate` uses the second to pick
# the loop for the next batch.
# What both loops do first with each event: read the counts, skip it if they are inconsistent,
# fill in a missing total, and find its bucket and UTC day (one look-up per quarter hour).
_PROLOGUE = """p = e.prompt
c = e.completion
ca = e.cached
cw = e.cache_write
rs = e.reasoning
w1 = e.cache_write_1h
if ca + cw > p or rs > c or w1 > cw:
    bad += 1
    continue
t = e.total
if t < 0:
    t = p + c
ts = e.ts
if not lo <= ts < hi:
    bucket, utc, lo, hi = when(ts)"""

_RUNS_TEMPLATE = """
def fold(groups, events, when, coster):
    bad = changes = 0
    lo = hi = 0
    bucket = utc = None
    run_bucket = NO_RUN
    {dims_none}
    total = prompt = completion = cached = reasoning = write = calls = turns = cost = unpriced = 0
    first = last = 0
    {run_vars}
    for e in events:
{prologue}
        if bucket != run_bucket{dims_differ}:
            if run_bucket is not NO_RUN:
                changes += 1
{flush_in_loop}
            run_bucket = bucket
            {dims_take}
            total = prompt = completion = cached = reasoning = write = calls = turns = cost = unpriced = 0
            first = last = ts
            {run_take}
        total += t
        prompt += p
        completion += c
        cached += ca
        reasoning += rs
        write += cw
        calls += e.calls
        if not e.corrects:
            turns += 1
        {run_pricing}
        if ts > last:  # first: logs are mostly in time order
            last = ts
        elif ts < first:
            first = ts
    if run_bucket is not NO_RUN:
{flush_at_end}
    return bad, changes
"""

# Adding a finished run to its group, inlined: no call, list or loop is spent on it.
_FLUSH = """key = (run_bucket, {dims_key})
g = groups.get(key)
if g is None:
    groups[key] = [
        total, prompt, completion, cached, reasoning, write, calls, turns, cost, unpriced, first, last
    ]
else:
    g[0] += total
    g[1] += prompt
    g[2] += completion
    g[3] += cached
    g[4] += reasoning
    g[5] += write
    g[6] += calls
    g[7] += turns
    g[8] += cost
    g[9] += unpriced
    if first < g[10]:
        g[10] = first
    if last > g[11]:
        g[11] = last"""

_RUN_PRICING = """priced = coster(e, utc)
        if priced is None:
            unpriced += t
        else:
            cost += priced"""

# With a coster that can price a whole run at once (see _RunPricer), a run (which then also
# ends where the UTC day or the model changes: prices follow both) looks its rates up once,
# when it starts. An event is priced on its own only when the run's rates may not fit it:
# its prompt reaches a higher price tier, or it carries a reported cost the coster uses.
# Its counts are kept aside, and the rest of the run is priced from its sums when it ends.
_LINEAR_VARS = """one = coster.coster; reports = coster.reports; rates_at = coster.rates_at
    run_utc = run_model = rates = None; base_up_to = write_1h = 0
    x_t = x_p = x_c = x_ca = x_cw = x_w1 = x_cost = x_unpriced = 0"""
_LINEAR_TAKE = """run_utc = utc; run_model = e.model; rates, base_up_to = rates_at(run_model, utc)
            write_1h = x_t = x_p = x_c = x_ca = x_cw = x_w1 = x_cost = x_unpriced = 0"""
_LINEAR_PER_EVENT = """write_1h += w1
        if p > base_up_to or (reports and e.cost_usd is not None):
            priced = one(e, utc)
            if priced is None:
                x_unpriced += t
            else:
                x_cost += priced
            x_t += t
            x_p += p
            x_c += c
            x_ca += ca
            x_cw += cw
            x_w1 += w1"""
_LINEAR_FLUSH = """cost, unpriced = price_sums(
    rates, total - x_t, prompt - x_p, completion - x_c, cached - x_ca, write - x_cw, write_1h - x_w1
)
cost += x_cost
unpriced += x_unpriced
"""

# The groups of the current bucket are also kept in a small dict keyed by the dimension values
# alone, so an event costs one small key and one look-up.
_EVENTS_TEMPLATE = """
def fold(groups, events, when, coster):
    bad = changes = 0
    lo = hi = 0
    bucket = utc = current = None
    here = {{}}
    previous = None
    for e in events:
{prologue}
            if bucket != current:  # still under the prologue's "if not lo <= ts < hi"
                current = bucket
                here = {{}}
        dims = {dims_value}
        g = here.get(dims)
        if g is None:
            key = (bucket, dims)
            g = groups.get(key)
            if g is None:
                g = groups[key] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, ts, ts]
            here[dims] = g
        if g is not previous:
            changes += 1
            previous = g
        g[0] += t
        g[1] += p
        g[2] += c
        g[3] += ca
        g[4] += rs
        g[5] += cw
        g[6] += e.calls
        if not e.corrects:
            g[7] += 1
        {event_pricing}
        if ts > g[11]:
            g[11] = ts
        elif ts < g[10]:
            g[10] = ts
    return bad, changes - 1 if changes else 0
"""

_EVENT_PRICING = """priced = coster(e, utc)
        if priced is None:
            g[9] += t
        else:
            g[8] += priced"""


_Fold = Callable[[dict[Key, list[int]], Iterable[Any], Any, Any], tuple[int, int]]


@functools.cache
def _fold_loop(dims: tuple[str, ...], priced: bool, per_event: bool, by_run: bool = False) -> _Fold:
    """The fold loop for ``dims`` (event field names, checked by the caller), compiled once:
    the run loop, or with ``per_event`` the event loop (see the comment above).

    ``fold(groups, events, when, coster)`` adds the events into ``groups`` and returns
    ``(skipped as inconsistent, group changes between consecutive events)``; ``when`` is
    :meth:`Aggregator._when`. With ``by_run`` (the run loop only), ``coster`` is a
    :class:`_RunPricer`, and runs are priced from their sums (see ``_LINEAR_VARS``).
    """
    prologue = textwrap.indent(_PROLOGUE, " " * 8)
    if per_event:
        value = f"e.{dims[0]}" if len(dims) == 1 else "(" + "".join(f"e.{d}, " for d in dims) + ")"
        source = _EVENTS_TEMPLATE.format(
            prologue=prologue, dims_value=value, event_pricing=_EVENT_PRICING if priced else "pass"
        )
    else:
        names = [f"d{i}" for i in range(len(dims))]
        key = names[0] if len(dims) == 1 else "(" + "".join(f"{n}, " for n in names) + ")"
        flush = _FLUSH.format(dims_key=key)
        differ = "".join(f" or e.{d} != {n}" for d, n in zip(dims, names, strict=True))
        flush_in_loop = flush_at_end = flush
        if by_run:
            differ += " or utc != run_utc" + ("" if "model" in dims else " or e.model != run_model")
            flush_in_loop = flush_at_end = _LINEAR_FLUSH + flush
        source = _RUNS_TEMPLATE.format(
            prologue=prologue,
            dims_none=" = ".join([*names, "None"]) if dims else "pass",
            dims_differ=differ,
            flush_in_loop=textwrap.indent(flush_in_loop, " " * 16),
            flush_at_end=textwrap.indent(flush_at_end, " " * 8),
            dims_take="; ".join(f"{n} = e.{d}" for d, n in zip(dims, names, strict=True)) or "pass",
            run_vars=_LINEAR_VARS if by_run else "pass",
            run_take=_LINEAR_TAKE if by_run else "pass",
            run_pricing=_LINEAR_PER_EVENT if by_run else _RUN_PRICING if priced else "pass",
        )
    namespace: dict[str, Any] = {"NO_RUN": _NO_RUN, "price_sums": _price_sums}
    name = f"<jusage fold {'events' if per_event else 'runs'} {','.join(dims)}{' by run' if by_run else ''}>"
    exec(compile(source, name, "exec"), namespace)
    fold: _Fold = namespace["fold"]
    return fold


class _RunPricer:
    """What the run loop needs to price runs of events (one model, one UTC day) at once.

    A calculated cost is linear in the counts, so pricing the sums of a run's events gives
    exactly the sum of their costs (integers throughout) when they all take the same rates.
    The run loop prices an event on its own (``coster``) only when that may not hold: its
    prompt passes ``base_up_to`` (a higher tier applies), or it carries a reported cost and
    the coster ``reports``. Costers that do not say their rates (no ``linear_rates``) are
    always called per event.
    """

    __slots__ = ("_rates", "coster", "reports")

    def __init__(self, coster: Coster, rates: Callable[[str, str], Any], reports: bool) -> None:
        self.coster = coster
        self._rates = rates
        self.reports = reports

    @staticmethod
    def of(coster: Coster | None) -> _RunPricer | None:
        rates = getattr(coster, "linear_rates", None)
        if coster is None or rates is None:
            return None
        return _RunPricer(coster, rates, bool(getattr(coster, "reports", True)))

    def rates_at(self, model: str, day: str) -> tuple[Any, int]:
        """``(rates or None, the largest prompt those base rates apply to)``."""
        rates = self._rates(model, day)
        if rates is None or not rates[5]:
            return rates, _NO_TIER
        return rates, rates[5][-1][0]  # tiers come highest threshold first


_NO_TIER = 1 << 63


def _price_sums(
    rates: Any, total: int, prompt: int, completion: int, cached: int, write: int, write_1h: int
) -> tuple[int, int]:
    """``(cost, unpriced tokens)`` of events with these sums, all at the base ``rates``
    (``None``: no price, so their tokens are unpriced)."""
    if rates is None:
        return 0, total
    inp, out, read, wr5, wr1h, _ = rates
    cost = (prompt - cached - write) * inp + cached * read + (write - write_1h) * wr5 + write_1h * wr1h
    return cost + completion * out, 0


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
    """The summed columns of ``rows`` (``first`` and ``last`` left out), column by column in C."""
    out = [sum(column) for column in itertools.islice(zip(*rows, strict=True), UNPRICED + 1)]
    return out or [0] * (UNPRICED + 1)


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
