"""The Claude Code importer: mapping, exactly-once, streaming corrections, incremental reads."""

from __future__ import annotations

import calendar
import multiprocessing
import os
import shutil
from array import array
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import JSON_ANY, set_at

from jusage.events import Event
from jusage.importers import ImportPathError, claude_code, default_claude_paths, import_claude_code
from jusage.importers import common as importer_common
from jusage.importers.index import ImportIndex, index_path, key_of
from jusage.store import Store

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "claude-code"
FIELDS = ("prompt", "completion", "cached", "cache_write", "cache_write_1h")


def line(
    mid: str = "msg_1",
    rid: str | None = "req_1",
    *,
    inp: int = 10,
    out: int = 5,
    cw: int = 0,
    cr: int = 0,
    cw1h: int | None = None,
    ts: str = "2025-09-01T10:00:00.000Z",
    session: str = "s1",
    cwd: str = "/src/p",
    side: bool = False,
    model: str = "claude-sonnet-4-20250514",
    kind: str = "assistant",
    cost: float | None = None,
) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "input_tokens": inp,
        "output_tokens": out,
        "cache_creation_input_tokens": cw,
        "cache_read_input_tokens": cr,
    }
    if cw1h is not None:
        usage["cache_creation"] = {
            "ephemeral_5m_input_tokens": cw - cw1h,
            "ephemeral_1h_input_tokens": cw1h,
        }
    value: dict[str, Any] = {
        "type": kind,
        "timestamp": ts,
        "sessionId": session,
        "cwd": cwd,
        "isSidechain": side,
        "uuid": f"u-{mid}-{out}",
        "message": {"id": mid, "model": model, "role": "assistant", "usage": usage},
    }
    if rid is not None:
        value["requestId"] = rid
    if cost is not None:
        value["costUSD"] = cost
    return value


def write(path: Path, *values: dict[str, Any] | bytes, mode: str = "wb") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = b"".join((v if isinstance(v, bytes) else orjson.dumps(v)) + b"\n" for v in values)
    with path.open(mode) as fh:
        fh.write(data)
    return path


def events(store: Store) -> list[dict[str, Any]]:
    if not store.path.exists():
        return []
    return [orjson.loads(raw) for raw in store.path.read_bytes().splitlines() if raw.strip()]


def totals(store: Store) -> dict[str, int]:
    out = dict.fromkeys((*FIELDS, "turns"), 0)
    for event in events(store):
        for name in FIELDS:
            out[name] += event.get(name, 0)
        out["turns"] += 0 if event.get("corrects") else 1
    return out


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "ledger" / "events.jsonl")


@pytest.fixture
def projects(tmp_path: Path) -> Path:
    return tmp_path / "claude" / "projects" / "-src-p"


# -- mapping -------------------------------------------------------------------------------


def test_usage_maps_to_inclusive_prompt_and_keeps_the_cache_split(store: Store, projects: Path) -> None:
    """prompt = input + cache writes + cache reads; the 1-hour part of the writes is kept."""
    write(projects / "a.jsonl", line(inp=10, out=7, cw=300, cr=4000, cw1h=100, cost=0.25))
    import_claude_code(store, [projects])
    [event] = events(store)
    assert (event["prompt"], event["cached"], event["cache_write"]) == (4310, 4000, 300)
    assert (event["cache_write_1h"], event["completion"], event["total"]) == (100, 7, 4317)
    assert event["cost_usd"] == 0.25
    assert (event["session"], event["project"], event["source"]) == ("s1", "/src/p", "claude-code")
    assert event["ts"] == 1756720800 and event["calls"] == 1


def test_cache_split_alone_gives_the_cache_write(store: Store, projects: Path) -> None:
    """Without cache_creation_input_tokens, the 5m + 1h split is the cache write."""
    value = line(inp=1, out=1)
    value["message"]["usage"].pop("cache_creation_input_tokens")
    value["message"]["usage"]["cache_creation"] = {
        "ephemeral_5m_input_tokens": 20,
        "ephemeral_1h_input_tokens": 30,
    }
    write(projects / "a.jsonl", value)
    import_claude_code(store, [projects])
    [event] = events(store)
    assert (event["cache_write"], event["cache_write_1h"], event["prompt"]) == (50, 30, 51)


