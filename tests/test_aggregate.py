"""The pure aggregation: properties of the mergeable partial and jcode's derived view."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from jusage.aggregate import Aggregator, Partial, rollup
from jusage.costing import Coster
from jusage.estimate import ContextBreakdown, estimate, estimate_bytes
from jusage.events import Event
from jusage.pricing import Pricer, Rates
from jusage.scan import aggregate_file
from jusage.store import Store
from jusage.views.reports import period_report, report_to_json
from jusage.views.stats import aggregate, current_streak, longest_streak, stats_view

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
        cost_usd=draw(st.none() | st.none() | st.floats(0, 10)),
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
    assert stats_view(rollup(left.merge(right), agg), TODAY) == stats_view(rollup(whole, agg), TODAY)


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
    assert sum(b.total for b in s.days.values()) == s.totals.total
    assert sum(b.turns for b in s.days.values()) == s.totals.turns
    assert sum(b.calls for b in s.days.values()) == s.totals.calls
    assert [day for day, _ in s.trend] == sorted(s.days)


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
)
def test_the_fold_equals_a_plain_reference(events: list[Event], dims: list[str], bucket: str) -> None:
    """For any dimensions and either bucket, the partial equals one built with a plain dict:
    sums per group (the model, UTC day and whether a cost was reported in the key), turns
    without corrections, reported pico-dollars, first and last ts."""
    agg = Aggregator(tuple(dims), tz=UTC, bucket=bucket)
    expected: dict[object, list[int]] = {}
    for e in events:
        utc_day = datetime.fromtimestamp(e.ts, UTC).date().isoformat()
        when: object = e.ts // 3600 * 3600 if bucket == "hour" else utc_day
        values = tuple(getattr(e, d) for d in dims) + (() if "model" in dims else (e.model,))
        key = ((when, utc_day), values, 0, e.cost_usd is not None)
        row = expected.setdefault(key, [0] * 10 + [e.ts, e.ts])
        counts = (e.prompt, e.completion, e.cached, e.cache_write, e.cache_write_1h, e.reasoning, e.calls)
        for i, n in enumerate(counts):
            row[i] += n
        row[7] += 0 if e.corrects else 1
        row[8] += round(e.cost_usd * 1e12) if e.cost_usd is not None else 0
        row[10] = min(row[10], e.ts)
        row[11] = max(row[11], e.ts)
    got = agg.accumulate(Partial(), events)
    assert got.groups == expected
    assert got.skipped == 0


TIERED = Rates(3_000_000, 15_000_000, 300_000, 3_750_000, 6_000_000, ((20_000, Rates(6, 30, 1, 7, 12)),))


@settings(max_examples=100, deadline=None)
@given(st.lists(an_event(named=True), max_size=40), st.sampled_from(["auto", "calculate", "display"]))
def test_pricing_the_sums_equals_pricing_every_event(events: list[Event], mode: str) -> None:
    """The cost of a rolled-up table equals the sum of each event priced on its own, its
    tier chosen from its own prompt, its reported cost used as the mode says."""
    pricer = Pricer({"a": TIERED, "b": Rates(1, 2, 1, 2, 3)})
    coster = Coster(pricer, mode)  # type: ignore[arg-type]
    agg = Aggregator(("project",), tz=UTC, coster=coster)
    table = rollup(agg.accumulate(Partial(), events), agg)
    expected_cost = expected_unpriced = 0
    for e in events:
        if e.cost_usd is not None and mode != "calculate":
            expected_cost += round(e.cost_usd * 1e12)
        elif mode == "display" or e.model == "c":
            expected_unpriced += e.tokens
        else:
            rates = TIERED if e.model == "a" else Rates(1, 2, 1, 2, 3)
            expected_cost += rates.cost_pico(
                e.prompt, e.completion, e.cached, e.cache_write, e.cache_write_1h
            )
    assert sum(row[8] for row in table.rows.values()) == expected_cost
    assert sum(row[9] for row in table.rows.values()) == expected_unpriced


def test_grouping_by_a_field_that_is_not_an_event_field_is_refused() -> None:
    import pytest

    with pytest.raises(ValueError, match="not event fields"):
        Aggregator(("model", "nonsense"))


@settings(max_examples=30, deadline=None)
@given(st.lists(an_event(named=True), min_size=1, max_size=50), st.randoms())
def test_report_output_does_not_depend_on_the_order_of_lines(events: list[Event], rnd: object) -> None:
    """A log with its lines shuffled (as a log merged from several machines is) gives the
    same daily report, byte for byte."""
    import tempfile

    import orjson

    pricer = Pricer({"a": TIERED, "b": Rates(1, 2, 1, 2, 3)})
    shuffled = list(events)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    outputs = []
    with tempfile.TemporaryDirectory() as tmp:
        for index, order in enumerate((events, shuffled)):
            path = Path(tmp) / f"log{index}.jsonl"
            path.write_bytes(b"".join(e.to_json() + b"\n" for e in order))
            agg = Aggregator(("model", "project"), tz=UTC, coster=Coster(pricer, "auto"))
            table = rollup(aggregate_file(path, agg), agg)
            outputs.append(orjson.dumps(report_to_json(period_report(table, "daily"))))
    assert outputs[0] == outputs[1]
