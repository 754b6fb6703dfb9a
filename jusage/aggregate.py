"""The pure aggregation: events in, counters out, built as a mergeable partial.

Three steps, so logs can be split, merged across machines and aggregated in parallel:

* :meth:`Aggregator.accumulate` folds events into a :class:`Partial`: it only adds integers;
* :meth:`Partial.merge` combines two partials (associative and commutative);
* :func:`rollup` prices each group from its sums and sums the groups into a :class:`Table`
  keyed by the caller's time bucket and dimensions, which the views (``jusage.views``) finish.

A group of a partial is keyed by the time bucket (the calendar day in the reader's zone, or
the hour, for the 5-hour blocks), the values of the caller's dimensions, and what a price
depends on besides the counts: the model, the UTC day (prices follow history), the
long-context price tier the prompt falls into, and whether the events reported their own
cost. A calculated cost is linear in the counts, so pricing the sums of a group gives
exactly the sum of its events' costs, in integer pico-dollars. Nothing here reads a file or
the clock, except :meth:`Aggregator.accumulate_file`, which streams a log.
"""

from __future__ import annotations

import gc
import operator
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from jusage.days import Calendar
from jusage.events import EVENT_DECODER, Event
from jusage.reading import ReadStats, read_rows

if TYPE_CHECKING:
    from jusage.costing import Coster

__all__ = [
    "COUNTERS",
    "Aggregator",
    "EventLike",
    "Partial",
    "Table",
    "Usage",
    "add_counters",
    "add_tables",
    "keep_dims",
    "rollup",
    "sum_rows",
]

#: The counters of a group, in order. In a :class:`Partial`, ``cost`` holds the reported
#: pico-dollars of events that carry a cost and ``unpriced`` is zero; after :func:`rollup`
#: ``cost`` is the group's cost in pico-dollars (1e-12 USD) and ``unpriced`` the tokens no
#: price was found for. ``first`` and ``last`` are the smallest and largest ``ts`` seen.
COUNTERS: tuple[str, ...] = (
    "prompt",
    "completion",
    "cached",
    "cache_write",
    "cache_write_1h",
    "reasoning",
    "calls",
    "turns",
    "cost",
    "unpriced",
    "first",
    "last",
)
(
    PROMPT,
    COMPLETION,
    CACHED,
    CACHE_WRITE,
    CACHE_WRITE_1H,
    REASONING,
    CALLS,
    TURNS,
    COST,
    UNPRICED,
    FIRST,
    LAST,
) = range(len(COUNTERS))
_SUMMED = range(UNPRICED + 1)
_PICO_PER_USD = 1e12

GroupKey = tuple[tuple[Any, str], tuple[Any, ...], int, bool]
"""A group of a partial: ``((bucket, UTC day), (dimension values..., model), price tier,
reported)``; the model is among the values only once (see :meth:`Aggregator.group_parts`)."""


