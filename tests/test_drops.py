"""Reading one drop file: both field sets, content-derived ids, and what is unfinished or bad."""

from __future__ import annotations

import json

import orjson
import pytest
from strategies import HOOK_EVENT as HOOK

from jusage.drops import DropIncomplete, DropRejected, parse_drop, unix_seconds

NS = 1_767_225_600_123_456_789  # 2026-01-01T00:00:00.123456789Z, as the hook handler writes it


def one(value: object) -> dict[str, object]:
    [event] = parse_drop(orjson.dumps(value), host="box")
    return event.to_dict()


def test_a_hook_event_gets_the_inclusive_prompt() -> None:
    """input_tokens excludes the cache (Claude's usage), so prompt adds reads and writes back."""
    event = one(HOOK)
    assert (event["prompt"], event["completion"]) == (130, 5)
    assert (event["cached"], event["cache_write"]) == (100, 20)
    assert event["session"] == "inst-1" and event["model"] == "claude-sonnet-4-6"


def test_a_hook_events_nanoseconds_become_seconds() -> None:
    """The hook handler writes UnixNano; the ledger keeps whole unix seconds."""
    assert one(HOOK)["ts"] == 1_767_225_600


@pytest.mark.parametrize(
    "ts",
    [1_767_225_600, 1_767_225_600_123, 1_767_225_600_123_456, NS, 1_767_225_600.9, "2026-01-01T00:00:00Z"],
)
def test_ts_in_any_unit_or_iso_is_read_as_seconds(ts: object) -> None:
    """Seconds, ms, µs, ns (told apart by size) and ISO 8601 with a zone all mean the same second."""
    assert unix_seconds(ts) == 1_767_225_600


@pytest.mark.parametrize("ts", ["2026-01-01T00:00:00", "yesterday", -1, True, None, 10**30, float("nan")])
def test_a_ts_that_cannot_be_placed_is_refused(ts: object) -> None:
    """No zone, no number, negative or past year 9999 in every unit: the file is rejected."""
    with pytest.raises(DropRejected, match="ts"):
        unix_seconds(ts)


def test_newer_hook_fields_are_taken_where_their_meaning_is_clear() -> None:
    """provider, the one-hour cache writes and reasoning tokens map to jusage's fields."""
    event = one({**HOOK, "provider": "anthropic", "cache_write_1h_tokens": 20, "reasoning_tokens": 3})
    assert (event["provider"], event["cache_write_1h"], event["reasoning"]) == ("anthropic", 20, 3)


def test_jusage_events_keep_what_they_say() -> None:
    """An event in jusage's own shape is taken as it is; source and host fill only gaps."""
    given = {"ts": 1_767_225_600, "prompt": 900, "completion": 80, "source": "sdk", "project": "/p"}
    event = one(given)
    assert (event["prompt"], event["completion"], event["source"], event["project"]) == (900, 80, "sdk", "/p")
    assert event["host"] == "box" and event["date"]
    assert one({"ts": 1, "prompt": 5, "host": "runner-7"})["source"] == "ingest"
    assert one({"ts": 1, "prompt": 5, "host": "runner-7"})["host"] == "runner-7"


def test_json_lines_and_arrays_hold_several_events() -> None:
    """One object, an array of objects and JSON lines are all drop files."""
    lines = b'{"ts": 1, "prompt": 5}\n{"ts": 2, "prompt": 6}\n'
    array = b'[{"ts": 1, "prompt": 5}, {"ts": 2, "prompt": 6}]'
    assert [e.prompt for e in parse_drop(lines, host="h")] == [5, 6]
    assert [e.prompt for e in parse_drop(array, host="h")] == [5, 6]


def test_ids_come_from_the_content_not_the_layout() -> None:
    """The same objects give the same ids however they are spaced or ordered inside."""
    compact = parse_drop(orjson.dumps(HOOK), host="a")
    spaced = parse_drop(json.dumps(dict(reversed(HOOK.items())), indent=2).encode(), host="b")
    assert [e.id for e in compact] == [e.id for e in spaced]
    assert compact[0].id.startswith("dr-") and len(compact[0].id) == 19


def test_identical_objects_in_one_file_are_two_events() -> None:
    """Two identical turns in one file are two events; their copies elsewhere add nothing."""
    line = orjson.dumps({"ts": 1, "prompt": 5})
    first, second = parse_drop(line + b"\n" + line + b"\n", host="h")
    assert first.id != second.id
    assert parse_drop(line, host="h")[0].id == first.id


def test_an_events_own_id_decides_its_identity() -> None:
    """An event that names its id keeps one identity whatever else it says."""
    a = parse_drop(b'{"ts": 1, "prompt": 5, "id": "turn-9"}', host="h")[0]
    b = parse_drop(b'{"ts": 2, "prompt": 5, "id": "turn-9"}', host="h")[0]
    fix = parse_drop(b'{"ts": 2, "prompt": 1, "id": "turn-9b", "corrects": "turn-9"}', host="h")[0]
    assert a.id == b.id and fix.corrects == a.id


@pytest.mark.parametrize(
    "data",
    [b"", b"  \n", b'{"ts": 1, "prompt"', b'{"ts": 1, "prompt": 5}\n{"ts": 2', b'{"model": "caf\xc3'],
)
def test_a_file_that_may_still_be_written_is_incomplete(data: bytes) -> None:
    """Empty, or JSON that ends before it closes (a last line without its newline too)."""
    with pytest.raises(DropIncomplete):
        parse_drop(data, host="h")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"hello", "not JSON"),
        (b'{"ts": 1, "prompt": 5}x', "not JSON"),
        (b'{"ts": 1, "prompt": 5}\n{"ts": 2\n', "line 2"),
        (b"[]", "no event"),
        (b"[1]", "not a JSON object"),
        (b'{"prompt": 5}', "ts is missing"),
        (b'{"ts": 1, "prompt": 0}', "no tokens"),
        (b'{"ts": 1, "prompt": 5, "input_tokens": 5}', "mixes"),
        (b'{"ts": 1, "input_tokens": -5}', "input_tokens"),
        (b'{"ts": 1, "input_tokens": 5, "instance_id": 7}', "instance_id"),
        (b'{"ts": 1, "prompt": 5, "cached": 9}', "exceeds prompt"),
        (b'{"ts": 1, "prompt": 5, "date": "someday"}', "date"),
        (b'{"ts": 1, "prompt": 5, "model": "\\ud800"}', "not JSON"),
        (b'{"ts": 1, "prompt": 5, "model": "\xff"}', "not JSON"),
    ],
)
def test_a_file_that_never_can_be_events_is_rejected_with_a_reason(data: bytes, reason: str) -> None:
    """Each reason is one line that says what is wrong."""
    with pytest.raises(DropRejected, match=reason) as caught:
        parse_drop(data, host="h")
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("depth", [65, 254, 1_000, 3_000])
@pytest.mark.parametrize("lines", [False, True])
def test_a_drop_nested_too_deep_is_rejected_with_a_reason(depth: int, lines: bool) -> None:
    """A value nested past MAX_DEPTH (254 levels made the id's own JSON fail before) is a
    reason to reject the file, in one line, never an exception."""
    nested = b'{"ts": 1767225600, "prompt": 5, "x": ' + b"[" * depth + b"]" * depth + b"}"
    data = b'{"ts": 1767225600, "prompt": 7}\n' + nested + b"\n" if lines else nested
    with pytest.raises(DropRejected, match="nested") as caught:
        parse_drop(data, host="h")
    assert "\n" not in str(caught.value)
