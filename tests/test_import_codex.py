"""The Codex importer: per-turn usage, re-emitted counters, models, forks, incremental reads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import JSON_ANY, set_at

from jusage.events import Event
from jusage.importers import ImportPathError, default_codex_paths, import_codex
from jusage.store import Store

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "codex"
SID = "019a9776-0a34-7842-8627-112b63d66e90"
CHILD = "019a9777-0000-7000-8000-000000000001"


def usage(inp: int, cached: int, out: int, reasoning: int = 0) -> dict[str, int]:
    return {
        "input_tokens": inp,
        "cached_input_tokens": cached,
        "output_tokens": out,
        "reasoning_output_tokens": reasoning,
        "total_tokens": inp + out,
    }


def rec(kind: str, payload: dict[str, Any], ts: str = "2025-09-01T10:00:00.000Z") -> bytes:
    return orjson.dumps({"timestamp": ts, "type": kind, "payload": payload})


def meta(sid: str = SID, **extra: Any) -> bytes:
    return rec("session_meta", {"id": sid, "cwd": "/src/p", "cli_version": "0.58.0", **extra})


def turn(model: str) -> bytes:
    return rec("turn_context", {"cwd": "/src/p", "model": model})


def count(
    total: dict[str, int] | None, last: dict[str, int] | None, ts: str = "2025-09-01T10:00:05.000Z"
) -> bytes:
    info: dict[str, Any] = {}
    if total is not None:
        info["total_token_usage"] = total
    if last is not None:
        info["last_token_usage"] = last
    return rec("event_msg", {"type": "token_count", "info": info, "rate_limits": None}, ts)


def rollout(folder: Path, sid: str, *lines: bytes, stamp: str = "2025-09-01T10-00-00") -> Path:
    path = folder / "sessions" / "2025" / "09" / "01" / f"rollout-{stamp}-{sid}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return path


def events(store: Store) -> list[dict[str, Any]]:
    if not store.path.exists():
        return []
    return [orjson.loads(raw) for raw in store.path.read_bytes().splitlines()]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "ledger" / "events.jsonl")


def test_last_token_usage_is_the_turn(store: Store, tmp_path: Path) -> None:
    """last_token_usage maps straight to prompt/cached and completion/reasoning."""
    home = tmp_path / "codex"
    rollout(home, SID, meta(), turn("gpt-5-codex"), count(usage(900, 800, 50, 20), usage(500, 400, 30, 10)))
    import_codex(store, [home])
    [event] = events(store)
    assert (event["prompt"], event["cached"], event["completion"], event["reasoning"]) == (500, 400, 30, 10)
    assert (event["model"], event["session"], event["project"]) == ("gpt-5-codex", SID, "/src/p")
    assert event["source"] == "codex" and Event.from_dict(event).total == 530


def test_without_last_usage_the_cumulative_difference_is_the_turn(store: Store, tmp_path: Path) -> None:
    """Older logs carry only total_token_usage: turns are its differences."""
    home = tmp_path / "codex"
    rollout(
        home, SID, meta(), turn("gpt-5"), count(usage(100, 0, 10), None), count(usage(350, 200, 40), None)
    )
    import_codex(store, [home])
    assert [(e["prompt"], e["cached"], e["completion"]) for e in events(store)] == [
        (100, 0, 10),
        (250, 200, 30),
    ]


def test_re_emitted_counters_are_ignored(store: Store, tmp_path: Path) -> None:
    """A token_count whose cumulative total did not change is not a new turn."""
    home = tmp_path / "codex"
    same = count(usage(100, 0, 10), usage(100, 0, 10))
    rollout(home, SID, meta(), turn("gpt-5"), same, same)
    summary = import_codex(store, [home])
    assert len(events(store)) == 1 and summary.duplicates == 1


def test_heartbeats_without_info_are_ignored(store: Store, tmp_path: Path) -> None:
    """info: null carries rate limits only."""
    home = tmp_path / "codex"
    heartbeat = rec("event_msg", {"type": "token_count", "info": None, "rate_limits": {}})
    rollout(home, SID, meta(), heartbeat)
    summary = import_codex(store, [home])
    assert events(store) == [] and summary.entries == 0


def test_the_model_is_the_latest_turn_context(store: Store, tmp_path: Path) -> None:
    """Each turn is attributed to the model named by the turn_context before it."""
    home = tmp_path / "codex"
    rollout(
        home,
        SID,
        meta(),
        turn("gpt-5"),
        count(usage(100, 0, 10), usage(100, 0, 10)),
        turn("gpt-5-codex"),
        count(usage(300, 0, 30), usage(200, 0, 20)),
    )
    import_codex(store, [home])
    assert [e["model"] for e in events(store)] == ["gpt-5", "gpt-5-codex"]


@pytest.mark.parametrize(
    "link",
    [{"forked_from_id": SID}, {"source": {"subagent": {"thread_spawn": {"parent_thread_id": SID}}}}],
    ids=["fork", "subagent"],
)
def test_a_session_replaying_its_parent_does_not_count_it_again(
    store: Store, tmp_path: Path, link: dict[str, Any]
) -> None:
    """The replayed history (with rewritten timestamps) counts once; the child's own turns count."""
    home = tmp_path / "codex"
    history = [
        turn("gpt-5"),
        count(usage(100, 0, 10), usage(100, 0, 10)),
        count(usage(300, 50, 30), usage(200, 50, 20)),
    ]
    rollout(home, SID, meta(), *history)
    replay = [orjson.dumps({**orjson.loads(h), "timestamp": "2025-09-01T11:00:00.000Z"}) for h in history]
    own = count(usage(700, 100, 70), usage(400, 50, 40), "2025-09-01T11:00:09.000Z")
    rollout(home, CHILD, meta(CHILD, **link), *replay, own, stamp="2025-09-01T11-00-00")
    summary = import_codex(store, [home])
    assert [e["prompt"] for e in events(store)] == [100, 200, 400]
    assert events(store)[-1]["session"] == CHILD and summary.duplicates == 2


