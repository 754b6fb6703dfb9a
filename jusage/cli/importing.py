"""``jusage import ...`` and ``jusage hook ...``: bring agent histories into the ledger."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from jusage.cli.options import CliError, echo_json, json_option, log_option, never_failing, store_at
from jusage.cli.progress import progress_bar

if TYPE_CHECKING:
    from jusage.importers import ImportSummary


Finder = Callable[..., list[Path]]
"""An importer's ``default_<agent>_paths``: the folders it reads without ``--path``."""

_NAMES = {
    "claude-code": "Claude Code",
    "codex": "Codex",
    "jcode": "jcode",
    "gemini-cli": "Gemini CLI",
    "opencode": "OpenCode",
    "qwen-code": "Qwen Code",
    "amp": "Amp",
    "copilot-cli": "Copilot CLI",
}


def _run(
    importer: Callable[..., ImportSummary],
    log_path: Path | None,
    paths: Sequence[Path],
    defaults: Finder,
    as_json: bool,
    label: str,
) -> None:
    import sqlite3

    from jusage.importers import ImportBusyError, ImportPathError

    store = store_at(log_path)
    chosen = list(paths) or defaults()
    try:
        with progress_bar(not as_json, label) as progress:
            try:
                summary = importer(store, chosen, progress=progress, lock_timeout=0)
            except ImportBusyError as busy:
                # Tried without waiting first, so that a wait is never silent.
                holder = f" ({busy.holder})" if busy.holder else ""
                click.echo(
                    f"jusage: waiting for another import into {store.path} to finish{holder}", err=True
                )
                summary = importer(store, chosen, progress=progress)
    except ImportPathError as exc:
        raise CliError(str(exc)) from None
    except ImportBusyError as exc:
        raise CliError(str(exc)) from None
    except sqlite3.DatabaseError as exc:
        raise CliError(f"the import index of {store.path} could not be used ({exc}); run again") from None
    except OSError as exc:
        raise CliError(f"{getattr(exc, 'filename', None) or store.path}: {exc.strerror or exc}") from None
    if as_json:
        import dataclasses

        echo_json(dataclasses.asdict(summary))
    else:
        click.echo(summary.describe())
    if summary.entries == 0 and summary.files_read == summary.files_seen:
        _say_where_it_looked(label, list(paths) or defaults(found_only=False), summary.files_seen)


def _say_where_it_looked(label: str, searched: Sequence[Path], files: int) -> None:
    """On stderr: the folders an import that found no usage looked in, and how to name others."""
    name = _NAMES.get(label, label)
    where = ", ".join(f"{path}{'' if path.exists() else ' (missing)'}" for path in searched) or "nowhere"
    from jusage.importers.common import counted

    found = f"no usage in the {counted(files, 'file')} below" if files else f"no {name} history in"
    click.echo(f"jusage: found {found} {where}", err=True)
    click.echo(
        f"If {name} keeps it elsewhere, name it: jusage import {label} --path FOLDER_OR_FILE", err=True
    )


_path_option = click.option(
    "--path",
    "paths",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Where to look (repeatable). Default: the agent's usual folders.",
)


@click.group(name="import")
def import_group() -> None:
    """Import agent histories (Claude Code, Codex, Gemini CLI, ...), exactly once.

    Claude Code, Codex and jcode; Gemini CLI, OpenCode, Qwen Code, Amp and GitHub Copilot
    CLI (where each keeps its usage, and how it is read: docs/agents.md).

    Each import reads only what was appended since its last run, never counts a message
    twice (resumed sessions, sidechains, re-runs, concurrent runs), and keeps the largest
    usage of a streamed message.

    \b
    Examples:
      jusage import claude-code
      jusage import codex --path ~/.codex
      jusage import jcode --json
      jusage import gemini-cli
    """


@import_group.command("claude-code")
@_path_option
@log_option
@json_option
def import_claude(paths: tuple[Path, ...], log_path: Path | None, as_json: bool) -> None:
    """Import Claude Code transcripts (projects/**/*.jsonl).

    Default folders: every entry of CLAUDE_CONFIG_DIR (comma-separated), else
    $XDG_CONFIG_HOME/claude (or ~/.config/claude) and ~/.claude.

    \b
    Examples:
      jusage import claude-code
      jusage import claude-code --path ~/backup/claude --json
    """
    from functools import partial

    from jusage.importers import default_claude_paths, import_claude_code
    from jusage.parallel import cpu_workers

    _run(
        partial(import_claude_code, workers=cpu_workers()),
        log_path,
        paths,
        default_claude_paths,
        as_json,
        "claude-code",
    )


