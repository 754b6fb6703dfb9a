"""The ``jusage`` command line: a thin click layer over the library.

Subcommands live in their own modules and are imported only when run, so ``jusage --help``
and ``jusage record`` start fast. Each entry of :data:`COMMANDS` names the module and function
of a command and its one-line help (shown by ``jusage --help`` without importing it).
"""

from __future__ import annotations

import importlib
from typing import Any

import click

__all__ = ["COMMANDS", "main"]

#: name -> (module:function, short help): the first line of the command's docstring (a test
#: holds them together).
COMMANDS: dict[str, tuple[str, str]] = {
    "record": ("jusage.cli.record:record", "Append one event (or JSON lines from stdin) to the log."),
    "stats": ("jusage.cli.stats:stats", "Totals, cost, streaks, cache hit rate, shares and the daily trend."),
    "daily": ("jusage.cli.reports:daily", "Tokens and cost per day."),
    "weekly": ("jusage.cli.reports:weekly", "Tokens and cost per week."),
    "monthly": ("jusage.cli.reports:monthly", "Tokens and cost per calendar month."),
    "session": ("jusage.cli.reports:session", "Tokens and cost per agent session."),
    "blocks": ("jusage.cli.reports:blocks", "Five-hour usage blocks, as Anthropic meters them."),
    "summary": (
        "jusage.cli.reports:summary",
        "Tokens, calls, turns, cost and share grouped by any dimensions.",
    ),
    "prices": (
        "jusage.cli.prices:prices",
        "Every model in the log, the price used for it and where it came from.",
    ),
    "import": (
        "jusage.cli.importing:import_group",
        "Import agent histories (Claude Code, Codex, Gemini CLI, ...), exactly once.",
    ),
    "hook": (
        "jusage.cli.importing:hook_group",
        "Agent hooks: import each turn, stop agents at used-up budgets.",
    ),
    "budget": (
        "jusage.cli.budget:budget_group",
        "Limits on money or tokens per period, and where you stand.",
    ),
    "statusline": (
        "jusage.cli.statusline:statusline",
        "One status line for Claude Code's statusLine command.",
    ),
    "sync": ("jusage.cli.sync:sync", "Bring in what is new from every agent on this machine."),
    "prune": ("jusage.cli.prune:prune", "Remove old events from the log (retention)."),
    "verify": ("jusage.cli.verify:verify", "Check a log line by line, and repair it safely."),
    "ingest": (
        "jusage.cli.ingest:ingest",
        "Append the events of files dropped into DIR to the log, each exactly once.",
    ),
}


class LazyGroup(click.Group):
    """A group whose commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module, _, attr = entry[0].partition(":")
        command: click.Command = getattr(importlib.import_module(module), attr)
        return command

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """Run the command line; a usage mistake is one line on stderr and exit status 2.

        click writes a usage line, a hint and the error; the error alone says it, so only
        the error is written.
        """
        if kwargs.get("standalone_mode", True) is False:
            return super().main(*args, **kwargs)
        kwargs["standalone_mode"] = False
        try:
            result = super().main(*args, **kwargs)
        except click.ClickException as exc:
            hint = ""
            if isinstance(exc, click.UsageError) and exc.ctx is not None:
                hint = f" (see '{exc.ctx.command_path} --help')"
            click.echo(f"Error: {exc.format_message()}{hint}", err=True)
            raise SystemExit(exc.exit_code) from None
        except click.exceptions.Abort:
            click.echo("Aborted!", err=True)
            raise SystemExit(1) from None
        if isinstance(result, int) and result:
            raise SystemExit(result)
        return result

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="jusage", message="jusage %(version)s")
def main(**_: Any) -> None:
    """jusage: the token-usage and cost ledger for coding agents.

    Every agent turn is one line in an append-only JSON-lines log
    (~/.jusage/usage/events.jsonl; JUSAGE_HOME moves the folder, JUSAGE_LOG or --log names
    the file). The reports are computed from the log when you ask.

    \b
    Examples:
      jusage stats --log fixtures/sample.jsonl --today 2026-11-20
      jusage record --model gpt-5 --prompt 1200 --completion 300 --project ~/src/app
      jusage stats --json | jq .totals
    """