def test_sidechain_entries_are_tagged_as_subagent(store: Store, projects: Path) -> None:
    """A sidechain line becomes an event with role = subagent."""
    write(projects / "a.jsonl", line(side=True))
    import_claude_code(store, [projects])
    assert events(store)[0]["role"] == "subagent"


def test_synthetic_messages_do_not_count(store: Store, projects: Path) -> None:
    """The <synthetic> model is not usage."""
    summary = import_claude_code(
        store, [write(projects / "a.jsonl", line(model="<synthetic>", inp=3, out=3))]
    )
    assert events(store) == [] and summary.skipped == 1


def test_user_and_summary_lines_do_not_count(store: Store, projects: Path) -> None:
    """Lines without message usage, and user lines, add nothing."""
    write(
        projects / "a.jsonl",
        {"type": "summary", "summary": "x", "leafUuid": "l"},
        {"type": "user", "message": {"role": "user", "content": "hi"}},
        line(kind="user"),
    )
    summary = import_claude_code(store, [projects])
    assert events(store) == [] and summary.entries == 0 and summary.malformed == 0


def test_imported_lines_are_valid_events(store: Store) -> None:
    """Every line the importer writes parses as an Event."""
    import_claude_code(store, [FIXTURES])
    lines = store.path.read_bytes().splitlines()
    assert lines and all(Event.from_json(raw).source == "claude-code" for raw in lines)


# -- exactly once --------------------------------------------------------------------------


def test_a_message_copied_into_another_file_counts_once(store: Store, projects: Path) -> None:
    """Resumed sessions copy history under a new session id: same (message.id, requestId)."""
    write(projects / "old.jsonl", line(session="old"))
    write(projects / "new.jsonl", line(session="new"), line("msg_2", "req_2", session="new"))
    summary = import_claude_code(store, [projects])
    assert [e["session"] for e in events(store)] == ["old", "new"]
    assert summary.duplicates == 1


def test_a_second_run_adds_nothing(store: Store) -> None:
    """Importing the same tree twice leaves the ledger unchanged."""
    import_claude_code(store, [FIXTURES])
    before = store.path.read_bytes()
    summary = import_claude_code(store, [FIXTURES])
    assert store.path.read_bytes() == before and summary.events_added == 0


def test_the_same_message_id_with_another_request_id_is_another_call(store: Store, projects: Path) -> None:
    """The key is the pair: a retried request is billed again."""
    write(projects / "a.jsonl", line(rid="req_a"), line(rid="req_b"))
    import_claude_code(store, [projects])
    assert len(events(store)) == 2


def test_lines_without_message_id_are_deduplicated_by_uuid(store: Store, projects: Path) -> None:
    """A copied line without message.id is recognised by its uuid."""
    value = line()
    del value["message"]["id"]
    write(projects / "a.jsonl", value)
    write(projects / "b.jsonl", value)
    import_claude_code(store, [projects])
    assert len(events(store)) == 1


def test_streaming_chunks_in_one_run_keep_the_largest(store: Store, projects: Path) -> None:
    """Chunks of one message written with growing output: one event with the final usage."""
    write(projects / "a.jsonl", line(out=1), line(out=50), line(out=200))
    summary = import_claude_code(store, [projects])
    [event] = events(store)
    assert event["completion"] == 200 and summary.duplicates == 2


def test_a_larger_chunk_in_a_later_run_adds_a_correcting_event(store: Store, projects: Path) -> None:
    """The ledger ends with the largest usage even when chunks arrive in different runs."""
    path = write(projects / "a.jsonl", line(out=1, cr=100, ts="2025-09-01T23:59:59.900Z"))
    import_claude_code(store, [projects])
    write(path, line(out=300, cr=100, ts="2025-09-02T00:00:00.400Z"), mode="ab")
    summary = import_claude_code(store, [projects])
    original, fix = events(store)
    assert summary.corrections == 1
    assert fix["corrects"] == original["id"] and fix["id"] != original["id"]
    assert fix["completion"] == 299 and fix["prompt"] == 0 and fix.get("calls", 0) == 0
    assert fix["ts"] == original["ts"]
    assert totals(store)["completion"] == 300 and totals(store)["turns"] == 1


