"""Budgets checked against the ledger: the action they call for, and why.

:class:`BudgetChecker` keeps the running totals of one ledger (:mod:`jusage.totals`) and
answers from them: :meth:`~BudgetChecker.check` for an agent about to start new work,
:meth:`~BudgetChecker.status` for every budget, and, through ``Store.record(event,
budgets=checker)``, the budgets with a new event included, evaluated under the writers'
lock so that of many agents recording at once exactly one sees each threshold crossed.

A budget's action: ``stop`` when it has a hard stop and a limit is reached, ``alert`` when
a limit is reached without one or ``alert_at`` of a limit is reached, else ``ok``. A result's
action is the worst of its budgets'. Recording is never refused: the action is advice to
the agent, which the hooks (:mod:`jusage.gate`) turn into a block.

Money is integer pico-dollars inside: an event's reported ``cost_usd`` where it has one
(cost mode ``auto``), else its tokens at the model's price on its day. Tokens of a model
with no known price count toward token limits but cost nothing.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import msgspec

from jusage.budgets import Budget, Context, load_budgets, matcher
from jusage.totals import CLOCK_SLACK, SAVE_EVERY, Totals, Tracker, Window, state_path

if TYPE_CHECKING:
    from jusage.costing import Coster
    from jusage.events import Event
    from jusage.store import Store

__all__ = [
    "Action",
    "BudgetChecker",
    "BudgetResult",
    "BudgetStatus",
    "Overview",
    "check_budget",
    "worst",
]

Action = Literal["ok", "alert", "stop"]
"""What a budget asks of an agent: go on, go on but know, or start no new work."""

_ACTIONS: tuple[Action, ...] = ("ok", "alert", "stop")
_RANK = {"ok": 0, "alert": 1, "stop": 2}
_BUILTIN = (("daily|global", "daily"), ("block|global", "block"))  # what the status line shows
_PERIOD_WORDS = {
    "daily": "today",
    "weekly": "this week",
    "monthly": "this month",
    "block": "in this 5-hour block",
    "total": "in total",
}


def worst(actions: Sequence[Action]) -> Action:
    """The most severe of ``actions`` (``ok`` for none)."""
    return "stop" if "stop" in actions else "alert" if "alert" in actions else "ok"


class BudgetStatus(msgspec.Struct, frozen=True, gc=False):
    """One budget against its running total in the current period, at ``now``.

    ``used_pico`` is pico-dollars (1e-12 USD). ``period_start`` / ``period_end`` are unix
    seconds (``None`` for ``total``, and for ``block`` when no block is active). ``crossed``
    names the thresholds (``alert``, ``limit``) that the events just recorded crossed: set
    only on the results of ``Store.record``.
    """

    budget: Budget
    action: Action
    used_tokens: int
    used_pico: int
    period_start: int | None
    period_end: int | None
    now: int
    crossed: tuple[str, ...] = ()

    @property
    def used_usd(self) -> float:
        """The money used in the period, in US dollars."""
        return self.used_pico / 10**12

    @property
    def percent(self) -> float:
        """The used share of the tightest limit, in percent (may pass 100)."""
        shares = []
        limit = self.budget.limit_pico
        if limit:
            shares.append(self.used_pico / limit)
        if self.budget.tokens:
            shares.append(self.used_tokens / self.budget.tokens)
        return max(shares, default=0.0) * 100

    @property
    def reason(self) -> str:
        """One line: the budget, how much of its limits is used, and when it resets."""
        from jusage.render.text import format_pico, format_tokens, format_usd

        b = self.budget
        amounts = []
        if b.usd is not None:
            used = format_pico(self.used_pico)
            amounts.append(f"{used} of {format_usd(round(b.usd * 1e6))}")
        if b.tokens is not None:
            amounts.append(f"{format_tokens(self.used_tokens)} of {format_tokens(b.tokens)} tokens")
        state = {
            "ok": "within its limit",
            "alert": "over its limit" if self.percent >= 100 else "at its alert level",
            "stop": "used up",
        }[self.action]
        resets = "" if self.period_end is None else f", resets in {duration(self.period_end - self.now)}"
        return (
            f'budget "{b.name}" ({b.describe_scope()}) is {state}: {" and ".join(amounts)} '
            f"{_PERIOD_WORDS[b.period]} ({self.percent:.0f}%){resets}"
        )

    def projected_pico(self) -> int | None:
        """Money at the end of the period if it goes on at the rate of its elapsed part;
        ``None`` for ``total`` or no active period."""
        start, end, now = self.period_start, self.period_end, self.now
        if start is None or end is None or now <= start:
            return None
        return self.used_pico + self.used_pico * max(0, end - now) // (now - start)

    def to_json(self, tz: tzinfo | None = None) -> dict[str, Any]:
        """The fields of ``jusage budget check --json``; limits not set are ``None``."""
        return {
            "name": self.budget.name,
            "action": self.action,
            "used_usd": self.used_usd,
            "limit_usd": self.budget.usd,
            "used_tokens": self.used_tokens,
            "limit_tokens": self.budget.tokens,
            "percent": round(self.percent, 2),
            "period_end": None if self.period_end is None else iso_time(self.period_end, tz),
            "period": self.budget.period,
            "scope": [str(s) for s in self.budget.scopes],
            "hard_stop": self.budget.hard_stop,
            "reason": self.reason,
        }


class BudgetResult(msgspec.Struct, frozen=True, gc=False):
    """The budgets that cover a context (or an event), and the worst action among them.

    ``error`` is set when the budgets could not be evaluated while recording (the event was
    written all the same): the action is then ``ok``.
    """

    action: Action
    budgets: tuple[BudgetStatus, ...] = ()
    error: str = ""

    @classmethod
    def of(cls, statuses: tuple[BudgetStatus, ...]) -> BudgetResult:
        """The result of these budgets: their worst action."""
        return cls(worst([s.action for s in statuses]), statuses)

    @property
    def reason(self) -> str:
        """Why the action is what it is: the reasons of the budgets that are not ok, worst
        first, or an empty string when every budget is ok."""
        bad = sorted((s for s in self.budgets if s.action != "ok"), key=lambda s: -_RANK[s.action])
        return "; ".join(s.reason for s in bad)

    @property
    def crossed(self) -> tuple[BudgetStatus, ...]:
        """The budgets whose thresholds the recorded events crossed."""
        return tuple(s for s in self.budgets if s.crossed)

    def to_json(self, tz: tzinfo | None = None) -> dict[str, Any]:
        """``{"action", "reason", "budgets": [...]}`` (see :meth:`BudgetStatus.to_json`)."""
        return {
            "action": self.action,
            "reason": self.reason,
            "budgets": [s.to_json(tz) for s in self.budgets],
        }


class Overview(msgspec.Struct, frozen=True, gc=False):
    """What the status line shows: today's usage, the active block's, and the budgets that
    cover the context."""

    today: Window
    block: Window
    budgets: BudgetResult


def iso_time(ts: int, tz: tzinfo | None) -> str:
    """``ts`` as ISO 8601 with the zone's offset (``None``: local)."""
    try:
        return datetime.fromtimestamp(ts, tz).astimezone(tz).isoformat(timespec="seconds")
    except (OverflowError, OSError, ValueError):
        return ""


