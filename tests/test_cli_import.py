"""``jusage import ...`` and ``jusage hook claude-code`` through click: output, JSON, exit codes.

Every importer, the five per-call agents' included, is run on its committed fixtures."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from jusage.cli import main
from jusage.importers.index import ImportIndex

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SOURCES = {
    "claude-code": FIXTURES / "claude-code",
    "codex": FIXTURES / "codex",
    "jcode": FIXTURES / "jcode" / "events.jsonl",
    "gemini-cli": FIXTURES / "gemini-cli",
    "opencode": FIXTURES / "opencode",
    "qwen-code": FIXTURES / "qwen-code",
    "amp": FIXTURES / "amp",
    "copilot-cli": FIXTURES / "copilot-cli",
}
SUMMARY_FIELDS = {
    "source",
    "files_seen",
    "files_read",
    "entries",
    "events_added",
    "duplicates",
    "corrections",
    "malformed",
    "skipped",
}


def ids(log: Path) -> list[str]:
    return [orjson.loads(raw)["id"] for raw in log.read_bytes().splitlines()]


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_an_import_prints_a_one_line_summary(runner: CliRunner, log_path: Path, source: str) -> None:
    """The summary names the source and what the run did; a second run adds nothing."""
    args = ["import", source, "--path", str(SOURCES[source]), "--log", str(log_path)]
    first = runner.invoke(main, args)
    again = runner.invoke(main, args)
    assert first.exit_code == 0 and again.exit_code == 0
    assert first.stdout.startswith(f"{source}: ") and len(first.stdout.splitlines()) == 1
    assert "events added" in first.stdout and " 0 events added" not in first.stdout
    assert " 0 events added" in again.stdout
    assert len(ids(log_path)) == len(set(ids(log_path))) > 0


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_an_import_with_json_prints_the_summary_fields(
    runner: CliRunner, log_path: Path, source: str
) -> None:
    """--json gives every counter of the summary, and events_added matches the ledger."""
    result = runner.invoke(
        main, ["import", source, "--path", str(SOURCES[source]), "--log", str(log_path), "--json"]
    )
    assert result.exit_code == 0
    summary = orjson.loads(result.stdout)
    assert set(summary) == SUMMARY_FIELDS and summary["source"] == source
    assert summary["events_added"] + summary["corrections"] == len(ids(log_path))


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_a_missing_path_is_a_one_line_error_with_status_2(
    runner: CliRunner, log_path: Path, tmp_path: Path, source: str
) -> None:
    """A --path that does not exist: one line on stderr, exit status 2, no traceback."""
    missing = tmp_path / "nowhere"
    result = runner.invoke(main, ["import", source, "--path", str(missing), "--log", str(log_path)])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [f"Error: {missing}: no such file or directory"]
    assert not log_path.exists()


def test_importing_the_ledger_into_itself_is_a_one_line_error(runner: CliRunner, log_path: Path) -> None:
    """jcode's format is the ledger's: pointing the import at the ledger is refused."""
    runner.invoke(main, ["import", "jcode", "--path", str(SOURCES["jcode"]), "--log", str(log_path)])
    result = runner.invoke(main, ["import", "jcode", "--path", str(log_path), "--log", str(log_path)])
    assert result.exit_code == 2 and "the ledger itself" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_an_import_while_another_holds_the_ledger_waits_for_it(
    runner: CliRunner, log_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI says it waits for a running import (here: one that never ends, so a short
    wait), and says so in one line when it gives up."""
    import jusage.importers.claude_code as claude_code

    real = claude_code.ImportIndex

    def impatient(ledger: Path, *, timeout: float = -1) -> ImportIndex:
        return real(ledger, timeout=0.05)

    monkeypatch.setattr(claude_code, "ImportIndex", impatient)
    log_path.parent.mkdir(parents=True)
    with ImportIndex(log_path):
        result = runner.invoke(
            main, ["import", "claude-code", "--path", str(SOURCES["claude-code"]), "--log", str(log_path)]
        )
    assert result.exit_code == 2
    waiting, error = result.stderr.strip().splitlines()
    assert waiting.startswith(f"jusage: waiting for another import into {log_path} to finish (pid ")
    assert error.startswith(f"Error: another import into {log_path} is running (pid ")


def _transcript(folder: Path) -> Path:
    path = folder / "projects" / "-p" / "s1.jsonl"
    path.parent.mkdir(parents=True)
    usage = {"input_tokens": 3, "output_tokens": 4}
    line = {
        "type": "assistant",
        "timestamp": "2025-09-01T10:00:00.000Z",
        "sessionId": "s1",
        "requestId": "r1",
        "message": {"id": "m1", "model": "claude-sonnet-4-20250514", "usage": usage},
    }
    path.write_bytes(orjson.dumps(line) + b"\n")
    return path


