"""Every importer against records no agent should write: nested too deep, costs and counts past
the schema's limits, times outside 1970-9999. Each is skipped and counted; the others count."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import orjson
import pytest
from agents import events
from doors import DOORS, Door, deep_bytes, dump, with_raw

from jusage.events import MAX_COST_USD, MAX_COUNT
from jusage.importers import ImportSummary
from jusage.reading import MAX_DEPTH
from jusage.store import Store

T = TypeVar("T")


def ledger_lines(ledger: Path) -> list[dict[str, Any]]:
    """The ledger's events, each checked to be one the readers accept."""
    return events(Store(ledger))


def import_between(door: Door, tmp_path: Path, hostile: bytes) -> tuple[ImportSummary, list[dict[str, Any]]]:
    """Import a history of two good records with ``hostile`` between them; the summary and
    the ledger's events."""
    lines = [dump(door.good(0)), hostile, dump(door.good(2))]
    path = door.write(tmp_path / "history", lines)
    ledger = tmp_path / "ledger" / "events.jsonl"
    summary = door.run(ledger, path)
    assert door.run(ledger, path).events_added == 0
    return summary, ledger_lines(ledger)


def assert_only_the_good_ones(
    door: Door, tmp_path: Path, summary: ImportSummary, found: list[dict[str, Any]]
) -> None:
    """The two good records are in the ledger, exactly as a history of them alone gives them,
    and the hostile one is counted as malformed."""
    clean = door.write(tmp_path / "clean", [dump(door.good(0)), dump(door.good(2))])
    door.run(tmp_path / "clean-ledger" / "events.jsonl", clean)
    expected = ledger_lines(tmp_path / "clean-ledger" / "events.jsonl")
    assert len(expected) == 2
    assert [(e["prompt"], e["completion"], e.get("cost_usd")) for e in found] == [
        (e["prompt"], e["completion"], e.get("cost_usd")) for e in expected
    ]
    assert summary.malformed == 1


JSON_LINES = [door for door in DOORS.values() if door.lines_are_records]


# -- nesting -------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 254, 1_000, 3_000])
@pytest.mark.parametrize("door", JSON_LINES, ids=lambda door: door.source)
def test_a_record_nested_too_deep_is_malformed_and_the_others_count(
    door: Door, tmp_path: Path, depth: int
) -> None:
    """A record with an unread field nested past MAX_DEPTH (a Claude Code ``toolUseResult``,
    a jcode line without an id) is one malformed record, never a crash."""
    record = {key: value for key, value in door.good(1).items() if key != "id" or door.source != "jcode"}
    hostile = with_raw(record, ("toolUseResult",), deep_bytes(depth))
    summary, found = import_between(door, tmp_path, hostile)
    assert_only_the_good_ones(door, tmp_path, summary, found)


def _with_deep_stack(depth: int, call: Callable[[], T]) -> T:
    """``call()`` made ``depth`` Python frames down."""
    if depth <= 0:
        return call()
    return _with_deep_stack(depth - 1, call)


@pytest.mark.parametrize("door", JSON_LINES, ids=lambda door: door.source)
def test_nesting_within_the_limit_is_read_the_same_whatever_the_callers_stack(
    door: Door, tmp_path: Path
) -> None:
    """A record nested up to MAX_DEPTH imports alike from a shallow stack and from one close to
    Python's recursion limit (where msgspec's own limit would have moved)."""
    hostile = with_raw(door.good(1), ("toolUseResult",), deep_bytes(MAX_DEPTH - 4))
    path = door.write(tmp_path / "history", [dump(door.good(0)), hostile, dump(door.good(2))])
    shallow = door.run(tmp_path / "a" / "events.jsonl", path)
    frames = sys.getrecursionlimit() - 120
    deep = _with_deep_stack(frames, lambda: door.run(tmp_path / "b" / "events.jsonl", path))
    assert (shallow.events_added, shallow.malformed) == (deep.events_added, deep.malformed) == (3, 0)


# -- reported costs ------------------------------------------------------------------------

COSTED = [door for door in DOORS.values() if door.cost is not None]


@pytest.mark.parametrize("cost", [b"1e308", b"1e7", b"1000000.5", b"-0.5", b"NaN", b"Infinity", b'"0.5"'])
@pytest.mark.parametrize("door", COSTED, ids=lambda door: door.source)
def test_a_reported_cost_that_is_not_a_sane_amount_is_malformed(
    door: Door, tmp_path: Path, cost: bytes
) -> None:
    """A cost must be a finite number of dollars in [0, MAX_COST_USD] for one call; a record
    reporting another is malformed, not imported with a cost that breaks every report."""
    assert door.cost is not None
    summary, found = import_between(door, tmp_path, with_raw(door.good(1), door.cost, cost))
    assert_only_the_good_ones(door, tmp_path, summary, found)


@pytest.mark.parametrize("door", COSTED, ids=lambda door: door.source)
def test_the_largest_cost_allowed_is_kept(door: Door, tmp_path: Path) -> None:
    """MAX_COST_USD itself is a cost like any other."""
    assert door.cost is not None
    summary, found = import_between(door, tmp_path, with_raw(door.good(1), door.cost, dump(MAX_COST_USD)))
    assert summary.malformed == 0 and MAX_COST_USD in [e.get("cost_usd") for e in found]


# -- counts --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "counts", [(MAX_COUNT, 1), (MAX_COUNT - 1, MAX_COUNT - 1), (2**64, 1), (1, 2**70)], ids=str
)
@pytest.mark.parametrize("door", DOORS.values(), ids=lambda door: door.source)
def test_counts_adding_up_past_the_limit_are_malformed(
    door: Door, tmp_path: Path, counts: tuple[int, int]
) -> None:
    """An event's tokens are below MAX_COUNT (2**53): larger ones are malformed, so the ledger
    never holds a line its readers refuse, nor sums that lose their last digits."""
    record = door.good(1)
    for path, value in zip(door.counts, counts, strict=True):
        record = orjson.loads(with_raw(record, path, dump(value))) if value < 2**63 else record
    hostile = dump(record)
    for path, value in zip(door.counts, counts, strict=True):
        if value >= 2**63:  # past what orjson reads: written by the standard library
            hostile = with_raw(orjson.loads(hostile), path, dump(value))
    summary, found = import_between(door, tmp_path, hostile)
    assert_only_the_good_ones(door, tmp_path, summary, found)


# -- times ---------------------------------------------------------------------------------


@pytest.mark.parametrize("door", DOORS.values(), ids=lambda door: door.source)
def test_a_time_outside_1970_to_9999_is_malformed(door: Door, tmp_path: Path) -> None:
    """Every report can show a day of 1970-9999 (UTC); a record dated outside is malformed."""
    for n, ts in enumerate(door.bad_ts):
        summary, found = import_between(door, tmp_path / str(n), with_raw(door.good(1), door.ts, ts))
        assert_only_the_good_ones(door, tmp_path / str(n), summary, found)
