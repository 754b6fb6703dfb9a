"""The Copilot CLI importer: chat spans of OpenTelemetry exports, old attribute names, exactly once."""

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

from jusage.importers import default_copilot_cli_paths, import_copilot_cli
from jusage.store import Store

END = [1_756_720_805, 123_000_000]  # 2025-09-01T10:00:05.123Z


def span(span_id: str = "00000000000000a1", name: str = "chat gpt-5", **attrs: Any) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "github",
        "gen_ai.request.model": "gpt-5",
        "gen_ai.response.model": "gpt-5",
        "gen_ai.conversation.id": "conv-1",
        "gen_ai.usage.input_tokens": 1000,
        "gen_ai.usage.output_tokens": 300,
        "gen_ai.usage.cache_read.input_tokens": 600,
        "gen_ai.usage.cache_creation.input_tokens": 100,
        "gen_ai.usage.reasoning.output_tokens": 120,
    }
    attributes.update(attrs)
    return {
        "type": "span",
        "traceId": "0" * 31 + "1",
        "spanId": span_id,
        "name": name,
        "kind": 2,
        "startTime": [END[0] - 3, 0],
        "endTime": END,
        "attributes": {k: v for k, v in attributes.items() if v is not None},
    }


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "ledger" / "events.jsonl")


@pytest.fixture
def otel(tmp_path: Path) -> Path:
    return tmp_path / ".copilot" / "otel"


# -- mapping -------------------------------------------------------------------------------


def test_a_chat_span_maps_to_one_call(store: Store, otel: Path) -> None:
    """input holds the cache, output holds the reasoning; the conversation is the session."""
    write_lines(otel / "a.jsonl", span())
    import_copilot_cli(store, [otel])
    [event] = events(store)
    assert (event["prompt"], event["cached"], event["cache_write"]) == (1000, 600, 100)
    assert (event["completion"], event["reasoning"], event["ts"]) == (300, 120, END[0])
    assert (event["model"], event["session"], event["provider"]) == ("gpt-5", "conv-1", "github")
    assert event["source"] == "copilot-cli" and event["id"].startswith("cp-") and "cost_usd" not in event


def test_the_old_underscore_names_are_read(store: Store, otel: Path) -> None:
    """Exports written before the names followed the conventions count the same."""
    old = span(
        **{
            "gen_ai.usage.cache_read.input_tokens": None,
            "gen_ai.usage.cache_creation.input_tokens": None,
            "gen_ai.usage.reasoning.output_tokens": None,
            "gen_ai.usage.cache_read_input_tokens": 600,
            "gen_ai.usage.cache_creation_input_tokens": 100,
            "gen_ai.usage.reasoning_output_tokens": 120,
        }
    )
    write_lines(otel / "a.jsonl", old)
    import_copilot_cli(store, [otel])
    [event] = events(store)
    assert (event["cached"], event["cache_write"], event["reasoning"]) == (600, 100, 120)


@pytest.mark.parametrize(
    ("attrs", "prompt", "completion"),
    [
        ({"gen_ai.usage.input_tokens": 50}, 750, 300),
        ({"gen_ai.usage.input_tokens": 650}, 750, 300),
        ({"gen_ai.usage.output_tokens": 20}, 1000, 140),
    ],
    ids=["input-without-cache", "input-without-cache-write", "reasoning-apart"],
)
def test_counts_that_cannot_include_their_parts_get_them_added(
    store: Store, otel: Path, attrs: dict[str, Any], prompt: int, completion: int
) -> None:
    """An input smaller than its cache left the cache out; a reasoning above output is apart."""
    write_lines(otel / "a.jsonl", span(**attrs))
    import_copilot_cli(store, [otel])
    assert (events(store)[0]["prompt"], events(store)[0]["completion"]) == (prompt, completion)


def test_agent_spans_metrics_and_logs_are_not_calls(store: Store, otel: Path) -> None:
    """invoke_agent spans sum the calls, logs and metrics repeat them (a log record of a chat
    operation too): none of them count."""
    agent = span("00000000000000b1", "invoke_agent copilot", **{"gen_ai.operation.name": "invoke_agent"})
    log = {
        "hrTime": END,
        "attributes": {
            "event.name": "gen_ai.client.inference.operation.details",
            "gen_ai.usage.input_tokens": 1000,
        },
    }
    metric = {
        "type": "metric",
        "name": "gen_ai.client.token.usage",
        "attributes": {"gen_ai.usage.input_tokens": 5},
    }
    untyped = {
        "hrTime": END,
        "spanContext": {"traceId": "t", "spanId": "s"},
        "attributes": span()["attributes"],
    }
    write_lines(otel / "a.jsonl", span(), agent, log, metric, untyped)
    import_copilot_cli(store, [otel])
    assert len(events(store)) == 1


