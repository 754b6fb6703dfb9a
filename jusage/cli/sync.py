"""``jusage sync``: bring in what is new from every agent on this machine; copy the log out."""

from __future__ import annotations

from pathlib import Path

import click

from jusage.cli.options import CliError, echo_json, json_option, log_option


@click.command()
@log_option
@click.option(
    "--agent",
    "agents",
    multiple=True,
    metavar="NAME",
    help="Only this agent (repeatable): claude-code, codex, jcode, ... (default: every agent found).",
)
@click.option(
    "--to",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    metavar="DIR",
    help="Then copy this machine's log into DIR as <machine name>.jsonl (a folder another "
    "machine reads with --log DIR, or lists in config.toml).",
)
@json_option
def sync(log_path: Path | None, agents: tuple[str, ...], folder: Path | None, as_json: bool) -> None:
    """Bring in what is new from every agent on this machine.

    Says what each agent added. Every report does this first by itself (unless --no-sync or
    config.toml's sync = false), so this is for keeping the ledger current from a timer, or
    to copy it out with --to. Each importer is incremental and counts every message once,
    however often it runs.

    \b
    Examples:
      jusage sync
      jusage sync --agent claude-code --json
      jusage sync --to ~/Sync/jusage          # then, on any machine: jusage daily --log ~/Sync/jusage
    """
    from jusage.cli.progress import progress_bar
    from jusage.locations import default_log_path
    from jusage.parallel import cpu_workers
    from jusage.sync import AGENTS, agent_named, copy_log_to, sync_agents

    ledger = log_path or default_log_path()
    try:
        chosen = [agent_named(name) for name in agents] if agents else list(AGENTS)
    except ValueError as exc:
        raise CliError(f"--agent: {exc}") from None
    problems: list[str] = []
    with progress_bar(not as_json, "sync") as progress:
        summaries = sync_agents(
            ledger,
            agents=chosen,
            progress=progress,
            warn=problems.append,
            lock_timeout=-1,
            workers=cpu_workers(),
        )
    copied = None
    if folder is not None:
        try:
            copied = copy_log_to(ledger, folder)
        except OSError as exc:
            raise CliError(f"--to {folder}: {exc.strerror or exc}") from None
    if as_json:
        import dataclasses

        echo_json(
            {
                "agents": [dataclasses.asdict(s) for s in summaries],
                "problems": problems,
                "copiedTo": str(copied) if copied else None,
            }
        )
    else:
        for message in problems:
            click.echo(message, err=True)
        if not summaries:
            names = ", ".join(a.name for a in chosen)
            click.echo(f"No agent history found on this machine (looked for {names}).")
        for summary in summaries:
            click.echo(summary.describe())
        if copied is not None:
            click.echo(f"copied {ledger} to {copied}")
