"""The Amp importer: message usage, the older usage ledger, rewritten and copied threads."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import orjson
import pytest
from agents import GARBAGE, events, imports_the_same, never_fatal, strange
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import JSON_ANY

from jusage.importers import default_amp_paths, import_amp
from jusage.store import Store

THREAD = "T-019b01e9-4119-759c-b70e-9be7e1e1b3d4"


def usage(inp: int = 10, out: int = 178, write: int = 986, read: int = 11372, **extra: Any) -> dict[str, Any]:
    return {
        "model": "claude-haiku-4-5-20251001",
        "inputTokens": inp,
        "outputTokens": out,
        "cacheCreationInputTokens": write,
        "cacheReadInputTokens": read,
        "totalInputTokens": inp + write + read,
        "credits": 0.0123,
        "timestamp": "2026-01-19T11:42:10.652Z",
        **extra,
    }


def assistant(ident: int = 1, use: dict[str, Any] | None = None) -> dict[str, Any]:
    value: dict[str, Any] = {
        "role": "assistant",
        "messageId": ident,
        "content": [],
        "state": {"type": "complete"},
    }
    if use is not None:
        value["usage"] = use
    return value


def thread(
    *messages: dict[str, Any], events: list[dict[str, Any]] | None = None, **extra: Any
) -> dict[str, Any]:
    value: dict[str, Any] = {"v": 3, "id": THREAD, "created": 1_768_822_930_000, "messages": list(messages)}
    if events is not None:
        value["usageLedger"] = {"events": events}
    return {**value, **extra}


def ledger_event(to: int | None = 1, **extra: Any) -> dict[str, Any]:
    value = {
        "id": "ev-1",
        "timestamp": "2026-01-19T11:42:10.000Z",
        "model": "claude-sonnet-4-5-20250929",
        "credits": 0.5,
        "tokens": {"input": 10, "output": 178},
        "operationType": "inference",
        "fromMessageId": 0,
        "toMessageId": to,
    }
    return {k: v for k, v in {**value, **extra}.items() if v is not None}


def save(folder: Path, doc: dict[str, Any] | bytes, name: str = f"{THREAD}.json") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(doc if isinstance(doc, bytes) else orjson.dumps(doc))
    return path


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "ledger" / "events.jsonl")


@pytest.fixture
def threads(tmp_path: Path) -> Path:
    return tmp_path / "amp" / "threads"


# -- mapping -------------------------------------------------------------------------------


def test_message_usage_maps_to_the_inclusive_convention(store: Store, threads: Path) -> None:
    """inputTokens leaves the cache out: prompt is the thread's totalInputTokens."""
    save(threads, thread({"role": "user", "messageId": 0, "content": []}, assistant(1, usage())))
    import_amp(store, [threads.parent])
    [event] = events(store)
    assert (event["prompt"], event["cached"], event["cache_write"], event["completion"]) == (
        12368,
        11372,
        986,
        178,
    )
    assert (event["session"], event["model"], event["source"]) == (THREAD, "claude-haiku-4-5-20251001", "amp")
    assert event["id"].startswith("am-") and "cost_usd" not in event and "provider" not in event


def test_without_a_total_the_prompt_is_the_sum_of_its_parts(store: Store, threads: Path) -> None:
    """No totalInputTokens: input + cache creation + cache read."""
    use = usage()
    del use["totalInputTokens"]
    save(threads, thread(assistant(1, use)))
    import_amp(store, [threads])
    assert events(store)[0]["prompt"] == 12368


def test_ledger_events_take_their_cache_from_the_message_they_led_to(store: Store, threads: Path) -> None:
    """An older thread: each usageLedger event is a call, its cache from toMessageId's usage."""
    save(threads, thread(assistant(1, usage(out=5)), events=[ledger_event()]))
    import_amp(store, [threads])
    [event] = events(store)
    assert (event["prompt"], event["completion"], event["model"]) == (
        12368,
        178,
        "claude-sonnet-4-5-20250929",
    )


