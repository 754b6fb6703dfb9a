"""The Gemini CLI importer: token mapping, replaced and rewound messages, old files, exactly once."""

from __future__ import annotations

import multiprocessing
import shutil
import tempfile
from pathlib import Path
from typing import Any

import orjson
import pytest
from agents import FIXTURES, GARBAGE, events, fixture_totals, generate, same_totals, strange, totals
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import JSON_ANY

from jusage.importers import ImportPathError, default_gemini_cli_paths, import_gemini_cli
from jusage.store import Store

PROJECT = "/home/ada/src/ledger"
META = {"sessionId": "s-1", "projectHash": "ab12", "startTime": "2025-09-01T10:00:00.000Z"}


def tokens(
    inp: int = 1000, out: int = 50, cached: int = 600, thoughts: int = 30, tool: int = 5
) -> dict[str, int]:
    return {
        "input": inp,
        "output": out,
        "cached": cached,
        "thoughts": thoughts,
        "tool": tool,
        "total": inp + out + thoughts + tool,
    }


def reply(ident: str = "m-1", toks: dict[str, int] | None = None, **extra: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "id": ident,
        "timestamp": "2025-09-01T10:00:05.000Z",
        "type": "gemini",
        "content": "done",
        "model": "gemini-2.5-pro",
    }
    if toks is not None:
        value["tokens"] = toks
    return {**value, **extra}


def write(path: Path, *records: dict[str, Any] | bytes, mode: str = "wb") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open(mode) as fh:
        fh.write(b"".join((r if isinstance(r, bytes) else orjson.dumps(r)) + b"\n" for r in records))
    return path


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "ledger" / "events.jsonl")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A ``.gemini`` folder with one project (``.project_root`` naming its folder)."""
    folder = tmp_path / ".gemini" / "tmp" / "ledger"
    folder.mkdir(parents=True)
    (folder / ".project_root").write_text(PROJECT + "\n")
    return tmp_path / ".gemini"


def chat(home: Path, name: str = "session-2025-09-01T10-00-s1.jsonl") -> Path:
    return home / "tmp" / "ledger" / "chats" / name


# -- mapping -------------------------------------------------------------------------------


def test_tokens_map_to_the_inclusive_convention(store: Store, home: Path) -> None:
    """prompt = input + tool (input holds the cache), completion = output + thoughts."""
    write(chat(home), META, reply(toks=tokens()))
    import_gemini_cli(store, [home])
    [event] = events(store)
    assert (event["prompt"], event["cached"], event["completion"], event["reasoning"]) == (1005, 600, 80, 30)
    assert event["total"] == 1085 and event["calls"] == 1
    assert (event["model"], event["session"], event["project"]) == ("gemini-2.5-pro", "s-1", PROJECT)
    assert (event["source"], event["provider"]) == ("gemini-cli", "google")
    assert event["id"].startswith("gm-") and event["host"] and "cost_usd" not in event


def test_an_input_that_leaves_the_cache_out_gets_it_added(store: Store, home: Path) -> None:
    """When total = input + cached + output + thoughts + tool, the cache was outside input."""
    toks = tokens(inp=400, cached=600)
    toks["total"] += 600
    write(chat(home), META, reply(toks=toks))
    import_gemini_cli(store, [home])
    [event] = events(store)
    assert (event["prompt"], event["cached"]) == (1005, 600)


def test_user_and_info_messages_and_replies_without_tokens_do_not_count(store: Store, home: Path) -> None:
    """Only gemini replies with tokens are calls."""
    user = {"id": "u-1", "timestamp": "2025-09-01T10:00:00.000Z", "type": "user", "content": "hi"}
    info = {"id": "i-1", "timestamp": "2025-09-01T10:00:00.000Z", "type": "info", "tokens": tokens()}
    write(chat(home), META, user, info, reply())
    summary = import_gemini_cli(store, [home])
    assert summary.entries == 0 and events(store) == []


# -- exactly once ----------------------------------------------------------------------------


def test_a_message_written_again_counts_once(store: Store, home: Path) -> None:
    """The reply is written without tokens, with them, and again with tool calls: one call."""
    write(chat(home), META, reply(), reply(toks=tokens()), reply(toks=tokens(), toolCalls=[{"id": "c"}]))
    summary = import_gemini_cli(store, [home])
    assert len(events(store)) == 1 and summary.duplicates == 1


def test_a_later_copy_with_more_tokens_adds_a_correction(store: Store, home: Path) -> None:
    """A copy with more tokens in a later run adds the difference, on the original's day."""
    path = write(chat(home), META, reply(toks=tokens(inp=1000)))
    import_gemini_cli(store, [home])
    write(path, reply(toks=tokens(inp=1500), timestamp="2025-09-02T10:00:00.000Z"), mode="ab")
    summary = import_gemini_cli(store, [home])
    first, fix = events(store)
    assert summary.corrections == 1 and fix["corrects"] == first["id"]
    assert (fix["prompt"], fix["completion"], fix["ts"]) == (500, 0, first["ts"])


