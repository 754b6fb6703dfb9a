"""The Qwen Code importer: the three conventions for thoughts, branches and subagents, exactly once."""

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

from jusage.importers import default_qwen_code_paths, import_qwen_code
from jusage.store import Store

CWD = "/home/ada/src/ledger"


def assistant(uuid: str = "r-1", usage: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "uuid": uuid,
        "parentUuid": None,
        "sessionId": "s-1",
        "timestamp": "2025-09-01T10:00:05.000Z",
        "type": "assistant",
        "cwd": CWD,
        "version": "0.2.3",
        "model": "qwen3-coder-plus",
        "message": {"role": "model", "parts": []},
    }
    if usage is not None:
        value["usageMetadata"] = usage
    return {**value, **extra}


def openai(
    prompt: int = 1000, completion: int = 200, thoughts: int = 50, cached: int = 600
) -> dict[str, int]:
    """Qwen Code's OpenAI converter: prompt holds the cache, candidates hold the thoughts."""
    return {
        "promptTokenCount": prompt,
        "candidatesTokenCount": completion,
        "thoughtsTokenCount": thoughts,
        "cachedContentTokenCount": cached,
        "totalTokenCount": prompt + completion,
    }


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "ledger" / "events.jsonl")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / ".qwen"


def log(home: Path, name: str = "s-1") -> Path:
    return home / "projects" / "-home-ada-src-ledger" / "chats" / f"{name}.jsonl"


# -- mapping -------------------------------------------------------------------------------


def test_an_openai_backed_call_keeps_its_thoughts_inside_the_completion(store: Store, home: Path) -> None:
    """total = prompt + candidates: the thoughts are part of the candidates already."""
    write_lines(log(home), assistant(usage=openai()))
    import_qwen_code(store, [home])
    [event] = events(store)
    assert (event["prompt"], event["cached"], event["completion"], event["reasoning"]) == (1000, 600, 200, 50)
    assert (event["model"], event["session"], event["project"], event["source"]) == (
        "qwen3-coder-plus",
        "s-1",
        CWD,
        "qwen-code",
    )
    assert event["id"].startswith("qw-") and "provider" not in event and "cost_usd" not in event


def test_a_gemini_backed_call_adds_its_thoughts(store: Store, home: Path) -> None:
    """total = prompt + candidates + thoughts: Gemini keeps the thoughts apart."""
    usage = {**openai(), "totalTokenCount": 1250}
    write_lines(log(home), assistant(usage=usage))
    import_qwen_code(store, [home])
    assert (events(store)[0]["completion"], events(store)[0]["reasoning"]) == (250, 50)


def test_a_total_without_a_split_counts_as_prompt(store: Store, home: Path) -> None:
    """A provider that gave only a total: all of it in the prompt."""
    write_lines(log(home), assistant(usage={"totalTokenCount": 900}))
    import_qwen_code(store, [home])
    assert (events(store)[0]["prompt"], events(store)[0]["completion"]) == (900, 0)


def test_records_other_than_assistant_calls_do_not_count(store: Store, home: Path) -> None:
    """User, tool-result and system records, and an assistant record without usage."""
    user = {**assistant(uuid="u"), "type": "user", "usageMetadata": openai()}
    write_lines(log(home), user, {**assistant(uuid="t"), "type": "tool_result"}, assistant(uuid="a"))
    assert import_qwen_code(store, [home]).entries == 0


# -- exactly once ----------------------------------------------------------------------------


def test_a_branch_copy_of_a_session_counts_once(store: Store, home: Path) -> None:
    """/branch copies records with their uuid into a new session's log: counted once."""
    write_lines(log(home), assistant(usage=openai()))
    fork = {"sessionId": "s-1", "messageUuid": "r-1"}
    write_lines(log(home, "s-2"), assistant(usage=openai(), sessionId="s-2", forkedFrom=fork))
    summary = import_qwen_code(store, [home])
    assert (len(events(store)), summary.duplicates) == (1, 1)


def test_records_without_a_uuid_are_told_apart_by_their_content(store: Store, home: Path) -> None:
    """No uuid: the same line twice is one call, a different line another."""
    bare = assistant(usage=openai())
    del bare["uuid"]
    write_lines(log(home), bare, bare, {**bare, "timestamp": "2025-09-01T10:00:09.000Z"})
    import_qwen_code(store, [home])
    assert len(events(store)) == 2


# -- incremental and where things are -----------------------------------------------------------