def test_a_smaller_chunk_after_a_larger_one_adds_nothing(store: Store, projects: Path) -> None:
    """Only growth is recorded."""
    path = write(projects / "a.jsonl", line(out=300))
    import_claude_code(store, [projects])
    write(path, line(out=2), mode="ab")
    summary = import_claude_code(store, [projects])
    assert totals(store)["completion"] == 300 and summary.duplicates == 1


def test_the_non_sidechain_copy_is_preferred(store: Store, projects: Path) -> None:
    """A message seen as sidechain replay and as the main line is recorded as the main line."""
    write(projects / "a.jsonl", line(side=True), line(side=False))
    import_claude_code(store, [projects])
    [event] = events(store)
    assert "role" not in event


# -- /btw side questions: a sidechain replays main-line responses under new request ids ------


def _btw(projects: Path) -> tuple[Path, Path]:
    """A session whose /btw side question replays its main-line response m1 (same message id,
    new request id, ``isSidechain``) and adds a response of its own, m3."""
    main = write(projects / "s1.jsonl", line("m1", "r1", cr=900), line("m2", "r2"))
    aside = write(
        projects / "s1" / "subagents" / "agent-aside_question-c5e5c961a7749e08.jsonl",
        line("m1", "r9", cr=900, side=True),
        line("m3", "r10", side=True),
    )
    os.utime(aside, ns=(main.stat().st_mtime_ns - 10**9,) * 2)  # the main transcript grows on after
    return main, aside


def test_a_side_question_replaying_a_main_line_response_counts_it_once(store: Store, projects: Path) -> None:
    """The replay is the same response, billed once: the main-line copy is kept; the side
    question's own response (another message id) counts."""
    _btw(projects)
    summary = import_claude_code(store, [projects])
    found = {e["id"]: e for e in events(store)}
    assert len(found) == 3 and summary.duplicates == 1
    assert sorted(e.get("role", "main") for e in found.values()) == ["main", "main", "subagent"]
    assert totals(store)["cached"] == 900


def test_a_replay_read_in_a_later_run_than_its_main_line_counts_once(store: Store, projects: Path) -> None:
    """The main transcript imported first (a Stop hook), the side question's file later."""
    main, aside = _btw(projects)
    import_claude_code(store, [main])
    assert import_claude_code(store, [aside]).events_added == 1
    assert len(events(store)) == 3 and totals(store)["cached"] == 900


def test_a_replay_read_before_its_main_line_still_counts_once(store: Store, projects: Path) -> None:
    """Even when the side question's file is imported first, the main line adds nothing."""
    main, aside = _btw(projects)
    import_claude_code(store, [aside])
    assert import_claude_code(store, [main]).events_added == 1
    assert len(events(store)) == 3 and totals(store)["cached"] == 900


def test_a_replay_in_the_same_file_keeps_the_main_line_copy(store: Store, projects: Path) -> None:
    """Older versions wrote sidechains into the main transcript: first or last, one event."""
    write(projects / "a.jsonl", line("m1", "r9", side=True), line("m1", "r1"))
    import_claude_code(store, [projects])
    [event] = events(store)
    assert "role" not in event


def test_replays_are_still_recognised_after_the_index_is_rebuilt(store: Store, projects: Path) -> None:
    """The index is a cache: lost, every transcript is read again and nothing doubles."""
    _btw(projects)
    import_claude_code(store, [projects])
    index_path(store.path).unlink()
    assert import_claude_code(store, [projects]).events_added == 0


def test_two_main_line_copies_under_other_request_ids_stay_two_calls(store: Store, projects: Path) -> None:
    """Only a sidechain copy is a replay: the pair rule stands for the main line."""
    write(projects / "a.jsonl", line("m1", "r1"))
    write(projects / "b.jsonl", line("m1", "r2"))
    import_claude_code(store, [projects])
    assert len(events(store)) == 2