def test_the_messages_of_a_set_line_are_copies(store: Store, home: Path) -> None:
    """A ``$set`` carrying the whole message list again adds nothing."""
    message = reply(toks=tokens())
    write(chat(home), META, message, {"$set": {"messages": [message], "lastUpdated": "2025-09-01T11:00:00Z"}})
    import_gemini_cli(store, [home])
    assert len(events(store)) == 1


def test_a_rewind_keeps_what_was_spent(store: Store, home: Path) -> None:
    """Messages rewound away were billed: they stay, and the replies after the rewind count."""
    user = {"id": "u-1", "timestamp": "2025-09-01T10:00:00.000Z", "type": "user", "content": "hi"}
    write(chat(home), META, user, reply("m-1", tokens()), {"$rewindTo": "u-1"}, user, reply("m-2", tokens()))
    import_gemini_cli(store, [home])
    assert len(events(store)) == 2


def test_an_old_session_file_and_its_migrated_copy_count_once(store: Store, home: Path) -> None:
    """A ``session-*.json`` and the ``.jsonl`` a newer Gemini CLI copied it into: once."""
    whole = {**META, "lastUpdated": "2025-09-01T10:00:09.000Z", "messages": [reply("m-1", tokens())]}
    chat(home, "session-a.json").parent.mkdir(parents=True)
    chat(home, "session-a.json").write_bytes(orjson.dumps(whole))
    write(chat(home, "session-a.jsonl"), META, reply("m-1", tokens()), reply("m-2", tokens()))
    import_gemini_cli(store, [home])
    assert sorted(e["prompt"] for e in events(store)) == [1005, 1005] and len(events(store)) == 2


def test_a_rewritten_old_session_file_is_read_again_for_its_new_messages(store: Store, home: Path) -> None:
    """An old-style file rewritten whole: only the message that is new is added."""
    path = chat(home, "session-a.json")
    path.parent.mkdir(parents=True)
    path.write_bytes(orjson.dumps({**META, "messages": [reply("m-1", tokens())]}))
    import_gemini_cli(store, [home])
    path.write_bytes(orjson.dumps({**META, "messages": [reply("m-1", tokens()), reply("m-2", tokens())]}))
    summary = import_gemini_cli(store, [home])
    assert (summary.events_added, summary.duplicates, len(events(store))) == (1, 1, 2)


def test_a_second_run_adds_nothing_and_opens_nothing(store: Store) -> None:
    """Re-importing the fixture tree is a no-op that reads no file."""
    first = import_gemini_cli(store, [FIXTURES / "gemini-cli"])
    second = import_gemini_cli(store, [FIXTURES / "gemini-cli"])
    assert first.events_added > 0 and (second.events_added, second.files_read) == (0, 0)


def test_the_fixture_tree_has_the_generators_totals(store: Store) -> None:
    """The committed fixtures import to the totals they were generated with."""
    summary = import_gemini_cli(store, [FIXTURES / "gemini-cli"])
    assert same_totals(totals(store), fixture_totals("gemini-cli")) and summary.malformed == 1


