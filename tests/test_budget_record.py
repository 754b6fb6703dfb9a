"""Recording with budgets: evaluated under the writers' lock, never refused, exactly once."""

from __future__ import annotations

import itertools
import multiprocessing
from pathlib import Path
from typing import Any

import orjson
import pytest

import jusage
from jusage.budgets import Budget, Scope, save_budgets
from jusage.checker import BudgetChecker
from jusage.costing import Coster
from jusage.events import Event
from jusage.store import Store

NOW = 1_780_000_000
G = (Scope("global"),)
LIMIT = 30_000  # tokens of the shared budget in the many-writers test
WRITERS = 6
PER_WRITER = 1000


def make_checker(log: Path | str, budgets: list[Budget]) -> BudgetChecker:
    return BudgetChecker(budgets, log=log, coster=Coster(None))


def test_each_threshold_is_reported_by_the_record_that_crosses_it(tmp_path: Path) -> None:
    """Running totals grow with each record; alert and limit are each reported once."""
    log = tmp_path / "events.jsonl"
    c = make_checker(log, [Budget("cap", G, "daily", tokens=100, alert_at=0.5, hard_stop=True)])
    store = Store(log)
    seen = []
    for i in range(6):
        r = store.record(Event(ts=NOW + i, prompt=30, model="m"), budgets=c, now=NOW + i)
        seen.append((r.action, r.budgets[0].used_tokens, r.budgets[0].crossed))
    assert seen == [
        ("ok", 30, ()),
        ("alert", 60, ("alert",)),
        ("alert", 90, ()),
        ("stop", 120, ("limit",)),
        ("stop", 150, ()),
        ("stop", 180, ()),
    ]
    assert len(store.load()) == 6  # recording is never refused


def test_one_record_can_cross_both_thresholds(tmp_path: Path) -> None:
    """A single large event crosses the alert and the limit at once."""
    log = tmp_path / "events.jsonl"
    c = make_checker(log, [Budget("cap", G, "total", usd=1.0)])
    r = c.record(Event(ts=NOW, prompt=1, cost_usd=2.5), now=NOW)
    assert r.budgets[0].crossed == ("alert", "limit")
    assert r.action == "alert"  # no hard stop: over the limit is an alert
    assert [s.budget.name for s in r.crossed] == ["cap"]


def test_only_the_budgets_covering_the_event_are_in_the_result(tmp_path: Path) -> None:
    """A project budget answers for its project's events, not for another's."""
    log = tmp_path / "events.jsonl"
    budgets = [
        Budget("all", G, "daily", tokens=10**6),
        Budget("app", (Scope.parse("project:/app"),), "daily", tokens=10**6),
    ]
    c = make_checker(log, budgets)
    other = c.record(Event(ts=NOW, prompt=5, project="/lib"), now=NOW)
    mine = c.record(Event(ts=NOW, prompt=7, project="/app/src"), now=NOW)
    assert [s.budget.name for s in other.budgets] == ["all"]
    assert [(s.budget.name, s.used_tokens) for s in mine.budgets] == [("all", 12), ("app", 7)]


