"""``jusage prune``: remove old events from the log, safely while agents keep appending."""

from __future__ import annotations

from pathlib import Path

import click

from jusage.cli.options import CliError, echo_json, json_option, log_option


@click.command()
@log_option
@click.option(
    "--before",
    default=None,
    metavar="DATE",
    help="Remove events before this day (YYYY-MM-DD, in --timezone).",
)
@click.option(
    "--older-than", "older_than", default=None, metavar="AGE", help="Remove events older than AGE: 90d, 12w."
)
@click.option("--all", "everything", is_flag=True, help="Empty the log (asks first; --yes does not ask).")
@click.option(
    "--archive",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="FILE",
    help="First append the removed lines to FILE, gzip-compressed JSON lines (synced before anything goes).",
)
@click.option("--dry-run", is_flag=True, help="Only say what would go: events, tokens, cost, dates.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before --all empties the log.")
@click.option(
    "--timezone", "-z", default=None, metavar="ZONE", help="The zone --before's day is in (default: local)."
)
@json_option
def prune(
    log_path: Path | None,
    before: str | None,
    older_than: str | None,
    everything: bool,
    archive: Path | None,
    dry_run: bool,
    yes: bool,
    timezone: str | None,
    as_json: bool,
) -> None:
    """Remove old events from the log (retention).

    With --archive the removed lines are kept in a gzip file first. Agents may keep
    appending meanwhile: nothing newer than the cutoff is lost or doubled, and writers wait
    only while the last lines are copied. Pruned events stay remembered as imported, so no
    import brings them back. Lines that are not valid events are kept (see `jusage verify
    --repair`).

    \b
    Examples:
      jusage prune --older-than 90d --dry-run
      jusage prune --before 2026-01-01 --archive ~/jusage-2025.jsonl.gz
      jusage prune --all --yes
    """
    from jusage.cli.query import make_cost
    from jusage.locations import default_log_path
    from jusage.retention import prune_log

    chosen = [
        name
        for name, given in (("--before", before), ("--older-than", older_than), ("--all", everything))
        if given
    ]
    if len(chosen) != 1:
        raise CliError("give one of --before DATE, --older-than AGE or --all")
    path = log_path or default_log_path()
    cutoff = None if everything else _cutoff(before, older_than, timezone)
    if everything and not dry_run and not yes:
        click.confirm(f"Remove every event from {path}?", abort=True, err=True)
    try:
        summary = prune_log(
            path, cutoff=cutoff, archive=archive, dry_run=dry_run, coster=make_cost("auto", None)
        )
    except OSError as exc:
        raise CliError(f"{path}: {exc.strerror or exc}") from None
    if as_json:
        echo_json(
            {
                "dryRun": summary.dry_run,
                "removedEvents": summary.removed,
                "keptLines": summary.kept,
                "tokens": summary.tokens,
                "costUSD": summary.cost_pico / 10**12,
                "unpricedTokens": summary.unpriced,
                "firstRemoved": _iso(summary.first) if summary.removed else None,
                "lastRemoved": _iso(summary.last) if summary.removed else None,
                "archive": str(summary.archive) if summary.archive else None,
            }
        )
        return
    click.echo(_describe(summary, path))


def _cutoff(before: str | None, older_than: str | None, timezone: str | None) -> int:
    """Unix seconds: the start of --before's day in the zone, or now minus --older-than."""
    import time
    from datetime import date, datetime
    from datetime import time as clock

    from jusage.cli.options import resolve_tz

    tz = resolve_tz(timezone)
    if before is not None:
        try:
            day = date.fromisoformat(before)
        except ValueError:
            raise CliError(f"--before: expected YYYY-MM-DD, got {before!r}") from None
        return int(datetime.combine(day, clock(), tzinfo=tz).timestamp())
    assert older_than is not None
    text = older_than.strip().lower()
    units = {"d": 86_400, "w": 7 * 86_400}
    if len(text) < 2 or text[-1] not in units or not text[:-1].isdigit() or not text[:-1].isascii():
        raise CliError(
            f"--older-than: expected a number of days or weeks such as 90d or 12w, got {older_than!r}"
        )
    return int(time.time()) - int(text[:-1]) * units[text[-1]]


def _iso(ts: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _describe(summary: object, path: Path) -> str:
    from jusage.render.text import format_int, format_pico
    from jusage.retention import PruneSummary

    assert isinstance(summary, PruneSummary)
    if not summary.removed:
        return f"Nothing to prune in {path}."
    verb = "would remove" if summary.dry_run else "removed"
    cost = format_pico(summary.cost_pico)
    unpriced = f" (+ {format_int(summary.unpriced)} tokens with no price)" if summary.unpriced else ""
    span = f"{_iso(summary.first)[:10]} to {_iso(summary.last)[:10]}"
    lines = [
        f"{path}: {verb} {format_int(summary.removed)} events from {span}: "
        f"{format_int(summary.tokens)} tokens, {cost}{unpriced}; {format_int(summary.kept)} lines kept."
    ]
    if summary.archive is not None:
        lines.append(f"archived in {summary.archive}")
    return "\n".join(lines)
