"""``jusage record``: append events to the ledger."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from jusage.cli.options import CliError, log_file, log_option, store_at
from jusage.events import COUNT_FIELDS, TEXT_FIELDS, Event, EventError

if TYPE_CHECKING:
    from jusage.checker import BudgetChecker

_HELP = {
    "prompt": "Input tokens, including cached reads and cache writes.",
    "completion": "Output tokens, including reasoning tokens.",
    "cached": "Input tokens read from the prompt cache (part of --prompt).",
    "cache_write": "Input tokens written to the prompt cache (part of --prompt).",
    "cache_write_1h": "The part of --cache-write written with a one-hour lifetime.",
    "reasoning": "Reasoning tokens (part of --completion).",
    "total": "prompt + completion; refused when it says otherwise (it is filled in anyway).",
    "calls": "API calls made in the turn.",
    "fallbacks": "Provider fallbacks taken in the turn.",
    "date": "The writer's local date, YYYY-MM-DD (default: today at --ts).",
    "project": "The project the agent worked in (usually a folder).",
    "session": "The agent's session id.",
    "model": "The model, as the provider names it.",
    "id": "A unique id for the event (default: a random one).",
    "source": "What recorded it: claude-code, codex, sdk, ... (default: cli).",
    "provider": "anthropic, openai, google, ... (inferred from the model when absent).",
    "agent": "The agent's name, for grouping.",
    "team": "The team, for grouping.",
    "role": "The agent's role (e.g. subagent), for grouping.",
    "task": "The task, for grouping.",
    "route": "The route, for grouping.",
    "host": "The machine (default: this one's name).",
    "corrects": "The id of an earlier event this one adds tokens to (not a turn of its own).",
}


def _count_options(func: Any) -> Any:
    for name in reversed(COUNT_FIELDS):
        func = click.option(
            f"--{name.replace('_', '-')}", name, type=click.IntRange(min=0), default=None, help=_HELP[name]
        )(func)
    return func


def _text_options(func: Any) -> Any:
    for name in reversed(TEXT_FIELDS):
        func = click.option(f"--{name.replace('_', '-')}", name, default=None, help=_HELP[name])(func)
    return func


@click.command()
@click.argument("source_file", required=False, type=click.File("rb"), metavar="[-]")
@click.option("--ts", type=int, default=None, help="Unix seconds of the turn (default: now).")
@_text_options
@_count_options
@click.option("--cost-usd", "cost_usd", type=float, default=None, help="Cost reported by the source, in USD.")
@log_option
def record(source_file: Any, log_path: Path | None, **fields: Any) -> None:
    """Append one event (or JSON lines from stdin) to the log.

    With options, records one event; --ts defaults to now, --date to the local date at
    --ts, --source to cli. With '-', reads one JSON event or JSON lines from stdin; every
    event is checked first and nothing is written if one is bad. Both ways follow the same
    rules: an event needs tokens, its counts agree (cached + cache writes within prompt,
    reasoning within completion), ts is between 1970 and 9999, and a reported cost is at
    most $1,000,000. With budgets (jusage budget), the budgets that cover the events are
    evaluated as they are written, and any at its alert level or used up is named on
    stderr; the events are recorded whatever the budgets say.

    \b
    Examples:
      jusage record --model claude-sonnet-4-5 --prompt 12000 --cached 9000 --completion 800
      echo '{"ts": 1767225600, "model": "gpt-5", "prompt": 900, "completion": 80}' | jusage record -
    """

    store = store_at(log_path)
    log_file(store.path)
    given = {k: v for k, v in fields.items() if v is not None}
    if source_file is not None:
        if given:
            raise CliError("give either '-' (events on stdin) or event options, not both")
        events = _read_events(source_file.read())
        if not events:
            click.echo("no events on stdin; nothing recorded", err=True)
            return
    else:
        events = [_event_from_options(given)]
    checker = _budgets(store.path)
    try:
        if checker is None:
            written = store.record_many(events)
        else:
            result = checker.record_many(events, store)
            written = len(events)
    except OSError as exc:
        raise CliError(f"{store.path}: cannot append: {exc.strerror or exc}") from None
    click.echo(f"recorded {written} event{'s' if written != 1 else ''} in {store.path}", err=True)
    if checker is not None:
        if result.error:
            click.echo(f"jusage: budgets not checked: {result.error}", err=True)
        for status in result.budgets:
            if status.action != "ok":
                click.echo(f"jusage: {status.action}: {status.reason}", err=True)


def _budgets(log: Path) -> BudgetChecker | None:
    """The budgets to evaluate with the record, ``None`` without any. A problem with them
    is reported and the events are recorded all the same."""
    from jusage.budgets import budgets_path

    if not budgets_path().is_file():
        return None
    try:
        from jusage.checker import BudgetChecker

        checker = BudgetChecker.load(log)
        if not checker.budgets:
            return None
        _ = checker.coster  # a bad price file shows here, before anything is written
    except Exception as exc:
        click.echo(f"jusage: budgets not checked: {exc}", err=True)
        return None
    return checker


def recordable(event: Event) -> Event:
    """``event`` if ``jusage record`` may write it, else :class:`EventError` saying why.

    The rules of :meth:`Event.check` (what any writer must meet), plus: the event has
    tokens, and its ``date`` (when given) is a calendar date.
    """
    from datetime import date

    event = event.check()
    if event.tokens == 0:
        raise EventError("the event has no tokens (give prompt or completion)")
    if event.date:
        try:
            date.fromisoformat(event.date)
        except ValueError:
            raise EventError(f"date must be YYYY-MM-DD, got {event.date!r}") from None
    return event


def _event_from_options(given: dict[str, Any]) -> Event:
    ts = given.pop("ts", None)
    stamp = int(time.time()) if ts is None else ts
    given.setdefault("source", "cli")
    try:
        if "date" not in given and stamp >= 0:
            given["date"] = time.strftime("%Y-%m-%d", time.localtime(stamp))
    except (OverflowError, OSError, ValueError):
        pass  # outside the calendar: the range check below says so
    try:
        return recordable(Event.create(ts=stamp, **given))
    except EventError as exc:
        raise CliError(f"invalid event: {exc}") from None


def _read_events(data: bytes) -> list[Event]:
    import orjson

    try:  # one JSON event, possibly pretty-printed over several lines
        whole = orjson.loads(data)
    except (orjson.JSONDecodeError, RecursionError):
        whole = None
    if isinstance(whole, dict):
        try:
            return [recordable(Event.from_dict(whole))]
        except EventError as exc:
            raise CliError(f"stdin: {exc}; nothing was recorded") from None
    events: list[Event] = []
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            events.append(recordable(Event.from_json(line)))
        except EventError as exc:
            raise CliError(f"stdin line {number}: {exc}; nothing was recorded") from None
    return events