def test_a_generated_tree_imports_to_the_generators_totals(store: Store, tmp_path: Path) -> None:
    """Replies rewritten, ``$set`` copies, rewinds, subagents, old and migrated files."""
    expected = generate("gemini", tmp_path / "gemini", 400)
    summary = import_gemini_cli(store, [tmp_path / "gemini"])
    assert same_totals(totals(store), expected) and summary.malformed > 0


def _import_worker(log: str, tree: str) -> None:
    import_gemini_cli(Store(log), [Path(tree)])


def test_concurrent_imports_count_everything_once(tmp_path: Path) -> None:
    """Three processes importing one tree at once leave it in the ledger once."""
    log = tmp_path / "ledger" / "events.jsonl"
    ctx = multiprocessing.get_context("spawn")
    procs = [
        ctx.Process(target=_import_worker, args=(str(log), str(FIXTURES / "gemini-cli"))) for _ in range(3)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
    assert all(proc.exitcode == 0 for proc in procs)
    assert same_totals(totals(Store(log)), fixture_totals("gemini-cli"))


# -- incremental ---------------------------------------------------------------------------


def test_appended_lines_are_read_with_the_sessions_context(store: Store, home: Path) -> None:
    """A second run reads only the new reply and still knows the session from the first line."""
    path = write(chat(home), META, reply("m-1", tokens()))
    import_gemini_cli(store, [home])
    write(path, reply("m-2", tokens()), mode="ab")
    summary = import_gemini_cli(store, [home])
    assert (summary.entries, events(store)[-1]["session"], events(store)[-1]["project"]) == (
        1,
        "s-1",
        PROJECT,
    )


# -- where things are --------------------------------------------------------------------------


def test_a_subagents_recording_is_found_and_tagged(store: Store, home: Path) -> None:
    """``chats/<parent>/<id>.jsonl`` holds a subagent's calls: role subagent, same project."""
    sub = {**META, "sessionId": "s-2", "kind": "subagent", "directories": ["/elsewhere"]}
    write(chat(home, "s-1/s-2.jsonl"), sub, reply("m-9", tokens()))
    import_gemini_cli(store, [home])
    [event] = events(store)
    assert (event["role"], event["session"], event["project"]) == ("subagent", "s-2", PROJECT)


@pytest.mark.parametrize(
    ("root_file", "meta", "project"),
    [
        (False, {**META, "directories": ["/work/app"]}, "/work/app"),
        (False, META, "ledger"),
    ],
    ids=["workspace-directory", "folder-name"],
)
def test_without_a_project_root_file_the_project_falls_back(
    store: Store, home: Path, root_file: bool, meta: dict[str, Any], project: str
) -> None:
    """No ``.project_root``: the session's first workspace directory, else the folder's name."""
    (home / "tmp" / "ledger" / ".project_root").unlink()
    write(chat(home), meta, reply(toks=tokens()))
    import_gemini_cli(store, [home])
    assert events(store)[0]["project"] == project


def test_default_paths_follow_gemini_cli_home(tmp_path: Path) -> None:
    """GEMINI_CLI_HOME replaces the home folder; nothing when there is no ``.gemini``."""
    (tmp_path / "alt" / ".gemini").mkdir(parents=True)
    assert default_gemini_cli_paths({"GEMINI_CLI_HOME": str(tmp_path / "alt")}) == [
        tmp_path / "alt" / ".gemini"
    ]
    assert default_gemini_cli_paths({"HOME": str(tmp_path)}) == []


def test_a_missing_path_is_an_error(store: Store, tmp_path: Path) -> None:
    """A path that does not exist raises ImportPathError."""
    with pytest.raises(ImportPathError):
        import_gemini_cli(store, [tmp_path / "nowhere"])


# -- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        b"not json",
        b"[1, 2]",
        orjson.dumps(reply(toks={**tokens(), "input": -1})),
        orjson.dumps(reply(toks={**tokens(), "output": "12"})),
        orjson.dumps(reply(toks={**tokens(), "input": 2**60})),
        orjson.dumps(reply(toks=tokens(), timestamp="yesterday")),
        orjson.dumps(reply(toks=tokens(), timestamp="10000-01-01T00:00:00Z")),
    ],
    ids=["text", "array", "negative", "string", "huge", "no-time", "year-10000"],
)
def test_malformed_records_are_skipped_and_counted(store: Store, home: Path, bad: bytes) -> None:
    """A bad line or value is counted as malformed; the good reply beside it still counts."""
    write(chat(home), META, bad, reply("m-2", tokens()))
    summary = import_gemini_cli(store, [home])
    assert (summary.malformed, summary.events_added) == (1, 1)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(garbage=st.lists(GARBAGE, min_size=1, max_size=4), where=st.integers(0, 3))
