"""The event schema: parsing, validation and JSON round trips."""

from __future__ import annotations

import contextlib

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from jusage.events import COUNT_FIELDS, MAX_COUNT, MAX_TS, Event, EventError

JCODE_LINE = (
    b'{"ts":1763560000,"date":"2025-11-19","project":"/home/u/proj","session":"9b2f0c1e-1d2c-4c1a-9d55-'
    b'0e3f5a6b7c8d","model":"claude-sonnet-4-5","prompt":15230,"completion":812,"cached":12000,'
    b'"reasoning":120,"cache_write":900,"total":16042,"calls":3}'
)


def events_strategy() -> st.SearchStrategy[Event]:
    """Valid events with consistent counts and arbitrary text."""
    text = st.text(max_size=12)

    @st.composite
    def build(draw: st.DrawFn) -> Event:
        prompt = draw(st.integers(0, 10**9))
        cached = draw(st.integers(0, prompt))
        cache_write = draw(st.integers(0, prompt - cached))
        completion = draw(st.integers(0, 10**8))
        return Event(
            ts=draw(st.integers(0, 4_000_000_000)),
            date=draw(st.sampled_from(["", "2026-01-01", "2026-12-31"])),
            project=draw(text),
            session=draw(text),
            model=draw(text),
            prompt=prompt,
            completion=completion,
            cached=cached,
            cache_write=cache_write,
            cache_write_1h=draw(st.integers(0, cache_write)),
            reasoning=draw(st.integers(0, completion)),
            calls=draw(st.integers(0, 50)),
            fallbacks=draw(st.integers(0, 3)),
            id=draw(text),
            source=draw(text),
            provider=draw(text),
            agent=draw(text),
            team=draw(text),
            role=draw(text),
            task=draw(text),
            route=draw(text),
            corrects=draw(text),
            cost_usd=draw(st.one_of(st.none(), st.floats(0, 1e6, allow_nan=False))),
        )

    return build()


def test_jcode_line_parses_unchanged() -> None:
    """A line written by jcode is a valid event and writes back byte for byte."""
    event = Event.from_json(JCODE_LINE)
    assert event.prompt == 15230 and event.cached == 12000 and event.cache_write == 900
    assert event.total == 16042 and event.calls == 3
    assert orjson.loads(event.to_json()) == orjson.loads(JCODE_LINE)


@given(events_strategy())
def test_json_round_trip(event: Event) -> None:
    """to_json then from_json gives the same event back."""
    assert Event.from_json(event.to_json()) == event


@given(events_strategy())
def test_dict_and_json_paths_agree(event: Event) -> None:
    """from_dict on the decoded object equals from_json on the line."""
    assert Event.from_dict(orjson.loads(event.to_json())) == Event.from_json(event.to_json())


def test_tokens_are_prompt_plus_completion_whatever_total_says() -> None:
    """Every report counts prompt + completion; a stored total is informational."""
    assert Event.from_json(b'{"ts": 5, "prompt": 10, "completion": 7}').tokens == 17
    assert Event.from_json(b'{"ts": 5, "prompt": 10, "completion": 7, "total": 1000}').tokens == 17


def test_a_total_that_disagrees_is_refused_when_recording() -> None:
    """check() (what every writer calls) refuses a total other than prompt + completion."""
    with pytest.raises(EventError, match="total"):
        Event(ts=5, prompt=5, completion=1, total=1_000_000_000).check()
    assert Event(ts=5, prompt=5, completion=1, total=6).check().tokens == 6


