"""``jusage stats``: the derived view of the whole ledger."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import click

from jusage.cli.options import CliError, echo_json, json_option, log_option, readable_log
from jusage.cli.reports import cost_options, make_cost, period_options, resolve_window


@click.command()
@log_option
@period_options
@click.option(
    "--days",
    "last_days",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Only the last N days, today included.",
)
@cost_options
@json_option
def stats(
    log_path: Path | None,
    since: str | None,
    until: str | None,
    timezone: str | None,
    start_of_week: str,
    today: str | None,
    last_days: int | None,
    mode: str,
    prices_path: Path | None,
    as_json: bool,
) -> None:
    """Totals, cost, streaks, cache hit rate, shares and the daily trend.

    Days are calendar days of each event's timestamp in --timezone (default: local).
    The current streak counts back from today, or from yesterday when today has no
    activity yet. Each event is priced at its own date; the spend line (today, this month,
    and this month projected from the last 7 days' average) ignores --since/--until.

    \b
    Examples:
      jusage stats
      jusage stats --days 30 --json
      jusage stats --since this-month --mode calculate
      jusage stats --log fixtures/sample.jsonl --today 2026-11-20 --timezone UTC
    """
    from jusage.parallel import cpu_workers
    from jusage.views.stats import log_stats_and_spend

    w = resolve_window(timezone, since, until, today, start_of_week)
    start = w.since
    if last_days is not None and since is not None:
        raise CliError("give --days or --since, not both (--days 7 is the same as --since 7d)")
    if last_days is not None:
        start = w.today - timedelta(days=last_days - 1)
    coster = make_cost(mode, prices_path)
    path = readable_log(log_path)
    try:
        result, spend = log_stats_and_spend(
            path, today=w.today, tz=w.tz, since=start, until=w.until, coster=coster, workers=cpu_workers()
        )
    except OSError as exc:
        raise CliError(f"{path}: cannot read the log: {exc.strerror or exc}") from None
    if result.totals.unpriced:
        from jusage.render.reports import unpriced_warning

        named = {s.name: s.unpriced_tokens for s in result.by_model if s.unpriced_tokens}
        unnamed = result.totals.unpriced - sum(named.values())
        if unnamed:
            named["(no model)"] = unnamed
        click.echo(unpriced_warning(named, mode), err=True)  # type: ignore[arg-type]
    if not result.days and not result.skipped_lines and not as_json:
        from jusage.cli.options import empty_log_message

        empty = not path.exists() or path.stat().st_size == 0
        click.echo(empty_log_message(path) if empty else "No usage in this period.", err=True)
    if as_json:
        from jusage.render.stats import stats_to_json

        echo_json(stats_to_json(result, spend))
    else:
        import shutil
        import sys

        from jusage.render.stats import render_stats
        from jusage.render.text import use_color

        width = shutil.get_terminal_size((80, 24)).columns
        colour = use_color(sys.stdout)
        click.echo(render_stats(result, w.today, width=width, spend=spend, color=colour), color=colour)
