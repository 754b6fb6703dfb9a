"""The terminal tables of ``jusage budget list`` and ``jusage budget status``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from jusage.render.text import format_pico, format_tokens, format_usd, render_table, warning_color

if TYPE_CHECKING:
    from jusage.budgets import Budget
    from jusage.checker import BudgetStatus

__all__ = ["BAR_WIDTH", "bar", "render_budget_list", "render_budget_status"]

BAR_WIDTH = 20
"""Characters of a usage bar."""


def _limits(b: Budget) -> str:
    parts = []
    if b.usd is not None:
        parts.append(format_usd(round(b.usd * 1e6)))
    if b.tokens is not None:
        parts.append(f"{format_tokens(b.tokens)} tok")
    return " + ".join(parts)


def render_budget_list(budgets: Sequence[Budget], *, width: int = 80) -> str:
    """Every budget: name, scope, period, limits, alert fraction and hard stop."""
    rows = [
        [
            b.name,
            b.describe_scope(),
            b.period,
            _limits(b),
            f"{b.alert_at:.0%}",
            "yes" if b.hard_stop else "no",
        ]
        for b in budgets
    ]
    return render_table(
        ["Budget", "Scope", "Period", "Limit", "Alert", "Stop"], rows, "llllrl", max_width=width
    )


def bar(percent: float, *, width: int = BAR_WIDTH) -> str:
    """A bar of ``width`` cells filled to ``percent`` (full from 100)."""
    filled = max(0, min(width, round(percent / 100 * width)))
    return "█" * filled + "░" * (width - filled)


def _used(s: BudgetStatus) -> str:
    parts = []
    if s.budget.usd is not None:
        parts.append(format_pico(s.used_pico))
    if s.budget.tokens is not None:
        parts.append(f"{format_tokens(s.used_tokens)} tok")
    return " + ".join(parts)


def render_budget_status(statuses: Sequence[BudgetStatus], *, width: int = 80, color: bool = False) -> str:
    """Every budget against its limit: used, limit, a bar (yellow from the alert level, red
    from the limit, with ``color``), the percentage, the time left in the period and, for
    money, the projection to the period's end at the rate so far."""
    from jusage.checker import duration

    rows = []
    for s in statuses:
        b = s.budget
        left = "-" if s.period_end is None else duration(s.period_end - s.now)
        if b.period == "block" and s.period_end is None:
            left = "no block"
        projected = s.projected_pico() if b.usd is not None else None
        rows.append(
            [
                b.name,
                b.period,
                _used(s),
                _limits(b),
                bar(s.percent),
                f"{s.percent:.0f}%",
                left,
                "-" if projected is None else format_pico(projected),
                s.action,
            ]
        )
    headers = ["Budget", "Period", "Used", "Limit", "", "%", "Left", "Projected", "Action"]
    lines = render_table(headers, rows, "lllllrrrl", max_width=max(width, 100), color=color).split("\n")
    if color:  # painted after the layout: escape codes would count as columns
        for i, s in enumerate(statuses):
            if s.percent >= s.budget.alert_at * 100:
                text = rows[i][4]
                lines[i + 2] = lines[i + 2].replace(text, warning_color(text, s.percent >= 100), 1)
    return "\n".join(lines)
