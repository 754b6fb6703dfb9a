"""What every report asks for: which logs, which period, which costs, which slice; and reading it.

The option decorators here are shared by ``stats`` and the reports; :func:`make_query` turns
the parsed options into a :class:`Query` (every user mistake a :class:`CliError`), and
:func:`read_table` brings new agent history in (unless told not to), reads the logs and
narrows the table to the project and agents asked for.
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
    json_option,
    parse_today,
    prices_option,
    readable_log,
    resolve_tz,
    timezone_option,
)

if TYPE_CHECKING:
    from jusage.aggregate import Table
    from jusage.costing import Coster, CostMode
    from jusage.pricing import Pricer

F = TypeVar("F", bound=Callable[..., Any])

__all__ = [
    "Query",
    "Window",
    "cost_options",
    "logs_options",
    "make_cost",
    "make_query",
    "nothing_to_show",
    "period_options",
    "query_options",
    "read_table",
    "resolve_logs",
    "resolve_window",
    "sync_before_report",
]

_DATES = (
    "DATE is YYYY-MM-DD, YYYYMMDD, today, yesterday, Nd or Nw (the last N days or weeks, "
    "today included), this-week, last-week, this-month or last-month."
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


def logs_options(func: F) -> F:
    """``--log`` (repeatable; files or folders), ``--recursive`` and ``--sync/--no-sync``."""
    options = [
        click.option(
            "--log",
            "log_paths",
            multiple=True,
            type=click.Path(path_type=Path),
            metavar="PATH",
            help="A log file, or a folder of *.jsonl logs (repeatable; read as one ledger, an "
            "event id counted once). Default: $JUSAGE_LOG, else $JUSAGE_HOME/usage/events.jsonl "
            "(else ~/.jusage/...), plus the logs listed in config.toml.",
        ),
        click.option("--recursive", is_flag=True, help="Read the folders given with --log recursively."),
        click.option(
            "--sync/--no-sync",
            "sync",
            default=None,
            help="Bring in new agent history first (default: yes for the default ledger, unless "
            "config.toml says sync = false; no for a ledger named with --log).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def query_options(func: F) -> F:
    """Everything a report reads by: logs, period, costs, project, agents, JSON."""
    options = [
        logs_options,
        period_options,
        cost_options,
        click.option(
            "--project", default=None, metavar="NAME", help="Only this project (its path or last part)."
        ),
        click.option(
            "--source",
            "sources",
            default=None,
            metavar="AGENT[,AGENT]",
            help="Only these agents' usage, e.g. claude-code,codex (the events' source).",
        ),
        json_option,
    ]
    for option in reversed(options):
        func = option(func)
    return func


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


def load_pricer(prices_path: Path | None) -> Pricer:
    """The prices with ``--prices``' overrides; a bad price file is a :class:`CliError`."""
    from jusage.pricing import Pricer, PricingError

    if prices_path is not None and not prices_path.is_file():
        raise CliError(f"--prices: {prices_path}: no such file")
    try:
        return Pricer.load(prices_path)
    except PricingError as exc:
        raise CliError(f"--prices: {exc}") from None


def make_cost(mode: str, prices_path: Path | None) -> Coster:
    """The coster for ``--mode`` and ``--prices``; a bad price file is a :class:`CliError`."""
    from jusage.costing import Coster

    cost_mode: CostMode = mode  # type: ignore[assignment]
    return Coster(load_pricer(prices_path), cost_mode)


@dataclass(frozen=True, slots=True)
class Query:
    """A report's resolved options."""

    logs: tuple[Path, ...]
    sync: bool
    window: Window
    coster: Coster
    mode: CostMode
    project: str | None
    sources: frozenset[str] | None
    as_json: bool


def make_query(opts: dict[str, Any]) -> Query:
    """The :class:`Query` of a report's parsed options (see :func:`query_options`)."""
    window = resolve_window(
        opts["timezone"], opts["since"], opts["until"], opts["today"], opts["start_of_week"]
    )
    logs, sync = resolve_logs(opts)
    sources = opts.get("sources")
    wanted = frozenset(s.strip() for s in sources.split(",") if s.strip()) if sources else None
    return Query(
        logs=logs,
        sync=sync,
        window=window,
        coster=make_cost(opts["mode"], opts["prices_path"]),
        mode=opts["mode"],  # click.Choice checked it
        project=opts.get("project"),
        sources=wanted,
        as_json=opts["as_json"],
    )