def test_the_hook_imports_quietly_and_exits_0(runner: CliRunner, log_path: Path, tmp_path: Path) -> None:
    """A Stop payload on stdin: the transcript's usage lands in the ledger, nothing printed."""
    transcript = _transcript(tmp_path / "claude")
    payload = orjson.dumps(
        {"session_id": "s1", "transcript_path": str(transcript), "hook_event_name": "Stop"}
    )
    result = runner.invoke(main, ["hook", "claude-code", "--log", str(log_path)], input=payload)
    again = runner.invoke(main, ["hook", "claude-code", "--log", str(log_path)], input=payload)
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
    assert again.exit_code == 0 and len(ids(log_path)) == 1


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        (b"not json", "jusage hook: JSONDecodeError"),
        (b"[]", "jusage hook: the hook input is not a JSON object"),
        (b'{"transcript_path": "/nowhere/x.jsonl"}', "jusage hook: no transcript to import"),
    ],
)
def test_the_hook_reports_bad_input_on_stderr_and_still_exits_0(
    runner: CliRunner, log_path: Path, stdin: bytes, message: str
) -> None:
    """The agent must never see a failure: one line on stderr, exit status 0."""
    result = runner.invoke(main, ["hook", "claude-code", "--log", str(log_path)], input=stdin)
    assert result.exit_code == 0 and result.stdout == ""
    assert result.stderr.startswith(message) and len(result.stderr.splitlines()) == 1


HOMES = {
    "gemini-cli": ("GEMINI_CLI_HOME", ".gemini"),
    "opencode": ("OPENCODE_DATA_DIR", ""),
    "qwen-code": ("QWEN_RUNTIME_DIR", ""),
    "amp": ("AMP_DATA_DIR", ""),
    "copilot-cli": ("COPILOT_HOME", ""),
}


@pytest.mark.parametrize("source", sorted(HOMES))
def test_without_a_path_the_agents_own_folder_is_imported(
    runner: CliRunner, log_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    """No --path: the folder the agent's own environment variable names."""
    import shutil

    variable, inside = HOMES[source]
    home = tmp_path / "agent-home"
    shutil.copytree(SOURCES[source], home / inside if inside else home)
    monkeypatch.setenv(variable, str(home))
    result = runner.invoke(main, ["import", source, "--log", str(log_path), "--json"])
    assert result.exit_code == 0, result.output
    expected = orjson.loads((SOURCES[source] / "expected.json").read_bytes())
    assert orjson.loads(result.stdout)["events_added"] == expected["events"]


# -- telling the user what happened ----------------------------------------------------------


def test_the_summary_says_one_of_each_in_the_singular() -> None:
    """One file, one entry, one event, one correction: no "1 corrections"."""
    from jusage.importers import ImportSummary

    one = ImportSummary("codex", 1, 1, 1, 1, 1, 1, 1, 1).describe()
    assert one == (
        "codex: 1 of 1 file read, 1 entry, 1 event added, 1 duplicate skipped, 1 correction, "
        "1 malformed record, 1 not billed (synthetic)"
    )
    two = ImportSummary("codex", 2, 2, 2, 2, 2, 2, 2, 2).describe()
    assert "2 entries, 2 events added, 2 duplicates skipped, 2 corrections, 2 malformed records" in two


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_the_text_summary_shows_every_count_the_json_has(
    runner: CliRunner, log_path: Path, tmp_path: Path, source: str
) -> None:
    """Each number of --json appears in the one-line summary (malformed and skipped included)."""
    args = ["import", source, "--path", str(SOURCES[source]), "--log", str(log_path)]
    as_json = orjson.loads(runner.invoke(main, [*args, "--json"]).stdout)
    other = tmp_path / "other" / "events.jsonl"
    text = runner.invoke(main, ["import", source, "--path", str(SOURCES[source]), "--log", str(other)]).stdout
    numbers = [int(word) for word in text.replace(",", " ").split() if word.isdigit()]
    assert sorted(numbers) == sorted(value for key, value in as_json.items() if key != "source")


def test_an_import_that_finds_no_history_says_where_it_looked(
    runner: CliRunner, log_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No Codex folder: the summary, then where it looked and how to name another folder;
    still exit status 0 (nothing to import is not a failure)."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    result = runner.invoke(main, ["import", "codex", "--log", str(log_path)])
    assert result.exit_code == 0
    assert result.stdout.startswith("codex: 0 of 0 files read")
    assert str(tmp_path / "home" / ".codex") in result.stderr
    assert "--path" in result.stderr


def test_an_import_of_a_folder_without_usage_says_so(
    runner: CliRunner, log_path: Path, tmp_path: Path
) -> None:
    """A --path that holds no usage (an empty folder, or files without any): where it looked."""
    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner.invoke(main, ["import", "gemini-cli", "--path", str(empty), "--log", str(log_path)])
    assert result.exit_code == 0 and str(empty) in result.stderr and "--path" in result.stderr
    again = runner.invoke(
        main, ["import", "gemini-cli", "--path", str(SOURCES["gemini-cli"]), "--log", str(log_path)]
    )
    assert again.stderr == ""


def test_an_import_waiting_for_another_says_for_whom(runner: CliRunner, log_path: Path) -> None:
    """While another import holds the ledger, the CLI says it waits and for which process,
    then does its work once the other is done."""
    import os
    import threading

    log_path.parent.mkdir(parents=True)
    held = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with ImportIndex(log_path):
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(10)
    threading.Timer(0.3, release.set).start()
    try:
        result = runner.invoke(
            main, ["import", "codex", "--path", str(SOURCES["codex"]), "--log", str(log_path)]
        )
    finally:
        release.set()
        holder.join()
    assert result.exit_code == 0, result.output
    assert "waiting" in result.stderr and f"pid {os.getpid()}" in result.stderr
    assert " 0 events added" not in result.stdout