def test_a_thread_read_from_messages_then_from_a_ledger_counts_once(store: Store, threads: Path) -> None:
    """The call is known by the message it produced, whichever record describes it."""
    path = save(threads, thread(assistant(1, usage())))
    import_amp(store, [threads])
    path.write_bytes(orjson.dumps(thread(assistant(1, usage()), events=[ledger_event()])))
    assert import_amp(store, [threads]).events_added == 0 and len(events(store)) == 1


def test_a_ledger_event_without_a_message_is_its_own_call(store: Store, threads: Path) -> None:
    """No toMessageId: the event's id tells it apart, and it has no cache counts."""
    save(threads, thread(events=[ledger_event(None), ledger_event(None, id="ev-2")]))
    import_amp(store, [threads])
    assert [e["prompt"] for e in events(store)] == [10, 10]


def test_the_project_is_the_first_workspace_tree(store: Store, threads: Path) -> None:
    """env.initial.trees[0].uri, a file URI, names the project (unverified against Amp)."""
    env = {"initial": {"trees": [{"displayName": "app", "uri": "file:///home/ada/my%20app"}]}}
    save(threads, thread(assistant(1, usage()), env=env))
    import_amp(store, [threads])
    assert events(store)[0]["project"] == "/home/ada/my app"


def test_replies_still_streaming_and_user_messages_do_not_count(store: Store, threads: Path) -> None:
    """Messages without usage are not calls (yet)."""
    save(threads, thread({"role": "user", "messageId": 0}, assistant(1)))
    assert import_amp(store, [threads]).entries == 0


# -- exactly once and incremental -----------------------------------------------------------------


def test_a_rewritten_thread_adds_only_its_new_calls(store: Store, threads: Path) -> None:
    """Amp rewrites a thread whole as it grows: the next run adds the new message only."""
    path = save(threads, thread(assistant(1, usage())))
    import_amp(store, [threads])
    path.write_bytes(orjson.dumps(thread(assistant(1, usage()), assistant(3, usage(inp=7)))))
    summary = import_amp(store, [threads])
    assert (summary.events_added, summary.duplicates, len(events(store))) == (1, 1, 2)


def test_a_message_seen_again_with_more_tokens_adds_a_correction(store: Store, threads: Path) -> None:
    """A call recorded, then rewritten larger: the difference is a correcting event."""
    path = save(threads, thread(assistant(1, usage(out=100))))
    import_amp(store, [threads])
    path.write_bytes(orjson.dumps(thread(assistant(1, usage(out=178)))))
    summary = import_amp(store, [threads])
    assert summary.corrections == 1 and events(store)[-1]["completion"] == 78


def test_an_unchanged_thread_is_not_read_again(store: Store, threads: Path) -> None:
    """A second run with nothing new opens no file."""
    save(threads, thread(assistant(1, usage())))
    import_amp(store, [threads])
    assert import_amp(store, [threads]).files_read == 0


def test_a_copied_thread_counts_once(store: Store, threads: Path) -> None:
    """A thread file copied into a backup folder is the same thread."""
    path = save(threads, thread(assistant(1, usage())))
    (threads / "backup").mkdir()
    shutil.copyfile(path, threads / "backup" / path.name)
    summary = import_amp(store, [threads])
    assert (summary.events_added, summary.duplicates) == (1, 1)


# -- where things are --------------------------------------------------------------------------