def test_progress_lines_mirror_subagent_files_and_count_once(store: Store, projects: Path) -> None:
    """A subagent message in a progress line and in the subagent's own file counts once."""
    inner = line("msg_sub", "req_sub", side=True)
    progress = {
        "type": "progress",
        "sessionId": "s1",
        "cwd": "/src/p",
        "timestamp": "2025-09-01T10:00:01.000Z",
        "data": {"type": "agent_progress", "message": {**inner, "type": "assistant"}},
    }
    write(projects / "s1.jsonl", progress)
    write(projects / "s1" / "subagents" / "agent-x.jsonl", inner)
    import_claude_code(store, [projects])
    [event] = events(store)
    assert event["role"] == "subagent"


# -- incremental ---------------------------------------------------------------------------


def test_a_second_run_reads_only_what_was_appended(store: Store, projects: Path) -> None:
    """Unchanged files are not read; an appended one is read from where the last run stopped."""
    path = write(projects / "a.jsonl", line("m1"), line("m2"))
    write(projects / "b.jsonl", line("m3"))
    import_claude_code(store, [projects])
    write(path, line("m4"), mode="ab")
    summary = import_claude_code(store, [projects])
    assert (summary.files_read, summary.entries, summary.events_added) == (1, 1, 1)


def test_a_truncated_file_is_read_again_without_double_counting(store: Store, projects: Path) -> None:
    """A file that shrank is read from the start; what was recorded stays recorded once."""
    path = write(projects / "a.jsonl", line("m1"), line("m2"), line("m3"))
    import_claude_code(store, [projects])
    write(path, line("m1"), line("m5"))
    summary = import_claude_code(store, [projects])
    assert summary.events_added == 1 and len(events(store)) == 4


def test_a_replaced_file_is_read_again_without_double_counting(store: Store, projects: Path) -> None:
    """A new file under the same name (another inode) is read from the start."""
    path = write(projects / "a.jsonl", line("m1"))
    import_claude_code(store, [projects])
    replacement = write(projects / "tmp", line("m1"), line("m2"), line("m3"))
    replacement.replace(path)
    summary = import_claude_code(store, [projects])
    assert summary.events_added == 2 and summary.duplicates == 1


def test_a_file_rewritten_in_place_with_new_content_is_read_again(store: Store, projects: Path) -> None:
    """Same inode, grown, but different first bytes: not an append, so read from the start."""
    path = write(projects / "a.jsonl", line("m1"))
    import_claude_code(store, [projects])
    with path.open("r+b") as fh:
        fh.write(orjson.dumps(line("m9")) + b"\n" + orjson.dumps(line("m1")) + b"\n")
    summary = import_claude_code(store, [projects])
    assert summary.events_added == 1 and len(events(store)) == 2


def test_a_file_truncated_and_rewritten_longer_with_the_same_start_is_read_again(
    store: Store, projects: Path
) -> None:
    """Truncated in place and rewritten longer, its first 512 bytes unchanged: the bytes
    before the old offset changed, so the file is read from the start (every message once,
    none missed) rather than from where the last run stopped."""
    first = line("m0", cwd="/src/" + "p" * 600)  # one line longer than the head digest
    path = write(projects / "a.jsonl", first, *(line(f"old{i}") for i in range(5)))
    import_claude_code(store, [projects])
    write(path, first, *(line(f"new{i}") for i in range(12)))  # same inode, longer than before
    summary = import_claude_code(store, [projects])
    assert (summary.events_added, summary.duplicates) == (12, 1)
    ids = [e["id"] for e in events(store)]
    assert len(ids) == len(set(ids)) == 1 + 5 + 12


def test_an_unfinished_last_line_waits_for_the_rest(store: Store, projects: Path) -> None:
    """A half-written line is neither counted as malformed nor skipped for ever."""
    raw = orjson.dumps(line("m1"))
    path = write(projects / "a.jsonl", line("m0"))
    with path.open("ab") as fh:
        fh.write(raw[:40])
    first = import_claude_code(store, [projects])
    with path.open("ab") as fh:
        fh.write(raw[40:] + b"\n")
    second = import_claude_code(store, [projects])
    assert (first.events_added, first.malformed, second.events_added) == (1, 0, 1)


def test_a_lost_index_is_rebuilt_from_the_ledger(store: Store) -> None:
    """The ledger is the truth: without its import index nothing is imported twice."""
    import_claude_code(store, [FIXTURES])
    index_path(store.path).unlink()
    summary = import_claude_code(store, [FIXTURES])
    assert summary.events_added == 0 and summary.corrections == 0