@import_group.command("codex")
@_path_option
@log_option
@json_option
def import_codex_cmd(paths: tuple[Path, ...], log_path: Path | None, as_json: bool) -> None:
    """Import Codex CLI sessions (sessions/**/rollout-*.jsonl, archived_sessions/).

    Default folder: $CODEX_HOME, else ~/.codex.

    \b
    Examples:
      jusage import codex
      jusage import codex --path /mnt/old-laptop/.codex
    """
    from jusage.importers import default_codex_paths, import_codex

    _run(import_codex, log_path, paths, default_codex_paths, as_json, "codex")


@import_group.command("jcode")
@_path_option
@log_option
@json_option
def import_jcode_cmd(paths: tuple[Path, ...], log_path: Path | None, as_json: bool) -> None:
    """Import jcode's usage log (~/.jcode/usage/events.jsonl), already in our format.

    \b
    Examples:
      jusage import jcode
      jusage import jcode --path ~/.jcode/usage/events.jsonl
    """
    from jusage.importers import default_jcode_paths, import_jcode

    _run(import_jcode, log_path, paths, default_jcode_paths, as_json, "jcode")


@import_group.command("gemini-cli")
@_path_option
@log_option
@json_option
def import_gemini_cli_cmd(paths: tuple[Path, ...], log_path: Path | None, as_json: bool) -> None:
    """Import Gemini CLI chat recordings (tmp/*/chats/*.jsonl, older session-*.json).

    Default folder: $GEMINI_CLI_HOME/.gemini, else ~/.gemini.

    \b
    Examples:
      jusage import gemini-cli
      jusage import gemini-cli --path ~/.gemini/tmp --json
    """
    from jusage.importers import default_gemini_cli_paths, import_gemini_cli

    _run(import_gemini_cli, log_path, paths, default_gemini_cli_paths, as_json, "gemini-cli")


@import_group.command("opencode")
@_path_option
@log_option
@json_option
def import_opencode_cmd(paths: tuple[Path, ...], log_path: Path | None, as_json: bool) -> None:
    """Import OpenCode's messages (opencode*.db, older storage/message/*/*.json).

    The database is read without disturbing a running OpenCode. Default folder:
    $OPENCODE_DATA_DIR, else $XDG_DATA_HOME/opencode, else ~/.local/share/opencode (and the
    database $OPENCODE_DB names).

    \b
    Examples:
      jusage import opencode
      jusage import opencode --path ~/.local/share/opencode/opencode.db
    """
    from jusage.importers import default_opencode_paths, import_opencode

    _run(import_opencode, log_path, paths, default_opencode_paths, as_json, "opencode")


@import_group.command("qwen-code")
@_path_option
@log_option
@json_option
def import_qwen_code_cmd(paths: tuple[Path, ...], log_path: Path | None, as_json: bool) -> None:
    """Import Qwen Code chat logs (projects/*/chats/*.jsonl).

    Default folder: $QWEN_RUNTIME_DIR, else $QWEN_HOME, else ~/.qwen.

    \b
    Examples:
      jusage import qwen-code
      jusage import qwen-code --path ~/.qwen --json
    """
    from jusage.importers import default_qwen_code_paths, import_qwen_code

    _run(import_qwen_code, log_path, paths, default_qwen_code_paths, as_json, "qwen-code")


@import_group.command("amp")
@_path_option
@log_option
@json_option
def import_amp_cmd(paths: tuple[Path, ...], log_path: Path | None, as_json: bool) -> None:
    """Import Amp threads (threads/T-*.json).

    Default folders: every entry of AMP_DATA_DIR (comma-separated), else
    $XDG_DATA_HOME/amp, else ~/.local/share/amp.

    \b
    Examples:
      jusage import amp
      jusage import amp --path ~/.local/share/amp/threads
    """
    from jusage.importers import default_amp_paths, import_amp

    _run(import_amp, log_path, paths, default_amp_paths, as_json, "amp")


