"""``jusage statusline``: the line Claude Code shows under the prompt."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from jusage.cli.options import log_option, never_failing

__all__ = ["statusline"]


@click.command(cls=never_failing(stdout="jusage: no data"))
@log_option
@click.option("--no-color", is_flag=True, help="No ANSI colours (also when NO_COLOR is set).")
def statusline(log_path: Path | None, no_color: bool) -> None:
    """One status line for Claude Code's statusLine command.

    Reads Claude Code's JSON on stdin and shows the model, this session's cost, today's
    cost, the active five-hour block's cost with the time left and burn rate, the tightest
    budget covering the session (coloured at its alert level and over) and the rate-limit
    percentages Claude Code reports. Reads the ledger's running totals and imports nothing.
    Never fails: on any error it prints a short fallback line, and it always exits 0.

    \b
    Example (~/.claude/settings.json):
      {"statusLine": {"type": "command", "command": "jusage statusline"}}
    \b
    Example (by hand):
      echo '{"model": {"display_name": "Opus"}, "cost": {"total_cost_usd": 1.2}}' | jusage statusline
    """
    from jusage.statusline import print_status_line

    print_status_line(log_path, no_color)
    sys.exit(0)