def test_appended_turns_are_read_incrementally_with_their_context(store: Store, tmp_path: Path) -> None:
    """A second run reads only new lines and still knows the model and the last totals."""
    home = tmp_path / "codex"
    path = rollout(home, SID, meta(), turn("gpt-5"), count(usage(100, 0, 10), None))
    import_codex(store, [home])
    with path.open("ab") as fh:
        fh.write(count(usage(250, 0, 30), None) + b"\n")
    summary = import_codex(store, [home])
    new = events(store)[-1]
    assert (summary.entries, new["prompt"], new["completion"], new["model"]) == (1, 150, 20, "gpt-5")


def test_a_second_run_adds_nothing(store: Store) -> None:
    """Re-importing the fixture tree is a no-op."""
    first = import_codex(store, [FIXTURES])
    second = import_codex(store, [FIXTURES])
    assert first.events_added == 120 and second.events_added == 0


def test_malformed_lines_are_counted(store: Store, tmp_path: Path) -> None:
    """Garbage in a rollout is skipped and counted."""
    home = tmp_path / "codex"
    rollout(home, SID, meta(), b"\xff\xfe{not json", count(usage(100, 0, 10), usage(100, 0, 10)))
    summary = import_codex(store, [home])
    assert summary.malformed == 1 and summary.events_added == 1


def test_archived_sessions_are_imported(store: Store, tmp_path: Path) -> None:
    """archived_sessions/ is searched as well as sessions/."""
    home = tmp_path / "codex"
    folder = home / "archived_sessions"
    folder.mkdir(parents=True)
    (folder / f"rollout-2025-09-01T10-00-00-{SID}.jsonl").write_bytes(
        meta() + b"\n" + count(usage(1, 0, 1), usage(1, 0, 1)) + b"\n"
    )
    assert import_codex(store, [home]).events_added == 1


def test_paths(tmp_path: Path, store: Store) -> None:
    """CODEX_HOME names the folder; a missing --path is an error."""
    (tmp_path / "ch").mkdir()
    assert default_codex_paths({"CODEX_HOME": str(tmp_path / "ch")}) == [tmp_path / "ch"]
    assert default_codex_paths({"HOME": str(tmp_path)}) == []
    with pytest.raises(ImportPathError):
        import_codex(store, [tmp_path / "missing"])


STRANGE = [
    ("timestamp",),
    ("type",),
    ("payload",),
    ("payload", "id"),
    ("payload", "cwd"),
    ("payload", "model"),
    ("payload", "type"),
    ("payload", "info"),
    ("payload", "info", "total_token_usage"),
    ("payload", "info", "last_token_usage"),
    ("payload", "info", "last_token_usage", "input_tokens"),
    ("payload", "info", "total_token_usage", "output_tokens"),
    ("payload", "forked_from_id"),
]