@import_group.command("copilot-cli")
@_path_option
@log_option
@json_option
def import_copilot_cli_cmd(paths: tuple[Path, ...], log_path: Path | None, as_json: bool) -> None:
    """Import GitHub Copilot CLI's OpenTelemetry file export (chat spans).

    Copilot CLI writes usage only with file export on (COPILOT_OTEL_ENABLED=true,
    COPILOT_OTEL_EXPORTER_TYPE=file, COPILOT_OTEL_FILE_EXPORTER_PATH=~/.copilot/otel/x.jsonl).
    Default: $COPILOT_HOME/otel (else ~/.copilot/otel) and $COPILOT_OTEL_FILE_EXPORTER_PATH.

    \b
    Examples:
      jusage import copilot-cli
      jusage import copilot-cli --path ~/.copilot/otel/copilot.jsonl
    """
    from jusage.importers import default_copilot_cli_paths, import_copilot_cli

    _run(import_copilot_cli, log_path, paths, default_copilot_cli_paths, as_json, "copilot-cli")


@click.group(name="hook")
def hook_group() -> None:
    """Agent hooks: import each turn, stop agents at used-up budgets.

    Usage flows into the ledger as you work, and budgets with a hard stop keep agents from
    starting new work once they are used up.

    \b
    Example (~/.claude/settings.json):
      {"hooks": {"Stop": [{"hooks": [{"type": "command", "command": "jusage hook claude-code"}]}],
                 "SubagentStop": [{"hooks": [{"type": "command", "command": "jusage hook claude-code"}]}],
                 "UserPromptSubmit": [{"hooks": [{"type": "command", "command": "jusage hook claude-code"}]}],
                 "PreToolUse": [{"hooks": [{"type": "command", "command": "jusage hook claude-code"}]}]}}
    """


def _reply(handler: str, log_path: Path | None) -> None:
    """Run a handler of :mod:`jusage.gate` on stdin; print its reply and exit with its status
    (0 on any error)."""
    try:
        import jusage.gate

        reply = getattr(jusage.gate, handler)(sys.stdin.buffer.read(), store_at(log_path))
        out, err, code = reply.stdout, reply.stderr, reply.exit_code
    except BaseException as exc:  # the agent must never see a failure
        out, err, code = "", f"jusage hook: {type(exc).__name__}: {exc}", 0
    if out:
        print(out)
    if err:
        print(err.replace("\n", " ") if code != 2 else err, file=sys.stderr)
    sys.exit(code)


@hook_group.command("claude-code", cls=never_failing(stderr="jusage hook: "))
@log_option
def hook_claude(log_path: Path | None) -> None:
    """Claude Code hook: import what is new in the session's transcript, then gate.

    Reads the hook's JSON on stdin. Stop/SubagentStop only import. UserPromptSubmit and
    PreToolUse also check the budgets covering the session, its project, agent and model:
    a used-up hard-stop budget blocks the prompt (exit status 2, reason on stderr) or denies
    the tool call (permissionDecision "deny" in JSON on stdout); a budget at its alert level
    is shown once per period (systemMessage). Any internal error: exit 0, one line on stderr.

    \b
    Examples:
      echo '{"hook_event_name": "Stop", "transcript_path": "/tmp/s.jsonl"}' | jusage hook claude-code
      echo '{"hook_event_name": "UserPromptSubmit", "cwd": "/src/app"}' | jusage hook claude-code
    """
    _reply("claude_code_hook", log_path)


@hook_group.command("codex", cls=never_failing(stderr="jusage hook: "))
@log_option
def hook_codex(log_path: Path | None) -> None:
    """Codex hook: import what is new in the session's rollout, then gate.

    The same events and answers as the Claude Code hook (Codex accepts exit status 2 with a
    reason on stderr, permissionDecision "deny" and systemMessage). The session's rollout
    file (transcript_path) is imported; without one, $CODEX_HOME or ~/.codex.

    \b
    Examples:
      echo '{"hook_event_name": "Stop", "transcript_path": "/tmp/rollout.jsonl"}' | jusage hook codex
      echo '{"hook_event_name": "PreToolUse", "cwd": "/src/app", "model": "gpt-5"}' | jusage hook codex
    """
    _reply("codex_hook", log_path)
