"""Running totals of budget periods: what a budget check reads instead of the whole log.

A :class:`Totals` holds, for each *tracker* (a period and the scopes that pick its events),
the tokens and pico-dollars of the current period, plus the hours in which events happened
(the five-hour blocks are decided from those). It covers the log's first ``offset`` bytes
of one file (device and inode): bringing it up to date means folding in only the lines
appended since, whoever wrote them (other agents, importers, the hook).

It is kept beside the ledger (``events.jsonl.budget-totals``, msgpack: a format that cannot
run code when read) and is a cache: it is rebuilt from the log whenever it is missing, is
for another file or for other trackers, the log is shorter than it says, or the bytes just
before its offset changed. Totals are exact integers, so rebuilding gives the same numbers.

What is dropped along the way, and why that is safe:

* events of calendar periods that ended before the latest ``now`` the totals were brought
  to (:meth:`Totals.advance`): time only moves forward, so those periods are never asked
  about again (a clock that moved back, seen as ``now`` before that, forces a rebuild);
* per-hour block totals more than four hours before the latest event: the latest block
  contains the latest event, so it starts at most four hours before it.

A block is decided as :mod:`jusage.views.blocks` decides it: it starts at the hour of its
first event and lasts five hours; the first event at or after its end starts the next. An
hour five hours or more after the hour before it always starts a block, so an event that
arrives late (an import of older history) is settled by walking forward from the last such
hour before it, never from the start of the log.
"""

from __future__ import annotations

import contextlib
import os
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, tzinfo
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from jusage.days import Calendar
from jusage.events import EVENT_DECODER, Event
from jusage.periods import next_period_start, week_start
from jusage.reading import ReadStats, decode_rows, last_line_end, read_rows

if TYPE_CHECKING:
    from jusage.costing import Coster

__all__ = ["CLOCK_SLACK", "SAVE_EVERY", "STATE_VERSION", "Totals", "Tracker", "Window", "state_path"]

STATE_VERSION = 1
"""Bumped whenever the saved layout or the rules of the fold change."""

SAVE_EVERY = 256 << 10
"""Bytes of log folded in before the state file is written again: a process that loads it
folds at most about this much of the tail, and a writer pays for a save once in this many
bytes of records."""

CLOCK_SLACK = 60
"""Seconds a clock may seem to run back (processes reading it one after the other) before
totals brought to a later moment are no longer used for an earlier one."""

_BLOCK = 5 * 3600  # a block's length, as jusage.views.blocks.BLOCK_SECONDS (not imported: start-up)
_HOUR = 3600
_PROBE = 64  # bytes before the offset that must still be there for the state to be used
_DIRECT_READ = 1 << 20  # tails up to this many bytes are read in one call, longer ones streamed

DAILY, WEEKLY, MONTHLY, BLOCK, TOTAL = range(5)  # also the place of each period's key in fold
_PERIOD_CODES = {"daily": DAILY, "weekly": WEEKLY, "monthly": MONTHLY, "block": BLOCK, "total": TOTAL}
_CALENDAR_NAMES = {DAILY: "daily", WEEKLY: "weekly", MONTHLY: "monthly"}


def state_path(log: Path) -> Path:
    """Where the running totals of ``log`` are kept: beside its real path."""
    real = log.resolve()
    return real.with_name(real.name + ".budget-totals")


class Tracker:
    """One running total: the events ``match`` counts (``None``: all), per ``period``.

    ``buckets`` maps a period key (the first day ``YYYY-MM-DD`` of a day or week, ``YYYY-MM``
    of a month, the unix hour for blocks, ``""`` for the total) to ``[tokens, pico-dollars,
    first ts, last ts]``. Keys below ``floor`` are no longer kept.
    """

    __slots__ = ("buckets", "floor", "match", "period")

    def __init__(self, period: str, match: Callable[[Any], bool] | None) -> None:
        self.period = _PERIOD_CODES[period]
        self.match = match
        self.buckets: dict[Any, list[int]] = {}
        self.floor: Any = 0 if self.period == BLOCK else ""


