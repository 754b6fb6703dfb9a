"""Every door a value comes in by, fed hostile JSON: nothing raises, other lines still count.

The doors here are the log reader (every report), ``jusage record`` (options and stdin) and
the library's ``record_event``; each importer has its own such test beside its rules.
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jusage.aggregate import Aggregator, Partial
from jusage.cli import main
from jusage.events import Event
from jusage.scan import aggregate_file
from jusage.store import Store, record_event

NUMBERS = st.integers(-(2**70), 2**70) | st.floats(allow_nan=True, allow_infinity=True)
LEAVES = st.none() | st.booleans() | NUMBERS | st.text(max_size=6)
JSON = st.recursive(
    LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=10,
)
KEYS = st.sampled_from(
    ["ts", "prompt", "completion", "cached", "cache_write", "total", "cost_usd", "model", "id"]
)


@st.composite
def hostile_lines(draw: st.DrawFn) -> bytes:
    """A line a hostile or broken writer could leave: odd values under real keys, deep
    nesting, NaN and Infinity literals, duplicate keys, numbers past 64 bits."""
    kind = draw(st.sampled_from(["object", "deep", "duplicate", "literal", "any"]))
    if kind == "deep":
        depth = draw(st.integers(100, 5_000))
        return b'{"ts": 1, "prompt": 1, "x": ' + b"[" * depth + b"]" * depth + b"}"
    if kind == "duplicate":
        return b'{"ts": 1, "prompt": 1, "prompt": 2e400, "ts": -5}'
    if kind == "literal":
        key = draw(KEYS)
        literal = draw(st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400"]))
        return f'{{"ts": 1, "prompt": 1, "{key}": {literal}}}'.encode()
    value = draw(st.dictionaries(KEYS, JSON, max_size=6)) if kind == "object" else draw(JSON)
    return json.dumps(value).encode()  # the standard library writes NaN, Infinity and big ints


GOOD = [Event(ts=1_767_225_600 + i, model="m", prompt=100 + i, completion=1, id=f"g{i}") for i in range(3)]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(hostile_lines(), min_size=1, max_size=6))
def test_the_log_reader_never_raises_and_counts_the_good_lines(tmp_path: Path, hostile: list[bytes]) -> None:
    """Every report reads through this: hostile lines are skipped and counted or read as the
    events they are; the good lines around them always count, exactly."""
    path = tmp_path / "log.jsonl"
    lines = [GOOD[0].to_json(), *hostile[:3], GOOD[1].to_json(), *hostile[3:], GOOD[2].to_json()]
    path.write_bytes(b"\n".join(lines) + b"\n")
    agg = Aggregator(("model",))
    partial = aggregate_file(path, agg)
    events = Store(path).load()
    assert {e.id for e in GOOD} <= {e.id for e in events}
    good_only = agg.accumulate(Partial(), GOOD)
    for key, counters in good_only.groups.items():
        assert key in partial.groups and partial.groups[key][0] >= counters[0]
    assert partial.skipped + len(events) == len(lines)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(hostile_lines(), min_size=1, max_size=4))
def test_record_from_stdin_is_a_one_line_error_or_a_valid_line(tmp_path: Path, hostile: list[bytes]) -> None:
    """`jusage record -`: hostile input is refused whole in one line (exit 2) or recorded as
    valid events the reader reads back; it never raises and never half-writes."""
    log = tmp_path / "log.jsonl"
    log.unlink(missing_ok=True)
    Store(log).record(GOOD[0])
    before = log.read_bytes()
    result = CliRunner().invoke(main, ["record", "-", "--log", str(log)], input=b"\n".join(hostile))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        assert log.read_bytes() == before
        assert len(result.stderr.strip().splitlines()) == 1
    else:
        assert result.exit_code == 0
        reader = Store(log)
        reader.load()
        assert reader.read_stats.skipped == 0


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.dictionaries(
        st.sampled_from(
            ["--prompt", "--completion", "--cached", "--ts", "--cost-usd", "--total", "--date", "--model"]
        ),
        st.text(max_size=30) | NUMBERS.map(str),
        max_size=5,
    )
)
def test_record_options_are_a_one_line_error_or_a_valid_line(tmp_path: Path, options: dict[str, str]) -> None:
    """`jusage record --...`: any values are refused in one line or written as a valid event."""
    log = tmp_path / "log.jsonl"
    log.unlink(missing_ok=True)
    args = [part for pair in options.items() for part in pair]
    result = CliRunner().invoke(main, ["record", *args, "--log", str(log)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    if result.exit_code != 0:
        assert result.exit_code == 2
        assert not log.exists() or log.read_bytes() == b""
    else:
        reader = Store(log)
        assert len(reader.load()) == 1 and reader.read_stats.skipped == 0


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(KEYS.filter(lambda k: k not in ("ts", "id")), JSON, max_size=5))
def test_record_event_never_raises(tmp_path: Path, fields: dict[str, object]) -> None:
    """The agents' entry point returns False for anything it cannot record, never raises, and
    what it records is valid."""
    log = tmp_path / "log.jsonl"
    log.unlink(missing_ok=True)
    prompt = fields.pop("prompt", 5)
    assert record_event(prompt=prompt, store=Store(log), **fields) in (True, False)  # type: ignore[arg-type]
    reader = Store(log)
    reader.load()
    assert reader.read_stats.skipped == 0
