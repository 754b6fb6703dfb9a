"""The pure aggregation: properties of the mergeable partial and jcode's derived view."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from jusage.aggregate import Aggregator, Partial, aggregate, current_streak, longest_streak, stats_view
from jusage.estimate import ContextBreakdown, estimate, estimate_bytes
from jusage.events import Event
from jusage.scan import aggregate_file
from jusage.store import Store

TODAY = date(2026, 11, 20)
BASE = int(datetime(2026, 10, 1, tzinfo=UTC).timestamp())


@st.composite
def an_event(draw: st.DrawFn, *, named: bool = False) -> Event:
    prompt = draw(st.integers(0, 50_000))
    cached = draw(st.integers(0, prompt))
    completion = draw(st.integers(0, 5_000))
    model = draw(st.sampled_from(["a", "b", "c"] if named else ["", "a", "b", "c"]))
    return Event(
        ts=BASE + draw(st.integers(0, 60 * 86400)),
        model=model,
        project=draw(st.sampled_from(["", "/p", "/q"])),
        prompt=prompt,
        completion=completion,
        cached=cached,
        cache_write=draw(st.integers(0, prompt - cached)),
        reasoning=draw(st.integers(0, completion)),
        calls=draw(st.integers(0, 4)),
        corrects=draw(st.sampled_from(["", "", "", "x"])),
    )


events_lists = st.lists(an_event(), max_size=40)


def utc_stats(events: list[Event]) -> object:
    return aggregate(events, TODAY, tz=UTC)


@given(events_lists, st.randoms())
def test_order_does_not_matter(events: list[Event], rnd: object) -> None:
    """Aggregating a permutation of the events gives the same view."""
    shuffled = list(events)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert utc_stats(shuffled) == utc_stats(events)


@given(events_lists, st.data())
def test_merge_of_a_split_equals_the_whole(events: list[Event], data: st.DataObject) -> None:
    """Split anywhere, accumulate both halves, merge: same partial and view as the whole."""
    cut = data.draw(st.integers(0, len(events)))
    agg = Aggregator(tz=UTC)
    left = agg.accumulate(Partial(), events[:cut])
    right = agg.accumulate(Partial(), events[cut:])
    whole = agg.accumulate(Partial(), events)
    assert left.merge(right) == whole
    assert right.merge(left) == whole
    assert stats_view(left.merge(right), agg, TODAY) == stats_view(whole, agg, TODAY)


@given(events_lists, events_lists, events_lists)
def test_merge_is_associative(a: list[Event], b: list[Event], c: list[Event]) -> None:
    """(a + b) + c == a + (b + c) for partials."""
    agg = Aggregator(tz=UTC)
    pa, pb, pc = (agg.accumulate(Partial(), x) for x in (a, b, c))
    assert pa.merge(pb).merge(pc) == pa.merge(pb.merge(pc))


@given(events_lists)
def test_day_buckets_sum_to_the_totals(events: list[Event]) -> None:
    """Tokens, turns and calls of the days add up to the totals."""
    s = aggregate(events, TODAY, tz=UTC)
    assert sum(b.tokens for b in s.days.values()) == s.totals.total
    assert sum(b.turns for b in s.days.values()) == s.totals.turns
    assert sum(b.calls for b in s.days.values()) == s.totals.calls
    assert [b.date for b in s.trend] == sorted(s.days)


@given(events_lists)
def test_shares_are_fractions(events: list[Event]) -> None:
    """Every share is in [0, 1] and lists are ordered by tokens, most first."""
    s = aggregate(events, TODAY, tz=UTC)
    for shares in (s.by_model, s.by_project):
        assert all(0.0 <= x.share <= 1.0 for x in shares)
        assert [x.tokens for x in shares] == sorted((x.tokens for x in shares), reverse=True)
    assert 0.0 <= s.cache_hit_rate <= 1.0


@given(st.lists(an_event(named=True), min_size=1, max_size=40))
def test_model_shares_sum_to_one_when_every_event_names_a_model(events: list[Event]) -> None:
    """With a model on every event, the per-model shares cover the whole."""
    s = aggregate(events, TODAY, tz=UTC)
    if s.totals.total:
        assert abs(sum(x.share for x in s.by_model) - 1.0) < 1e-9


@given(events_lists, st.dates(date(2026, 9, 1), date(2026, 12, 31)))
def test_streaks_are_bounded(events: list[Event], today: date) -> None:
    """current streak <= longest streak <= active days."""
    s = aggregate(events, today, tz=UTC)
    assert s.current_streak <= s.longest_streak <= s.active_days


def test_corrections_add_tokens_but_not_turns() -> None:
    """A correcting event raises the totals without counting a turn."""
    s = aggregate(
        [
            Event(ts=BASE, prompt=100, completion=10, calls=1, id="m1"),
            Event(ts=BASE, completion=15, id="m1#c1", corrects="m1"),
        ],
        TODAY,
        tz=UTC,
    )
    assert s.totals.total == 125
    assert s.totals.turns == 1
    assert s.totals.calls == 1


def test_jcode_semantics_on_a_small_log() -> None:
    """Most used model, cache hit rate and shares as jcode defines them."""
    day = 86400
    events = [
        Event(ts=BASE, model="b", project="/x", prompt=100, cached=50, completion=0),
        Event(ts=BASE + day, model="a", project="/x", prompt=100, completion=0),
        Event(ts=BASE + 3 * day, model="", project="", prompt=0, completion=100),
    ]
    s = aggregate(events, date(2026, 10, 4), tz=UTC)
    assert s.most_used_model == "a"  # a tie on tokens goes to the first name
    assert s.cache_hit_rate == 0.25
    assert s.cache_supported
    assert s.active_days == 3
    assert s.current_streak == 1 and s.longest_streak == 2
    assert [(x.name, x.share) for x in s.by_model] == [("a", 100 / 300), ("b", 100 / 300)]


def test_no_cache_means_not_supported() -> None:
    """Without cached or cache-written tokens, the hit rate is 0 and cache unsupported."""
    s = aggregate([Event(ts=BASE, prompt=10)], TODAY, tz=UTC)
    assert s.cache_hit_rate == 0.0 and not s.cache_supported


def test_streak_helpers_cross_month_and_year_ends() -> None:
    """Streaks run over month and year boundaries."""
    active = ["2025-12-30", "2025-12-31", "2026-01-01", "2026-02-28", "2026-03-01"]
    assert longest_streak(active) == 3
    assert current_streak(active, date(2026, 1, 1)) == 3
    assert current_streak(active, date(2026, 1, 2)) == 3  # today has nothing yet
    assert current_streak(active, date(2026, 1, 3)) == 0
    assert current_streak(active, date(2026, 3, 1)) == 2


def test_days_follow_the_time_zone() -> None:
    """The same instant is a different calendar day in different zones."""
    from zoneinfo import ZoneInfo

    ts = int(datetime(2026, 5, 1, 23, 30, tzinfo=UTC).timestamp())
    event = [Event(ts=ts, prompt=1)]
    assert list(aggregate(event, TODAY, tz=UTC).days) == ["2026-05-01"]
    assert list(aggregate(event, TODAY, tz=ZoneInfo("Pacific/Auckland")).days) == ["2026-05-02"]
    assert list(aggregate(event, TODAY, tz=ZoneInfo("Pacific/Honolulu")).days) == ["2026-05-01"]


@settings(max_examples=40, deadline=None)
@given(events_lists, st.lists(st.binary(max_size=30), max_size=5))
def test_file_scan_equals_in_memory_aggregation(events: list[Event], garbage: list[bytes]) -> None:
    """Reading a log (fast typed rows, garbage skipped) equals aggregating the events."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "log.jsonl"
        path.write_bytes(b"".join(e.to_json() + b"\n" for e in events) + b"\n".join(garbage))
        agg = Aggregator(tz=UTC)
        from_file = aggregate_file(path, agg)
        in_memory = agg.accumulate(Partial(), events)
        assert from_file.groups == in_memory.groups
        store = Store(path)
        store.load()
        assert from_file.skipped == store.read_stats.skipped