@st.composite
def a_strange_rollout(draw: st.DrawFn) -> list[bytes]:
    """A rollout (meta, turn context, token counts) whose fields may hold any JSON value."""
    values = [
        orjson.loads(meta()),
        orjson.loads(turn("gpt-5-codex")),
        orjson.loads(count(usage(900, 800, 50, 20), usage(500, 400, 30, 10))),
        orjson.loads(count(usage(1900, 1800, 90, 20), None, "2025-09-01T10:00:09.000Z")),
    ]
    for _ in range(draw(st.integers(0, 5))):
        value = values[draw(st.integers(0, len(values) - 1))]
        set_at(value, draw(st.sampled_from(STRANGE)), draw(JSON_ANY))
    # The standard library's json, which writes integers of any size (orjson stops at 64 bits).
    return [json.dumps(v).encode() for v in values]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=a_strange_rollout())
def test_any_json_in_any_field_is_never_fatal(tmp_path: Path, lines: list[bytes]) -> None:
    """Rollout lines whose fields hold lists, objects or numbers where text belongs are
    imported or counted, never a crash; a second run adds nothing."""
    import tempfile

    with tempfile.TemporaryDirectory(dir=tmp_path) as tmp:
        home = Path(tmp) / "codex"
        rollout(home, SID, *lines)
        ledger = Store(Path(tmp) / "ledger" / "events.jsonl")
        import_codex(ledger, [home])
        again = import_codex(ledger, [home])
        assert again.events_added == 0
        assert all(isinstance(event, dict) for event in events(ledger))


# -- copies without lineage, archived copies, and what ccusage reads besides rollouts ----------

OTHER = "019a9778-0000-7000-8000-000000000002"
HISTORY_TS = ("2025-09-01T10:00:05.123Z", "2025-09-01T10:00:09.456Z")


def history() -> list[bytes]:
    """Two turns of a session, as a branch or a goal rollout copies them (times kept)."""
    return [
        turn("gpt-5-codex"),
        count(usage(900, 800, 50, 20), usage(500, 400, 30, 10), HISTORY_TS[0]),
        count(usage(1900, 1600, 90, 20), usage(1000, 800, 40, 0), HISTORY_TS[1]),
    ]


@pytest.mark.parametrize(
    "head",
    [[meta(OTHER)], [meta(OTHER, source="exec")], []],
    ids=["branch-without-fork-metadata", "goal-rollout-copy", "no-session-meta"],
)
def test_a_request_copied_into_another_file_without_lineage_counts_once(
    store: Store, tmp_path: Path, head: list[bytes]
) -> None:
    """The same time (to the millisecond), model and counts in two files is one request,
    whatever the files say of themselves; the copy's own later turn counts."""
    home = tmp_path / "codex"
    rollout(home, SID, meta(), *history())
    own = count(usage(3000, 2000, 120, 20), usage(1100, 400, 30, 0), "2025-09-01T11:00:00.000Z")
    rollout(home, OTHER, *head, *history(), own, stamp="2025-09-01T11-00-00")
    summary = import_codex(store, [home])
    assert [e["prompt"] for e in events(store)] == [500, 1000, 1100]
    assert summary.duplicates == 2


def test_a_copy_imported_in_a_later_run_or_after_the_index_is_lost_adds_nothing(
    store: Store, tmp_path: Path
) -> None:
    """Exactly once across runs: the copy in a later run, then everything again from scratch."""
    from jusage.importers.index import index_path

    home = tmp_path / "codex"
    rollout(home, SID, meta(), *history())
    import_codex(store, [home])
    rollout(home, OTHER, meta(OTHER), *history(), stamp="2025-09-01T11-00-00")
    assert import_codex(store, [home]).events_added == 0
    index_path(store.path).unlink()
    assert import_codex(store, [home]).events_added == 0
    assert len(events(store)) == 2


def test_the_same_counts_a_millisecond_apart_are_two_requests(store: Store, tmp_path: Path) -> None:
    """Only the same time to the millisecond makes a copy."""
    home = tmp_path / "codex"
    rollout(home, SID, meta(), turn("gpt-5"), count(None, usage(500, 0, 30), "2025-09-01T10:00:05.123Z"))
    rollout(
        home,
        OTHER,
        meta(OTHER),
        turn("gpt-5"),
        count(None, usage(500, 0, 30), "2025-09-01T10:00:05.124Z"),
        stamp="2025-09-01T11-00-00",
    )
    assert import_codex(store, [home]).events_added == 2


