"""Turning derived views into terminal text and JSON-ready dicts."""

from __future__ import annotations

import sys
from datetime import date, timedelta
from typing import Any

from jusage.aggregate import Usage
from jusage.render.text import cost_cell, format_int, format_tokens, format_usd, render_table
from jusage.views.stats import Share, Spend, Stats

__all__ = ["render_stats", "sparkline", "stats_to_json"]

_BARS = "▁▂▃▄▅▆▇█"
_ASCII_BARS = ".:-=+*#@"


_PICO_PER_USD = 10**12


def _usd(pico: int) -> float:
    return pico / _PICO_PER_USD


def stats_to_json(stats: Stats, spend: Spend | None = None) -> dict[str, Any]:
    """The whole stats view as plain JSON types (the ``jusage stats --json`` shape).

    Money is US dollars: ``cost_usd`` beside each token figure (totals, days, models,
    projects), ``unpriced_tokens`` for the tokens no price was found for, and with ``spend``
    a ``spend`` object (``today_usd``, ``this_month_usd``, ``projected_month_usd``).
    """
    t = stats.totals
    out = {
        "totals": {
            "total": t.total,
            "prompt": t.prompt,
            "completion": t.completion,
            "cached": t.cached,
            "reasoning": t.reasoning,
            "cache_write": t.cache_write,
            "calls": t.calls,
            "turns": t.turns,
            "cost_usd": _usd(t.cost_pico),
            "unpriced_tokens": t.unpriced,
        },
        "active_days": stats.active_days,
        "current_streak": stats.current_streak,
        "longest_streak": stats.longest_streak,
        "most_used_model": stats.most_used_model,
        "cache_hit_rate": stats.cache_hit_rate,
        "cache_supported": stats.cache_supported,
        "days": {d: _day_json(d, stats.days[d]) for d in sorted(stats.days)},
        "by_model": [_share_json(s) for s in stats.by_model],
        "by_project": [_share_json(s) for s in stats.by_project],
        "trend": [_day_json(d, usage) for d, usage in stats.trend],
        "skipped_lines": stats.skipped_lines,
    }
    if spend is not None:
        out["spend"] = {
            "today_usd": spend.today / 1_000_000,
            "this_month_usd": spend.this_month / 1_000_000,
            "projected_month_usd": spend.projected_month / 1_000_000,
        }
    return out


def _day_json(day: str, usage: Usage) -> dict[str, Any]:
    return {
        "date": day,
        "tokens": usage.total,
        "turns": usage.turns,
        "calls": usage.calls,
        "cost_usd": _usd(usage.cost_pico),
    }


def _share_json(s: Share) -> dict[str, Any]:
    return {
        "name": s.name,
        "tokens": s.tokens,
        "share": s.share,
        "cost_usd": _usd(s.cost_pico),
        "unpriced_tokens": s.unpriced_tokens,
    }


def _can_encode(text: str) -> bool:
    try:
        text.encode(sys.stdout.encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def sparkline(values: list[int], *, unicode: bool = True) -> str:
    """One character per value, its height proportional to the largest; zero is a space."""
    bars = _BARS if unicode else _ASCII_BARS
    top = max(values, default=0)
    if top <= 0:
        return " " * len(values)
    out = []
    for v in values:
        out.append(" " if v <= 0 else bars[min(len(bars) - 1, (v * len(bars) - 1) // top)])
    return "".join(out)


def _share_rows(shares: list[Share], limit: int) -> list[list[str]]:
    rows = [
        [s.name, format_int(s.tokens), f"{s.share * 100:5.1f}%", cost_cell(s.cost_pico, s.unpriced_tokens)]
        for s in shares[:limit]
    ]
    if len(shares) > limit:
        rest = shares[limit:]
        rows.append(
            [
                f"({len(rest)} more)",
                format_int(sum(s.tokens for s in rest)),
                f"{sum(s.share for s in rest) * 100:5.1f}%",
                cost_cell(sum(s.cost_pico for s in rest), sum(s.unpriced_tokens for s in rest)),
            ]
        )
    return rows


def render_stats(
    stats: Stats,
    today: date,
    *,
    width: int = 80,
    limit: int = 8,
    spend: Spend | None = None,
    color: bool = False,
) -> str:
    """The human view of ``jusage stats``: totals, cost, streaks, shares and a day-by-day trend.

    With ``spend``, a line with today's and this month's spend and the month's projection;
    ``color`` makes the tables' headers bold and their rules dim.
    """
    t = stats.totals
    unicode = _can_encode(_BARS)
    lines = [
        f"Tokens     {format_int(t.total):>15}  ({format_tokens(t.total)})",
        f"  prompt   {format_int(t.prompt):>15}   cached {format_int(t.cached)}, "
        f"cache writes {format_int(t.cache_write)}",
        f"  output   {format_int(t.completion):>15}   reasoning {format_int(t.reasoning)}",
        f"Turns      {format_int(t.turns):>15}   API calls {format_int(t.calls)}",
        f"Active days {stats.active_days:>14}   current streak {stats.current_streak}, "
        f"longest {stats.longest_streak}",
        "Cache hit rate "
        + (f"{stats.cache_hit_rate * 100:10.1f}%" if stats.cache_supported else "  (no cache use seen)"),
        f"Most used model  {stats.most_used_model or '-'}",
        f"Cost       {format_usd(t.cost_micro):>15}"
        + (f"   + {format_int(t.unpriced)} tokens with no price" if t.unpriced else ""),
    ]
    if spend is not None:
        lines.append(
            f"Spend      today {format_usd(spend.today)}, this month {format_usd(spend.this_month)},"
            f" projected {format_usd(spend.projected_month)}"
        )
    marked = False
    for heading, shares in (("Model", stats.by_model), ("Project", stats.by_project)):
        if shares:
            rows = _share_rows(shares, limit)
            marked = marked or any(row[3].endswith("*") for row in rows)
            table = render_table(
                [heading, "Tokens", "Share", "Cost"], rows, "lrrr", max_width=width, color=color
            )
            lines += ["", table]
    if marked:
        lines.append("* the cost leaves out tokens no price was found for.")
    if stats.days:
        lines += ["", *_trend_lines(stats, today, width, unicode)]
    if stats.skipped_lines:
        lines += [
            "",
            f"Skipped {stats.skipped_lines:,} malformed line"
            f"{'s' if stats.skipped_lines != 1 else ''} in the log.",
        ]
    return "\n".join(lines)


def _trend_lines(stats: Stats, today: date, width: int, unicode: bool) -> list[str]:
    span = max(7, min(width - 14, 60))
    last = max(today, max(date.fromisoformat(d) for d in stats.days if d[:1].isdigit() and d > "0001"))
    days = [last - timedelta(days=i) for i in range(span - 1, -1, -1)]
    values = [stats.days.get(d.isoformat(), Usage()).total for d in days]
    peak = max(values, default=0)
    return [
        f"Last {span} days (peak {format_tokens(peak)} tokens/day)",
        f"  {sparkline(values, unicode=unicode)}",
        f"  {days[0].isoformat()}{' ' * max(1, span - 20)}{days[-1].isoformat()}",
    ]
