"""Costs in the aggregation: the cost modes, exact money, and its algebraic properties."""

from __future__ import annotations

from datetime import UTC, date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jusage.aggregate import COST, UNPRICED, Aggregator, Partial, rollup
from jusage.costing import Coster, pico_from_usd, unpriced_models
from jusage.events import Event
from jusage.pricing import Pricer, Rates
from jusage.views.stats import spend_view

DAY_TS = 1_790_000_000  # 2026-09-21 UTC
SONNET = Rates(3_000_000, 15_000_000, 300_000, 3_750_000, 6_000_000)
GPT = Rates(1_250_000, 10_000_000, 125_000, 1_250_000, 1_250_000)


@pytest.fixture(scope="module")
def pricer() -> Pricer:
    """Overrides only (the package is never consulted for these names), so tests are exact."""
    return Pricer({"claude-test": SONNET, "gpt-test": GPT})


@pytest.fixture(scope="module")
def package() -> Pricer:
    """The real package prices, no overrides file."""
    return Pricer.load(use_default_file=False)


def cost_of(pricer: Pricer, events: list[Event], mode: str = "auto") -> tuple[int, int]:
    """(cost pico-dollars, unpriced tokens) of ``events`` through the aggregation."""
    agg = Aggregator(("model",), tz=UTC, coster=Coster(pricer, mode))  # type: ignore[arg-type]
    table = rollup(agg.accumulate(Partial(), events), agg)
    return sum(c[COST] for c in table.rows.values()), sum(c[UNPRICED] for c in table.rows.values())


def one_cost(pricer: Pricer, e: Event, mode: str = "calculate") -> int | None:
    """The cost of one event through the aggregation, ``None`` when it has no price."""
    cost, unpriced = cost_of(pricer, [e], mode)
    return None if unpriced else cost


# --- the modes ------------------------------------------------------------------------------------


def test_auto_uses_the_reported_cost_when_present(pricer: Pricer) -> None:
    """auto: an event's own cost_usd wins over the calculated price."""
    e = Event(ts=DAY_TS, model="claude-test", prompt=1_000_000, cost_usd=0.5)
    assert cost_of(pricer, [e], "auto") == (pico_from_usd(0.5), 0)


def test_auto_calculates_when_no_cost_is_reported(pricer: Pricer) -> None:
    """auto: without cost_usd, 1M uncached input tokens at $3/M cost $3."""
    e = Event(ts=DAY_TS, model="claude-test", prompt=1_000_000)
    assert cost_of(pricer, [e], "auto") == (3 * 10**12, 0)


def test_calculate_ignores_the_reported_cost(pricer: Pricer) -> None:
    """calculate: cost_usd is ignored."""
    e = Event(ts=DAY_TS, model="claude-test", prompt=1_000_000, cost_usd=0.5)
    assert cost_of(pricer, [e], "calculate") == (3 * 10**12, 0)


def test_display_counts_events_without_a_reported_cost_as_unpriced(pricer: Pricer) -> None:
    """display: only cost_usd counts; the rest are unpriced tokens, not free."""
    with_cost = Event(ts=DAY_TS, model="claude-test", prompt=100, completion=10, cost_usd=0.25)
    without = Event(ts=DAY_TS, model="claude-test", prompt=200, completion=20)
    assert cost_of(pricer, [with_cost, without], "display") == (pico_from_usd(0.25), 220)


def test_unknown_model_is_unpriced_never_free(pricer: Pricer) -> None:
    """An event of a model with no price adds its tokens to unpriced and nothing to cost."""
    e = Event(ts=DAY_TS, model="no-such-model-xyz", prompt=500, completion=50)
    assert cost_of(pricer, [e]) == (0, 550)


def test_unknown_mode_is_rejected(pricer: Pricer) -> None:
    """Coster refuses a mode it does not know."""
    with pytest.raises(ValueError, match="unknown cost mode"):
        Coster(pricer, "cheap")  # type: ignore[arg-type]


# --- known prices, by hand -------------------------------------------------------------------------


def test_anthropic_cost_with_cache_reads_writes_and_the_long_context_tier(package: Pricer) -> None:
    """claude-sonnet-4-5 on 2025-10-01: a 250k prompt is billed at the >200k tier rates.

    prompt 250,000 = 150,000 cache reads + 50,000 cache writes (5 min) + 50,000 new input
      new input  50,000 x $6.00/M  = $0.30
      reads     150,000 x $0.60/M  = $0.09
      writes     50,000 x $7.50/M  = $0.375
      output     10,000 x $22.50/M = $0.225
      total                          $0.99
    """
    ts = 1_759_320_000  # 2025-10-01 12:00 UTC
    e = Event(
        ts=ts,
        model="claude-sonnet-4-5-20250929",
        prompt=250_000,
        cached=150_000,
        cache_write=50_000,
        completion=10_000,
    )
    assert cost_of(package, [e], "calculate") == (990_000_000_000, 0)