def test_history_imported_before_request_times_were_keys_is_still_recognised(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ledger whose turns were imported by an earlier version (identified by lineage
    only): its rollouts are read once more, so a later copy of them adds nothing."""
    from jusage.importers import codex

    home = tmp_path / "codex"
    rollout(home, SID, meta(), *history())
    real = codex._turn
    monkeypatch.setattr(codex, "KEYS_VERSION", 1)
    monkeypatch.setattr(codex, "_turn", lambda keys, *rest: real(keys[-1:], *rest))  # the lineage only
    import_codex(store, [home])
    monkeypatch.undo()
    rollout(home, OTHER, meta(OTHER), *history(), stamp="2025-09-01T11-00-00")
    summary = import_codex(store, [home])
    assert summary.events_added == 0 and len(events(store)) == 2


def test_a_session_archived_under_the_same_relative_path_is_read_from_the_live_file(
    store: Store, tmp_path: Path
) -> None:
    """archived_sessions/ and sessions/ holding the same relative path: one session, the
    live file wins (its project, not the archived copy's)."""
    home = tmp_path / "codex"
    live = rollout(home, SID, meta(), *history())
    archived = home / "archived_sessions" / live.relative_to(home / "sessions")
    archived.parent.mkdir(parents=True)
    archived.write_bytes(live.read_bytes().replace(b"/src/p", b"/old/place"))
    summary = import_codex(store, [home])
    assert summary.files_seen == 1
    assert {e["project"] for e in events(store)} == {"/src/p"}


@pytest.mark.parametrize(
    ("stamp", "ts"),
    [(1_756_720_805, 1_756_720_805), (1_756_720_805_123, 1_756_720_805), (1_756_720_805.5, 1_756_720_805)],
    ids=["seconds", "milliseconds", "fraction"],
)
def test_a_numeric_timestamp_is_epoch_seconds_or_milliseconds(
    store: Store, tmp_path: Path, stamp: float, ts: int
) -> None:
    """As ccusage reads it: seconds, or milliseconds when above 1e10."""
    home = tmp_path / "codex"
    line = orjson.loads(count(usage(900, 800, 50), usage(500, 400, 30)))
    line["timestamp"] = stamp
    rollout(home, SID, meta(), turn("gpt-5"), orjson.dumps(line))
    summary = import_codex(store, [home])
    assert summary.malformed == 0
    assert [e["ts"] for e in events(store)] == [ts]


EXEC = [
    {"type": "thread.started", "thread_id": "0199a213-81c0-7800-8aa1-bbab2a035a53"},
    {"type": "turn.started"},
    {"type": "item.completed", "item": {"id": "item_0", "type": "agent_message", "text": "Done."}},
    {
        "type": "turn.completed",
        "usage": {"input_tokens": 24763, "cached_input_tokens": 24448, "output_tokens": 122},
    },
    {"type": "turn.started"},
    {
        "type": "turn.completed",
        "timestamp": "2025-09-01T10:00:09.000Z",
        "model": "gpt-5-codex",
        "usage": {"input_tokens": 30000, "cached_input_tokens": 24000, "output_tokens": 300},
    },
]


def test_saved_codex_exec_json_output_is_read(store: Store, tmp_path: Path) -> None:
    """`codex exec --json > out.jsonl`: each turn.completed's usage is one turn (its time,
    else the file's), and a copy of the file adds nothing."""
    import os

    saved = tmp_path / "out.jsonl"
    saved.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in EXEC))
    os.utime(saved, (1_756_720_800, 1_756_720_800))
    summary = import_codex(store, [saved])
    first, second = events(store)
    assert (first["prompt"], first["cached"], first["completion"], first["ts"]) == (
        24763,
        24448,
        122,
        1_756_720_800,
    )
    assert (second["prompt"], second["model"], second["ts"]) == (30000, "gpt-5-codex", 1_756_720_809)
    assert summary.malformed == 0
    copy = tmp_path / "copy" / "again.jsonl"
    copy.parent.mkdir()
    copy.write_bytes(saved.read_bytes())
    assert import_codex(store, [copy]).events_added == 0


def test_a_generated_tree_imports_to_the_generators_totals(store: Store, tmp_path: Path) -> None:
    """Forks, subagents, copies without lineage, numeric times, archived copies, re-emitted
    counters and malformed lines: the generator's own sums, once, whatever runs again."""
    import sys

    from agents import ROOT, same_totals, totals

    from jusage.importers.index import index_path

    sys.path.insert(0, str(ROOT / "scripts"))
    import gen_transcripts

    home = tmp_path / "tree" / "codex"
    gen_transcripts.CodexGen(home, gen_transcripts.Rand(11), malformed=True).tree(1500, 20)
    expected = orjson.loads((home / "expected.json").read_bytes())
    import_codex(store, [home])
    assert same_totals(totals(store), expected)
    index_path(store.path).unlink()
    assert import_codex(store, [home]).events_added == 0
    assert same_totals(totals(store), expected)