@pytest.mark.parametrize(
    ("when", "ts"),
    [
        ({"endTime": 1_756_720_805_123}, 1_756_720_805),
        ({"endTime": 1_756_720_805.5}, 1_756_720_805),
        ({"endTime": "2025-09-01T10:00:05.123Z"}, 1_756_720_805),
        ({"endTime": None, "startTime": [1_756_720_800, 5]}, 1_756_720_800),
    ],
    ids=["milliseconds", "seconds", "iso", "start-only"],
)
def test_span_times_in_any_form_are_read(store: Store, otel: Path, when: dict[str, Any], ts: int) -> None:
    """[s, ns] pairs, numbers of seconds or milliseconds, ISO strings; the start without an end."""
    record = {k: v for k, v in {**span(), **when}.items() if v is not None}
    write_lines(otel / "a.jsonl", record)
    import_copilot_cli(store, [otel])
    assert events(store)[0]["ts"] == ts


# -- exactly once and incremental -----------------------------------------------------------------


def test_an_export_copied_counts_once(store: Store, otel: Path) -> None:
    """The same span in two files (trace and span id alike) is one call."""
    write_lines(otel / "a.jsonl", span())
    write_lines(otel / "b.jsonl", span())
    summary = import_copilot_cli(store, [otel])
    assert (len(events(store)), summary.duplicates) == (1, 1)


def test_appended_spans_are_read_incrementally(store: Store, otel: Path) -> None:
    """A second run reads only what was appended since the first."""
    path = write_lines(otel / "a.jsonl", span())
    import_copilot_cli(store, [otel])
    write_lines(path, span("00000000000000a2"), mode="ab")
    summary = import_copilot_cli(store, [otel])
    assert (summary.entries, summary.events_added) == (1, 1)


# -- where things are --------------------------------------------------------------------------


def test_default_paths_are_copilot_home_and_the_exporters_file(tmp_path: Path) -> None:
    """$COPILOT_HOME/otel (else ~/.copilot/otel) and the file COPILOT_OTEL_FILE_EXPORTER_PATH names."""
    (tmp_path / "ch" / "otel").mkdir(parents=True)
    exported = write_lines(tmp_path / "elsewhere" / "x.jsonl", span())
    env = {"COPILOT_HOME": str(tmp_path / "ch"), "COPILOT_OTEL_FILE_EXPORTER_PATH": str(exported)}
    assert default_copilot_cli_paths(env) == [tmp_path / "ch" / "otel", exported]
    assert default_copilot_cli_paths({"HOME": str(tmp_path)}) == []


def test_a_file_named_on_its_own_is_read_whatever_its_name(store: Store, tmp_path: Path) -> None:
    """--path to one export file reads it."""
    path = write_lines(tmp_path / "trace.log", span())
    assert import_copilot_cli(store, [path]).events_added == 1


# -- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        b"\xff\xfe",
        orjson.dumps(span("x1", **{"gen_ai.usage.input_tokens": -1})),
        orjson.dumps(span("x2", **{"gen_ai.usage.output_tokens": "7"})),
        orjson.dumps({**span("x3"), "endTime": "soon"}),
        orjson.dumps({k: v for k, v in span("x4").items() if k not in ("endTime", "startTime")}),
    ],
    ids=["bytes", "negative", "string", "bad-time", "no-time"],
)
def test_malformed_spans_are_skipped_and_counted(store: Store, otel: Path, bad: bytes) -> None:
    """A bad line or value is malformed; the good span beside it still counts."""
    write_lines(otel / "a.jsonl", bad, span("00000000000000a2"))
    summary = import_copilot_cli(store, [otel])
    assert (summary.malformed, summary.events_added) == (1, 1)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(garbage=st.lists(GARBAGE, min_size=1, max_size=4), where=st.integers(0, 2))
def test_garbage_lines_never_raise_nor_change_the_other_lines(
    tmp_path: Path, garbage: list[bytes], where: int
) -> None:
    """Any line of anything among good ones: no exception, and the good ones import the same."""
    good = [orjson.dumps(span("00000000000000a1")), orjson.dumps(span("00000000000000a2"))]
    with tempfile.TemporaryDirectory(dir=tmp_path) as tmp:
        base = Path(tmp)
        write_lines(base / "clean" / "a.jsonl", *good)
        write_lines(base / "dirty" / "a.jsonl", *good[:where], *garbage, *good[where:])
        imports_the_same(import_copilot_cli, base / "clean", base / "dirty")


STRANGE = [
    ("type",),
    ("name",),
    ("traceId",),
    ("spanId",),
    ("endTime",),
    ("startTime",),
    ("attributes",),
    ("attributes", "gen_ai.operation.name"),
    ("attributes", "gen_ai.usage.input_tokens"),
    ("attributes", "gen_ai.usage.output_tokens"),
    ("attributes", "gen_ai.usage.cache_read.input_tokens"),
    ("attributes", "gen_ai.response.model"),
    ("attributes", "gen_ai.conversation.id"),
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.lists(st.tuples(st.sampled_from(STRANGE), JSON_ANY), max_size=4))
def test_any_json_in_any_field_is_never_fatal(
    tmp_path: Path, changes: list[tuple[tuple[str, ...], Any]]
) -> None:
    """Lists, objects, huge or fractional numbers where counts, names and times belong: the
    record is imported or counted as malformed, never a crash; a second run adds nothing."""
    with tempfile.TemporaryDirectory(dir=tmp_path) as tmp:
        folder = Path(tmp) / "otel"
        write_lines(folder / "a.jsonl", strange(span(), changes))
        never_fatal(import_copilot_cli, folder)