@settings(max_examples=20, deadline=None)
@given(st.lists(an_event(), min_size=1, max_size=60), st.integers(2, 5))
def test_parallel_scan_equals_serial_scan(events: list[Event], workers: int) -> None:
    """Forked workers over byte ranges merge to exactly the single-process result."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "log.jsonl"
        path.write_bytes(b"".join(e.to_json() + b"\n" for e in events))
        agg = Aggregator(tz=UTC)
        assert aggregate_file(path, agg, workers=workers) == aggregate_file(path, agg, workers=1)


def test_estimates_round_up_by_four_bytes() -> None:
    """estimate counts UTF-8 bytes / 4, rounded up, like jcode."""
    assert estimate_bytes(0) == 0
    assert estimate_bytes(1) == 1
    assert estimate_bytes(4) == 1
    assert estimate_bytes(5) == 2
    assert estimate("héllo") == 2  # six bytes
    assert estimate("") == 0


def test_context_breakdown_static_total_leaves_out_messages() -> None:
    """static_total sums the four assembly-time parts only."""
    b = ContextBreakdown(
        system_prompt_tokens=1,
        system_tools_tokens=2,
        mcp_tools_tokens=3,
        skills_tokens=4,
        messages_tokens=100,
        context_limit=200_000,
    )
    assert b.static_total() == 10


@settings(max_examples=150)
@given(
    st.lists(an_event(), max_size=40),
    st.lists(st.sampled_from(["model", "project", "session", "source", "corrects"]), max_size=3, unique=True),
    st.sampled_from(["day", "hour"]),
    st.booleans(),
)
def test_the_generated_fold_equals_a_plain_reference(
    events: list[Event], dims: list[str], bucket: str, per_event: bool
) -> None:
    """For any number of dimensions (the fold loops are generated per set of them), either
    bucket and either loop (runs, or event by event), the partial equals one built with a
    plain dict: sums per group, turns without corrections, first and last ts."""
    agg = Aggregator(tuple(dims), tz=UTC, bucket=bucket)
    agg._per_event = per_event
    expected: dict[object, list[int]] = {}
    for e in events:
        if bucket == "hour":
            when: object = e.ts // 3600 * 3600
        else:
            when = datetime.fromtimestamp(e.ts, UTC).date().isoformat()
        values = tuple(getattr(e, d) for d in dims)
        key = (when, values[0] if len(dims) == 1 else values)
        row = expected.setdefault(key, [0] * 10 + [e.ts, e.ts])
        counts = (e.total, e.prompt, e.completion, e.cached, e.reasoning, e.cache_write, e.calls)
        for i, n in enumerate(counts):
            row[i] += n
        row[7] += 0 if e.corrects else 1
        row[10] = min(row[10], e.ts)
        row[11] = max(row[11], e.ts)
    got = agg.accumulate(Partial(), events)
    assert got.groups == expected
    assert got.skipped == 0


def test_grouping_by_a_field_that_is_not_an_event_field_is_refused() -> None:
    import pytest

    with pytest.raises(ValueError, match="not event fields"):
        Aggregator(("model", "nonsense"))


def test_the_fold_loop_follows_the_shape_of_the_log() -> None:
    """Batches where the group changes every event or two switch the next batch to the
    event loop, and long runs switch it back; the partial is the same either way."""
    projects = ["/a", "/b", "/c"]
    alternating = [
        Event(ts=BASE + i * 60, model="m", project=projects[i % 3], prompt=100 + i, completion=i)
        for i in range(900)
    ]
    steady = [
        Event(ts=BASE + 100_000 + i * 60, model="m", project="/a", prompt=5, completion=1) for i in range(900)
    ]
    agg = Aggregator(tz=UTC)
    partial = Partial()
    seen = []
    for batch in (alternating[:300], alternating[300:600], steady[:450], steady[450:], alternating[600:]):
        agg.accumulate(partial, batch)
        seen.append(agg._per_event)
    assert seen == [True, True, False, False, True]
    reference = Aggregator(tz=UTC)
    whole = Partial()
    for event in alternating + steady:  # one event at a time: never adapts
        reference.accumulate(whole, [event])
    assert partial == whole
