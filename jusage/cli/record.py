"""``jusage record``: append events to the ledger."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import click

from jusage.cli.options import CliError, log_file, log_option
from jusage.events import COUNT_FIELDS, TEXT_FIELDS, Event, EventError


def _count_options(func: Any) -> Any:
    for name in reversed(COUNT_FIELDS):
        func = click.option(
            f"--{name.replace('_', '-')}",
            name,
            type=click.IntRange(min=0),
            default=None,
            help=f"{name.replace('_', ' ').capitalize()} count.",
        )(func)
    return func


def _text_options(func: Any) -> Any:
    for name in reversed(TEXT_FIELDS):
        func = click.option(f"--{name}", name, default=None, help=f"The event's {name}.")(func)
    return func


@click.command()
@click.argument("source_file", required=False, type=click.File("rb"), metavar="[-]")
@click.option("--ts", type=int, default=None, help="Unix seconds of the turn (default: now).")
@_text_options
@_count_options
@click.option(
    "--cost-usd",
    "cost_usd",
    type=click.FloatRange(min=0),
    default=None,
    help="Cost reported by the source, in USD.",
)
@log_option
def record(source_file: Any, log_path: Path | None, **fields: Any) -> None:
    """Append one event (or JSON lines from stdin) to the log.

    With options, records one event; ``ts`` defaults to now, ``date`` to the local date,
    ``source`` to ``cli``. With ``-``, reads one JSON event or JSON lines from stdin;
    every line is checked first and nothing is written if one is bad.

    \b
    Examples:
      jusage record --model claude-sonnet-4-5 --prompt 12000 --cached 9000 --completion 800
      echo '{"ts": 1767225600, "model": "gpt-5", "prompt": 900, "completion": 80}' | jusage record -
    """
    from jusage.store import Store

    store = Store(log_path) if log_path is not None else Store.default()
    log_file(store.path)
    given = {k: v for k, v in fields.items() if v is not None}
    if source_file is not None:
        if given:
            raise CliError("give either '-' (events on stdin) or event options, not both")
        events = _read_events(source_file.read())
    else:
        events = [_event_from_options(given)]
    try:
        written = store.record_many(events)
    except OSError as exc:
        raise CliError(f"{store.path}: cannot append: {exc.strerror or exc}") from None
    click.echo(f"recorded {written} event{'s' if written != 1 else ''} in {store.path}", err=True)


def _event_from_options(given: dict[str, Any]) -> Event:
    ts = given.pop("ts", None)
    stamp = int(time.time()) if ts is None else ts
    given.setdefault("date", time.strftime("%Y-%m-%d", time.localtime(stamp)))
    given.setdefault("source", "cli")
    try:
        event = Event(ts=stamp, **given)
    except EventError as exc:
        raise CliError(f"invalid event: {exc}") from None
    if event.total == 0:
        raise CliError("nothing to record: the event has no tokens (give --prompt or --completion)")
    return event


def _read_events(data: bytes) -> list[Event]:
    import orjson

    try:  # one JSON event, possibly pretty-printed over several lines
        whole = orjson.loads(data)
    except orjson.JSONDecodeError:
        whole = None
    if isinstance(whole, dict):
        try:
            return [Event.from_dict(whole)]
        except EventError as exc:
            raise CliError(f"stdin: {exc}; nothing was recorded") from None
    events: list[Event] = []
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            events.append(Event.from_json(line))
        except EventError as exc:
            raise CliError(f"stdin line {number}: {exc}; nothing was recorded") from None
    if not events:
        print("no events on stdin; nothing recorded", file=sys.stderr)
    return events
