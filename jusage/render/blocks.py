"""The terminal table of the five-hour blocks (see :mod:`jusage.views.blocks`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo

from jusage.render.reports import short_model
from jusage.render.text import cost_cell, format_int, format_pico, format_usd, render_table
from jusage.views.blocks import Block

__all__ = ["render_blocks"]


def _local(ts: int, tz: tzinfo | None) -> str:
    try:
        moment = datetime.fromtimestamp(ts, tz) if tz is not None else datetime.fromtimestamp(ts)
    except (OverflowError, OSError, ValueError):  # outside the calendar, as in _iso
        return "0000-00-00 00:00"
    return moment.strftime("%Y-%m-%d %H:%M")


def _duration(seconds: int) -> str:
    minutes = max(0, seconds) // 60
    return f"{minutes // 60}h {minutes % 60:02d}m"


def render_blocks(
    blocks: Sequence[Block],
    now: int,
    *,
    tz: tzinfo | None = None,
    limit: int | None = None,
    width: int = 80,
    color: bool = False,
) -> str:
    """Blocks as a table: start (in ``tz``), duration or status, models, tokens, % of the
    limit (with one), cost. The active block gets REMAINING (with a limit) and PROJECTED rows
    and a line with its burn rate."""
    headers = ["Block Start", "Duration", "Models", "Tokens", *(["%"] if limit else []), "Cost"]
    align = "lll" + "r" * (len(headers) - 3)
    rows: list[list[str]] = []
    lines: list[str] = []
    for b in blocks:
        pct: list[str] = []
        if b.gap:
            rows.append(
                [
                    _local(b.start, tz),
                    f"{_duration(b.end - b.start)} gap",
                    "-",
                    "-",
                    *(["-"] if limit else []),
                    "-",
                ]
            )
            continue
        if limit:
            pct = [f"{b.tokens / limit * 100:.1f}%"]
        status = f"ACTIVE, {_duration(b.end - now)} left" if b.active else _duration(b.tally.last - b.start)
        cost = cost_cell(b.tally.cost_pico, b.tally.unpriced)
        rows.append(
            [
                _local(b.start, tz),
                status,
                ", ".join(short_model(m) for m in b.models) or "-",
                format_int(b.tokens),
                *pct,
                cost,
            ]
        )
        if b.active:
            if limit:
                left = max(0, limit - b.tokens)
                rows.append(["", "REMAINING", "", format_int(left), f"{left / limit * 100:.1f}%", ""])
            projected = b.projection(now)
            if projected is not None:
                tokens, cost_pico, _ = projected
                rows.append(
                    [
                        "",
                        "PROJECTED",
                        "",
                        format_int(tokens),
                        *([f"{tokens / limit * 100:.1f}%"] if limit else []),
                        format_pico(cost_pico),
                    ]
                )
            rate = b.burn_rate()
            if rate is not None:
                lines.append(
                    f"Active block burn rate: {format_int(round(rate[0]))} tokens/min, "
                    f"{format_usd(round(rate[1] * 1_000_000))}/hour"
                )
    text = render_table(headers, rows, align, max_width=width, color=color)
    if limit:
        lines.insert(0, f"Token limit: {format_int(limit)} tokens per block.")
    if any(b.tally.unpriced for b in blocks):
        lines.append("* the cost leaves out tokens no price was found for.")
    return "\n".join([text, *lines])