def duration(seconds: int) -> str:
    """A short span: ``45m``, ``3h 12m``, ``2d 4h``."""
    minutes = max(0, seconds) // 60
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m"
    return f"{hours // 24}d {hours % 24}h"


class _Slot:
    """A budget as the checker evaluates it: its tracker, thresholds and scope test."""

    __slots__ = ("alert_money", "alert_tokens", "budget", "limit_money", "limit_tokens", "match", "tracker")

    def __init__(self, budget: Budget, tracker: int) -> None:
        self.budget = budget
        self.tracker = tracker
        never = 1 << 127  # a threshold no sum reaches, for a limit that is not set
        alert_money, money, alert_tokens, tokens = budget.thresholds()
        self.alert_money = never if alert_money is None else alert_money
        self.limit_money = never if money is None else money
        self.alert_tokens = never if alert_tokens is None else alert_tokens
        self.limit_tokens = never if tokens is None else tokens
        self.match = matcher(budget.scopes)

    def covers(self, obj: Any) -> bool:
        return self.match is None or self.match(obj)

    def level(self, tokens: int, pico: int) -> int:
        """0 below the alert thresholds, 1 from an alert threshold, 2 from a limit."""
        if pico >= self.limit_money or tokens >= self.limit_tokens:
            return 2
        return 1 if pico >= self.alert_money or tokens >= self.alert_tokens else 0

    def action(self, level: int) -> Action:
        """What a :meth:`level` asks of agents: at the limit, a stop only for a hard stop."""
        return ("stop" if self.budget.hard_stop else "alert") if level == 2 else _ACTIONS[level]