def test_appended_records_are_read_incrementally(store: Store, home: Path) -> None:
    """A second run reads only the records appended since the first."""
    path = write_lines(log(home), assistant(usage=openai()))
    import_qwen_code(store, [home])
    write_lines(path, assistant("r-2", openai()), mode="ab")
    summary = import_qwen_code(store, [home])
    assert (summary.entries, summary.events_added) == (1, 1)


def test_a_subagents_records_are_found_and_tagged(store: Store, home: Path) -> None:
    """``projects/<p>/subagents/<session>/*.jsonl``: role subagent."""
    path = home / "projects" / "-home-ada-src-ledger" / "subagents" / "s-1" / "agent-x.jsonl"
    write_lines(path, assistant(usage=openai(), isSidechain=True, agentId="agent-x"))
    import_qwen_code(store, [home])
    assert events(store)[0]["role"] == "subagent"


def test_default_paths_follow_qwen_runtime_dir(tmp_path: Path) -> None:
    """QWEN_RUNTIME_DIR names the folder; else QWEN_HOME; else ~/.qwen when it exists."""
    (tmp_path / "rt").mkdir()
    assert default_qwen_code_paths({"QWEN_RUNTIME_DIR": str(tmp_path / "rt")}) == [tmp_path / "rt"]
    assert default_qwen_code_paths({"HOME": str(tmp_path)}) == []
    (tmp_path / ".qwen").mkdir()
    assert default_qwen_code_paths({"HOME": str(tmp_path)}) == [tmp_path / ".qwen"]
    (tmp_path / "qh").mkdir()
    assert default_qwen_code_paths({"HOME": str(tmp_path), "QWEN_HOME": str(tmp_path / "qh")}) == [
        tmp_path / "qh"
    ]


# -- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        b"{not json",
        orjson.dumps(assistant("x", [1, 2])),
        orjson.dumps(assistant("x", {**openai(), "promptTokenCount": -3})),
        orjson.dumps(assistant("x", {**openai(), "candidatesTokenCount": 1.5})),
        orjson.dumps(assistant("x", openai(), timestamp=12)),
    ],
    ids=["text", "usage-list", "negative", "fraction", "number-time"],
)
def test_malformed_records_are_skipped_and_counted(store: Store, home: Path, bad: bytes) -> None:
    """A bad line or value is malformed; the good record beside it still counts."""
    write_lines(log(home), bad, assistant("r-2", openai()))
    summary = import_qwen_code(store, [home])
    assert (summary.malformed, summary.events_added) == (1, 1)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(garbage=st.lists(GARBAGE, min_size=1, max_size=4), where=st.integers(0, 2))
def test_garbage_lines_never_raise_nor_change_the_other_lines(
    tmp_path: Path, garbage: list[bytes], where: int
) -> None:
    """Any line of anything among good ones: no exception, and the good ones import the same."""
    good = [orjson.dumps(assistant("r-1", openai())), orjson.dumps(assistant("r-2", openai(prompt=5)))]
    with tempfile.TemporaryDirectory(dir=tmp_path) as tmp:
        base = Path(tmp)
        write_lines(base / "clean" / "s.jsonl", *good)
        write_lines(base / "dirty" / "s.jsonl", *good[:where], *garbage, *good[where:])
        imports_the_same(import_qwen_code, base / "clean", base / "dirty")


STRANGE = [
    ("uuid",),
    ("type",),
    ("timestamp",),
    ("model",),
    ("cwd",),
    ("sessionId",),
    ("isSidechain",),
    ("usageMetadata",),
    ("usageMetadata", "promptTokenCount"),
    ("usageMetadata", "candidatesTokenCount"),
    ("usageMetadata", "thoughtsTokenCount"),
    ("usageMetadata", "totalTokenCount"),
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.lists(st.tuples(st.sampled_from(STRANGE), JSON_ANY), max_size=4))
def test_any_json_in_any_field_is_never_fatal(
    tmp_path: Path, changes: list[tuple[tuple[str, ...], Any]]
) -> None:
    """Lists, objects, huge or fractional numbers where counts, names and times belong: the
    record is imported or counted as malformed, never a crash; a second run adds nothing."""
    with tempfile.TemporaryDirectory(dir=tmp_path) as tmp:
        folder = Path(tmp) / "chats"
        write_lines(folder / "s.jsonl", strange(assistant(usage=openai()), changes))
        never_fatal(import_qwen_code, folder)
