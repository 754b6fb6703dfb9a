"""Every importer's door, the Claude Code hook and the drop folder, fed any JSON: nothing raises,
and the good records around a hostile one count exactly as they do alone.

Hostile records are any JSON, or a good record with any value at a field its importer reads
or at one it does not: nesting up to 3,000 levels, NaN and Infinity literals, numbers past 64
bits or past a double, duplicate keys (the standard library's json writes all of these).
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
from agents import GARBAGE, events
from click.testing import CliRunner
from doors import DOORS, Door, deep_bytes, dump, with_raw, with_raws
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from strategies import HOOK_EVENT, JSON_ANY

from jusage.cli import main
from jusage.hosts import host_name
from jusage.ingest import ingest_folder
from jusage.store import Store

EDGES = st.sampled_from(
    [
        b"NaN",
        b"Infinity",
        b"-Infinity",
        b"1e400",
        b"-1e400",
        b"1e308",
        b"1000000.5",
        b"-0.0",
        b"-1",
        b"null",
        b"true",
        b"{}",
        str(2**53 - 1).encode(),
        str(2**53).encode(),
        str(2**63).encode(),
        str(2**64).encode(),
        b"253402300800",
        b'"0001-01-01T00:00:00Z"',
        b'"1969-12-31T23:59:59Z"',
        b'"9999-12-31T23:59:59-12:00"',
    ]
)
"""Values at the edges of the event schema's ranges, and literals JSON has no room for."""

DEEP = (st.sampled_from([65, 254, 255, 1_000, 1_100, 3_000]) | st.integers(1, 3_000)).map(deep_bytes)

RAW = st.one_of(
    DEEP,
    EDGES,
    DEEP,
    EDGES,
    st.integers(-(2**70), 2**70).map(lambda n: str(n).encode()),
    st.floats(allow_nan=True, allow_infinity=True).map(lambda x: json.dumps(x).encode()),
    JSON_ANY.map(dump),
)
"""The JSON text of a hostile value."""


@st.composite
def hostile_record(draw: st.DrawFn, record: dict[str, Any], paths: list[tuple[str, ...]]) -> bytes:
    """Any line, or ``record`` (perhaps short of a field) with hostile values at one or two of
    ``paths`` (an unread field included), or with one of its keys written a second time
    with a hostile value."""
    kind = draw(st.sampled_from(["garbage", "field", "duplicate"]))
    if kind == "garbage":
        garbage: bytes = draw(GARBAGE)
        return garbage
    if draw(st.booleans()):  # a record short of a field: jcode derives an id without one
        gone = draw(st.sampled_from(sorted(record)))
        record = {k: v for k, v in record.items() if k != gone}
    if kind == "field":
        where = st.sampled_from([*paths, ("toolUseResult",)])
        return with_raws(record, draw(st.lists(st.tuples(where, RAW), min_size=1, max_size=2)))
    key = draw(st.sampled_from(sorted(record)))
    return dump(record)[:-1] + b", " + dump(key) + b": " + draw(RAW) + b"}"


def door_paths(door: Door) -> list[tuple[str, ...]]:
    """The fields of ``door``'s records that its importer reads for the event."""
    return [door.ts, *door.counts, *([door.cost] if door.cost else [])]


def ledger_events(ledger: Path) -> list[dict[str, Any]]:
    """The ledger's events, each checked to be one every reader accepts."""
    return events(Store(ledger))


def amounts(events: list[dict[str, Any]]) -> Counter[tuple[Any, ...]]:
    return Counter((e["ts"], e.get("prompt", 0), e.get("completion", 0), e.get("cost_usd")) for e in events)


_CLEAN: dict[str, Counter[tuple[Any, ...]]] = {}


def clean_amounts(door: Door) -> Counter[tuple[Any, ...]]:
    """What the door's two good records alone import to (worked out once per door)."""
    if door.source not in _CLEAN:
        with tempfile.TemporaryDirectory() as tmp:
            path = door.write(Path(tmp) / "history", [dump(door.good(0)), dump(door.good(2))])
            door.run(Path(tmp) / "ledger" / "events.jsonl", path)
            _CLEAN[door.source] = amounts(ledger_events(Path(tmp) / "ledger" / "events.jsonl"))
        assert sum(_CLEAN[door.source].values()) == 2
    return _CLEAN[door.source]


def fits_in_one_document(line: bytes) -> bool:
    """Whether ``line`` is JSON a whole-file history can hold and still be read (orjson reads
    1,024 levels; a record that is not JSON spoils the document it is in)."""
    try:
        orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return line.count(b"[") + line.count(b"{") < 1_000


@pytest.mark.parametrize("door", DOORS.values(), ids=lambda door: door.source)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_record_never_raises_nor_changes_the_others(door: Door, data: st.DataObject) -> None:
    """Hostile records between good ones: the import ends, the good ones count as they do
    alone, everything written is a valid event, and a second run adds nothing."""
    hostile = data.draw(st.lists(hostile_record(door.good(1), door_paths(door)), min_size=1, max_size=3))
    if not door.lines_are_records:
        assume(all(fits_in_one_document(line) for line in hostile))
    with tempfile.TemporaryDirectory() as tmp:
        lines = [dump(door.good(0)), *hostile, dump(door.good(2))]
        path = door.write(Path(tmp) / "history", lines)
        ledger = Path(tmp) / "ledger" / "events.jsonl"
        first = door.run(ledger, path)
        assert door.run(ledger, path).events_added == 0
        found = amounts(ledger_events(ledger))
        assert not clean_amounts(door) - found
        assert first.events_added <= 2 + len(hostile)