class BudgetChecker:
    """``budgets`` checked against the ledger ``log``, its running totals kept between calls.

    ``tz`` (``None``: local) and ``start_of_week`` (Monday = 0) decide the calendar
    periods; ``coster`` prices events (default: cost mode ``auto`` with the default price
    overrides). Use :meth:`load` for the settings in ``$JUSAGE_HOME``. Safe to share
    between threads. The first call on a log without saved totals reads the whole log once.
    """

    def __init__(
        self,
        budgets: Sequence[Budget] = (),
        *,
        log: str | os.PathLike[str] | None = None,
        tz: tzinfo | None = None,
        start_of_week: int = 0,
        coster: Coster | None = None,
    ) -> None:
        from jusage.locations import default_log_path

        self.budgets = tuple(budgets)
        self.log = Path(log) if log is not None else default_log_path()
        self.tz = tz
        self.start_of_week = start_of_week
        self._coster = coster
        keys: dict[str, str] = dict(_BUILTIN)
        for b in self.budgets:
            keys.setdefault(b.tracker, b.period)
        self._specs = list(keys.items())
        index = {key: i for i, (key, _) in enumerate(self._specs)}
        self._slots = [_Slot(b, index[b.tracker]) for b in self.budgets]
        self._scopes = {b.tracker: b.scopes for b in self.budgets}
        self._totals: Totals | None = None
        self._lock = threading.Lock()
        # What the record under way hands to the store's lock, and what comes back.
        self._job: tuple[Totals | None, Sequence[Event], int] = (None, (), 0)
        self._answer = BudgetResult("ok")
        self._paths: set[Path] = {self.log}
        self._store: Store | None = None

    @classmethod
    def load(
        cls,
        log: str | os.PathLike[str] | None = None,
        *,
        budgets_path: Path | None = None,
        timezone: str | None = None,
        start_of_week: str | None = None,
    ) -> BudgetChecker:
        """The budgets of ``budgets.toml`` checked against ``log`` (default: the default
        ledger), in ``timezone`` and with weeks starting on ``start_of_week`` (defaults:
        ``config.toml``'s ``timezone`` and ``start_of_week``, else local and Monday).

        Raises :class:`~jusage.budgets.BudgetError`, :class:`~jusage.config.ConfigError` or
        ``ValueError`` (an unknown zone or weekday) with a one-line message.
        """
        from jusage.config import load_config
        from jusage.days import resolve_timezone
        from jusage.periods import parse_weekday

        config = load_config()
        tz = resolve_timezone(timezone if timezone is not None else config.timezone)
        sow = parse_weekday(start_of_week if start_of_week is not None else config.start_of_week)
        return cls(load_budgets(budgets_path), log=log, tz=tz, start_of_week=sow)

    def __repr__(self) -> str:
        return f"BudgetChecker({len(self.budgets)} budgets, log={str(self.log)!r})"

    # -- the totals ---------------------------------------------------------------------------

    @property
    def coster(self) -> Coster:
        """How events are priced (made on first use: loading prices takes a moment)."""
        if self._coster is None:
            from jusage.costing import Coster
            from jusage.pricing import Pricer

            self._coster = Coster(Pricer.load(), "auto")
        return self._coster

    def _signature(self) -> str:
        """What the running totals depend on besides the log: their trackers, zone, start of
        week and prices (saved totals with another signature are not used)."""
        import hashlib

        from jusage.days import Calendar
        from jusage.totals import STATE_VERSION

        ident = "\0".join(
            [
                str(STATE_VERSION),
                Calendar(self.tz).zone_signature(),
                str(self.start_of_week),
                self.coster.cache_key,
                *(key for key, _ in self._specs),
            ]
        )
        return hashlib.sha256(ident.encode("utf-8", "surrogatepass")).hexdigest()[:32]

    def _new_totals(self) -> Totals:
        trackers = [Tracker(period, matcher(self._scopes.get(key, ()))) for key, period in self._specs]
        return Totals(
            trackers,
            tz=self.tz,
            start_of_week=self.start_of_week,
            coster=self.coster,
            signature=self._signature(),
        )

    def _current(self, now: int) -> Totals:
        """The totals brought up to the log's end (its complete lines) and to ``now``."""
        totals = self._totals
        if totals is None or totals.folded_at > now + CLOCK_SLACK:
            totals = self._totals = self._new_totals()
        try:
            fd = os.open(self.log, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            if totals.ident is not None or totals.offset:
                totals = self._totals = self._new_totals()
            totals.advance(now)
            return totals
        try:
            st = os.fstat(fd)
            stale = totals.ident != (st.st_dev, st.st_ino) or st.st_size < totals.offset
            if stale and not totals.restore(state_path(self.log), fd, now):
                totals.rebuild(self.log, fd, st.st_size, now, whole_lines=True)
                totals.save(state_path(self.log), fd)
            totals.advance(now)
            totals.fold_tail(self.log, fd, st.st_size, whole_lines=True)
            self._save_if_behind(totals, fd)
        finally:
            os.close(fd)
        return totals

    def _save_if_behind(self, totals: Totals, fd: int) -> None:
        if totals.offset - totals.saved_offset >= SAVE_EVERY or totals.saved_offset < 0:
            totals.save(state_path(self.log), fd)

    def _status(
        self, totals: Totals, slot: _Slot, now: int, before: tuple[int, int] | None = None
    ) -> BudgetStatus:
        tokens, pico, start, end = totals.span(totals.trackers[slot.tracker], now)
        level = slot.level(tokens, pico)
        action = slot.action(level)
        crossed: tuple[str, ...] = ()
        if before is not None:
            was = slot.level(*before)
            if was < level:
                crossed = ("alert", "limit")[was:level]
        return BudgetStatus(slot.budget, action, tokens, pico, start, end, now, crossed)

    # -- asking -------------------------------------------------------------------------------

    def check(
        self,
        context: Context | None = None,
        *,
        now: int | None = None,
        project: str = "",
        session: str = "",
        agent: str = "",
        team: str = "",
        source: str = "",
        model: str = "",
    ) -> BudgetResult:
        """The budgets that cover ``context`` (or the fields given), evaluated at ``now``
        (default: the clock).

        A budget covers a context when each of its scopes matches it: a ``global`` budget
        always does, a ``session:`` budget only when the session is given, and so on.
        Reads only what was appended to the log since the last call (or since the saved
        totals). Raises ``OSError`` when the log cannot be read.
        """
        ctx = context or Context(project, session, agent, team, source, model)
        when = int(time.time()) if now is None else now
        with self._lock:
            totals = self._current(when)
            statuses = tuple(self._status(totals, s, when) for s in self._slots if s.covers(ctx))
        return BudgetResult.of(statuses)

    def status(self, *, now: int | None = None) -> tuple[BudgetStatus, ...]:
        """Every budget, in file order, evaluated at ``now`` (default: the clock)."""
        when = int(time.time()) if now is None else now
        with self._lock:
            totals = self._current(when)
            return tuple(self._status(totals, s, when) for s in self._slots)

    def overview(self, context: Context | None = None, *, now: int | None = None) -> Overview:
        """Today's usage and the active block's (everything in the ledger), and the budgets
        that cover ``context``, at ``now`` (default: the clock)."""
        when = int(time.time()) if now is None else now
        ctx = context or Context()
        with self._lock:
            totals = self._current(when)
            today = totals.window(totals.trackers[0], when)
            block = totals.window(totals.trackers[1], when)
            statuses = tuple(self._status(totals, s, when) for s in self._slots if s.covers(ctx))
        return Overview(today, block, BudgetResult.of(statuses))

    def record(self, event: Event, store: Store | None = None, *, now: int | None = None) -> BudgetResult:
        """Append ``event`` to ``store`` (default: a store on :attr:`log`) and return the
        budgets that cover it, with it included (see ``Store.record``)."""
        return (store or self._own_store()).record(event, budgets=self, now=now)

    def record_many(
        self, events: Sequence[Event], store: Store | None = None, *, now: int | None = None
    ) -> BudgetResult:
        """Append ``events`` to ``store`` in one write (see ``Store.record_many``) and return
        the budgets that cover any of them, with all of them included."""
        from jusage.store import event_line

        if not events:
            return BudgetResult("ok")
        data = b"\n".join(event_line(e) for e in events) + b"\n"  # checked, with an id and host
        return self._record(store or self._own_store(), events, data, now)

    def _own_store(self) -> Store:
        """One store on :attr:`log`, kept: each store keeps a descriptor open."""
        if self._store is None:
            from jusage.store import Store

            self._store = Store(self.log)
        return self._store

    # -- recording (called by Store) ------------------------------------------------------------

    def _owns(self, path: Path) -> bool:
        if path is self.log or path in self._paths:
            return True
        if path.resolve() == self.log.resolve():
            self._paths.add(path)
            return True
        return False

    def _record(self, store: Store, events: Sequence[Event], data: bytes, now: int | None) -> BudgetResult:
        """Append ``data`` (the lines of ``events``) to ``store`` and evaluate the budgets
        covering the events, with them included, under the writers' lock."""
        if not self._owns(store.path):
            raise ValueError(f"these budgets are checked against {self.log}, not {store.path}")
        when = int(time.time()) if now is None else now
        with self._lock:
            totals = self._totals
            if totals is None or totals.folded_at > when + CLOCK_SLACK:
                try:  # a first read of the log happens here, without holding up other writers
                    totals = self._current(when)
                except Exception:  # the record must happen whatever the budgets' state
                    totals = None
            self._job = (totals, events, when)
            self._answer = BudgetResult("ok", (), "the budgets were not evaluated")
            try:
                written = store._append(data, self._locked)
            except BaseException:
                self._totals = None  # the events were folded in but not written
                raise
            totals = self._totals
            if totals is not None:
                totals.offset += written
                if totals.offset - totals.saved_offset >= SAVE_EVERY:
                    self._save_now(totals)
            return self._answer

    def _locked(self, fd: int) -> None:
        """Called by the store under the writers' lock (``self._lock`` is held too)."""
        totals, events, when = self._job
        try:
            self._answer = self._under_lock(totals, fd, events, when)
        except Exception as exc:  # never refuse to record: report, and start afresh later
            self._totals = None
            self._answer = BudgetResult("ok", (), f"{type(exc).__name__}: {exc}")

    def _under_lock(self, totals: Totals | None, fd: int, events: Sequence[Event], now: int) -> BudgetResult:
        st = os.fstat(fd)
        if totals is None or totals.ident != (st.st_dev, st.st_ino) or st.st_size < totals.offset:
            totals = self._totals = self._new_totals()
            if not totals.restore(state_path(self.log), fd, now):
                totals.rebuild(self.log, fd, st.st_size, now, whole_lines=False)
        totals.advance(now)
        if st.st_size > totals.offset:
            totals.fold_tail(self.log, fd, st.st_size, whole_lines=False)
        if len(events) == 1:
            return self._one(totals, events[0], now)
        trackers = totals.trackers
        hits = [i for i, t in enumerate(trackers) if any(t.match is None or t.match(e) for e in events)]
        before = {i: totals.held(trackers[i], now) for i in hits}
        totals.fold(events)
        statuses = tuple(
            self._status(totals, s, now, before[s.tracker]) for s in self._slots if s.tracker in before
        )
        return BudgetResult.of(statuses)

    def _one(self, totals: Totals, event: Event, now: int) -> BudgetResult:
        """:meth:`_under_lock`'s work for one event, the common case, kept lean: the totals
        before the event are worked out only for a budget it takes past a threshold."""
        trackers = totals.trackers
        matched = [t for t in trackers if t.match is None or t.match(event)]
        slots = [s for s in self._slots if trackers[s.tracker] in matched]
        # A block can move with the event, so its total before is read, not worked out.
        blocks = {
            s.tracker: totals.held(trackers[s.tracker], now) for s in slots if s.budget.period == "block"
        }
        totals.last = None
        totals.fold((event,), matched)
        keys, tokens, pico = totals.last or ((), 0, 0)
        statuses = []
        for slot in slots:
            t = trackers[slot.tracker]
            used_tokens, used_pico, start, end = totals.span(t, now)
            level = slot.level(used_tokens, used_pico)
            crossed: tuple[str, ...] = ()
            if level:
                if slot.tracker in blocks:
                    was = slot.level(*blocks[slot.tracker])
                elif keys and keys[t.period] == t.floor:  # the event went into the current period
                    was = slot.level(used_tokens - tokens, used_pico - pico)
                else:
                    was = level
                crossed = ("alert", "limit")[was:level]
            action = slot.action(level)
            statuses.append(
                BudgetStatus(slot.budget, action, used_tokens, used_pico, start, end, now, crossed)
            )
        return BudgetResult.of(tuple(statuses))

    def _save_now(self, totals: Totals) -> None:
        try:
            fd = os.open(self.log, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            return
        try:
            st = os.fstat(fd)
            if (st.st_dev, st.st_ino) == totals.ident:
                totals.save(state_path(self.log), fd)
        finally:
            os.close(fd)


# -- the one-call check for SDK agents -----------------------------------------------------------

_cached: dict[tuple[str, str], tuple[Any, BudgetChecker]] = {}
_cached_lock = threading.Lock()


def check_budget(
    *,
    project: str = "",
    session: str = "",
    agent: str = "",
    team: str = "",
    source: str = "",
    model: str = "",
    log: str | os.PathLike[str] | None = None,
    now: int | None = None,
) -> BudgetResult:
    """The budgets of ``$JUSAGE_HOME/budgets.toml`` that cover this context, checked against
    ``log`` (default: the default ledger). Cheap enough to call before every model call:
    the checker and its running totals are kept between calls, and ``budgets.toml`` is read
    again only when it changes.

    Raises :class:`~jusage.budgets.BudgetError` for a malformed budgets file and ``OSError``
    when the log cannot be read.
    """
    from jusage.budgets import budgets_path
    from jusage.locations import default_log_path

    path = Path(log) if log is not None else default_log_path()
    where = budgets_path()
    try:
        st = where.stat()
        stamp: Any = (st.st_mtime_ns, st.st_size, st.st_ino)
    except FileNotFoundError:
        stamp = None
    key = (str(path), str(where))
    with _cached_lock:
        found = _cached.get(key)
        if found is None or found[0] != stamp:
            fresh = BudgetChecker.load(path, budgets_path=where)
            kept = found[1]._totals if found is not None else None
            if kept is not None and fresh._signature() == kept.signature:
                fresh._totals = kept  # the same trackers and settings: keep the running totals
            found = _cached[key] = (stamp, fresh)
    return found[1].check(
        now=now, project=project, session=session, agent=agent, team=team, source=source, model=model
    )
