"""Five-hour blocks: construction from hourly groups, activity, burn rate, limits, JSON."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jusage.aggregate import Aggregator, Partial, rollup
from jusage.events import Event
from jusage.render.blocks import render_blocks
from jusage.views.blocks import (
    BLOCK_SECONDS,
    Block,
    blocks_to_json,
    build_blocks,
    parse_token_limit,
    select_blocks,
)

H = 3600
T0 = 1_790_000_000 - 1_790_000_000 % H  # an hour boundary: 2026-09-21 14:00 UTC


def blocks_of(events: list[Event], now: int) -> list[Block]:
    agg = Aggregator(("model", "project"), bucket="hour")
    return build_blocks(rollup(agg.accumulate(Partial(), events), agg), now)


def ev(ts: int, tokens: int = 100, model: str = "m", project: str = "p") -> Event:
    return Event(ts=ts, model=model, project=project, prompt=tokens, completion=0)


def test_block_starts_at_the_first_event_floored_to_the_hour() -> None:
    """An event at 14:37 opens a block 14:00-19:00."""
    [block] = blocks_of([ev(T0 + 37 * 60)], now=T0 + 100 * H)
    assert (block.start, block.end) == (T0, T0 + BLOCK_SECONDS)


def test_event_at_the_block_end_opens_the_next_block() -> None:
    """Blocks are [start, start + 5 h): 19:00 is already the next block."""
    blocks = blocks_of([ev(T0), ev(T0 + 5 * H - 1), ev(T0 + 5 * H)], now=T0 + 100 * H)
    assert [b.start for b in blocks] == [T0, T0 + 5 * H]
    assert [b.tally.turns for b in blocks] == [2, 1]


def test_a_gap_of_more_than_five_hours_lists_a_gap_block() -> None:
    """After long silence a gap block sits between the two blocks, overlapping neither."""
    blocks = blocks_of([ev(T0), ev(T0 + 12 * H + 30 * 60)], now=T0 + 100 * H)
    assert [b.gap for b in blocks] == [False, True, False]
    assert blocks[1].start == T0 + 5 * H  # five hours after the last event
    assert blocks[1].end == blocks[2].start == T0 + 12 * H


def test_active_block_burn_rate_and_projection() -> None:
    """Active: now before the end and within 5 h of the last event; rate from first to last."""
    events = [ev(T0 + 10 * 60, 6000), ev(T0 + 70 * 60, 6000)]
    now = T0 + 2 * H
    [block] = blocks_of(events, now)
    assert block.active
    rate = block.burn_rate()
    assert rate is not None and rate[0] == pytest.approx(12000 / 60)
    projection = block.projection(now)
    assert projection is not None
    # 12,000 tokens in 60 min; 3 h left -> 12,000 + 12,000 * 180 / 60
    assert projection[:1] == (12000 + 36000,)
    assert projection[2] == 180


def test_block_is_not_active_after_its_end() -> None:
    """Past the end, no block is active and none has a projection."""
    [block] = blocks_of([ev(T0)], now=T0 + 5 * H)
    assert not block.active and block.projection(T0 + 5 * H) is None


def test_token_limit_values() -> None:
    """N, 'max' (the largest completed block) and bad values."""
    blocks = blocks_of([ev(T0, 500), ev(T0 + 6 * H, 900), ev(T0 + 20 * H, 10_000)], now=T0 + 21 * H)
    assert parse_token_limit("1,000", blocks) == 1000
    assert parse_token_limit("max", blocks) == 900  # the active 10,000 block does not count
    assert parse_token_limit(None, blocks) is None
    for bad in ("0", "-5", "lots", "1.5"):
        with pytest.raises(ValueError, match="positive number"):
            parse_token_limit(bad, blocks)


def test_json_shape_and_limit_status() -> None:
    """ccusage's block fields; tokenLimitStatus with a limit."""
    now = T0 + 2 * H
    blocks = blocks_of([ev(T0 + 60, 900), ev(T0 + 3600, 100)], now)
    data = blocks_to_json(blocks, now, limit=1000)
    [b] = data["blocks"]
    assert b["id"] == b["startTime"] == "2026-09-21T14:00:00.000Z"
    assert b["endTime"] == "2026-09-21T19:00:00.000Z"
    assert b["isActive"] is True and b["isGap"] is False
    assert b["entries"] == 2 and b["totalTokens"] == 1000
    assert set(b["tokenCounts"]) == {
        "inputTokens",
        "outputTokens",
        "cacheCreationInputTokens",
        "cacheReadInputTokens",
    }
    assert set(b["burnRate"]) == {"tokensPerMinute", "costPerHour"}
    assert b["tokenLimitStatus"]["status"] == "exceeds"


def test_select_recent_and_active_and_table() -> None:
    """--recent keeps the last 3 days, --active the active block; the table shows it."""
    now = T0 + 10 * 86_400 + H
    blocks = blocks_of([ev(T0), ev(T0 + 10 * 86_400)], now)
    assert [b.start for b in select_blocks(blocks, now=now, recent=True)] == [T0 + 10 * 86_400]
    [active] = select_blocks(blocks, now=now, active=True)
    text = render_blocks([active], now, limit=1000, width=80)
    assert "ACTIVE" in text and "REMAINING" in text


@st.composite
def timestamps(draw: Any) -> list[int]:
    return draw(st.lists(st.integers(T0, T0 + 4 * 86_400), min_size=1, max_size=60))


@settings(max_examples=150, deadline=None)
@given(timestamps(), st.integers(T0, T0 + 5 * 86_400))
def test_every_event_lands_in_exactly_one_block_and_blocks_never_overlap(stamps: list[int], now: int) -> None:
    """Block turns add up to the events; blocks are disjoint, ordered and contain their events."""
    blocks = blocks_of([ev(ts) for ts in stamps], now)
    real = [b for b in blocks if not b.gap]
    assert sum(b.tally.turns for b in real) == len(stamps)
    for b in real:
        assert b.start <= b.tally.first <= b.tally.last < b.end
        assert b.start % H == 0 and b.end - b.start == BLOCK_SECONDS
    for a, b in itertools.pairwise(blocks):
        assert a.end <= b.start
    for ts in stamps:
        assert sum(1 for b in real if b.start <= ts < b.end) == 1
    assert sum(b.active for b in blocks) <= 1