# -- the Claude Code hook: its stdin payload and the transcript it names ------------------------

CLAUDE = DOORS["claude-code"]


@st.composite
def hook_payload(draw: st.DrawFn, transcript: str) -> bytes:
    """Any stdin, or a payload naming ``transcript`` with hostile values beside it (or in
    place of the path)."""
    kind = draw(st.sampled_from(["plain", "garbage", "beside", "instead", "duplicate"]))
    payload = {"session_id": "s1", "transcript_path": transcript, "hook_event_name": "Stop"}
    if kind == "plain":
        return dump(payload)
    if kind == "garbage":
        garbage: bytes = draw(GARBAGE)
        return garbage
    raw = draw(RAW)
    if kind == "beside":
        return with_raw(
            payload, (draw(st.sampled_from(["cwd", "session_id", "agent_transcript_path"])),), raw
        )
    if kind == "instead":
        return with_raw(payload, ("transcript_path",), raw)
    return dump(payload)[:-1] + b', "transcript_path": ' + raw + b"}"


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_the_hook_never_fails_the_agent_and_imports_the_good_lines(data: st.DataObject) -> None:
    """`jusage hook claude-code` with any stdin, naming a transcript with hostile lines: exit
    status 0, nothing on stdout, at most one line on stderr, and when the payload names the
    transcript its good lines are in the ledger as they would be alone."""
    with tempfile.TemporaryDirectory() as tmp:
        hostile = data.draw(st.lists(hostile_record(CLAUDE.good(1), door_paths(CLAUDE)), max_size=2))
        history = CLAUDE.write(Path(tmp) / "claude", [dump(CLAUDE.good(0)), *hostile, dump(CLAUDE.good(2))])
        transcript = str(history / "projects" / "-src-p" / "s1.jsonl")
        stdin = data.draw(hook_payload(transcript))
        ledger = Path(tmp) / "ledger" / "events.jsonl"
        result = CliRunner().invoke(main, ["hook", "claude-code", "--log", str(ledger)], input=stdin)
        assert result.exit_code == 0 and result.stdout == ""
        assert len(result.stderr.splitlines()) <= 1 and "Traceback" not in result.stderr
        found = amounts(ledger_events(ledger))
        try:
            names_it = orjson.loads(stdin).get("transcript_path") == transcript
        except (orjson.JSONDecodeError, AttributeError):
            names_it = False
        if names_it:
            assert not clean_amounts(CLAUDE) - found


# -- the drop folder ---------------------------------------------------------------------------

GOOD_DROPS = [{"ts": 1_767_225_600, "prompt": 1200, "completion": 300, "model": "gpt-5"}, HOOK_EVENT]


@st.composite
def hostile_drop(draw: st.DrawFn) -> bytes:
    """A drop file: anything, or a good event (in either shape) with a hostile value at any
    of its fields or at one nobody reads, alone or as one of its JSON lines."""
    kind = draw(st.sampled_from(["garbage", "field", "duplicate"]))
    if kind == "garbage":
        garbage: bytes = draw(GARBAGE)
        return garbage
    event: dict[str, Any] = {**draw(st.sampled_from(GOOD_DROPS)), "id": "hostile"}
    raw = draw(RAW)
    if kind == "field":
        line = with_raw(event, (draw(st.sampled_from([*sorted(event), "x"])),), raw)
    else:
        line = dump(event)[:-1] + b", " + dump(draw(st.sampled_from(sorted(event)))) + b": " + raw + b"}"
    if draw(st.booleans()):
        return dump({**GOOD_DROPS[0], "id": "beside"}) + b"\n" + line + b"\n"
    return line


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile=st.lists(hostile_drop(), min_size=1, max_size=3))
def test_jusage_ingest_takes_the_good_files_whatever_lands_beside_them(hostile: list[bytes]) -> None:
    """`jusage ingest` (its library call): any files beside good ones never end a pass in an
    exception; the good files land once, every other file is ingested as valid events or
    rejected with a reason, and the ledger holds only valid events."""
    from jusage.drops import parse_drop

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "drop"
        folder.mkdir()
        for i, data in enumerate(hostile):
            (folder / f"junk{i}.jsonl").write_bytes(data)
        for i, value in enumerate(GOOD_DROPS):
            (folder / f"good{i}.json").write_bytes(orjson.dumps(value))
        ledger = Path(tmp) / "events.jsonl"
        ingest_folder(Store(ledger), folder, min_age=0, abandon_after=0, now=4_000_000_000.0)
        ids = [e["id"] for e in ledger_events(ledger)]
        good = {e.id for value in GOOD_DROPS for e in parse_drop(orjson.dumps(value), host=host_name())}
        assert good <= set(ids) and len(ids) == len(set(ids))
        assert list(folder.glob("*.json*")) == []
        rejected = folder / "rejected"
        names = sorted(p.name for p in rejected.iterdir()) if rejected.exists() else []
        assert all(f"{n}.reason" in names for n in names if not n.endswith(".reason"))
