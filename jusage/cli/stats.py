"""``jusage stats``: the derived view of the whole ledger."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import click

from jusage.cli.options import (
    CliError,
    json_option,
    log_option,
    parse_today,
    readable_log,
    resolve_tz,
    timezone_option,
)


@click.command()
@log_option
@click.option(
    "--since",
    default=None,
    metavar="DATE",
    help="Only days on or after DATE (YYYY-MM-DD, YYYYMMDD, today, yesterday, 7d, 2w).",
)
@click.option(
    "--days",
    "last_days",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Only the last N days, today included.",
)
@click.option(
    "--today", default=None, metavar="YYYY-MM-DD", help="Treat this date as today (for reproducible output)."
)
@timezone_option
@json_option
def stats(
    log_path: Path | None,
    since: str | None,
    last_days: int | None,
    today: str | None,
    timezone: str | None,
    as_json: bool,
) -> None:
    """Totals, streaks, cache hit rate, shares and the daily trend.

    Days are calendar days of each event's timestamp in --timezone (default: local).
    The current streak counts back from today, or from yesterday when today has no
    activity yet.

    \b
    Examples:
      jusage stats
      jusage stats --days 30 --json
      jusage stats --log fixtures/sample.jsonl --today 2026-11-20 --timezone UTC
    """
    from jusage.ledger import log_stats

    tz = resolve_tz(timezone)
    day = parse_today(today, tz)
    start = None
    if since is not None:
        from jusage.periods import PeriodError, parse_day

        try:
            start = parse_day(since, day)
        except PeriodError as exc:
            raise CliError(f"--since: {exc}") from None
    if last_days is not None:
        window_start = day - timedelta(days=last_days - 1)
        start = max(start, window_start) if start else window_start
    path = readable_log(log_path)
    try:
        result = log_stats(path, today=day, tz=tz, since=start)
    except OSError as exc:
        raise CliError(f"{path}: cannot read the log: {exc.strerror or exc}") from None
    if as_json:
        import orjson

        from jusage.render import stats_to_json

        click.echo(orjson.dumps(stats_to_json(result), option=orjson.OPT_INDENT_2).decode())
    else:
        import shutil

        from jusage.render import render_stats

        click.echo(render_stats(result, day, width=shutil.get_terminal_size((80, 24)).columns))
