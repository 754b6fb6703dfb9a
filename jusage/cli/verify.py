"""``jusage verify``: check a log line by line, and repair it safely."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from jusage.cli.options import CliError, echo_json, json_option


@click.command()
@click.option(
    "--log",
    "log_paths",
    multiple=True,
    type=click.Path(path_type=Path),
    metavar="PATH",
    help="A log or a folder of *.jsonl logs to check (repeatable; default: the ledger).",
)
@click.option("--recursive", is_flag=True, help="Check the folders given with --log recursively.")
@click.option(
    "--repair", is_flag=True, help="Rewrite each log without its problem lines (kept in <log>.rejected)."
)
@click.option("--limit", default=20, show_default=True, metavar="N", help="Lines listed per kind of finding.")
@json_option
def verify(log_paths: tuple[Path, ...], recursive: bool, repair: bool, limit: int, as_json: bool) -> None:
    """Check a log line by line, and repair it safely.

    Finds malformed lines (with the reason), a torn last line, duplicate ids and values
    outside the valid ranges; events far out of time order are noted.

    Exit status 0 when every log is clean, 1 when problems were found (also when --repair
    then removed them). --repair rewrites a log safely while agents keep appending, and
    keeps the lines it removes in a side file next to it.

    \b
    Examples:
      jusage verify
      jusage verify --log ~/Sync/jusage --json
      jusage verify --repair
    """
    from jusage.locations import default_log_path
    from jusage.logset import LogPathError, expand_logs
    from jusage.verify import repair_log, verify_log

    try:
        logs = expand_logs(list(log_paths) or [default_log_path()], recursive=recursive)
    except LogPathError as exc:
        raise CliError(str(exc)) from None
    results: list[dict[str, Any]] = []
    clean = True
    for path in logs:
        try:
            report, side = repair_log(path) if repair else (verify_log(path), None)
        except OSError as exc:
            raise CliError(f"{path}: {exc.strerror or exc}") from None
        clean = clean and report.clean
        results.append(
            {
                "log": str(path),
                "lines": report.lines,
                "events": report.events,
                "clean": report.clean,
                "problems": [{"line": f.line, "kind": f.kind, "detail": f.detail} for f in report.problems],
                "notes": [{"line": f.line, "kind": f.kind, "detail": f.detail} for f in report.notes],
                "rejectedFile": str(side) if side else None,
            }
        )
    if as_json:
        echo_json({"clean": clean, "logs": results})
    else:
        for result in results:
            click.echo(_describe(result, limit, repair))
    sys.exit(0 if clean else 1)


def _describe(result: dict[str, Any], limit: int, repaired: bool) -> str:
    problems, notes = result["problems"], result["notes"]
    head = f"{result['log']}: {result['lines']:,} lines, {result['events']:,} events"
    if not problems:
        head += ", clean"
    else:
        kinds: dict[str, int] = {}
        for found in problems:
            kinds[found["kind"]] = kinds.get(found["kind"], 0) + 1
        head += ", " + ", ".join(f"{n:,} {kind}" for kind, n in kinds.items())
    lines = [head]
    for found in problems[:limit]:
        lines.append(f"  line {found['line']}: {found['kind']}: {found['detail']}")
    if len(problems) > limit:
        lines.append(f"  ... and {len(problems) - limit:,} more (--limit, or --json for all)")
    if notes:
        lines.append(
            f"  note: {len(notes):,} events far out of time order (normal after importing old history)"
        )
        lines.extend(f"  line {f['line']}: {f['detail']}" for f in notes[: min(limit, 5)])
    if repaired and result["rejectedFile"]:
        lines.append(f"  repaired: the problem lines are in {result['rejectedFile']}")
    return "\n".join(lines)
