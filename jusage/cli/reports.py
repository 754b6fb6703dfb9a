"""``jusage daily|weekly|monthly|session|blocks|summary``: the cost reports.

The callbacks parse options, call :mod:`jusage.views` and :mod:`jusage.render` and print.
The option decorators here (periods, cost mode, prices) are shared with ``jusage stats``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from jusage.cli.options import (
    CliError,
    echo_json,
    empty_log_message,
    json_option,
    log_option,
    parse_today,
    prices_option,
    readable_log,
    resolve_tz,
    timezone_option,
)

if TYPE_CHECKING:
    from jusage.aggregate import Table
    from jusage.costing import Coster, CostMode
    from jusage.views.reports import Report

F = TypeVar("F", bound=Callable[..., Any])

__all__ = [
    "Window",
    "blocks",
    "cost_options",
    "daily",
    "make_cost",
    "monthly",
    "period_options",
    "resolve_window",
    "session",
    "summary",
    "weekly",
]

_DATES = (
    "DATE is YYYY-MM-DD, YYYYMMDD, today, yesterday, Nd or Nw (the last N days or weeks, "
    "today included), "
    "this-week, last-week, this-month or last-month."
)


def period_options(func: F) -> F:
    """``--since``, ``--until``, ``--timezone``, ``--start-of-week`` and ``--today``."""
    options = [
        click.option(
            "--since",
            default=None,
            metavar="DATE",
            help="First day to include. The period is [since, until] in whole days, both "
            "included, in --timezone. " + _DATES,
        ),
        click.option(
            "--until",
            default=None,
            metavar="DATE",
            help="Last day to include (a named period as --until means its last day).",
        ),
        timezone_option,
        click.option(
            "--start-of-week",
            default="monday",
            show_default=True,
            metavar="DAY",
            help="First day of a week (monday ... sunday) for weekly rows and this-week/last-week.",
        ),
        click.option(
            "--today",
            default=None,
            metavar="YYYY-MM-DD",
            help="Treat this date as today (for reproducible output).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def cost_options(func: F) -> F:
    """``--mode auto|calculate|display`` and ``--prices PATH``."""
    func = prices_option(func)
    return click.option(
        "--mode",
        type=click.Choice(["auto", "calculate", "display"]),
        default="auto",
        show_default=True,
        help="auto: the cost the source reported, else calculated; calculate: always from "
        "tokens and prices; display: only reported costs (the rest is unpriced).",
    )(func)


@dataclass(frozen=True, slots=True)
class Window:
    """The resolved period options: zone, today, inclusive days, week start."""

    tz: tzinfo | None
    today: date
    since: date | None
    until: date | None
    start_of_week: int


def resolve_window(
    timezone: str | None, since: str | None, until: str | None, today: str | None, start_of_week: str
) -> Window:
    """Parse the period options; every mistake is a :class:`CliError` (exit status 2)."""
    from jusage.periods import PeriodError, parse_period, parse_weekday

    tz = resolve_tz(timezone)
    day = parse_today(today, tz)
    try:
        sow = parse_weekday(start_of_week)
    except PeriodError as exc:
        raise CliError(f"--start-of-week: {exc}") from None
    try:
        first, last = parse_period(since, until, day, sow)
    except PeriodError as exc:
        raise CliError(f"--since/--until: {exc}") from None
    return Window(tz, day, first, last, sow)


def make_cost(mode: str, prices_path: Path | None) -> Coster:
    """The coster for ``--mode`` and ``--prices``; a bad price file is a :class:`CliError`."""
    from jusage.costing import Coster
    from jusage.pricing import Pricer, PricingError

    if prices_path is not None and not prices_path.is_file():
        raise CliError(f"--prices: {prices_path}: no such file")
    try:
        pricer = Pricer.load(prices_path)
    except PricingError as exc:
        raise CliError(f"--prices: {exc}") from None
    cost_mode: CostMode = mode  # type: ignore[assignment]
    return Coster(pricer, cost_mode)


def _read(
    log_path: Path | None, dims: tuple[str, ...], tz: tzinfo | None, coster: Coster, bucket: str = "day"
) -> tuple[Table, Path]:
    from jusage.parallel import cpu_workers
    from jusage.views.reports import read_log

    path = readable_log(log_path)
    try:
        return read_log(path, dims, tz=tz, bucket=bucket, coster=coster, workers=cpu_workers()), path
    except OSError as exc:
        raise CliError(f"{path}: cannot read the log: {exc.strerror or exc}") from None


def _width() -> int:
    import shutil

    return shutil.get_terminal_size((80, 24)).columns


def _emit(
    report: Report,
    as_json: bool,
    mode: str,
    breakdown: bool = False,
    *,
    source: tuple[Table, Path] | None = None,
) -> None:
    from jusage.render.reports import render_report, unpriced_warning
    from jusage.render.text import use_color
    from jusage.views.reports import report_to_json

    warning = unpriced_warning(report.unpriced_models, mode)  # type: ignore[arg-type]
    if warning:
        click.echo(warning, err=True)
    if as_json:
        echo_json(report_to_json(report))
    elif not report.rows:
        click.echo(nothing_to_show(*source) if source else "No usage in this period.")
    else:
        colour = use_color(sys.stdout)
        click.echo(render_report(report, breakdown=breakdown, width=_width(), color=colour), color=colour)


def nothing_to_show(table: Table, log: Path, period: str = "this period") -> str:
    """What to say when a report has no rows: the log read and how to fill it when it holds
    nothing at all, else that the period has no usage."""
    if table.rows or table.skipped:
        return f"No usage in {period}."
    return empty_log_message(log)


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


def _report_options(func: F) -> F:
    """The options every calendar and session report takes."""
    for option in reversed(
        [
            log_option,
            period_options,
            cost_options,
            click.option(
                "--project",
                default=None,
                metavar="NAME",
                help="Only this project (its path or last path part).",
            ),
            click.option("--breakdown", "-b", is_flag=True, help="A row per model under each row."),
            click.option(
                "--order",
                type=click.Choice(["asc", "desc"]),
                default="asc",
                show_default=True,
                help="Oldest first (asc) or newest first (desc).",
            ),
            json_option,
        ]
    ):
        func = option(func)
    return func


def _period(period: str, **opts: Any) -> None:
    from jusage.views.reports import period_report

    w = resolve_window(opts["timezone"], opts["since"], opts["until"], opts["today"], opts["start_of_week"])
    coster = make_cost(opts["mode"], opts["prices_path"])
    table, path = _read(opts["log_path"], ("model", "project"), w.tz, coster)
    report = period_report(
        table,
        period,  # type: ignore[arg-type]
        since=w.since,
        until=w.until,
        project=opts["project"],
        start_of_week=w.start_of_week,
        order=opts["order"],
    )
    _emit(report, opts["as_json"], opts["mode"], opts["breakdown"], source=(table, path))


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
    """Tokens and cost per week (weeks start on --start-of-week, default Monday).

    Each row is keyed by the first day of its week. --json writes
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

    w = resolve_window(opts["timezone"], opts["since"], opts["until"], opts["today"], opts["start_of_week"])
    coster = make_cost(opts["mode"], opts["prices_path"])
    table, path = _read(opts["log_path"], ("session", "project", "model"), w.tz, coster)
    report = session_report(
        table, tz=w.tz, since=w.since, until=w.until, project=opts["project"], order=opts["order"]
    )
    _emit(report, opts["as_json"], opts["mode"], opts["breakdown"], source=(table, path))


