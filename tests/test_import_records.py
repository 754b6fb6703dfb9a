"""What the agents' importers share: counts checked on the way in, copies settled against the index."""

from __future__ import annotations

from pathlib import Path

import pytest

from jusage.events import MAX_TS
from jusage.importers.common import Tally
from jusage.importers.index import ImportIndex, index_path
from jusage.importers.records import Bad, Calls, Usage, count, millis, settle, text
from jusage.store import Store

SOURCE = "gemini-cli"


@pytest.mark.parametrize(("value", "expected"), [(None, 0), (0, 0), (7, 7), (7.0, 7), (2**53 - 1, 2**53 - 1)])
def test_counts_are_whole_numbers_in_range(value: object, expected: int) -> None:
    """A missing count is 0; whole numbers (written as floats too) are themselves."""
    assert count(value) == expected


@pytest.mark.parametrize("value", [-1, 2**53, 1.5, float("inf"), "12", True, [1], {"n": 1}])
def test_anything_else_is_not_a_count(value: object) -> None:
    """Negative, too large, fractional, text, booleans and containers raise Bad."""
    with pytest.raises(Bad):
        count(value)


def test_millis_and_text_take_only_what_they_can_use() -> None:
    """Milliseconds become seconds; a name that is not a string names nothing."""
    assert millis(1_756_720_800_123) == 1_756_720_800
    with pytest.raises(Bad):
        millis("soon")
    assert (text("a"), text(5), text(["a"])) == ("a", "", "")
    assert text("\udcff").encode() == "\ufffd".encode() * 3  # a lone surrogate, made writable


def _add(calls: Calls, **changes: object) -> None:
    values: dict[str, object] = {"key": 1, "ts": 1_756_720_800, "prompt": 10, "completion": 5}
    values.update(changes)
    calls.add(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "changes",
    [
        {"ts": -1},
        {"ts": MAX_TS + 1},
        {"prompt": 2**52, "completion": 2**52},
        {"cost_usd": -0.1},
        {"cost_usd": 2e6},
        {"cost_usd": "0.1"},
        {"cost_usd": True},
    ],
    ids=[
        "before-1970",
        "after-9999",
        "sum-too-large",
        "negative-cost",
        "huge-cost",
        "text-cost",
        "bool-cost",
    ],
)
def test_calls_outside_the_schema_are_malformed(changes: dict[str, object]) -> None:
    """A call the event schema could not hold is counted malformed, not kept."""
    tally = Tally()
    calls = Calls(tally)
    _add(calls, **changes)
    assert (calls.found, tally.malformed, tally.entries) == ([], 1, 0)


def test_calls_are_kept_consistent() -> None:
    """Cache counts are clipped to the prompt, reasoning to the completion; no tokens, no call."""
    tally = Tally()
    calls = Calls(tally)
    _add(calls, cached=8, cache_write=8, reasoning=9, cost_usd=0)
    _add(calls, key=2, prompt=0, completion=0)
    [call] = calls.found
    assert (call.cached, call.cache_write, call.reasoning, call.cost_usd) == (8, 2, 5, None)
    assert (tally.entries, tally.malformed) == (1, 0)


def _usage(key: int, prompt: int, completion: int = 5) -> Usage:
    return Usage(key, 1_756_720_800, prompt, completion, cached=prompt // 2)


def test_settle_keeps_the_largest_copy_then_corrects_a_larger_one(tmp_path: Path) -> None:
    """Copies in one run: the largest counts; a larger copy later adds the difference."""
    store = Store(tmp_path / "events.jsonl")
    tally = Tally()
    with ImportIndex(store.path) as index:
        store.append_lines(settle(index, SOURCE, [_usage(1, 10), _usage(1, 30), _usage(1, 20)], tally, "h"))
        index.commit()
    with ImportIndex(store.path) as index:
        store.append_lines(settle(index, SOURCE, [_usage(1, 50), _usage(1, 40)], tally, "h"))
        store.append_lines(settle(index, SOURCE, [_usage(1, 50)], tally, "h"))
        index.commit()
    lines = store.path.read_bytes().splitlines()
    assert len(lines) == 2 and b'"prompt":30' in lines[0] and b'"prompt":20' in lines[1]
    assert (tally.events, tally.corrections, tally.duplicates) == (1, 1, 4)


def test_a_lost_index_is_rebuilt_with_the_new_agents_ids(tmp_path: Path) -> None:
    """The ids of the new importers are known to the index's rebuild from the ledger."""
    store = Store(tmp_path / "events.jsonl")
    tally = Tally()
    with ImportIndex(store.path) as index:
        store.append_lines(settle(index, SOURCE, [_usage(1, 10)], tally, "h"))
        index.commit()
    index_path(store.path).unlink()
    with ImportIndex(store.path) as index:
        assert settle(index, SOURCE, [_usage(1, 10)], tally, "h") == []
