"""Plain-text tables of the reports (see :mod:`jusage.views.reports`): readable at 80 columns,
numbers right-aligned with thousands separators, costs marked ``*`` where tokens had no price."""

from __future__ import annotations

from pathlib import PurePath
from typing import TYPE_CHECKING

from jusage.aggregate import Usage
from jusage.render.text import cost_cell, format_int, render_table
from jusage.views.reports import Report

if TYPE_CHECKING:
    from jusage.costing import CostMode

__all__ = ["render_report", "render_summary", "short_model", "unpriced_warning"]


_HEADING = {"daily": "Date", "weekly": "Week", "monthly": "Month", "session": "Session"}


def _cost_cell(t: Usage) -> str:
    return cost_cell(t.cost_pico, t.unpriced)


def _number_cells(t: Usage, wide: bool) -> list[str]:
    cells = [format_int(t.input_tokens), format_int(t.completion)]
    if wide:
        cells += [format_int(t.cache_write), format_int(t.cached)]
    return [*cells, format_int(t.total), _cost_cell(t)]


def render_report(report: Report, *, breakdown: bool = False, width: int = 80, color: bool = False) -> str:
    """A report as a plain-text table that fits ``width`` columns where it can.

    Below 120 columns the cache columns are left out (they stay in ``--json``). With
    ``breakdown`` each row is followed by one indented row per model (or per value of the
    report's breakdown dimension). A cost marked ``*``
    includes tokens no price was found for; a note under the table names those models.
    """
    if report.kind == "summary":
        return render_summary(report, width=width, color=color)
    wide = width >= 120
    session = report.kind == "session"
    show_models = wide or not session  # a narrow session table has no room for models
    numbers = ["Input", "Output", *(["Cache Create", "Cache Read"] if wide else []), "Total", "Cost"]
    headers = [
        _HEADING[report.kind],
        *(["Project"] if session else []),
        *(["Models"] if show_models else []),
        *numbers,
        *(["Last Active"] if session else []),
    ]
    lead_count = 1 + session + show_models
    align = "l" * lead_count + "r" * len(numbers) + ("l" if session else "")
    rows: list[list[str]] = []
    for row in report.rows:
        lead = [row.key, *([_short_project(row.project)] if session else [])]
        if show_models:
            lead.append(", ".join(short_model(name) for name, _ in row.models))
        rows.append([*lead, *_number_cells(row.tally, wide), *([row.last_day] if session else [])])
        if breakdown:
            parts = row.models if report.breakdown == "model" else row.parts
            for name, t in parts:
                shown = short_model(name) if report.breakdown == "model" else name or "-"
                label = [""] * (lead_count - 1) + [f"- {shown}"]
                rows.append([*label, *_number_cells(t, wide), *([""] if session else [])])
    footer = [
        "Total",
        *[""] * (lead_count - 1),
        *_number_cells(report.totals, wide),
        *([""] if session else []),
    ]
    text = render_table(headers, rows, align, footer=footer, max_width=width, color=color)
    return text + _notes(report)


def short_model(name: str) -> str:
    """A model name for a narrow table: no ``provider/`` prefix, no ``claude-``, no date suffix.

    ``anthropic/claude-sonnet-4-5-20250929`` -> ``sonnet-4-5``; other names keep their form.
    """
    short = name.rsplit("/", 1)[-1]
    if short.startswith("claude-"):
        short = short[len("claude-") :]
    head, sep, tail = short.rpartition("-")
    if sep and head and len(tail) == 8 and tail.isdigit():
        short = head
    return short


def _short_project(project: str) -> str:
    trimmed = project.rstrip("/\\")
    return PurePath(trimmed).name if trimmed else ""


def render_summary(report: Report, *, width: int = 80, color: bool = False) -> str:
    """A summary as a table: the dimension values, tokens, calls, turns, cost and share."""
    by = [dim.capitalize() for dim in report.by]
    headers = [*by, "Tokens", "Calls", "Turns", "Cost", "Share"]
    align = "l" * len(by) + "rrrrr"
    grand = report.totals.total
    rows = []
    for row in report.rows:
        t = row.tally
        share = t.total / grand if grand else 0.0
        values = [v or "-" for v in row.labels]
        rows.append(
            [
                *values,
                format_int(t.total),
                format_int(t.calls),
                format_int(t.turns),
                _cost_cell(t),
                f"{share * 100:.1f}%",
            ]
        )
    t = report.totals
    footer = [
        "Total",
        *[""] * (len(by) - 1),
        format_int(t.total),
        format_int(t.calls),
        format_int(t.turns),
        _cost_cell(t),
        "100.0%" if grand else "0.0%",
    ]
    text = render_table(headers, rows, align, footer=footer, max_width=width, color=color)
    return text + _notes(report)


def _notes(report: Report) -> str:
    notes = []
    if report.totals.unpriced:
        names = ", ".join(report.unpriced_models)
        notes.append(
            f"* {format_int(report.totals.unpriced)} tokens have no price and are not in the cost ({names})."
        )
    if report.skipped_lines:
        s = "s" if report.skipped_lines != 1 else ""
        notes.append(f"Skipped {report.skipped_lines:,} malformed line{s} in the log.")
    return "".join("\n" + note for note in notes)


def unpriced_warning(report_unpriced: dict[str, int], mode: CostMode = "auto") -> str | None:
    """The one-line stderr warning naming the models whose tokens had no price, or None."""
    if not report_unpriced:
        return None
    listed = ", ".join(f"{name} ({format_int(tokens)} tokens)" for name, tokens in report_unpriced.items())
    if mode == "display":
        return f"warning: no reported cost (--mode display) for: {listed}"
    return f"warning: no price known for: {listed}; their tokens are shown as unpriced, not free"