def test_a_crash_before_the_index_is_committed_does_not_double_count(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Events written to the ledger by a run that died before committing its index are seen."""

    def crash(self: ImportIndex) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(ImportIndex, "commit", crash)
        with pytest.raises(KeyboardInterrupt):
            import_claude_code(store, [FIXTURES])
    written = len(events(store))
    summary = import_claude_code(store, [FIXTURES])
    assert written > 0 and summary.events_added == 0 and len(events(store)) == written


# -- paths ---------------------------------------------------------------------------------


def test_a_missing_path_is_an_error(store: Store, tmp_path: Path) -> None:
    """A path that does not exist is a clear error, not an empty import."""
    with pytest.raises(ImportPathError, match="no such file"):
        import_claude_code(store, [tmp_path / "nope"])


def test_an_empty_folder_is_a_zero_import(store: Store, tmp_path: Path) -> None:
    """An existing folder without transcripts imports nothing."""
    summary = import_claude_code(store, [tmp_path])
    assert (summary.files_seen, summary.events_added) == (0, 0)


def test_default_paths_follow_claude_config_dir(tmp_path: Path) -> None:
    """CLAUDE_CONFIG_DIR is comma-separated; folders that do not exist are left out."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    env = {"CLAUDE_CONFIG_DIR": f"{tmp_path / 'a'}, {tmp_path / 'b'},{tmp_path / 'c'}"}
    assert default_claude_paths(env) == [tmp_path / "a", tmp_path / "b"]


def test_default_paths_are_xdg_then_dot_claude(tmp_path: Path) -> None:
    """Without CLAUDE_CONFIG_DIR: $XDG_CONFIG_HOME/claude and ~/.claude."""
    (tmp_path / "xdg" / "claude").mkdir(parents=True)
    (tmp_path / "home" / ".claude").mkdir(parents=True)
    env = {"HOME": str(tmp_path / "home"), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    assert default_claude_paths(env) == [tmp_path / "xdg" / "claude", tmp_path / "home" / ".claude"]


def test_subagent_transcripts_below_projects_are_found(store: Store, tmp_path: Path) -> None:
    """A config folder is searched recursively under projects/."""
    root = tmp_path / "claude"
    write(root / "projects" / "-p" / "s1" / "subagents" / "agent-1.jsonl", line(side=True))
    summary = import_claude_code(store, [root])
    assert summary.events_added == 1


# -- bad input -----------------------------------------------------------------------------


def test_bad_input_is_skipped_and_counted(
    store: Store, projects: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A binary file, a huge line and invalid UTF-8 are counted as malformed, never fatal."""
    monkeypatch.setattr(importer_common, "MAX_LINE", 10_000)
    write(projects / "binary.jsonl", bytes(range(256)) * 8)
    huge = b'{"type":"assistant","message":{"usage":{"input_tokens":1,"output_tokens":1}},"x":"'
    write(projects / "a.jsonl", line("m1"), huge + b"y" * 50_000 + b'"}', line("m2"))
    bad_utf8 = orjson.dumps(line("m3")).replace(b"claude-sonnet", b"claude-\xff\xfeonnet")
    write(projects / "b.jsonl", bad_utf8, line("m4"))
    summary = import_claude_code(store, [projects])
    assert summary.events_added == 3
    assert summary.malformed >= 3


def test_bad_usage_values_are_malformed(store: Store, projects: Path) -> None:
    """Negative or non-integer token counts are not imported."""
    neg = line("m1", inp=-5)
    text = line("m2")
    text["message"]["usage"]["output_tokens"] = "12"
    write(projects / "a.jsonl", neg, text)
    summary = import_claude_code(store, [projects])
    assert events(store) == [] and summary.malformed == 2


# -- properties ----------------------------------------------------------------------------


def _transcript() -> list[bytes]:
    rows: list[bytes] = []
    for i in range(6):
        for out in (1, 40, 90 + i):
            rows.append(orjson.dumps(line(f"m{i}", f"r{i}", out=out, cr=10 * i, cw=i)))
        if i % 2:
            rows.append(orjson.dumps(line(f"m{i}", f"r{i}", out=90 + i, side=True)))
    return rows


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=6))
def test_any_split_into_runs_gives_the_totals_of_one_import(
    tmp_path_factory: pytest.TempPathFactory, cuts: list[int]
) -> None:
    """Appending a transcript in pieces (at any byte) and importing after each piece."""
    data = b"".join(row + b"\n" for row in _transcript())
    base = tmp_path_factory.mktemp("split")
    once = Store(base / "once" / "events.jsonl")
    write(base / "t1" / "a.jsonl", data)
    import_claude_code(once, [base / "t1"])
    pieces = Store(base / "pieces" / "events.jsonl")
    path = base / "t2" / "a.jsonl"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"")
    last = 0
    for cut in sorted({min(c, len(data)) for c in cuts} | {len(data)}):
        with path.open("ab") as fh:
            fh.write(data[last:cut])
        last = cut
        import_claude_code(pieces, [base / "t2"])
    assert totals(pieces) == totals(once)


def _import_worker(log: str, tree: str) -> None:
    import_claude_code(Store(log), [Path(tree)], workers=1)


def test_concurrent_imports_count_everything_once(tmp_path: Path) -> None:
    """Four processes importing the same tree at once leave it in the ledger once."""
    single = Store(tmp_path / "single" / "events.jsonl")
    import_claude_code(single, [FIXTURES])
    log = tmp_path / "shared" / "events.jsonl"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_import_worker, args=(str(log), str(FIXTURES))) for _ in range(4)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
    assert all(proc.exitcode == 0 for proc in procs)
    assert totals(Store(log)) == totals(single)
    assert len(events(Store(log))) == len(events(single))


def test_parsing_in_worker_processes_gives_the_same_ledger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files parsed by two worker processes import byte for byte what one process imports."""
    monkeypatch.setattr(claude_code, "PARALLEL_BYTES", 0)
    ledgers = []
    for workers in (1, 2):
        ledger = Store(tmp_path / f"w{workers}" / "events.jsonl")
        summary = import_claude_code(ledger, [FIXTURES], workers=workers)
        ledgers.append((ledger.path.read_bytes(), summary))
    assert ledgers[0] == ledgers[1]


def test_the_fixture_tree_has_every_message_once(store: Store) -> None:
    """On the generated fixtures: one event per distinct non-synthetic message."""
    import_claude_code(store, [FIXTURES])
    ids = [e["id"] for e in events(store)]
    assert len(ids) == len(set(ids)) > 50


# -- fast paths ----------------------------------------------------------------------------


def test_the_fast_decoder_and_the_full_parse_give_the_same_ledger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lines of every shape import byte for byte the same through msgspec as through orjson."""
    odd = line("m_odd", cr=7)
    odd["message"]["usage"]["cache_creation_input_tokens"] = None
    strings = line("m_str")
    strings["message"]["usage"]["output_tokens"] = "5"
    tree = tmp_path / "tree" / "projects" / "-p"
    shutil.copytree(FIXTURES, tree.parent, dirs_exist_ok=True)
    write(tree / "odd.jsonl", odd, strings, line("m_x", side=True), line("m_x"), b'{"usage":1}', b"[1]")
    fast = Store(tmp_path / "fast" / "events.jsonl")
    fast_summary = import_claude_code(fast, [tree.parent])

    def refuse(raw: bytes) -> Any:
        raise msgspec.DecodeError("forced")

    monkeypatch.setattr(claude_code, "_decode_line", refuse)
    full = Store(tmp_path / "full" / "events.jsonl")
    full_summary = import_claude_code(full, [tree.parent])
    assert fast.path.read_bytes() == full.path.read_bytes()
    assert fast_summary == full_summary


def test_invalid_utf8_in_a_skipped_field_is_malformed(store: Store, projects: Path) -> None:
    """msgspec skips the content unchecked; the line is still refused like orjson refuses it."""
    raw = orjson.dumps(line("m1")).replace(b'"role":"assistant"', b'"role":"assist\xffant"')
    write(projects / "a.jsonl", raw, line("m2"))
    summary = import_claude_code(store, [projects])
    assert (summary.events_added, summary.malformed) == (1, 1)


def test_a_resumed_session_with_a_repeated_key_counts_each_message_once(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file with some keys met before is settled key by key; a key that repeats in it (two
    messages hashing alike) compares with its first copy, so the larger one is a correction."""
    first = tmp_path / "claude" / "projects" / "-src-p" / "a.jsonl"
    write(first, line("m1", out=5), line("m2", out=5))
    resumed = first.with_name("b.jsonl")
    write(resumed, line("m1", out=5), line("m3", out=5), line("m4", out=7))
    real = claude_code._winners
    k3, k4 = key_of("m3", "req_1"), key_of("m4", "req_1")

    def clashing(pending: Any, tally: Any) -> tuple[bytes, bytes, bytes, bytes]:  # m4 hashes like m3
        keys, counts, aliases, blob = real(pending, tally)
        return array("Q", [k3 if k == k4 else k for k in array("Q", keys)]).tobytes(), counts, aliases, blob

    monkeypatch.setattr(claude_code, "_winners", clashing)
    summary = import_claude_code(store, [tmp_path / "claude" / "projects"], workers=1)
    assert (summary.events_added, summary.corrections) == (3, 1)
    assert totals(store)["completion"] == 5 + 5 + 7
    assert import_claude_code(store, [tmp_path / "claude" / "projects"], workers=1).events_added == 0


@st.composite
def a_strange_line(draw: st.DrawFn) -> dict[str, Any]:
    """A transcript line whose fields may hold any JSON value, usage included."""
    value = line(f"m{draw(st.integers(0, 3))}", f"r{draw(st.integers(0, 3))}")
    if draw(st.booleans()):  # a 5-minute / 1-hour split, counts of any size
        counts = st.integers(-(2**64), 2**64) | JSON_ANY
        value["message"]["usage"]["cache_creation"] = {
            "ephemeral_5m_input_tokens": draw(counts),
            "ephemeral_1h_input_tokens": draw(counts),
        }
    for path in draw(st.lists(st.sampled_from(STRANGE_PATHS), max_size=4)):
        set_at(value, path, draw(JSON_ANY))
    return value


STRANGE_PATHS = [
    ("type",),
    ("timestamp",),
    ("sessionId",),
    ("cwd",),
    ("requestId",),
    ("uuid",),
    ("isSidechain",),
    ("costUSD",),
    ("message",),
    ("message", "id"),
    ("message", "model"),
    ("message", "usage"),
    ("message", "usage", "input_tokens"),
    ("message", "usage", "output_tokens"),
    ("message", "usage", "cache_creation_input_tokens"),
    ("message", "usage", "cache_read_input_tokens"),
    ("message", "usage", "cache_creation"),
]  # fmt: skip


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(a_strange_line(), min_size=1, max_size=6))
def test_any_json_in_any_field_is_never_fatal(tmp_path: Path, lines: list[dict[str, Any]]) -> None:
    """Lines whose fields hold lists, objects, numbers where text belongs (and so on) are
    imported or counted, never a crash; a second run adds nothing."""
    import json
    import tempfile

    with tempfile.TemporaryDirectory(dir=tmp_path) as tmp:
        root = Path(tmp)
        # The standard library's json, which writes integers of any size (orjson stops at 64 bits).
        encoded = [json.dumps(v).encode() for v in lines]
        write(root / "claude" / "projects" / "-p" / "t.jsonl", *encoded)
        ledger = Store(root / "ledger" / "events.jsonl")
        first = import_claude_code(ledger, [root / "claude"], workers=1)
        again = import_claude_code(ledger, [root / "claude"], workers=1)
        assert first.entries + first.malformed + first.skipped <= len(lines) + first.duplicates
        assert again.events_added == 0
        written = root / "ledger" / "events.jsonl"
        if written.exists():
            assert all(orjson.loads(raw) for raw in written.read_bytes().splitlines())


def test_symbolic_link_loops_end_and_linked_folders_count_once(store: Store, tmp_path: Path) -> None:
    """A link to the folder itself or to a parent (``self -> .``, ``loop -> ..``) and two
    folders linking to each other end the walk; a transcript reached through links counts
    once. Before, such a tree kept the import walking for ever."""
    root = tmp_path / "claude" / "projects"
    a = root / "-a"
    b = root / "-b"
    write(a / "t.jsonl", line("m1", "r1"))
    write(b / "u.jsonl", line("m2", "r2"))
    (a / "self").symlink_to(".")
    (a / "loop").symlink_to("..")
    (a / "to-b").symlink_to(b)
    (b / "to-a").symlink_to(a)
    summary = import_claude_code(store, [tmp_path / "claude"], workers=1)
    assert (summary.files_seen, summary.events_added) == (2, 2)
    again = import_claude_code(store, [tmp_path / "claude"], workers=1)
    assert again.events_added == 0 and again.files_read == 0


def test_a_named_pipe_in_the_tree_is_left_alone(store: Store, tmp_path: Path) -> None:
    """Only regular files are read: a pipe named like a transcript would block the read."""
    import os

    folder = tmp_path / "claude" / "projects" / "-p"
    write(folder / "t.jsonl", line("m1", "r1"))
    os.mkfifo(folder / "pipe.jsonl")
    summary = import_claude_code(store, [tmp_path / "claude"], workers=1)
    assert (summary.files_seen, summary.events_added) == (1, 1)


# -- the fast paths agree with their plain definitions ----------------------------------------


def _usage_lines_reference(block: bytes) -> tuple[list[bytes], int]:
    """What ``_usage_lines`` must return, by its definition: split, then look at each line."""
    kept, malformed = [], 0
    for line in block.split(b"\n"):
        if b'"usage"' in line:
            kept.append(line)
        elif line.strip() and not (line.startswith(b"{") and line.rstrip().endswith(b"}")):
            malformed += 1
    return kept, malformed


_LINE_PIECES = st.sampled_from(
    [
        b'{"type":"assistant","message":{"usage":{"input_tokens":1,"output_tokens":2}}}',
        b'{"type":"user","message":{"content":"no tokens here"}}',
        b'{"type":"user","message":{"content":"the word \\"usage\\" in text"}}',
        b'{"usage"}',
        b"",
        b"   ",
        b'{"a":1}\r',
        b'{"a":1} ',
        b"{",
        b"}",
        b"not json",
        b'"usage"',
        b'x{"usage":1}',
        b"\xff\xfe",
    ]
)


@given(st.lists(st.one_of(_LINE_PIECES, st.binary(max_size=12).filter(lambda b: b"\n" not in b)), min_size=1))
def test_usage_lines_agree_with_splitting(lines: list[bytes]) -> None:
    block = b"\n".join(lines)
    tally = importer_common.Tally()
    kept = claude_code._usage_lines(block, tally)
    assert (kept, tally.malformed) == _usage_lines_reference(block)


_UTC_TIMES = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
)


@given(_UTC_TIMES, st.sampled_from(["seconds", "milliseconds", "microseconds"]))
def test_iso_to_unix_is_exact_in_whole_seconds(when: datetime, spec: str) -> None:
    stamp = when.isoformat(timespec=spec).replace("+00:00", "Z")
    expected = calendar.timegm(when.timetuple())  # integer arithmetic: the floor, exactly
    assert importer_common.iso_to_unix(stamp) == expected


def test_iso_to_unix_keeps_the_general_parsers_answers() -> None:
    # A float timestamp rounds .999999 up far from 1970; whole seconds do not.
    assert importer_common.iso_to_unix("9999-12-31T23:59:59.999999Z") == 253402300799
    assert importer_common.iso_to_unix("0001-01-01T00:00:00.999999Z") == -62135596800
    # What fromisoformat refuses still goes to the general parser: a leap second counts as
    # the next minute's first second, as before.
    assert importer_common.iso_to_unix("2016-12-31T23:59:60Z") == 1483228800
    assert importer_common.iso_to_unix("2025-08-21T10:11:12.5abcZ") == 1755771072
    assert importer_common.iso_to_unix("9999-12-31T23:59:59.999999+00:00") == 253402300799
    assert importer_common.iso_to_unix("2025-08-21T12:11:12.999999+02:00") == 1755771072
    assert importer_common.iso_to_unix("yesterday") is None
    assert importer_common.iso_to_unix(17) is None
