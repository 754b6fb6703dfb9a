"""Helpers for the tests of the agents' importers: the ledger read back, the generators of
``scripts/gen_agents.py``, and lines of garbage for the property tests."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from hypothesis import strategies as st
from strategies import JSON_ANY

from jusage.events import Event
from jusage.importers import ImportSummary
from jusage.store import Store

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
TOTAL_KEYS = ("prompt", "completion", "cached", "cache_write", "reasoning")


def events(store: Store) -> list[dict[str, Any]]:
    """Every line of the ledger, each checked to be a valid event."""
    if not store.path.exists():
        return []
    lines = store.path.read_bytes().splitlines()
    for raw in lines:
        Event.from_json(raw).check()
    return [orjson.loads(raw) for raw in lines]


def totals(store: Store) -> dict[str, Any]:
    """The ledger's sums, as ``expected.json`` holds them (``events``: calls, not corrections)."""
    found = events(store)
    out: dict[str, Any] = {key: sum(e.get(key, 0) for e in found) for key in TOTAL_KEYS}
    out["events"] = sum(1 for e in found if "corrects" not in e)
    out["cost_usd"] = round(sum(e.get("cost_usd", 0.0) for e in found), 6)
    return out


def same_totals(found: dict[str, Any], expected: dict[str, Any]) -> bool:
    """Whether two sets of totals agree (costs to a micro-dollar)."""
    return all(
        math.isclose(found[key], expected[key], abs_tol=1e-6)
        if key == "cost_usd"
        else found[key] == expected[key]
        for key in expected
    )


def generate(
    kind: str, folder: Path, entries: int, *, seed: int = 7, malformed: bool = True, **options: Any
) -> dict[str, Any]:
    """Run ``scripts/gen_agents.py``'s generator for ``kind`` into ``folder``; its totals."""
    scripts = str(ROOT / "scripts")
    if scripts not in sys.path:
        sys.path.insert(0, scripts)
    import gen_agents
    import gen_transcripts

    generator = gen_agents.GENERATORS[kind]
    found: dict[str, Any] = generator(folder, gen_transcripts.Rand(seed), entries, 20, malformed, **options)
    return found


def fixture_totals(name: str) -> dict[str, Any]:
    """The totals the committed fixture ``fixtures/<name>`` was generated with."""
    loaded: dict[str, Any] = json.loads((FIXTURES / name / "expected.json").read_text())
    return loaded


def _dump(value: Any) -> bytes:
    # The standard library's json: integers of any size, NaN and Infinity literals.
    return json.dumps(value).encode()


GARBAGE = st.one_of(
    JSON_ANY.map(_dump),
    st.floats().map(lambda x: _dump({"input": x, "tokens": {"input": x}, "usage": x})),
    st.integers(-(2**200), 2**200).map(lambda n: _dump({"tokens": {"input": n}, "usageMetadata": n})),
    st.integers(1, 3000).map(lambda depth: b"[" * depth + b"]" * depth),
    st.text(max_size=6).map(lambda k: b'{"%s": 1, "%s": {"x": [1]}}' % ((json.dumps(k)[1:-1].encode(),) * 2)),
    st.binary(max_size=40).filter(lambda raw: b"\n" not in raw),
)
"""One line of anything: any JSON (huge numbers, NaN and Infinity literals, duplicate keys, deep
nesting), or bytes that are not JSON at all; never a newline inside."""


def strange(value: dict[str, Any], changes: list[tuple[tuple[str, ...], Any]]) -> bytes:
    """``value`` with each ``(path, new)`` of ``changes`` set where the path leads to an object,
    written by the standard library (integers past 64 bits, no depth limit)."""
    from strategies import set_at

    changed = json.loads(json.dumps(value))
    for path, new in changes:
        set_at(changed, path, new)
    return json.dumps(changed).encode()


def write_lines(path: Path, *records: dict[str, Any] | bytes, mode: str = "wb") -> Path:
    """Write (or with ``mode="ab"`` append) one JSON object or raw line per line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open(mode) as fh:
        fh.write(b"".join((r if isinstance(r, bytes) else orjson.dumps(r)) + b"\n" for r in records))
    return path


Importer = Callable[..., ImportSummary]


def imports_the_same(importer: Importer, clean: Path, dirty: Path) -> None:
    """Import ``clean`` and ``dirty`` (the same records, and garbage) into ledgers beside them:
    every event of the clean import is in the dirty one with the same counts, and a second
    import of ``dirty`` adds nothing."""
    ledgers = [Store(folder.parent / f"{folder.name}.ledger" / "events.jsonl") for folder in (clean, dirty)]
    importer(ledgers[0], [clean])
    importer(ledgers[1], [dirty])
    kept = {(e["id"], e["prompt"], e["completion"]) for e in events(ledgers[1])}
    assert {(e["id"], e["prompt"], e["completion"]) for e in events(ledgers[0])} <= kept
    assert importer(ledgers[1], [dirty]).events_added == 0


def never_fatal(importer: Importer, folder: Path) -> None:
    """Import ``folder`` twice into a ledger beside it: no exception, valid events, at most
    one call, and nothing added the second time."""
    ledger = Store(folder.parent / f"{folder.name}.ledger" / "events.jsonl")
    importer(ledger, [folder])
    assert importer(ledger, [folder]).events_added == 0
    assert len(events(ledger)) <= 1