@click.command()
@log_option
@period_options
@cost_options
@click.option(
    "--by",
    default="model",
    show_default=True,
    metavar="DIM[,DIM]",
    help="Dimensions to group by: model, project, session, provider, source, agent, team, "
    "role, task, route, date, week, month.",
)
@click.option(
    "--project", default=None, metavar="NAME", help="Only this project (its path or last path part)."
)
@json_option
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
    w = resolve_window(opts["timezone"], opts["since"], opts["until"], opts["today"], opts["start_of_week"])
    coster = make_cost(opts["mode"], opts["prices_path"])
    dims = summary_dims(by, project_filter=opts["project"] is not None)
    table, path = _read(opts["log_path"], dims, w.tz, coster)
    report = summary_report(
        table,
        by,
        since=w.since,
        until=w.until,
        project=opts["project"],
        start_of_week=w.start_of_week,
    )
    _emit(report, opts["as_json"], opts["mode"], source=(table, path))


@click.command()
@log_option
@period_options
@cost_options
@click.option(
    "--project", default=None, metavar="NAME", help="Only this project (its path or last path part)."
)
@click.option("--active", "-a", is_flag=True, help="Only the active block, with burn rate and projection.")
@click.option("--recent", "-r", is_flag=True, help="Only blocks of the last 3 days (and the active one).")
@click.option(
    "--token-limit",
    "-t",
    default=None,
    metavar="N|max",
    help="Mark blocks against a token limit; max = the largest completed block.",
)
@json_option
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
    from jusage.render.text import use_color
    from jusage.views.blocks import blocks_to_json, build_blocks, parse_token_limit, select_blocks

    w = resolve_window(opts["timezone"], opts["since"], opts["until"], opts["today"], opts["start_of_week"])
    coster = make_cost(opts["mode"], opts["prices_path"])
    table, path = _read(opts["log_path"], ("model", "project"), w.tz, coster, bucket="hour")
    now = _now(w)
    every = build_blocks(table, now, project=opts["project"])
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
        from jusage.aggregate import UNPRICED
        from jusage.costing import unpriced_models
        from jusage.render.reports import unpriced_warning

        names = unpriced_models((values["model"], c[UNPRICED]) for _, values, c in table.items())
        click.echo(unpriced_warning(names, opts["mode"]), err=True)
    if opts["token_limit"] is not None and limit is None:
        click.echo("note: --token-limit max: no completed block yet, so no limit", err=True)
    if opts["as_json"]:
        echo_json(blocks_to_json(shown, now, limit))
    elif not shown:
        click.echo("No active block." if opts["active"] else nothing_to_show(table, path))
    else:
        colour = use_color(sys.stdout)
        click.echo(
            render_blocks(shown, now, tz=w.tz, limit=limit, width=_width(), color=colour), color=colour
        )