def test_unknown_keys_are_ignored() -> None:
    """Forward compatibility: keys we do not know are dropped on read."""
    assert Event.from_json(b'{"ts": 5, "prompt": 1, "future_key": [1, 2]}').prompt == 1


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b'{"prompt": 5}', "ts is missing"),
        (b'{"ts": 1, "prompt": -1}', "prompt must be a whole number at least 0"),
        (b'{"ts": 1, "prompt": 10, "cached": 8, "cache_write": 5}', "exceeds prompt"),
        (b'{"ts": 1, "completion": 10, "reasoning": 11}', "exceeds completion"),
        (b'{"ts": 1, "prompt": 2.5}', "prompt must be a whole number, got a fraction"),
        (b'{"ts": 1, "prompt": "12"}', "prompt must be a whole number, got a string"),
        (b'{"ts": 1, "calls": true}', "calls must be a whole number, got true or false"),
        (b'{"ts": "yesterday"}', "ts must be a whole number, got a string"),
        (b'{"ts": 1, "model": 3}', "model must be a string, got a whole number"),
        (b'{"ts": 1, "total": -1}', "total must be a whole number at least 0"),
        (b'{"ts": -1, "prompt": 1}', "ts must be a whole number at least 0"),
        (b'{"ts": 253402300800, "prompt": 1}', "ts must be a whole number at most 253402300799"),
        (b'{"ts": 1, "prompt": 9007199254740992}', "prompt must be a whole number at most 9007199254740991"),
        (b'{"ts": 1, "prompt": 18446744073709551615}', "at most"),
        (b'{"ts": 1, "prompt": 99999999999999999999999999}', "at most"),
        (b'{"ts": 1, "prompt": 1, "cost_usd": 1e300}', "cost_usd must be a number at most 1000000.0"),
        (b'{"ts": 1, "prompt": 1, "cost_usd": Infinity}', "not valid JSON"),
        (b'{"ts": 1, "prompt": 1, "cost_usd": NaN}', "not valid JSON"),
        (b"[1, 2]", "expected a JSON object, got an array"),
        (b'{"ts": 1,', "not valid JSON"),
    ],
)
def test_invalid_lines_give_clear_errors(line: bytes, message: str) -> None:
    """Each broken rule raises EventError naming the problem."""
    with pytest.raises(EventError, match=message.replace("(", r"\(")):
        Event.from_json(line)


@pytest.mark.parametrize("name", COUNT_FIELDS)
def test_create_rejects_negative_counts(name: str) -> None:
    """Building an Event with create() applies the same rules as parsing one."""
    with pytest.raises(EventError, match=name):
        Event.create(ts=1, **{name: -5})


def test_create_rejects_non_integer_counts_and_out_of_range_values() -> None:
    """A float or bool where a count belongs is an error, not a silent cast; so are values
    past the valid ranges."""
    for fields in ({"prompt": 1.5}, {"calls": True}, {"prompt": MAX_COUNT}, {"ts": MAX_TS + 1}, {"ts": -1}):
        with pytest.raises(EventError):
            Event.create(**{"ts": 1, **fields})


def test_the_valid_ranges_are_accepted_up_to_their_ends() -> None:
    """The largest valid count and ts, and a zero ts, are fine."""
    assert Event.create(ts=MAX_TS, prompt=MAX_COUNT - 1).prompt == MAX_COUNT - 1
    assert Event.create(ts=0, completion=1).ts == 0


def test_deeply_nested_unread_values_are_not_fatal() -> None:
    """A line whose unknown field nests far deeper than any real one is an error or an event,
    never a crash (RecursionError) of the reader."""
    deep = b"[" * 5_000 + b"]" * 5_000
    line = b'{"ts": 1, "prompt": 2, "extra": ' + deep + b"}"
    with contextlib.suppress(EventError):
        assert Event.from_json(line).prompt == 2


def test_optional_keys_are_omitted_when_empty() -> None:
    """Lines stay short: empty strings and zero optional counts are not written."""
    data = orjson.loads(Event(ts=9, prompt=3, completion=1).to_json())
    assert data == {"ts": 9, "prompt": 3, "completion": 1}


def test_replace_checks_the_rules_again() -> None:
    """Changing counts through replace() keeps the rules between fields."""
    assert Event(ts=1, prompt=3, completion=1).replace(prompt=10).tokens == 11
    with pytest.raises(EventError, match="exceeds prompt"):
        Event(ts=1, prompt=3, cached=2).replace(prompt=1)