def test_default_paths_follow_amp_data_dir_then_xdg(tmp_path: Path) -> None:
    """AMP_DATA_DIR (comma-separated), else $XDG_DATA_HOME/amp, else ~/.local/share/amp."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert default_amp_paths({"AMP_DATA_DIR": f"{tmp_path / 'a'}, {tmp_path / 'b'}"}) == [
        tmp_path / "a",
        tmp_path / "b",
    ]
    (tmp_path / "xdg" / "amp").mkdir(parents=True)
    assert default_amp_paths({"XDG_DATA_HOME": str(tmp_path / "xdg")}) == [tmp_path / "xdg" / "amp"]
    assert default_amp_paths({"HOME": str(tmp_path)}) == []


def test_only_thread_files_are_read(store: Store, threads: Path) -> None:
    """Files whose names do not start with ``T-`` are not threads."""
    save(threads, thread(assistant(1, usage())), name="settings.json")
    assert import_amp(store, [threads]).files_seen == 0


# -- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        b'{"id": "T-x", "messages": [',
        b"[]",
        orjson.dumps(thread(assistant(1, usage(inp=-1)))),
        orjson.dumps(thread(assistant(1, usage(timestamp="later")))),
        orjson.dumps(thread({"role": "assistant", "messageId": 1, "usage": "lots"})),
        orjson.dumps(thread(events=[{"id": "e", "tokens": "x"}])),
    ],
    ids=["truncated", "array", "negative", "bad-time", "usage-text", "event-tokens-text"],
)
def test_malformed_threads_and_calls_are_counted(store: Store, threads: Path, bad: bytes) -> None:
    """A broken thread or call is one malformed record; another thread still counts."""
    save(threads, bad, name="T-bad.json")
    save(threads, thread(assistant(1, usage())))
    summary = import_amp(store, [threads])
    assert (summary.malformed, summary.events_added) == (1, 1)


def test_a_call_without_an_id_nested_too_deep_to_tell_apart_is_malformed(store: Store, threads: Path) -> None:
    """A message without messageId is known by its usage; one too deep to write is malformed."""
    deep = b"[" * 400 + b"]" * 400
    doc = b'{"id": "T-d", "messages": [{"role": "assistant", "usage": {"x": %s}}]}' % deep
    save(threads, doc, name="T-d.json")
    summary = import_amp(store, [threads])
    assert (summary.malformed, summary.events_added) == (1, 0)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(garbage=st.lists(GARBAGE, min_size=1, max_size=4), where=st.integers(0, 2))
def test_garbage_messages_never_raise_nor_change_the_other_calls(
    tmp_path: Path, garbage: list[bytes], where: int
) -> None:
    """Anything in a thread's message list (or a whole file of it): no exception, and the good
    messages import the same."""
    good = [assistant(1, usage()), assistant(3, usage(inp=5))]
    items = [orjson.dumps(message) for message in good]
    values = []
    for raw in filter(bytes.strip, garbage):
        try:
            orjson.loads(b'{"messages": [%s]}' % raw)  # still JSON (and not too deep) inside a thread
        except orjson.JSONDecodeError:
            continue
        values.append(raw)  # spliced in as written: dumping it again may not be possible
    messages = b",".join([*items[:where], *values, *items[where:]])
    with tempfile.TemporaryDirectory(dir=tmp_path) as tmp:
        base = Path(tmp)
        save(base / "clean", thread(*good))
        save(base / "dirty", b'{"id": "%s", "messages": [%s]}' % (THREAD.encode(), messages))
        for n, raw in enumerate(garbage):
            save(base / "dirty", raw, name=f"T-garbage-{n}.json")
        imports_the_same(import_amp, base / "clean", base / "dirty")


STRANGE = [
    ("id",),
    ("messages",),
    ("env",),
    ("usageLedger",),
    ("usageLedger", "events"),
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.lists(st.tuples(st.sampled_from(STRANGE), JSON_ANY), max_size=4))
def test_any_json_in_any_field_is_never_fatal(
    tmp_path: Path, changes: list[tuple[tuple[str, ...], Any]]
) -> None:
    """Lists, objects, huge or fractional numbers where counts, names and times belong: the
    record is imported or counted as malformed, never a crash; a second run adds nothing."""
    doc = thread(assistant(1, usage()), events=[ledger_event()])
    doc["messages"][0]["usage"] = {**usage(), "inputTokens": None}
    with tempfile.TemporaryDirectory(dir=tmp_path) as tmp:
        folder = Path(tmp) / "threads"
        save(folder, strange(doc, changes))
        never_fatal(import_amp, folder)