def resolve_logs(opts: dict[str, Any]) -> tuple[tuple[Path, ...], bool]:
    """``(logs, sync first)`` from :func:`logs_options`' parsed values (the default ledger is
    synced unless turned off; logs named with ``--log`` only with ``--sync``)."""
    from jusage.config import ConfigError, load_config
    from jusage.locations import default_log_path
    from jusage.logset import LogPathError, expand_logs

    try:
        config = load_config()
    except ConfigError as exc:
        raise CliError(str(exc)) from None
    named = bool(opts["log_paths"])
    try:
        if named:
            logs = expand_logs(opts["log_paths"], recursive=opts["recursive"])
        else:
            ledger = default_log_path()
            logs = [ledger, *_shared_logs(config.logs, opts["recursive"])]
    except LogPathError as exc:
        raise CliError(str(exc)) from None
    sync = opts["sync"] if opts["sync"] is not None else (not named and config.sync)
    return tuple(logs), sync


def _shared_logs(folders: tuple[str, ...], recursive: bool) -> list[Path]:
    """The logs config.toml lists, without this machine's own copy (``jusage sync --to``
    writes it from the ledger, which is read already)."""
    from jusage.hosts import host_name
    from jusage.logset import expand_logs

    own = f"{host_name()}.jsonl"
    return [p for p in expand_logs([Path(f) for f in folders], recursive=recursive) if p.name != own]


def read_table(query: Query, dims: tuple[str, ...], bucket: str = "day") -> Table:
    """The logs of ``query`` aggregated by ``dims`` (plus what its filters need), priced and
    narrowed to its project and agents; new agent history is brought in first when the
    query says so."""
    from jusage.aggregate import keep_dims
    from jusage.parallel import cpu_workers
    from jusage.views.reports import narrow, read_log

    for path in query.logs:
        readable_log(path)
    if query.sync:
        sync_before_report(query.logs[0], quiet=query.as_json)
    extra = [d for d in ("project", "source") if d not in dims]
    extra = [d for d in extra if (d == "project" and query.project) or (d == "source" and query.sources)]
    try:
        table = read_log(
            list(query.logs), (*dims, *extra), tz=query.window.tz, bucket=bucket, coster=query.coster,
            workers=cpu_workers(),
        )  # fmt: skip
    except OSError as exc:
        raise CliError(f"cannot read the log: {exc.strerror or exc}") from None
    return keep_dims(narrow(table, project=query.project, sources=query.sources), dims)


def sync_before_report(ledger: Path, *, quiet: bool = False) -> None:
    """Bring new agent history into ``ledger`` before a report, with a progress bar once it
    takes a while (never with ``quiet``); an agent whose import fails is named on stderr
    and the report goes on."""
    from jusage.cli.progress import progress_bar
    from jusage.parallel import cpu_workers
    from jusage.sync import sync_agents

    def warn(message: str) -> None:
        click.echo(message, err=True)

    with progress_bar(not quiet, "sync", delay=0.5) as progress:
        sync_agents(ledger, progress=progress, warn=warn, workers=cpu_workers())


def nothing_to_show(table: Table, logs: tuple[Path, ...], period: str = "this period") -> str:
    """What to say when a report has no rows: the logs read and how to fill them when they
    hold nothing at all, else that the period has no usage."""
    from jusage.cli.options import empty_log_message

    if table.rows or table.skipped:
        return f"No usage in {period}."
    return empty_log_message(logs)


def width() -> int:
    """The terminal's width (80 when it is not a terminal)."""
    import shutil

    return shutil.get_terminal_size((80, 24)).columns


def stdout_color() -> bool:
    """Whether what goes to stdout may have colours (see :func:`jusage.render.text.use_color`)."""
    from jusage.render.text import use_color

    return use_color(sys.stdout)


def echo_table(text: str) -> None:
    """Print a rendered table, keeping its colours only where :func:`stdout_color` allows."""
    click.echo(text, color=stdout_color())
