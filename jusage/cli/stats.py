"""``jusage stats``: the derived view of the whole ledger."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import click

from jusage.cli.options import CliError, echo_json
from jusage.cli.query import echo_table, make_query, query_options, read_table, stdout_color, width


@click.command()
@query_options
@click.option(
    "--days",
    "last_days",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Only the last N days, today included (the same as --since Nd).",
)
def stats(last_days: int | None, **opts: Any) -> None:
    """Totals, cost, streaks, cache hit rate, shares and the daily trend.

    Days are calendar days of each event's timestamp in --timezone (default: local).
    The current streak counts back from today, or from yesterday when today has no
    activity yet. Each event is priced at its own date; the spend line (today, this month,
    and this month projected from the last 7 days' average) ignores --since/--until.

    \b
    Examples:
      jusage stats
      jusage stats --days 30 --json
      jusage stats --since this-month --mode calculate --source claude-code
      jusage stats --log fixtures/sample.jsonl --today 2026-11-20 --timezone UTC
    """
    from jusage.views.stats import STATS_DIMS, stats_and_spend

    if last_days is not None and opts["since"] is not None:
        raise CliError("give --days or --since, not both (--days 7 is the same as --since 7d)")
    query = make_query(opts)
    w = query.window
    start = w.today - timedelta(days=last_days - 1) if last_days is not None else w.since
    table = read_table(query, STATS_DIMS)
    result, spend = stats_and_spend(table, today=w.today, since=start, until=w.until)
    if result.totals.unpriced:
        from jusage.render.reports import unpriced_warning

        click.echo(unpriced_warning(result.unpriced_models, query.mode), err=True)
    if not result.days and not result.skipped_lines and not query.as_json:
        from jusage.cli.query import nothing_to_show

        click.echo(nothing_to_show(table, query.logs), err=True)
    if query.as_json:
        from jusage.render.stats import stats_to_json

        echo_json(stats_to_json(result, spend))
    else:
        from jusage.render.stats import render_stats

        echo_table(render_stats(result, w.today, width=width(), spend=spend, color=stdout_color()))
