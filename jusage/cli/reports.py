"""``jusage daily|weekly|monthly|session|blocks|summary``: the cost reports.

The callbacks parse options (:mod:`jusage.cli.query`), call :mod:`jusage.views` and
:mod:`jusage.render` and print.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from jusage.cli.options import CliError, echo_json
from jusage.cli.query import (
    Query,
    Window,
    echo_table,
    make_query,
    nothing_to_show,
    query_options,
    read_table,
    stdout_color,
    width,
)

if TYPE_CHECKING:
    from jusage.aggregate import Table
    from jusage.views.reports import Report

F = TypeVar("F", bound=Callable[..., Any])

__all__ = ["blocks", "daily", "monthly", "session", "summary", "weekly"]

BREAKDOWN_DIMS = ("model", "project", "source", "provider", "host", "agent", "team", "role", "task", "route")


def _emit(report: Report, query: Query, table: Table, breakdown: bool = False) -> None:
    from jusage.render.reports import render_report, unpriced_warning
    from jusage.views.reports import report_to_json

    warning = unpriced_warning(report.unpriced_models, query.mode)
    if warning:
        click.echo(warning, err=True)
    _note_pruned(query, table)
    if query.as_json:
        echo_json(report_to_json(report))
    elif not report.rows:
        click.echo(nothing_to_show(table, query.logs))
    else:
        echo_table(render_report(report, breakdown=breakdown, width=width(), color=stdout_color()))


def _note_pruned(query: Query, table: Table) -> None:
    """Say on stderr when the period asked for starts before the oldest event the logs hold
    (older events may have been pruned)."""
    if query.window.since is None or not table.rows:
        return
    oldest = min(key[0] for key in table.rows)
    since = query.window.since.isoformat()
    if isinstance(oldest, str) and since < oldest:
        click.echo(f"note: the logs hold no events before {oldest} (the period starts {since})", err=True)


def _now(w: Window) -> int:
    """The moment blocks are judged at: now, or with ``--today`` another day, its last second."""
    import time
    from datetime import datetime, timedelta
    from datetime import time as clock

    from jusage.days import today_in

    if w.today == today_in(w.tz):
        return int(time.time())
    end = datetime.combine(w.today + timedelta(days=1), clock(), tzinfo=w.tz)
    return int(end.timestamp()) - 1


def _breakdown_option(func: F) -> F:
    return click.option(
        "--breakdown",
        "-b",
        "breakdown",
        is_flag=False,
        flag_value="model",
        default=None,
        type=click.Choice(BREAKDOWN_DIMS),
        help="Rows under each row: per model (-b alone) or per value of another dimension, e.g. "
        "--breakdown source (one row per agent) or --breakdown host (per machine).",
    )(func)


def _report_options(func: F) -> F:
    """The options every calendar and session report takes."""
    func = click.option(
        "--order",
        type=click.Choice(["asc", "desc"]),
        default="asc",
        show_default=True,
        help="Oldest first (asc) or newest first (desc).",
    )(func)
    return query_options(_breakdown_option(func))


def _period(period: str, **opts: Any) -> None:
    from jusage.views.reports import period_report

    query = make_query(opts)
    by = opts["breakdown"] or "model"
    dims = ("model", "project") if by in ("model", "project") else ("model", "project", by)
    table = read_table(query, dims)
    w = query.window
    report = period_report(
        table,
        period,  # type: ignore[arg-type]
        since=w.since,
        until=w.until,
        start_of_week=w.start_of_week,
        order=opts["order"],
        breakdown=by,
    )
    _emit(report, query, table, breakdown=opts["breakdown"] is not None)


@click.command()
@_report_options
def daily(**opts: Any) -> None:
    """Tokens and cost per day.

    Days are calendar days in --timezone (default: local). Each event is priced at its own
    date; tokens of unknown models are shown as unpriced (and named on stderr), never as
    free. --json writes ccusage's shape: {"daily": [...], "totals": {...}}, with inputTokens
    the non-cached input.

    \b
    Examples:
      jusage daily --since 7d
      jusage daily --since this-month --breakdown
      jusage daily --json --timezone UTC --mode calculate | jq .totals.totalCost
    """
    _period("daily", **opts)


@click.command()
@_report_options
def weekly(**opts: Any) -> None:
    """Tokens and cost per week.

    Weeks start on --start-of-week (default Monday); each row is keyed by the first day of
    its week. --json writes
    {"weekly": [{"week": "YYYY-MM-DD", ...}], "totals": {...}}.

    \b
    Examples:
      jusage weekly --since 8w
      jusage weekly --start-of-week sunday --json
    """
    _period("weekly", **opts)


@click.command()
@_report_options
def monthly(**opts: Any) -> None:
    """Tokens and cost per calendar month.

    --json writes {"monthly": [{"month": "YYYY-MM", ...}], "totals": {...}}.

    \b
    Examples:
      jusage monthly
      jusage monthly --since 2026-01-01 --project jusage --breakdown
    """
    _period("monthly", **opts)


@click.command()
@_report_options
def session(**opts: Any) -> None:
    """Tokens and cost per agent session.

    A session's project is the one with most of its tokens; first and last activity are
    days in --timezone. Rows are ordered by last activity. --json writes
    {"sessions": [{"sessionId", "projectPath", "firstActivity", "lastActivity", ...}],
    "totals": {...}}.

    \b
    Examples:
      jusage session --since 7d --order desc
      jusage session --project jusage --json
    """
    from jusage.views.reports import session_report

    if opts["breakdown"] not in (None, "model"):
        raise CliError(
            "session --breakdown shows each session's models only; for sessions by "
            f"{opts['breakdown']}, use summary --by session,{opts['breakdown']}"
        )
    query = make_query(opts)
    w = query.window
    table = read_table(query, ("session", "project", "model"))
    report = session_report(table, tz=w.tz, since=w.since, until=w.until, order=opts["order"])
    _emit(report, query, table, breakdown=opts["breakdown"] is not None)


@click.command()
@query_options
@click.option(
    "--by",
    default="model",
    show_default=True,
    metavar="DIM[,DIM]",
    help="Dimensions to group by: model, project, session, provider, source, host, agent, team, "
    "role, task, route, date, week, month.",
)
def summary(**opts: Any) -> None:
    """Tokens, calls, turns, cost and share grouped by any dimensions.

    Provider is the event's own, else inferred from the model name. Rows come most tokens
    first (by date when grouping only by date, week or month). --json writes
    {"by": [...], "summary": [...], "totals": {...}}.

    \b
    Examples:
      jusage summary --by provider
      jusage summary --by project,model --since this-month
      jusage summary --by agent,role --json
    """
    from jusage.views.reports import parse_dims, summary_dims, summary_report

    try:
        by = parse_dims(opts["by"])
    except ValueError as exc:
        raise CliError(f"--by: {exc}") from None
    query = make_query(opts)
    w = query.window
    table = read_table(query, summary_dims(by))
    report = summary_report(table, by, since=w.since, until=w.until, start_of_week=w.start_of_week)
    _emit(report, query, table)


@click.command()
@query_options
@click.option("--active", "-a", is_flag=True, help="Only the active block, with burn rate and projection.")
@click.option("--recent", "-r", is_flag=True, help="Only blocks of the last 3 days (and the active one).")
@click.option(
    "--token-limit",
    "-t",
    default=None,
    metavar="N|max",
    help="Mark blocks against a token limit; max = the largest completed block.",
)
def blocks(**opts: Any) -> None:
    """Five-hour usage blocks, as Anthropic meters them.

    A block starts at its first event floored to the hour and lasts five hours; the first
    event after that starts a new block (so does any gap of more than five hours). The
    active block shows its burn rate (tokens per minute, cost per hour) and a projection to
    its end. --since/--until select blocks by the day they start on. With --today set to
    another day, "now" (for --active, --recent and the active block) is that day's last
    second. --json writes ccusage's {"blocks": [...]}.

    \b
    Examples:
      jusage blocks --recent
      jusage blocks --active --token-limit max
      jusage blocks --json --since today
    """
    from jusage.render.blocks import render_blocks
    from jusage.views.blocks import (
        blocks_to_json,
        build_blocks,
        parse_token_limit,
        select_blocks,
        unpriced_in,
    )

    query = make_query(opts)
    w = query.window
    table = read_table(query, ("model", "project"), bucket="hour")
    now = _now(w)
    every = build_blocks(table, now)
    try:
        limit = parse_token_limit(opts["token_limit"], every)
    except ValueError as exc:
        raise CliError(f"--token-limit: {exc}") from None
    shown = select_blocks(
        every,
        now=now,
        tz=w.tz,
        since=w.since.isoformat() if w.since else None,
        until=w.until.isoformat() if w.until else None,
        active=opts["active"],
        recent=opts["recent"],
    )
    if any(b.tally.unpriced for b in shown):
        from jusage.render.reports import unpriced_warning

        click.echo(unpriced_warning(unpriced_in(shown, table), query.mode), err=True)
    if opts["token_limit"] is not None and limit is None:
        click.echo("note: --token-limit max: no completed block yet, so no limit", err=True)
    if query.as_json:
        echo_json(blocks_to_json(shown, now, limit))
    elif not shown:
        click.echo("No active block." if opts["active"] else nothing_to_show(table, query.logs))
    else:
        echo_table(render_blocks(shown, now, tz=w.tz, limit=limit, width=width(), color=stdout_color()))
