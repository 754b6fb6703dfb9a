"""The Gemini CLI importer: token mapping, replaced and rewound messages, old files, exactly once."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import orjson
import pytest
from agents import GARBAGE, events, imports_the_same, never_fatal, strange, write_lines
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import JSON_ANY

from jusage.importers import default_gemini_cli_paths, import_gemini_cli
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
    write_lines(chat(home), META, reply(toks=tokens()))
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
    write_lines(chat(home), META, reply(toks=toks))
    import_gemini_cli(store, [home])
    [event] = events(store)
    assert (event["prompt"], event["cached"]) == (1005, 600)


def test_user_and_info_messages_and_replies_without_tokens_do_not_count(store: Store, home: Path) -> None:
    """Only gemini replies with tokens are calls."""
    user = {"id": "u-1", "timestamp": "2025-09-01T10:00:00.000Z", "type": "user", "content": "hi"}
    info = {"id": "i-1", "timestamp": "2025-09-01T10:00:00.000Z", "type": "info", "tokens": tokens()}
    write_lines(chat(home), META, user, info, reply())
    summary = import_gemini_cli(store, [home])
    assert summary.entries == 0 and events(store) == []


# -- exactly once ----------------------------------------------------------------------------


def test_a_message_written_again_counts_once(store: Store, home: Path) -> None:
    """The reply is written without tokens, with them, and again with tool calls: one call."""
    write_lines(
        chat(home), META, reply(), reply(toks=tokens()), reply(toks=tokens(), toolCalls=[{"id": "c"}])
    )
    summary = import_gemini_cli(store, [home])
    assert len(events(store)) == 1 and summary.duplicates == 1


def test_a_later_copy_with_more_tokens_adds_a_correction(store: Store, home: Path) -> None:
    """A copy with more tokens in a later run adds the difference, on the original's day."""
    path = write_lines(chat(home), META, reply(toks=tokens(inp=1000)))
    import_gemini_cli(store, [home])
    write_lines(path, reply(toks=tokens(inp=1500), timestamp="2025-09-02T10:00:00.000Z"), mode="ab")
    summary = import_gemini_cli(store, [home])
    first, fix = events(store)
    assert summary.corrections == 1 and fix["corrects"] == first["id"]
    assert (fix["prompt"], fix["completion"], fix["ts"]) == (500, 0, first["ts"])


def test_the_messages_of_a_set_line_are_copies(store: Store, home: Path) -> None:
    """A ``$set`` carrying the whole message list again adds nothing."""
    message = reply(toks=tokens())
    write_lines(
        chat(home), META, message, {"$set": {"messages": [message], "lastUpdated": "2025-09-01T11:00:00Z"}}
    )
    import_gemini_cli(store, [home])
    assert len(events(store)) == 1


def test_a_rewind_keeps_what_was_spent(store: Store, home: Path) -> None:
    """Messages rewound away were billed: they stay, and the replies after the rewind count."""
    user = {"id": "u-1", "timestamp": "2025-09-01T10:00:00.000Z", "type": "user", "content": "hi"}
    write_lines(
        chat(home), META, user, reply("m-1", tokens()), {"$rewindTo": "u-1"}, user, reply("m-2", tokens())
    )
    import_gemini_cli(store, [home])
    assert len(events(store)) == 2


def test_an_old_session_file_and_its_migrated_copy_count_once(store: Store, home: Path) -> None:
    """A ``session-*.json`` and the ``.jsonl`` a newer Gemini CLI copied it into: once."""
    whole = {**META, "lastUpdated": "2025-09-01T10:00:09.000Z", "messages": [reply("m-1", tokens())]}
    chat(home, "session-a.json").parent.mkdir(parents=True)
    chat(home, "session-a.json").write_bytes(orjson.dumps(whole))
    write_lines(chat(home, "session-a.jsonl"), META, reply("m-1", tokens()), reply("m-2", tokens()))
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


# -- incremental ---------------------------------------------------------------------------


def test_appended_lines_are_read_with_the_sessions_context(store: Store, home: Path) -> None:
    """A second run reads only the new reply and still knows the session from the first line."""
    path = write_lines(chat(home), META, reply("m-1", tokens()))
    import_gemini_cli(store, [home])
    write_lines(path, reply("m-2", tokens()), mode="ab")
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
    write_lines(chat(home, "s-1/s-2.jsonl"), sub, reply("m-9", tokens()))
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
    write_lines(chat(home), meta, reply(toks=tokens()))
    import_gemini_cli(store, [home])
    assert events(store)[0]["project"] == project


def test_default_paths_follow_gemini_cli_home(tmp_path: Path) -> None:
    """GEMINI_CLI_HOME replaces the home folder; nothing when there is no ``.gemini``."""
    (tmp_path / "alt" / ".gemini").mkdir(parents=True)
    assert default_gemini_cli_paths({"GEMINI_CLI_HOME": str(tmp_path / "alt")}) == [
        tmp_path / "alt" / ".gemini"
    ]
    assert default_gemini_cli_paths({"HOME": str(tmp_path)}) == []


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
    write_lines(chat(home), META, bad, reply("m-2", tokens()))
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
        write_lines(base / "clean" / "chats" / "session-a.jsonl", *good)
        write_lines(base / "dirty" / "chats" / "session-a.jsonl", *good[:where], *garbage, *good[where:])
        imports_the_same(import_gemini_cli, base / "clean", base / "dirty")


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
        write_lines(folder / "session-a.jsonl", meta, record)
        never_fatal(import_gemini_cli, folder)
