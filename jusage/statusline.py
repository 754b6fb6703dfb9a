"""The line ``jusage statusline`` prints for Claude Code's ``statusLine`` command.

Claude Code runs the command (at most every 300 ms) with a JSON object on stdin and shows the
first line it prints. The fields read, each optional: ``session_id``, ``transcript_path``,
``model.display_name`` (and ``model.id``), ``workspace.current_dir`` (or ``cwd``),
``cost.total_cost_usd`` and ``rate_limits.five_hour`` / ``rate_limits.seven_day`` with
``used_percentage`` (0-100) and ``resets_at`` (unix seconds, or ISO 8601).

The line: the model, this session's cost (as Claude Code reports it), today's cost from the
ledger, the active five-hour block's cost with the time left and its burn rate, the tightest
budget covering this session (coloured at its alert level and over), and the official rate
limits when given::

    Opus 4.1 · $1.23 session · $14.02 today · $5.10 block (2h 13m left, $3.20/h) · daily 72% · 5h 42%

It reads the ledger's running totals (never importing anything), so it is fast once they
exist, and it never fails: on any error it prints a short fallback line.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jusage.checker import BudgetStatus, Overview

__all__ = ["print_status_line", "status_line"]

_SEP = " · "


def _field(payload: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(payload, dict):
            return None
        payload = payload.get(key)
    return payload


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if value == value and abs(value) < 1e15 else None  # not NaN or absurd


def _money(pico_or_usd: float) -> str:
    from jusage.render.text import format_usd

    return format_usd(round(pico_or_usd * 1e6))


def _paint(text: str, share: float, color: bool, alert: float = 80.0) -> str:
    if not color or share < alert:
        return text
    from jusage.render.text import warning_color

    return warning_color(text, share >= 100)


def _budget_part(statuses: tuple[BudgetStatus, ...], color: bool) -> str:
    if not statuses:
        return ""
    tightest = max(statuses, key=lambda s: s.percent)
    text = f"{tightest.budget.name} {tightest.percent:.0f}%"
    if not color or tightest.action == "ok":
        return text
    from jusage.render.text import warning_color

    return warning_color(text, tightest.percent >= 100 or tightest.action == "stop")


def _block_part(overview: Overview, now: int) -> str:
    from jusage.checker import duration

    block = overview.block
    if block.start is None or block.end is None:
        return ""
    text = f"{_money(block.pico / 1e12)} block ({duration(block.end - now)} left"
    if block.last - block.first >= 60:  # a rate over seconds would say nothing
        per_hour = block.pico / 1e12 / (block.last - block.first) * 3600
        text += f", {_money(per_hour)}/h"
    return text + ")"


def _limits_part(payload: Any, color: bool) -> str:
    parts = []
    for key, label in (("five_hour", "5h"), ("seven_day", "7d")):
        share = _number(_field(payload, "rate_limits", key, "used_percentage"))
        if share is not None:
            parts.append(_paint(f"{label} {share:.0f}%", share, color))
    return " ".join(parts)


def status_line(
    stdin_bytes: bytes,
    *,
    log: Path | None = None,
    now: int | None = None,
    color: bool = True,
) -> str:
    """The status line for Claude Code's JSON on stdin (see the module docstring).

    ``log`` is the ledger (default: the default one); ``color`` adds ANSI colours to the
    budget and rate-limit shares at their alert level and over. Never raises.
    """
    model = ""
    try:
        import msgspec  # already loaded by the ledger's reader: orjson would be one more import

        try:
            payload: Any = msgspec.json.decode(stdin_bytes) if stdin_bytes.strip() else {}
        except msgspec.DecodeError:
            payload = {}
        if not isinstance(payload, dict):
            payload = {}
        model = _text(_field(payload, "model", "display_name")) or _text(_field(payload, "model", "id"))
        when = int(time.time()) if now is None else now
        parts = [model] if model else []
        session_cost = _number(_field(payload, "cost", "total_cost_usd"))
        if session_cost is not None:
            parts.append(f"{_money(session_cost)} session")
        parts += _ledger_parts(payload, log, when, color)
        limits = _limits_part(payload, color)
        if limits:
            parts.append(limits)
        return _SEP.join(parts) or "jusage"
    except BaseException:  # the status line must never fail
        return _SEP.join(filter(None, [model[:40], "jusage: no data"]))


def _ledger_parts(payload: Any, log: Path | None, now: int, color: bool) -> list[str]:
    from jusage.budgets import Context
    from jusage.checker import BudgetChecker

    checker = BudgetChecker.load(log)
    context = Context(
        project=_text(_field(payload, "workspace", "current_dir")) or _text(_field(payload, "cwd")),
        session=_text(_field(payload, "session_id")),
        source="claude-code",
        model=_text(_field(payload, "model", "id")),
    )
    overview = checker.overview(context, now=now)
    parts = [f"{_money(overview.today.pico / 1e12)} today"]
    block = _block_part(overview, now)
    if block:
        parts.append(block)
    budget = _budget_part(overview.budgets.budgets, color)
    if budget:
        parts.append(budget)
    return parts


def print_status_line(log: Path | None = None, no_color: bool = False) -> None:
    """Read Claude Code's JSON on stdin and print the status line; never raises.

    Colours unless ``no_color`` or ``NO_COLOR`` is set.
    """
    try:
        import os
        import sys

        color = not no_color and not os.environ.get("NO_COLOR")
        text = status_line(sys.stdin.buffer.read(), log=log, color=color)
    except BaseException:  # the status line must never fail
        text = "jusage: no data"
    with contextlib.suppress(OSError):  # nobody is reading any more
        print(text, flush=True)