def test_openai_cost_with_cache_reads(package: Pricer) -> None:
    """gpt-5 on 2025-10-01: 100k prompt with 80k cached, 5k output.

    new input  20,000 x $1.25/M  = $0.025
    reads      80,000 x $0.125/M = $0.01
    output      5,000 x $10/M    = $0.05
    total                          $0.085
    """
    e = Event(ts=1_759_320_000, model="gpt-5", prompt=100_000, cached=80_000, completion=5_000)
    assert cost_of(package, [e], "calculate") == (85_000_000_000, 0)


def test_coster_matches_rates_cost_pico(pricer: Pricer) -> None:
    """The aggregation gives exactly what Rates.cost_pico gives, tiers included."""
    tiered = Rates(1, 2, 3, 4, 5, tiers=((100, Rates(10, 20, 30, 40, 50)),))
    one = Pricer({"t": tiered})
    for prompt in (50, 100, 101, 5000):
        e = Event(
            ts=DAY_TS,
            model="t",
            prompt=prompt,
            cached=prompt // 4,
            cache_write=prompt // 5,
            cache_write_1h=prompt // 10,
            completion=7,
        )
        expected = tiered.cost_pico(prompt, 7, prompt // 4, prompt // 5, prompt // 10)
        assert one_cost(one, e) == expected


# --- properties ------------------------------------------------------------------------------------

MODELS = ["claude-test", "gpt-test", "unknown-model"]


@st.composite
def events(draw: Any) -> Event:
    prompt = draw(st.integers(0, 400_000))
    cached = draw(st.integers(0, prompt))
    write = draw(st.integers(0, prompt - cached))
    completion = draw(st.integers(0, 50_000))
    return Event(
        ts=draw(st.integers(1_700_000_000, 1_800_000_000)),
        model=draw(st.sampled_from(MODELS)),
        project=draw(st.sampled_from(["a", "b"])),
        prompt=prompt,
        cached=cached,
        cache_write=write,
        cache_write_1h=draw(st.integers(0, write)),
        completion=completion,
        reasoning=draw(st.integers(0, completion)),
        cost_usd=draw(st.none() | st.floats(0, 100, allow_nan=False)),
    )


@settings(max_examples=60, deadline=None)
@given(
    st.lists(events(), max_size=30), st.randoms(use_true_random=False), st.sampled_from(["auto", "calculate"])
)
def test_cost_does_not_depend_on_event_order(pricer: Pricer, evs: list[Event], rnd: Any, mode: str) -> None:
    """Shuffling the events gives the same integer costs per group."""
    agg = Aggregator(("model", "project"), tz=UTC, coster=Coster(pricer, mode))  # type: ignore[arg-type]
    shuffled = list(evs)
    rnd.shuffle(shuffled)
    assert rollup(agg.accumulate(Partial(), evs), agg) == rollup(agg.accumulate(Partial(), shuffled), agg)


@settings(max_examples=60, deadline=None)
@given(st.lists(events(), max_size=30), st.integers(0, 30))
def test_merge_of_costed_partials_equals_the_whole(pricer: Pricer, evs: list[Event], cut: int) -> None:
    """Costs survive splitting the events and merging the partials."""
    agg = Aggregator(("model",), tz=UTC, coster=Coster(pricer, "auto"))
    whole = agg.accumulate(Partial(), evs)
    left = agg.accumulate(Partial(), evs[:cut])
    right = agg.accumulate(Partial(), evs[cut:])
    assert left.merge(right) == whole
    assert right.merge(left) == whole


@settings(max_examples=60, deadline=None)
@given(events(), st.sampled_from(["auto", "calculate", "display"]))
def test_cost_is_never_negative(pricer: Pricer, e: Event, mode: str) -> None:
    """Every event costs zero or more (or is unpriced)."""
    cost = one_cost(pricer, e, mode)
    assert cost is None or cost >= 0


@settings(max_examples=80, deadline=None)
@given(events(), st.integers(0, 10_000), st.integers(0, 10_000), st.sampled_from(["claude-test", "gpt-test"]))
def test_cost_is_monotone_in_tokens(
    pricer: Pricer, e: Event, more_in: int, more_out: int, model: str
) -> None:
    """More input or output tokens never cost less (same model, no tier crossed)."""
    base = e.replace(model=model, cost_usd=None)
    bigger = base.replace(prompt=base.prompt + more_in, completion=base.completion + more_out)
    a, b = one_cost(pricer, base), one_cost(pricer, bigger)
    assert a is not None and b is not None
    assert b >= a


# --- spend and helpers -------------------------------------------------------------------------------


def test_spend_view_today_month_and_projection() -> None:
    """$1 a day for the 10 days up to the 10th of a 30-day month projects $30."""
    days = {f"2026-09-{d:02d}": 10**12 for d in range(1, 11)}
    days["2026-08-31"] = 5 * 10**12  # last month: in the 7-day window? no, 10 days back
    spend = spend_view(days, date(2026, 9, 10))
    assert spend.today == 1_000_000
    assert spend.this_month == 10_000_000
    assert spend.projected_month == 30_000_000


def test_unpriced_models_lists_names_with_tokens() -> None:
    """Zero entries vanish, duplicates add up, the empty model gets a name."""
    assert unpriced_models([("b", 0), ("a", 5), ("a", 2), ("", 1)]) == {"(no model)": 1, "a": 7}


# --- pricing the sums of groups -------------------------------------------------------------------

TIERED = Rates(
    3_000_000, 15_000_000, 300_000, 3_750_000, 6_000_000, tiers=((200_000, Rates(6, 22, 1, 7, 12)),)
)
TWO_TIERS = Rates(
    1, 2, 3, 4, 5, tiers=((100_000, Rates(10, 20, 30, 40, 50)), (150_000, Rates(7, 9, 8, 6, 5)))
)

MANY_MODELS = [
    *MODELS,
    "tiered",
    "two-tiers",
    "claude-sonnet-4-5-20250929",
    "claude-sonnet-4-20250514",
    "gemini-2.5-pro",
    "gemini-1.5-pro",
    "gpt-4o",
    "",
]
PROMPTS = [0, 1_000, 31_999, 32_001, 100_000, 100_001, 128_001, 150_001, 199_999, 200_000, 200_001, 300_000]


@st.composite
def many_events(draw: Any) -> list[Event]:
    """Events of models with package prices (their history and long-context tiers) and of
    overrides, prompts on both sides of every tier, some with a reported cost, over years."""
    out: list[Event] = []
    for _ in range(draw(st.integers(0, 30))):
        prompt = draw(st.sampled_from(PROMPTS))
        cached = draw(st.integers(0, prompt))
        write = draw(st.integers(0, prompt - cached))
        completion = draw(st.integers(0, 5_000))
        out.append(
            Event(
                ts=draw(st.integers(1_700_000_000, 1_800_000_000)),
                model=draw(st.sampled_from(MANY_MODELS)),
                project=draw(st.sampled_from(["a", "b"])),
                prompt=prompt,
                cached=cached,
                cache_write=write,
                cache_write_1h=draw(st.integers(0, write)),
                completion=completion,
                cost_usd=draw(st.sampled_from([None, None, None, 0.0, 1.25])),
            )
        )
    return out


@pytest.fixture(scope="module")
def mixed() -> Pricer:
    """Package prices (with their history and long-context tiers) behind three overrides."""
    return Pricer({"tiered": TIERED, "two-tiers": TWO_TIERS, "claude-test": SONNET, "gpt-test": GPT})


@settings(max_examples=120, deadline=None)
@given(
    many_events(),
    st.sampled_from(["auto", "calculate", "display"]),
    st.sampled_from([("model", "project"), ("project",), ()]),
    st.sampled_from(["UTC", "Europe/Berlin", "America/Los_Angeles"]),
)
def test_groups_priced_from_their_sums_equal_events_priced_one_by_one(
    mixed: Pricer, evs: list[Event], mode: str, dims: tuple[str, ...], zone: str
) -> None:
    """Every group is priced once from its sums; the cost and the unpriced tokens are those
    of pricing every event at its own UTC day and tier, whatever the zone and dimensions."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    agg = Aggregator(dims, tz=ZoneInfo(zone), coster=Coster(mixed, mode))  # type: ignore[arg-type]
    table = rollup(agg.accumulate(Partial(), evs), agg)
    cost = unpriced = 0
    for e in evs:
        if e.cost_usd is not None and mode != "calculate":
            cost += pico_from_usd(e.cost_usd)
            continue
        day = datetime.fromtimestamp(e.ts, UTC).date()
        rates = mixed.rates(e.model, day) if mode != "display" else None
        if rates is None:
            unpriced += e.tokens
        else:
            cost += rates.cost_pico(e.prompt, e.completion, e.cached, e.cache_write, e.cache_write_1h)
    assert sum(c[COST] for c in table.rows.values()) == cost
    assert sum(c[UNPRICED] for c in table.rows.values()) == unpriced


def test_each_models_tier_thresholds_come_from_its_price(mixed: Pricer) -> None:
    """The fold keeps apart prompts on either side of the model's own tier thresholds: an
    override's, else those of every price the package gives the model over time."""
    assert mixed.model_thresholds("two-tiers") == (100_000, 150_000)
    assert mixed.model_thresholds("gpt-test") == ()
    assert 200_000 in mixed.model_thresholds("claude-sonnet-4-5-20250929")
    assert mixed.model_thresholds("no-such-model") == ()