def test_garbage_lines_never_raise_nor_change_the_other_lines(
    tmp_path: Path, garbage: list[bytes], where: int
) -> None:
    """Any line of anything among good ones: no exception, and the good ones import the same."""
    good = [orjson.dumps(r) for r in (META, reply("m-1", tokens()), reply("m-2", tokens(inp=7)))]
    with tempfile.TemporaryDirectory(dir=tmp_path) as tmp:
        base = Path(tmp)
        write(base / "clean" / "chats" / "session-a.jsonl", *good)
        write(base / "dirty" / "chats" / "session-a.jsonl", *good[:where], *garbage, *good[where:])
        clean, dirty = Store(base / "l1" / "events.jsonl"), Store(base / "l2" / "events.jsonl")
        import_gemini_cli(clean, [base / "clean"])
        import_gemini_cli(dirty, [base / "dirty"])
        kept = {(e["id"], e["prompt"], e["completion"]) for e in events(dirty)}
        assert {(e["id"], e["prompt"], e["completion"]) for e in events(clean)} <= kept
        assert import_gemini_cli(dirty, [base / "dirty"]).events_added == 0


def test_a_copied_tree_counts_once(store: Store, tmp_path: Path) -> None:
    """The same recordings under another folder (a backup) add nothing."""
    import_gemini_cli(store, [FIXTURES / "gemini-cli"])
    shutil.copytree(FIXTURES / "gemini-cli", tmp_path / "backup")
    assert import_gemini_cli(store, [tmp_path / "backup"]).events_added == 0


STRANGE = [
    ("id",),
    ("type",),
    ("timestamp",),
    ("model",),
    ("tokens",),
    ("tokens", "input"),
    ("tokens", "cached"),
    ("tokens", "thoughts"),
    ("tokens", "total"),
    ("toolCalls",),
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    changes=st.lists(
        st.tuples(
            st.sampled_from(
                [
                    *STRANGE,
                    ("meta", "sessionId"),
                    ("meta", "kind"),
                    ("meta", "directories"),
                    ("meta", "messages"),
                ]
            ),
            JSON_ANY,
        ),
        max_size=4,
    )
)
def test_any_json_in_any_field_is_never_fatal(
    tmp_path: Path, changes: list[tuple[tuple[str, ...], Any]]
) -> None:
    """Lists, objects, huge or fractional numbers where counts, names and times belong: the
    record is imported or counted as malformed, never a crash; a second run adds nothing."""
    record = strange(reply(toks=tokens()), changes)
    with tempfile.TemporaryDirectory(dir=tmp_path) as tmp:
        folder = Path(tmp) / "chats"
        meta = strange(META, [(path[1:], value) for path, value in changes if path[0] == "meta"])
        write(folder / "session-a.jsonl", meta, record)
        ledger = Store(Path(tmp) / "ledger" / "events.jsonl")
        import_gemini_cli(ledger, [folder])
        assert import_gemini_cli(ledger, [folder]).events_added == 0
        assert len(events(ledger)) <= 1