class EventLike(Protocol):
    """What the aggregation reads of an event (an :class:`~jusage.events.Event` fits)."""

    @property
    def ts(self) -> int: ...
    @property
    def prompt(self) -> int: ...
    @property
    def completion(self) -> int: ...
    @property
    def cached(self) -> int: ...
    @property
    def cache_write(self) -> int: ...
    @property
    def cache_write_1h(self) -> int: ...
    @property
    def reasoning(self) -> int: ...
    @property
    def calls(self) -> int: ...
    @property
    def corrects(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def cost_usd(self) -> float | None: ...


def add_counters(mine: list[int], theirs: Sequence[int]) -> None:
    """Add one group's counters into another's: sums, and the earliest and latest ``ts``."""
    for i in _SUMMED:
        mine[i] += theirs[i]
    if theirs[FIRST] < mine[FIRST]:
        mine[FIRST] = theirs[FIRST]
    if theirs[LAST] > mine[LAST]:
        mine[LAST] = theirs[LAST]


@dataclass(frozen=True, slots=True)
class Usage:
    """Summed usage of some events (jusage's inclusive convention), cost in pico-dollars.

    The one counters type of every view: totals, days, rows, models, blocks. ``first`` and
    ``last`` are the earliest and latest ``ts`` (0 when empty).
    """

    prompt: int = 0
    completion: int = 0
    cached: int = 0
    cache_write: int = 0
    cache_write_1h: int = 0
    reasoning: int = 0
    calls: int = 0
    turns: int = 0
    cost_pico: int = 0
    unpriced: int = 0
    first: int = 0
    last: int = 0

    @classmethod
    def of(cls, counters: Sequence[int] | None) -> Usage:
        """The usage of a list of counters in :data:`COUNTERS` order (``None``: nothing)."""
        return cls(*counters) if counters else cls()

    @property
    def total(self) -> int:
        """All tokens: ``prompt + completion``."""
        return self.prompt + self.completion

    @property
    def input_tokens(self) -> int:
        """Non-cached input: ``prompt - cached - cache_write`` (ccusage's ``inputTokens``)."""
        return self.prompt - self.cached - self.cache_write

    @property
    def cost_micro(self) -> int:
        """Cost in integer micro-dollars, rounded half up."""
        return (self.cost_pico + 500_000) // 1_000_000

    @property
    def cost_usd(self) -> float:
        """Cost in US dollars (for JSON)."""
        return self.cost_pico / 10**12


@dataclass(slots=True)
class Partial:
    """A mergeable partial aggregation: counters per group plus the count of skipped lines."""

    groups: dict[GroupKey, list[int]] = field(default_factory=dict)
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


class Aggregator:
    """Folds events into partials, grouped by a time bucket and some event fields.

    ``dims`` names the event fields to group by (default ``model`` and ``project``).
    ``bucket`` is ``"day"`` (calendar day in ``tz``; ``None`` = the local zone) or ``"hour"``
    (unix seconds of the hour's start). ``coster`` prices the groups when they are rolled up
    (see :func:`rollup`); it also tells the fold the price tiers' thresholds. Without one,
    the cost columns stay zero.
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
        unknown = [d for d in dims if d not in Event.__struct_fields__]
        if unknown:
            raise ValueError(f"cannot group by {', '.join(unknown)}: not event fields")
        self.dims = dims
        self.tz = tz
        self.bucket = bucket
        self.coster = coster
        # Each group's dimension values, with the model after them when it is not one of them.
        self._model_at = dims.index("model") if "model" in dims else len(dims)
        fields = dims if "model" in dims else (*dims, "model")
        self._values: Callable[[Any], tuple[Any, ...]] = _getter(fields)
        self._calendar = Calendar(tz)
        self._tiers_of: Callable[[str], tuple[int, ...]] = (
            coster.tiers_of if coster is not None else _no_tiers
        )
        # values -> (the one tuple of those values every group key uses, the model's tiers)
        self._canonical: dict[tuple[Any, ...], tuple[tuple[Any, ...], tuple[int, ...]]] = {}

    @property
    def signature(self) -> str:
        """What this aggregator's partials depend on besides the events.

        Used to key checkpoints: the dimensions, the bucket, the time zone's rules (for the
        local zone, its name and offsets, so a changed ``TZ`` is a different signature) and
        what the prices depend on (their tiers split groups).
        """
        prices = self.coster.cache_key if self.coster is not None else "-"
        return f"{','.join(self.dims)}|{self.bucket}|{self._calendar.zone_signature()}|{prices}"

    def __reduce__(self) -> tuple[Any, ...]:
        # Sent to worker processes without the caches, which the workers fill for themselves.
        return (_aggregator, (self.dims, self.tz, self.bucket, self.coster))

    def accumulate(self, partial: Partial, events: Iterable[EventLike]) -> Partial:
        """Fold ``events`` into ``partial`` (in place) and return it.

        An event with ``corrects`` set adds its tokens but is not a turn of its own. The
        events must be valid (:class:`~jusage.events.Event` checks on construction).
        """
        groups = partial.groups
        calendar = self._calendar
        days = calendar.days
        window, base, size = calendar.window, calendar.base, len(calendar.window)
        hourly = self.bucket == "hour"
        values = self._values
        canonical = self._canonical
        tiers_of = self._tiers_of
        model_at = self._model_at
        for e in events:
            ts = e.ts
            # The parts of a group's key are shared objects (the pair of days of a quarter,
            # one tuple per combination of values), so comparing keys compares identities:
            # with groups scattered over memory, that spares reading them (docs/performance.md).
            at = ts // 900 - base
            when = window[at] if 0 <= at < size else None
            if when is None:
                when = days(ts)
                window, base, size = calendar.window, calendar.base, len(calendar.window)
            found = values(e)
            known = canonical.get(found)
            if known is None:
                known = canonical[found] = (found, tiers_of(found[model_at]))
            named, tiers = known
            prompt = e.prompt
            usd = e.cost_usd
            key = (
                (ts - ts % 3600, when[1]) if hourly else when,
                named,
                0 if not tiers or prompt <= tiers[0] else bisect_left(tiers, prompt),
                usd is not None,
            )
            g = groups.get(key)
            if g is None:
                g = groups[key] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, ts, ts]
            g[0] += prompt
            g[1] += e.completion
            g[2] += e.cached
            g[3] += e.cache_write
            g[4] += e.cache_write_1h
            g[5] += e.reasoning
            g[6] += e.calls
            if not e.corrects:
                g[7] += 1
            if usd is not None:
                g[8] += round(usd * _PICO_PER_USD)
            if ts < g[10]:
                g[10] = ts
            elif ts > g[11]:
                g[11] = ts
        return partial

    def group_parts(self, key: GroupKey) -> tuple[Any, Any, str, str, int, bool]:
        """``(bucket, dimension values, model, UTC day, price tier, reported)`` of a group key
        (one dimension's value is bare, several are a tuple)."""
        (bucket, utc_day), named, tier, reported = key
        count = len(self.dims)
        values = named[0] if count == 1 else named[:count]
        return bucket, values, named[self._model_at], utc_day, tier, reported

    def accumulate_file(
        self,
        partial: Partial,
        path: Path,
        start: int = 0,
        end: int | None = None,
        *,
        keep: Callable[[list[Event]], Iterable[Event]] | None = None,
    ) -> Partial:
        """Fold the valid lines of ``path`` (bytes ``[start, end)``) into ``partial``; with
        ``keep``, only the events it passes on from each block of decoded lines.

        Malformed lines (not JSON, wrong types, out of range, contradicting counts, torn)
        are skipped and counted in ``partial.skipped``.
        """
        stats = ReadStats()
        # Millions of short-lived key tuples would start the cycle collector thousands of
        # times; nothing here forms a cycle.
        collecting = gc.isenabled()
        gc.disable()
        try:
            for rows in read_rows(path, stats, start, end, decoder=EVENT_DECODER):
                self.accumulate(partial, rows if keep is None else keep(rows))
        finally:
            if collecting:
                gc.enable()
        partial.skipped += stats.skipped
        return partial


def _aggregator(dims: tuple[str, ...], tz: tzinfo | None, bucket: str, coster: Coster | None) -> Aggregator:
    return Aggregator(dims, tz=tz, bucket=bucket, coster=coster)


def _no_tiers(model: str) -> tuple[int, ...]:
    return ()


def _getter(fields: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """A function reading ``fields`` of an event into a tuple (always a tuple)."""
    if len(fields) == 1:
        (name,) = fields
        return lambda event: (getattr(event, name),)
    getter: Callable[[Any], tuple[Any, ...]] = operator.attrgetter(*fields)
    return getter


@dataclass(slots=True)
class Table:
    """Priced counters per ``(bucket, dimension values)``: what the views are built from.

    ``rows`` maps each key to counters in :data:`COUNTERS` order, ``cost`` and ``unpriced``
    filled in. ``dims`` names the dimensions; ``skipped`` counts malformed lines.
    """

    dims: tuple[str, ...]
    bucket: str
    rows: dict[tuple[Any, Any], list[int]]
    skipped: int = 0

    def items(self) -> Iterable[tuple[Any, tuple[Any, ...], list[int]]]:
        """``(bucket, dimension values, counters)`` of every row, the values always a tuple
        in the order of :attr:`dims` (see :meth:`position`)."""
        if len(self.dims) != 1:
            for (bucket, values), counters in self.rows.items():
                yield bucket, values, counters
        else:
            for (bucket, value), counters in self.rows.items():
                yield bucket, (value,), counters

    def position(self, dim: str) -> int:
        """Where ``dim``'s value is in the tuples :meth:`items` gives; ValueError without it."""
        try:
            return self.dims.index(dim)
        except ValueError:
            raise ValueError(f"the table lacks the dimension {dim!r}") from None


def sum_rows(rows: Iterable[Sequence[int]]) -> list[int] | None:
    """The counters of ``rows`` added up (``None`` for no rows)."""
    total: list[int] | None = None
    for row in rows:
        if total is None:
            total = list(row)
        else:
            add_counters(total, row)
    return total


def add_tables(first: Table, second: Table) -> Table:
    """``first`` with ``second`` added into it, in place (priced tables add up exactly:
    prices are linear in the counts); returns ``first``."""
    rows = first.rows
    for key, counters in second.rows.items():
        mine = rows.get(key)
        if mine is None:
            rows[key] = list(counters)
        else:
            add_counters(mine, counters)
    first.skipped += second.skipped
    return first


def keep_dims(table: Table, dims: tuple[str, ...]) -> Table:
    """``table`` with only ``dims`` (a subset of its own, in any order) left, the rows that
    then share a key added up."""
    if dims == table.dims:
        return table
    missing = [d for d in dims if d not in table.dims]
    if missing:
        raise ValueError(f"the table lacks the dimensions {missing}")
    rows: dict[tuple[Any, Any], list[int]] = {}
    at = [table.position(d) for d in dims]
    for bucket, values, counters in table.items():
        kept = tuple(values[i] for i in at)
        key = (bucket, kept[0] if len(dims) == 1 else kept)
        mine = rows.get(key)
        if mine is None:
            rows[key] = list(counters)
        else:
            add_counters(mine, counters)
    return Table(dims, table.bucket, rows, table.skipped)


def rollup(partial: Partial, aggregator: Aggregator) -> Table:
    """Price every group of ``partial`` from its sums and add the groups up by time bucket and
    the aggregator's dimensions.

    Without a coster the cost columns are zero. With one, a group's cost is what
    :meth:`~jusage.costing.Coster.group_cost` says; a group it finds no price for has its
    tokens counted as unpriced instead, so they are never shown as free.
    """
    coster = aggregator.coster
    rows: dict[tuple[Any, Any], list[int]] = {}
    parts = aggregator.group_parts
    for key, counters in partial.groups.items():
        bucket, values, model, utc_day, tier, reported = parts(key)
        row = list(counters)
        if coster is None:
            row[COST] = 0
        else:
            cost = coster.group_cost(
                model,
                utc_day,
                tier,
                row[COST] if reported else None,
                row[PROMPT],
                row[COMPLETION],
                row[CACHED],
                row[CACHE_WRITE],
                row[CACHE_WRITE_1H],
            )
            if cost is None:
                row[COST] = 0
                row[UNPRICED] = row[PROMPT] + row[COMPLETION]
            else:
                row[COST] = cost
        mine = rows.get((bucket, values))
        if mine is None:
            rows[(bucket, values)] = row
        else:
            add_counters(mine, row)
    return Table(aggregator.dims, aggregator.bucket, rows, partial.skipped)
