"""``jusage budget set|list|rm|check|status``: limits on spend, and where you stand."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from jusage.cli.options import CliError, echo_json, json_option, log_option, readable_log, timezone_option

if TYPE_CHECKING:
    from jusage.budgets import Budget, Scope
    from jusage.checker import BudgetChecker

F = TypeVar("F", bound=Callable[..., Any])

__all__ = ["budget_group"]

_SCOPES = "global, project:PATH, session:ID, agent:NAME, team:NAME, source:NAME or model:GLOB."


def _settings(func: F) -> F:
    """``--log``, ``--timezone`` and ``--start-of-week``: what the running totals depend on."""
    func = click.option(
        "--start-of-week",
        default=None,
        metavar="DAY",
        help="First day of a weekly budget's week (default: config.toml's start_of_week, else monday).",
    )(func)
    return log_option(timezone_option(func))


def _checker(log_path: Path | None, timezone: str | None, start_of_week: str | None) -> BudgetChecker:
    """The budgets and settings of ``$JUSAGE_HOME``; every problem is a :class:`CliError`."""
    from jusage.checker import BudgetChecker

    path = readable_log(log_path)
    try:
        return BudgetChecker.load(path, timezone=timezone, start_of_week=start_of_week)
    except ValueError as exc:  # BudgetError, ConfigError, an unknown zone or weekday
        raise CliError(str(exc)) from None


def _load() -> list[Budget]:
    from jusage.budgets import BudgetError, load_budgets

    try:
        return load_budgets()
    except BudgetError as exc:
        raise CliError(str(exc)) from None


def _save(budgets: list[Budget]) -> Path:
    from jusage.budgets import save_budgets

    try:
        return save_budgets(budgets)
    except OSError as exc:
        raise CliError(f"{getattr(exc, 'filename', None) or 'budgets.toml'}: {exc.strerror or exc}") from None


def _scope(text: str) -> Scope:
    from jusage.budgets import BudgetError, Scope

    try:
        scope = Scope.parse(text)
    except BudgetError as exc:
        raise CliError(f"--scope: {exc}") from None
    value = scope.value
    if scope.kind == "project" and (value in (".", "..") or value.startswith(("~", "./", "../"))):
        return Scope("project", str(Path(value).expanduser().resolve()))
    return scope


def _width() -> int:
    import shutil

    return shutil.get_terminal_size((100, 24)).columns


def _run(call: Callable[[], Any], log: Path) -> Any:
    """``call()``, a log that cannot be read or a bad price file being a :class:`CliError`."""
    from jusage.pricing import PricingError

    try:
        return call()
    except PricingError as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"{log}: cannot read the log: {exc.strerror or exc}") from None


@click.group(name="budget")
def budget_group() -> None:
    """Limits on money or tokens per period, and where you stand.

    Budgets live in $JUSAGE_HOME/budgets.toml (readable, editable by hand). A budget counts
    the events its scopes pick, per period (daily, weekly, monthly in the configured time
    zone; block, the rolling five-hour window; or total), alerts at a fraction of its limit
    and, with --hard-stop, stops agents at the limit (see `jusage hook`). Recording is never
    refused.

    \b
    Examples:
      jusage budget set daily-cap --scope global --period daily --usd 20 --hard-stop
      jusage budget status
      jusage budget check --project ~/src/app --json
    """


@budget_group.command("set")
@click.argument("name")
@click.option(
    "--scope", "scopes", multiple=True, required=True, help=f"What it counts (repeatable): {_SCOPES}."
)
@click.option(
    "--period",
    required=True,
    type=click.Choice(["daily", "weekly", "monthly", "block", "total"]),
    help="How long a running total lasts.",
)
@click.option("--usd", type=float, default=None, help="Limit in US dollars.")
@click.option("--tokens", type=int, default=None, help="Limit in tokens (prompt + completion).")
@click.option("--alert-at", type=float, default=None, help="Fraction of a limit that alerts (default 0.8).")
@click.option("--hard-stop/--no-hard-stop", default=False, help="Stop agents when a limit is reached.")
def budget_set(
    name: str,
    scopes: tuple[str, ...],
    period: str,
    usd: float | None,
    tokens: int | None,
    alert_at: float | None,
    hard_stop: bool,
) -> None:
    """Add the budget NAME, or replace it.

    Scopes of different kinds must all match (project:~/app and 'model:claude-*' count
    Claude in that project; quote a glob from the shell); scopes of one kind are
    alternatives. A project scope matches the folder and everything below it; one without
    a slash matches the folder's name.

    \b
    Examples:
      jusage budget set daily-cap --scope global --period daily --usd 20 --hard-stop
      jusage budget set opus --scope 'model:claude-opus-*' --period weekly --usd 100 --alert-at 0.5
      jusage budget set app-block --scope project:~/src/app --period block --tokens 2000000
    """
    from jusage.budgets import DEFAULT_ALERT_AT, Budget, BudgetError

    parsed = tuple(_scope(s) for s in scopes)
    try:
        budget = Budget(
            name,
            parsed,
            period,  # type: ignore[arg-type]
            usd=usd,
            tokens=tokens,
            alert_at=DEFAULT_ALERT_AT if alert_at is None else alert_at,
            hard_stop=hard_stop,
        )
    except BudgetError as exc:
        raise CliError(f"budget {name!r}: {exc}") from None
    budgets = _load()
    replaced = any(b.name == name for b in budgets)
    budgets = [budget if b.name == name else b for b in budgets] if replaced else [*budgets, budget]
    path = _save(budgets)
    click.echo(f"{'replaced' if replaced else 'added'} budget {name!r} in {path}")


@budget_group.command("list")
@json_option
def budget_list(as_json: bool) -> None:
    """Every budget, as budgets.toml defines it.

    \b
    Examples:
      jusage budget list
      jusage budget list --json | jq '.[].name'
    """
    from jusage.render.budgets import render_budget_list

    budgets = _load()
    if as_json:
        echo_json(
            [
                {
                    "name": b.name,
                    "scope": [str(s) for s in b.scopes],
                    "period": b.period,
                    "limit_usd": b.usd,
                    "limit_tokens": b.tokens,
                    "alert_at": b.alert_at,
                    "hard_stop": b.hard_stop,
                }
                for b in budgets
            ]
        )
    elif not budgets:
        click.echo("No budgets. Add one: jusage budget set NAME --scope global --period daily --usd 20")
    else:
        click.echo(render_budget_list(budgets, width=_width()))


@budget_group.command("rm")
@click.argument("name")
def budget_rm(name: str) -> None:
    """Remove the budget NAME.

    \b
    Example:
      jusage budget rm daily-cap
    """
    budgets = _load()
    kept = [b for b in budgets if b.name != name]
    if len(kept) == len(budgets):
        raise CliError(f"no budget named {name!r} (see jusage budget list)")
    path = _save(kept)
    click.echo(f"removed budget {name!r} from {path}")


@budget_group.command("check")
@click.option("--project", default="", metavar="PATH", help="The project (folder) the agent works in.")
@click.option("--session", default="", metavar="ID", help="The agent's session id.")
@click.option("--agent", default="", metavar="NAME", help="The agent's name.")
@click.option("--team", default="", metavar="NAME", help="The agent's team.")
@click.option("--source", default="", metavar="NAME", help="claude-code, codex, sdk, ...")
@click.option("--model", default="", metavar="MODEL", help="The model about to be called.")
@json_option
@_settings
def budget_check(
    project: str,
    session: str,
    agent: str,
    team: str,
    source: str,
    model: str,
    as_json: bool,
    log_path: Path | None,
    timezone: str | None,
    start_of_week: str | None,
) -> None:
    """Check the budgets that cover a context: exit status 0 ok, 1 alert, 2 stop.

    A budget covers the context when each of its scopes matches what is given (a global
    budget always does). Prints each covering budget's action and why; --json prints
    {"action", "reason", "budgets": [{"name", "action", "used_usd", "limit_usd",
    "used_tokens", "limit_tokens", "percent", "period_end", ...}]} (limits not set are null).

    \b
    Examples:
      jusage budget check
      jusage budget check --project ~/src/app --model claude-opus-4-1 --json
      jusage budget check --session "$SESSION" || echo "over budget"
    """
    checker = _checker(log_path, timezone, start_of_week)
    if project.startswith("~"):
        project = str(Path(project).expanduser())
    result = _run(
        lambda: checker.check(
            project=project, session=session, agent=agent, team=team, source=source, model=model
        ),
        checker.log,
    )
    if as_json:
        echo_json(result.to_json(checker.tz))
    elif not result.budgets:
        click.echo("ok: no budget covers this context")
    else:
        for s in result.budgets:
            click.echo(f"{s.action:<5}  {s.reason}")
    sys.exit({"ok": 0, "alert": 1, "stop": 2}[result.action])


@budget_group.command("status")
@json_option
@_settings
def budget_status(
    as_json: bool, log_path: Path | None, timezone: str | None, start_of_week: str | None
) -> None:
    """Every budget against its limit: a bar, the time left in its period, and for money
    the projection to the period's end at the rate so far.

    The bar turns yellow at the alert level and red at the limit (on a terminal). --json
    prints {"budgets": [...]} with the fields of `budget check --json` and period_start,
    seconds_left and projected_usd.

    \b
    Examples:
      jusage budget status
      jusage budget status --timezone Europe/Berlin --json
    """
    from jusage.checker import iso_time
    from jusage.render.budgets import render_budget_status
    from jusage.render.text import use_color

    checker = _checker(log_path, timezone, start_of_week)
    statuses = _run(checker.status, checker.log)
    if as_json:
        rows = []
        for s in statuses:
            projected = s.projected_pico()
            row = s.to_json(checker.tz)
            row["period_start"] = None if s.period_start is None else iso_time(s.period_start, checker.tz)
            row["seconds_left"] = None if s.period_end is None else max(0, s.period_end - s.now)
            row["projected_usd"] = None if projected is None or s.budget.usd is None else projected / 10**12
            rows.append(row)
        echo_json({"budgets": rows})
    elif not statuses:
        click.echo("No budgets. Add one: jusage budget set NAME --scope global --period daily --usd 20")
    else:
        click.echo(render_budget_status(statuses, width=_width(), color=use_color(sys.stdout)))