def test_a_failure_of_the_budgets_never_stops_the_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the evaluation breaks, the line is written all the same and the result says why."""
    import jusage.totals

    log = tmp_path / "events.jsonl"
    c = make_checker(log, [Budget("cap", G, "daily", tokens=100)])

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(jusage.totals.Totals, "fold", broken)
    r = Store(log).record(Event(ts=NOW, prompt=1), budgets=c, now=NOW)
    assert r.action == "ok"
    assert "disk on fire" in r.error
    assert len(Store(log).load()) == 1
    monkeypatch.undo()
    assert c.check(now=NOW).budgets[0].used_tokens == 1  # and the totals recover


def test_budgets_for_another_ledger_are_refused(tmp_path: Path) -> None:
    """A checker answers for one ledger; recording elsewhere with it is a mistake."""
    c = make_checker(tmp_path / "a.jsonl", [Budget("cap", G, "daily", tokens=100)])
    with pytest.raises(ValueError, match="checked against"):
        Store(tmp_path / "b.jsonl").record(Event(ts=NOW, prompt=1), budgets=c)
    assert not (tmp_path / "b.jsonl").exists() or not (tmp_path / "b.jsonl").read_bytes()


def test_record_many_evaluates_the_whole_batch(tmp_path: Path) -> None:
    """A batch is one write; its result includes every event of it."""
    log = tmp_path / "events.jsonl"
    c = make_checker(log, [Budget("cap", G, "daily", tokens=10)])
    r = c.record_many([Event(ts=NOW, prompt=4), Event(ts=NOW, prompt=4)], now=NOW)
    assert (r.budgets[0].used_tokens, r.budgets[0].crossed) == (8, ("alert",))


def test_records_with_budgets_get_an_id_and_host_as_without(tmp_path: Path) -> None:
    """Both ways of recording with budgets stamp events exactly as a plain record does."""
    log = tmp_path / "events.jsonl"
    c = make_checker(log, [Budget("cap", G, "daily", tokens=10**9)])
    c.record(Event(ts=NOW, prompt=5, model="m"), now=NOW)
    c.record_many(
        [Event(ts=NOW, prompt=6, model="m"), Event(ts=NOW, prompt=7, model="m", id="mine")], now=NOW
    )
    Store(log).record(Event(ts=NOW, prompt=8, model="m"))
    events = Store(log).load()
    assert [e.prompt for e in events] == [5, 6, 7, 8]
    assert all(e.id and e.host for e in events)
    assert events[2].id == "mine"
    assert len({e.id for e in events}) == 4


def test_check_budget_keeps_its_totals_and_follows_the_budgets_file(tmp_path: Path) -> None:
    """The one-call check reads budgets.toml again only when it changes."""
    from jusage.budgets import budgets_path

    log = tmp_path / "events.jsonl"
    save_budgets([Budget("cap", G, "total", tokens=100, hard_stop=True)], budgets_path())
    assert jusage.check_budget(log=log, now=NOW).action == "ok"
    Store(log).record(Event(ts=NOW, prompt=100))
    assert jusage.check_budget(log=log, now=NOW).action == "stop"
    save_budgets([Budget("cap", G, "total", tokens=1000, hard_stop=True)], budgets_path())
    result = jusage.check_budget(log=log, now=NOW, session="s1")
    assert (result.action, result.budgets[0].used_tokens) == ("ok", 100)


# -- many processes at once ----------------------------------------------------------------------


def _recorder(log: str, out: str, writer: int, go: Any) -> None:
    budgets = [Budget("shared", G, "total", tokens=LIMIT, alert_at=0.5, hard_stop=True)]
    c = make_checker(log, budgets)
    store = Store(log)
    c.check(now=NOW)  # the totals are read before the start, so the writers overlap
    rows = []
    go.wait()  # every writer is ready: they start together
    for i in range(PER_WRITER):
        event = Event(ts=NOW + i, prompt=1 + (writer * 7 + i) % 13, id=f"w{writer}-{i}", model="m")
        r = store.record(event, budgets=c, now=NOW + PER_WRITER)
        status = r.budgets[0]
        rows.append({"id": event.id, "used": status.used_tokens, "crossed": list(status.crossed)})
    Path(out).write_bytes(orjson.dumps(rows))


def test_many_recorders_see_the_running_sums_of_the_log_and_each_crossing_once(tmp_path: Path) -> None:
    """Six processes recording at once against one budget: each record's running total is
    the sum of the log up to its own line, in the log's final order; the alert and the limit
    are each reported by exactly one record, the one whose line crosses it; nothing is lost."""
    log = tmp_path / "events.jsonl"
    ctx = multiprocessing.get_context("spawn")
    go = ctx.Barrier(WRITERS)
    outs = [tmp_path / f"out-{w}.json" for w in range(WRITERS)]
    procs = [ctx.Process(target=_recorder, args=(str(log), str(outs[w]), w, go)) for w in range(WRITERS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(180)
        assert p.exitcode == 0
    events = [orjson.loads(line) for line in log.read_bytes().splitlines()]
    assert sorted(e["id"] for e in events) == sorted(
        f"w{w}-{i}" for w in range(WRITERS) for i in range(PER_WRITER)
    )
    running: dict[str, int] = {}
    total = 0
    for e in events:
        total += e["prompt"]
        running[e["id"]] = total
    switches = sum(a["id"].split("-")[0] != b["id"].split("-")[0] for a, b in itertools.pairwise(events))
    assert switches > WRITERS, switches  # the writers did overlap
    answers = [row for out in outs for row in orjson.loads(out.read_bytes())]
    assert {row["id"]: row["used"] for row in answers} == running
    crossings = sorted((running[row["id"]], c) for row in answers for c in row["crossed"])
    first_alert = next(v for v in running.values() if v >= LIMIT // 2)
    first_limit = next(v for v in running.values() if v >= LIMIT)
    assert crossings == [(first_alert, "alert"), (first_limit, "limit")]