class Window(msgspec.Struct, frozen=True, gc=False):
    """What one tracker counts in the period that contains a moment.

    ``start`` and ``end`` (unix seconds) bound the period, ``[start, end)``; both are
    ``None`` for the total and when no block is active. ``first`` and ``last`` are the
    earliest and latest event in it (0 when it is empty).
    """

    tokens: int = 0
    pico: int = 0
    first: int = 0
    last: int = 0
    start: int | None = None
    end: int | None = None


class _Saved(msgspec.Struct, array_like=True):
    """The state file (see the module docstring)."""

    version: int
    signature: str
    dev: int
    ino: int
    offset: int
    probe: bytes
    folded_at: int
    hours: list[int]
    block_start: int
    dirty_from: int | None
    buckets: list[list[list[Any]]]


class Totals:
    """Running totals of ``trackers`` over one log (see the module docstring).

    Days, weeks and months are those of ``tz`` (``None``: the local zone), weeks starting on
    ``start_of_week`` (Monday = 0). Events are priced by ``coster`` (``None``: only reported
    costs count). ``signature`` names all of that, so a state saved with other settings is
    never used. Not thread-safe: its owner serialises calls.
    """

    def __init__(
        self,
        trackers: Sequence[Tracker],
        *,
        tz: tzinfo | None,
        start_of_week: int,
        coster: Coster | None,
        signature: str,
    ) -> None:
        self.trackers = list(trackers)
        self.tz = tz
        self.start_of_week = start_of_week
        self.coster = coster
        self.signature = signature
        self.calendar = Calendar(tz)
        #: (device, inode) of the log these totals cover, ``None`` while it does not exist.
        self.ident: tuple[int, int] | None = None
        #: Bytes of the log folded in (always a line boundary).
        self.offset = 0
        #: The offset of the last save (or load) of the state file; -1: never.
        self.saved_offset = -1
        #: The latest moment the totals were brought to (see :meth:`advance`).
        self.folded_at = 0
        self.hours: list[int] = []
        self.block_start = -1
        self.dirty_from: int | None = None
        self._blocks = [t for t in self.trackers if t.period == BLOCK]
        self._weekly = any(t.period == WEEKLY for t in self.trackers)
        self._weeks: dict[str, str] = {}
        self._edges: dict[tuple[int, str], tuple[int, int]] = {}
        self._advanced = -1  # the quarter hour of the last advance
        #: ``(period keys, tokens, pico-dollars)`` of the last event a tracker counted, or
        #: ``None``: what the record path needs to tell the totals before that event.
        self.last: tuple[tuple[Any, ...], int, int] | None = None
        self._calendar_cutoff = -1  # events before this moment count in no calendar tracker
        self._cutoff = -1  # ... and in no tracker at all

    # -- folding ------------------------------------------------------------------------------

    def advance(self, now: int) -> None:
        """Start the periods that contain ``now``: earlier periods are dropped."""
        if now > self.folded_at:
            self.folded_at = now
        quarter = now // 900
        if quarter == self._advanced:  # a day (in any zone) changes only at a quarter hour
            return
        self._advanced = quarter
        day = self.calendar.day(now)
        earliest = 1 << 62
        for t in self.trackers:
            if t.period in _CALENDAR_NAMES:
                floor = self._key(t.period, day)
                if floor != t.floor:
                    t.floor = floor
                    t.buckets = {k: v for k, v in t.buckets.items() if k >= floor}
                # A day's slack: a period's first second is exact, but nothing depends on it.
                earliest = min(earliest, self._bounds(t.period, floor)[0] - 86_400)
            elif t.period == TOTAL:
                earliest = -1
        self._calendar_cutoff = earliest
        # A block active at now began less than five hours before it.
        self._raise_block_floor(now - now % _HOUR - _BLOCK + _HOUR)

    def _raise_block_floor(self, low: int) -> None:
        """Stop keeping block hours before ``low``, and what no tracker counts before then."""
        for t in self._blocks:
            if low > t.floor:
                t.floor = low
                if t.buckets and min(t.buckets) < low:
                    t.buckets = {k: v for k, v in t.buckets.items() if k >= low}
        blocks = min((t.floor for t in self._blocks), default=1 << 62)
        self._cutoff = min(self._calendar_cutoff, blocks)

    def _key(self, period: int, day: str) -> str:
        if period == DAILY:
            return day
        if period == MONTHLY:
            return day[:7]
        if period == WEEKLY:
            return self._week(day)
        return ""

    def _week(self, day: str) -> str:
        found = self._weeks.get(day)
        if found is None:
            try:
                found = week_start(date.fromisoformat(day), self.start_of_week).isoformat()
            except (ValueError, OverflowError):  # the calendar's ends
                found = day
            self._weeks[day] = found
        return found

    def _price(self, event: Event, utc_day: str) -> int:
        if self.coster is None:
            usd = event.cost_usd
            return 0 if usd is None else round(usd * 10**12)
        return self.coster.event_cost(event, utc_day) or 0

    def fold(self, events: Iterable[Event], matched: Sequence[Tracker] | None = None) -> None:
        """Add ``events`` (valid, in log order) to every tracker that counts them.

        ``matched``, for a single event, names the trackers that count it (their scope tests
        already passed).
        """
        quarters = self.calendar.quarters
        days = self.calendar.days
        trackers = self.trackers if matched is None else matched
        hours = self.hours
        weekly = self._weekly
        cutoff = self._cutoff
        for e in events:
            ts = e.ts
            hour = ts - ts % _HOUR
            if not hours or hour > hours[-1]:
                hours.append(hour)
                if self.dirty_from is None and (self.block_start < 0 or hour >= self.block_start + _BLOCK):
                    self.block_start = hour
                if self._blocks:  # the latest block contains this hour, so began at most 4 h before
                    self._raise_block_floor(hour - _BLOCK + _HOUR)
                    cutoff = self._cutoff
            elif hour != hours[-1]:
                i = bisect_left(hours, hour)
                if hours[i] != hour:
                    hours.insert(i, hour)
                    if self.dirty_from is not None:
                        self.dirty_from = min(self.dirty_from, hour)
                    elif hour < self.block_start:  # before the latest block: it may move
                        self.dirty_from = hour
            if ts < cutoff:  # before every period still kept: it only places blocks
                continue
            when = quarters.get(ts // 900)
            if when is None:
                when = days(ts)
            day = when[0]
            keys = (day, self._week(day) if weekly else "", day[:7], hour, "")
            pico = -1
            tokens = e.prompt + e.completion
            for t in trackers:
                if matched is None:
                    match = t.match
                    if match is not None and not match(e):
                        continue
                key = keys[t.period]
                if key < t.floor:
                    continue
                if pico < 0:
                    pico = self._price(e, when[1])
                    self.last = (keys, tokens, pico)
                b = t.buckets.get(key)
                if b is None:
                    t.buckets[key] = [tokens, pico, ts, ts]
                else:
                    b[0] += tokens
                    b[1] += pico
                    if ts < b[2]:
                        b[2] = ts
                    elif ts > b[3]:
                        b[3] = ts

    def fold_tail(self, path: Path, fd: int, end: int, *, whole_lines: bool) -> None:
        """Fold the log's bytes ``[offset, end)`` (read through ``fd``) and move the offset.

        With ``whole_lines`` a last line without its newline (a writer may be busy with it)
        is left for next time; without (the caller holds the writers' lock), it is a torn
        line, counted as malformed.
        """
        start = self.offset
        if end <= start:
            return
        stats = ReadStats()
        if end - start <= _DIRECT_READ:
            data = _pread_all(fd, start, end)
            if whole_lines:
                data = data[: data.rfind(b"\n") + 1]
            if data:
                self.fold(decode_rows(data[:-1] if data.endswith(b"\n") else data, stats, EVENT_DECODER))
            self.offset = start + len(data)
        else:
            stop = last_line_end(path, end) if whole_lines else end
            for rows in read_rows(path, stats, start, stop, decoder=EVENT_DECODER):
                self.fold(rows)
            self.offset = max(start, stop)

    def rebuild(self, path: Path, fd: int, size: int, now: int, *, whole_lines: bool) -> None:
        """Start again from nothing and fold the log's first ``size`` bytes (open as ``fd``)."""
        st = os.fstat(fd)
        self.ident = (st.st_dev, st.st_ino)
        self.offset = 0
        self.saved_offset = -1
        self.hours = []
        self.block_start = -1
        self.dirty_from = None
        for t in self.trackers:
            t.buckets = {}
            t.floor = 0 if t.period == BLOCK else ""
        self.folded_at = 0
        self._advanced = self._calendar_cutoff = self._cutoff = -1
        self.advance(now)
        self.fold_tail(path, fd, size, whole_lines=whole_lines)

    # -- reading ------------------------------------------------------------------------------

    def latest_block(self) -> int:
        """The start of the latest block (unix seconds), or -1 before any event."""
        if self.dirty_from is not None:
            hours = self.hours
            i = bisect_left(hours, self.dirty_from)
            while i > 0 and hours[i] - hours[i - 1] < _BLOCK:
                i -= 1
            start = hours[i]
            for hour in islice(hours, i + 1, None):
                if hour >= start + _BLOCK:
                    start = hour
            self.block_start = start
            self.dirty_from = None
        return self.block_start

    def held(self, tracker: Tracker, now: int) -> tuple[int, int]:
        """``(tokens, pico-dollars)`` of the period containing ``now`` (after :meth:`advance`)."""
        tokens, pico, _, _ = self.span(tracker, now)
        return tokens, pico

    def span(self, tracker: Tracker, now: int) -> tuple[int, int, int | None, int | None]:
        """``(tokens, pico-dollars, start, end)`` of the period containing ``now`` (after
        :meth:`advance`): :meth:`window` without first and last, cheaper, for the record path."""
        period = tracker.period
        if period == BLOCK:
            start = self.latest_block()
            if start < 0 or not start <= now < start + _BLOCK:
                return 0, 0, None, None
            tokens = pico = 0
            for hour, counts in tracker.buckets.items():
                if hour >= start:
                    tokens += counts[0]
                    pico += counts[1]
            return tokens, pico, start, start + _BLOCK
        b = tracker.buckets.get(tracker.floor)
        if period == TOTAL:
            return (b[0], b[1], None, None) if b else (0, 0, None, None)
        begin, end = self._bounds(period, tracker.floor)
        return (b[0], b[1], begin, end) if b else (0, 0, begin, end)

    def window(self, tracker: Tracker, now: int) -> Window:
        """What ``tracker`` counts in the period containing ``now``, the moment the totals
        were last advanced to (see :meth:`advance`)."""
        period = tracker.period
        if period == TOTAL:
            b = tracker.buckets.get("")
            return Window(*b) if b else Window()
        if period == BLOCK:
            start = self.latest_block()
            if start < 0 or not start <= now < start + _BLOCK:
                return Window()
            tokens = pico = first = last = 0
            for hour, b in tracker.buckets.items():
                if hour >= start:
                    tokens += b[0]
                    pico += b[1]
                    first = b[2] if not first or b[2] < first else first
                    last = max(last, b[3])
            return Window(tokens, pico, first, last, start, start + _BLOCK)
        begin, end = self._bounds(period, tracker.floor)
        b = tracker.buckets.get(tracker.floor)
        if b is None:
            return Window(start=begin, end=end)
        return Window(b[0], b[1], b[2], b[3], begin, end)

    def _bounds(self, period: int, key: str) -> tuple[int, int]:
        """The first second of the calendar period ``key`` and of the one after it."""
        found = self._edges.get((period, key))
        if found is None:
            first_day = date.fromisoformat(key if period != MONTHLY else key + "-01")
            after = next_period_start(first_day, _CALENDAR_NAMES[period])
            found = self._edges[(period, key)] = (_midnight(first_day, self.tz), _midnight(after, self.tz))
        return found

    # -- the state file -----------------------------------------------------------------------

    def save(self, target: Path, fd: int) -> None:
        """Write the state to ``target`` at once (best effort: a cache that cannot be written
        only costs time later). ``fd`` is the log, open: the bytes before the offset are
        kept with the state, so a log rewritten in place is noticed."""
        if self.ident is None:
            return
        self.latest_block()
        saved = _Saved(
            STATE_VERSION,
            self.signature,
            self.ident[0],
            self.ident[1],
            self.offset,
            _probe(fd, self.offset),
            self.folded_at,
            self.hours,
            self.block_start,
            self.dirty_from,
            [[[k, *v] for k, v in t.buckets.items()] for t in self.trackers],
        )
        with contextlib.suppress(OSError, OverflowError):
            tmp = target.with_name(f".{target.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
            try:
                tmp.write_bytes(msgspec.msgpack.encode(saved))
                tmp.replace(target)
            finally:
                tmp.unlink(missing_ok=True)
            self.saved_offset = self.offset

    def restore(self, source: Path, fd: int, now: int) -> bool:
        """Take over the state saved in ``source`` when it is for this log (open as ``fd``),
        these settings and a moment no later than ``now``; whether it was taken."""
        try:
            saved = msgspec.msgpack.decode(source.read_bytes(), type=_Saved)
            st = os.fstat(fd)
            if (
                saved.version != STATE_VERSION
                or saved.signature != self.signature
                or (saved.dev, saved.ino) != (st.st_dev, st.st_ino)
                or not 0 <= saved.offset <= st.st_size
                or saved.folded_at > now + CLOCK_SLACK
                or saved.probe != _probe(fd, saved.offset)
                or len(saved.buckets) != len(self.trackers)
            ):
                return False
            for t, rows in zip(self.trackers, saved.buckets, strict=True):
                t.buckets = {row[0]: [int(v) for v in row[1:5]] for row in rows}
        except (OSError, msgspec.DecodeError, ValueError, TypeError, IndexError):
            return False
        self.ident = (st.st_dev, st.st_ino)
        self.offset = self.saved_offset = saved.offset
        self.folded_at = saved.folded_at
        self.hours = saved.hours
        self.block_start = saved.block_start
        self.dirty_from = saved.dirty_from
        for t in self.trackers:
            t.floor = 0 if t.period == BLOCK else ""
        self._advanced = self._calendar_cutoff = self._cutoff = -1
        self.advance(now)
        if self.hours:
            self._raise_block_floor(self.hours[-1] - _BLOCK + _HOUR)
        return True


def _midnight(day: date, tz: tzinfo | None) -> int:
    """The first second of ``day`` in ``tz`` (``None``: local), DST gaps included."""
    try:
        if tz is None:
            return int(time.mktime((day.year, day.month, day.day, 0, 0, 0, 0, 0, -1)))
        # fold=0 inside a gap takes the offset before it: the moment the day really begins.
        return int(datetime(day.year, day.month, day.day, tzinfo=tz).timestamp())
    except (OverflowError, OSError, ValueError):
        return 0


def _pread_all(fd: int, start: int, end: int) -> bytes:
    parts = []
    while start < end:
        chunk = os.pread(fd, end - start, start)
        if not chunk:
            break
        parts.append(chunk)
        start += len(chunk)
    return b"".join(parts)


def _probe(fd: int, offset: int) -> bytes:
    return _pread_all(fd, max(0, offset - _PROBE), offset)
