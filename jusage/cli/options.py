"""Options and error handling shared by the subcommands."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from datetime import date, tzinfo
from pathlib import Path
from stat import S_ISDIR, S_ISREG
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from jusage.store import Store

F = TypeVar("F", bound=Callable[..., Any])

__all__ = [
    "CliError",
    "json_option",
    "log_option",
    "never_failing",
    "parse_today",
    "prices_option",
    "readable_log",
    "resolve_tz",
    "store_at",
    "timezone_option",
]


class CliError(click.ClickException):
    """A mistake the user can fix: one line on stderr and exit status 2, never a traceback."""

    exit_code = 2


def never_failing(*, stdout: str = "", stderr: str = "") -> type[click.Command]:
    """A command class for what agents run (hooks, the status line): a mistake in its own
    options prints ``stdout`` (a fallback) or one line on stderr after ``stderr``, and exits
    0, because to an agent exit status 2 means "blocked" and any failure shows."""

    class NeverFails(click.Command):
        def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
            try:
                return super().parse_args(ctx, args)
            except click.UsageError as exc:
                if stdout:
                    print(stdout)
                else:
                    print(stderr + exc.format_message().replace("\n", " "), file=sys.stderr)
                ctx.exit(0)

    return NeverFails


def log_option(func: F) -> F:
    """``--log PATH``: the ledger file (default ``$JUSAGE_LOG``, else the default store)."""
    return click.option(
        "--log",
        "log_path",
        type=click.Path(dir_okay=False, path_type=Path),
        envvar="JUSAGE_LOG",
        default=None,
        help="Ledger file (default: $JUSAGE_LOG, else $JUSAGE_HOME/usage/events.jsonl, "
        "else ~/.jusage/usage/events.jsonl).",
    )(func)


def store_at(log_path: Path | None) -> Store:
    """The store ``--log`` names, else the default one."""
    from jusage.store import Store

    return Store(log_path) if log_path is not None else Store.default()


def prices_option(func: F) -> F:
    """``--prices PATH``: a TOML file of price overrides."""
    return click.option(
        "--prices",
        "prices_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        metavar="PATH",
        help="Price overrides (TOML; default: $JUSAGE_HOME/prices.toml when it exists).",
    )(func)


def json_option(func: F) -> F:
    """``--json``: machine-readable output."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(func)


def timezone_option(func: F) -> F:
    """``--timezone NAME``: the zone whose calendar days the report uses."""
    return click.option(
        "--timezone",
        "-z",
        "timezone",
        default=None,
        metavar="ZONE",
        help="IANA time zone for day boundaries, e.g. Europe/Berlin or UTC (default: local).",
    )(func)


def resolve_tz(name: str | None) -> tzinfo | None:
    """The named zone, or a :class:`CliError` naming the bad value."""
    from jusage.days import resolve_timezone

    try:
        return resolve_timezone(name)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def parse_today(text: str | None, tz: tzinfo | None) -> date:
    """``--today YYYY-MM-DD`` (for reproducible output), else today in ``tz``."""
    if text is None:
        from jusage.days import today_in

        return today_in(tz)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CliError(f"--today: expected YYYY-MM-DD, got {text!r}") from None


def log_file(path: Path) -> os.stat_result | None:
    """The ``stat`` of the log at ``path``, or ``None`` while it does not exist.

    :class:`CliError` for a folder, and for anything else that is not a regular file (a named
    pipe or a device would make a read or a write wait for ever).
    """
    try:
        st = path.stat()
    except OSError:
        return None
    if S_ISDIR(st.st_mode):
        raise CliError(f"{path}: is a directory, not a log file")
    if not S_ISREG(st.st_mode):
        raise CliError(f"{path}: not a regular file, so not a log file")
    return st


def readable_log(path: Path | None) -> Path:
    """The log to read: a missing file is an empty log; an unreadable one is an error."""
    from jusage.locations import default_log_path

    resolved = path if path is not None else default_log_path()
    if log_file(resolved) is not None and not os.access(resolved, os.R_OK):
        raise CliError(f"{resolved}: cannot read the log (permission denied)")
    return resolved


def empty_log_message(logs: Any) -> str:
    """Why a report shows nothing when its log holds no events, and how to fill it."""
    paths = [Path(p) for p in (logs if isinstance(logs, list | tuple) else [logs]) if p]
    named = ", ".join(str(p) for p in paths) or str(readable_log(None))
    state = "is empty" if any(p.exists() for p in paths) else "does not exist yet"
    return (
        f"No usage: the log {named} {state}. Fill it with `jusage import claude-code` (or codex, "
        "jcode, ...), the Claude Code hook (`jusage hook claude-code`), or `jusage record`."
    )


def echo_json(data: Any) -> None:
    """Print ``data`` as JSON indented by two spaces.

    orjson writes it, except where a number needs more than 64 bits (a sum of absurd token
    counts in a hand-edited log), which orjson cannot write and the standard library can.
    """
    import orjson

    try:
        text = orjson.dumps(data, option=orjson.OPT_INDENT_2).decode()
    except TypeError:
        import json

        text = json.dumps(data, indent=2, ensure_ascii=False)
    click.echo(text)
