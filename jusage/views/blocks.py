"""Five-hour usage blocks, as Anthropic meters them, built from an hourly aggregated table.

A block starts at its first event floored to the UTC hour and covers the five hours from
there, ``[start, start + 5 h)``; the first event at or after its end starts the next block
(so an idle gap of more than five hours always does). Blocks never overlap, and since a
block's edges are whole hours, per-hour rows (``Aggregator(bucket="hour")``) decide
exactly which block every event belongs to. ccusage counts an event at exactly
``start + 5 h`` in the old block; here it opens the next one, which keeps blocks disjoint.

Between two blocks separated by more than five hours of silence a *gap* block is listed
(as ccusage does), from five hours after the last event to the next block's start.

A block is *active* when ``now`` falls inside it (which puts ``now`` less than five hours
after its last event). Its burn rate is its tokens (and cost) over the time from its first to its last event,
and the projection extends that rate to the block's end. ``now`` is always a parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from jusage.aggregate import COMPLETION, PROMPT, Table, Usage
from jusage.views.reports import _Acc

__all__ = [
    "BLOCK_SECONDS",
    "WARNING_SHARE",
    "Block",
    "block_to_json",
    "blocks_to_json",
    "build_blocks",
    "max_completed_tokens",
    "parse_token_limit",
    "select_blocks",
    "unpriced_in",
]

BLOCK_SECONDS = 5 * 3600
"""The length of a block."""

WARNING_SHARE = 0.8
"""A block projected past this share of the token limit is flagged ``warning``."""

RECENT_SECONDS = 3 * 86400
"""``--recent`` keeps blocks that started within the last three days (and the active one)."""


@dataclass(frozen=True, slots=True)
class Block:
    """One five-hour block (or a gap between blocks), times in unix seconds.

    ``tally.first`` / ``tally.last`` are its first and last events; ``models`` lists the
    models used, most tokens first. ``active`` is decided against ``now`` when built.
    """

    start: int
    end: int
    tally: Usage
    models: tuple[str, ...] = ()
    active: bool = False
    gap: bool = False

    @property
    def tokens(self) -> int:
        """All tokens of the block (input, output, cache writes and reads)."""
        return self.tally.total

    def burn_rate(self) -> tuple[float, float] | None:
        """``(tokens per minute, US dollars per hour)`` between its first and last event.

        None for a gap or when first and last event share a second (no elapsed time).
        """
        minutes = (self.tally.last - self.tally.first) / 60
        if self.gap or minutes <= 0:
            return None
        return self.tokens / minutes, self.tally.cost_usd / minutes * 60

    def projection(self, now: int) -> tuple[int, int, int] | None:
        """``(tokens, cost in pico-dollars, minutes left)`` at the block's end at this rate.

        Only for an active block with a burn rate. Integer arithmetic: the additional
        tokens and cost are the block's so far times remaining / elapsed, rounded down.
        """
        if not self.active or self.burn_rate() is None:
            return None
        elapsed = self.tally.last - self.tally.first
        remaining = max(0, self.end - now)
        tokens = self.tokens + self.tokens * remaining // elapsed
        cost = self.tally.cost_pico + self.tally.cost_pico * remaining // elapsed
        return tokens, cost, round(remaining / 60)


def build_blocks(table: Table, now: int) -> list[Block]:
    """The blocks (and gaps) of an hourly table, in time order; ``now`` decides ``active``.

    ``model`` among the table's dimensions names the models of each block (see
    :func:`jusage.views.reports.narrow` for one project or agent).
    """
    if table.bucket != "hour":
        raise ValueError("blocks need a table with hour buckets")
    hours: dict[int, list[tuple[str, list[int]]]] = {}
    model_at = table.position("model") if "model" in table.dims else None
    for hour, values, counters in table.items():
        hours.setdefault(hour, []).append((values[model_at] if model_at is not None else "", counters))

    blocks: list[Block] = []
    start = -1
    acc = _Acc()
    models: dict[str, int] = {}

    def close() -> None:
        tally = acc.usage()
        names = tuple(m for m, _ in sorted(models.items(), key=lambda i: (-i[1], i[0])) if m)
        end = start + BLOCK_SECONDS
        # ccusage also asks for the last event within 5 h of now, which start <= now < end implies
        active = start <= now < end
        blocks.append(Block(start, end, tally, names, active))

    for hour in sorted(hours):
        if start >= 0 and hour >= start + BLOCK_SECONDS:
            close()
            # after more than five hours of silence, list the gap up to the next block's start
            gap_start = blocks[-1].tally.last + BLOCK_SECONDS
            if gap_start < hour:
                blocks.append(Block(gap_start, hour, Usage(), gap=True))
            start = -1
        if start < 0:
            start = hour
            acc = _Acc()
            models = {}
        for model, counters in hours[hour]:
            acc.add(counters)
            models[model] = models.get(model, 0) + counters[PROMPT] + counters[COMPLETION]
    if start >= 0:
        close()
    return blocks


def unpriced_in(blocks: Sequence[Block], table: Table) -> dict[str, int]:
    """The tokens with no price per model (see :func:`~jusage.costing.unpriced_models`) in
    the hours of ``blocks`` (in time order, as :func:`build_blocks` gives them) of ``table``,
    the hourly table they were built from."""
    from bisect import bisect_right

    from jusage.aggregate import UNPRICED
    from jusage.costing import unpriced_models

    spans = [(b.start, b.end) for b in blocks if b.tally.unpriced]
    starts = [start for start, _ in spans]
    model_at = table.position("model")

    def shown(hour: int) -> bool:
        at = bisect_right(starts, hour) - 1
        return at >= 0 and hour < spans[at][1]

    return unpriced_models(
        (values[model_at], c[UNPRICED]) for hour, values, c in table.items() if shown(hour)
    )


def max_completed_tokens(blocks: Sequence[Block]) -> int:
    """The most tokens in any completed (not active, not gap) block; 0 when there is none."""
    return max((b.tokens for b in blocks if not b.active and not b.gap), default=0)


def parse_token_limit(text: str | None, blocks: Sequence[Block]) -> int | None:
    """``--token-limit``: a positive whole number, or ``max`` (the largest completed block).

    None when not given, or ``max`` with no completed block yet. Raises ValueError for
    anything else.
    """
    if text is None:
        return None
    key = text.strip().lower()
    if key == "max":
        return max_completed_tokens(blocks) or None
    digits = key.replace(",", "").replace("_", "")
    if not digits.isdigit() or not digits.isascii() or int(digits) <= 0:
        raise ValueError(f"expected a positive number of tokens or 'max', got {text!r}")
    return int(digits)


def select_blocks(
    blocks: Sequence[Block],
    *,
    now: int,
    tz: tzinfo | None = None,
    since: str | None = None,
    until: str | None = None,
    active: bool = False,
    recent: bool = False,
) -> list[Block]:
    """The blocks a report shows: those starting on a day in ``[since, until]`` (``YYYY-MM-DD``,
    in ``tz``), then only the active one(s) with ``active``, only the last three days' (and the
    active) with ``recent``. Gaps at the ends of the selection are dropped."""
    from jusage.days import Calendar

    day = Calendar(tz).day
    lo, hi = since or "", until or "9999-99-99"
    out = [b for b in blocks if lo <= day(b.start) <= hi]
    if active:
        out = [b for b in out if b.active]
    if recent:
        out = [b for b in out if b.start >= now - RECENT_SECONDS or b.active]
    while out and out[0].gap:
        out.pop(0)
    while out and out[-1].gap:
        out.pop()
    return out


# -- JSON -----------------------------------------------------------------------------------------


def _iso(ts: int) -> str:
    """Unix seconds as JavaScript's ``toISOString`` writes them: ``2026-11-20T14:00:00.000Z``.

    A time outside the calendar (before year 1 or after 9999) is written with the zero date
    the day buckets use for it.
    """
    try:
        return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    except (OverflowError, OSError, ValueError):
        return "0000-00-00T00:00:00.000Z"


def _status(used: int, limit: int) -> str:
    if used > limit:
        return "exceeds"
    return "warning" if used > limit * WARNING_SHARE else "ok"


def block_to_json(block: Block, now: int, limit: int | None = None) -> dict[str, Any]:
    """One block in ccusage's shape (``id``, ``startTime``, ``tokenCounts``, ``costUSD``, ...).

    ``burnRate`` and ``projection`` are set for the active block only. With a ``limit``,
    ``tokenLimitStatus`` compares the projected (active) or final tokens with it.
    """
    t = block.tally
    rate = block.burn_rate() if block.active else None
    projection = block.projection(now)
    out: dict[str, Any] = {
        "id": ("gap-" if block.gap else "") + _iso(block.start),
        "startTime": _iso(block.start),
        "endTime": _iso(block.end),
        "actualEndTime": None if block.gap else _iso(t.last),
        "isActive": block.active,
        "isGap": block.gap,
        "entries": t.turns,
        "tokenCounts": {
            "inputTokens": t.input_tokens,
            "outputTokens": t.completion,
            "cacheCreationInputTokens": t.cache_write,
            "cacheReadInputTokens": t.cached,
        },
        "totalTokens": block.tokens,
        "costUSD": t.cost_usd,
        "unpricedTokens": t.unpriced,
        "models": list(block.models),
        "burnRate": None if rate is None else {"tokensPerMinute": rate[0], "costPerHour": rate[1]},
        "projection": None
        if projection is None
        else {
            "totalTokens": projection[0],
            "totalCost": projection[1] / 10**12,
            "remainingMinutes": projection[2],
        },
    }
    if limit is not None and not block.gap:
        used = projection[0] if projection is not None else block.tokens
        out["tokenLimitStatus"] = {
            "limit": limit,
            "projectedUsage": used,
            "percentUsed": used / limit * 100,
            "status": _status(used, limit),
        }
    return out


def blocks_to_json(blocks: Sequence[Block], now: int, limit: int | None = None) -> dict[str, Any]:
    """``{"blocks": [...]}`` as ccusage's ``blocks --json`` writes it."""
    return {"blocks": [block_to_json(b, now, limit) for b in blocks]}
