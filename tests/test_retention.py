"""Retention and checking: prune while agents append, archives, verify and repair, copies."""

from __future__ import annotations

import gzip
import multiprocessing
from pathlib import Path

import orjson
from click.testing import CliRunner

from jusage.cli import main
from jusage.events import Event
from jusage.retention import prune_log
from jusage.store import Store
from jusage.sync import copy_log_to
from jusage.verify import rejected_path, repair_log, verify_log

DAY = 86_400
T0 = 1_767_225_600  # 2026-01-01 00:00 UTC
CUTOFF = T0 + 30 * DAY


def old_and_new(path: Path, n: int = 60) -> None:
    """n events a day apart from T0: the first 30 before the cutoff, the rest after it."""
    Store(path).record_many(
        Event(ts=T0 + i * DAY, model="gpt-5", prompt=1000 + i, completion=10, id=f"e{i}") for i in range(n)
    )


def ids(path: Path) -> list[str]:
    return [e.id for e in Store(path).load()]


def test_prune_removes_what_is_older_and_archives_it_first(log_path: Path, tmp_path: Path) -> None:
    """Events before the cutoff go to the gzip archive, byte for byte; the rest stay in order."""
    old_and_new(log_path)
    before = log_path.read_bytes().splitlines()
    archive = tmp_path / "old.jsonl.gz"
    summary = prune_log(log_path, cutoff=CUTOFF, archive=archive)
    assert summary.removed == 30 and summary.kept == 30
    assert ids(log_path) == [f"e{i}" for i in range(30, 60)]
    assert gzip.decompress(archive.read_bytes()).splitlines() == before[:30]
    assert (summary.first, summary.last) == (T0, T0 + 29 * DAY)
    assert summary.tokens == sum(1010 + i for i in range(30))


def test_a_dry_run_says_what_would_go_and_changes_nothing(log_path: Path) -> None:
    """--dry-run: the counts, tokens, cost and dates of what would go; the log untouched."""
    old_and_new(log_path)
    data = log_path.read_bytes()
    from jusage.costing import Coster
    from jusage.pricing import Pricer, Rates

    coster = Coster(Pricer({"gpt-5": Rates(1_000_000, 2_000_000, 0, 0, 0)}), "calculate")
    summary = prune_log(log_path, cutoff=CUTOFF, dry_run=True, coster=coster)
    assert summary.dry_run and summary.removed == 30
    assert summary.cost_pico == sum((1000 + i) * 1_000_000 + 10 * 2_000_000 for i in range(30))
    assert log_path.read_bytes() == data


def test_lines_that_are_not_events_are_kept(log_path: Path) -> None:
    """A malformed line has no date: prune keeps it (verify --repair is for those)."""
    old_and_new(log_path, 40)
    with log_path.open("ab") as fh:
        fh.write(b"not json\n")
    prune_log(log_path, cutoff=CUTOFF)
    assert log_path.read_bytes().endswith(b"not json\n")


def _append_newer(path: str, writer: int, count: int, go: multiprocessing.synchronize.Event) -> None:
    store = Store(path)  # opened before the prune renames a new file over the log
    store.record(Event(ts=CUTOFF + DAY, prompt=1, id=f"w{writer}-first"))
    go.wait()
    for i in range(count):
        store.record(Event(ts=CUTOFF + DAY + i, prompt=1, id=f"w{writer}-{i}"))


def test_writers_appending_during_a_prune_lose_nothing(log_path: Path) -> None:
    """Four writers append newer events while a prune rewrites the log: afterwards every one
    of them is there exactly once, and none of the pruned ones."""
    old_and_new(log_path, 20_000 // 1)
    ctx = multiprocessing.get_context("fork")
    go = ctx.Event()
    writers = [ctx.Process(target=_append_newer, args=(str(log_path), w, 400, go)) for w in range(4)]
    for w in writers:
        w.start()
    go.set()
    summary = prune_log(log_path, cutoff=CUTOFF)
    for w in writers:
        w.join(60)
        assert w.exitcode == 0
    got = ids(log_path)
    wanted = {f"w{w}-{i}" for w in range(4) for i in range(400)} | {f"w{w}-first" for w in range(4)}
    assert wanted <= set(got)
    assert len(got) == len(set(got))
    assert not {f"e{i}" for i in range(30)} & set(got)
    assert summary.removed == 30


def test_prune_all_asks_first(runner: CliRunner, log_path: Path) -> None:
    """--all empties the log after a confirmation; no answer, no change; --yes skips it."""
    old_and_new(log_path, 5)
    refused = runner.invoke(main, ["prune", "--all", "--log", str(log_path)], input="n\n")
    assert refused.exit_code == 1 and len(ids(log_path)) == 5
    done = runner.invoke(main, ["prune", "--all", "--yes", "--log", str(log_path)])
    assert done.exit_code == 0, done.output
    assert ids(log_path) == []


def test_prune_through_the_cli(runner: CliRunner, log_path: Path, tmp_path: Path) -> None:
    """--before is a day in --timezone; --json says what went; one of the three is needed."""
    old_and_new(log_path)
    archive = tmp_path / "a.gz"
    args = ["prune", "--before", "2026-01-31", "--timezone", "UTC", "--archive", str(archive), "--json"]
    result = runner.invoke(main, [*args, "--log", str(log_path)])
    data = orjson.loads(result.stdout)
    assert data["removedEvents"] == 30 and data["firstRemoved"] == "2026-01-01T00:00:00Z"
    assert data["archive"] == str(archive)
    neither = runner.invoke(main, ["prune", "--log", str(log_path)])
    assert neither.exit_code == 2 and "one of" in neither.output
    bad = runner.invoke(main, ["prune", "--older-than", "3 months", "--log", str(log_path)])
    assert bad.exit_code == 2 and "90d" in bad.output


def test_a_report_says_when_the_period_starts_before_the_oldest_event(
    runner: CliRunner, log_path: Path
) -> None:
    """After pruning, a period reaching further back is noted on stderr."""
    old_and_new(log_path)
    prune_log(log_path, cutoff=CUTOFF)
    result = runner.invoke(
        main, ["daily", "--since", "2026-01-01", "--timezone", "UTC", "--log", str(log_path)]
    )
    assert "no events before 2026-01-31" in result.stderr


def test_verify_names_each_problem_by_line(log_path: Path) -> None:
    """Malformed lines with their reason, duplicate ids and a torn last line; notes apart."""
    Store(log_path).record_many([Event(ts=T0 + 5 * DAY, prompt=1, id="a"), Event(ts=T0, prompt=1, id="b")])
    with log_path.open("ab") as fh:
        fh.write(b'{"ts": 1, "prompt": 1, "cached": 5}\n{"ts": 2, "prompt": 1, "id": "a"}\n\n{"ts": 3, "pro')
    report = verify_log(log_path)
    assert [(f.line, f.kind) for f in report.problems] == [(3, "malformed"), (4, "duplicate id"), (6, "torn")]
    assert "exceeds prompt" in report.problems[0].detail
    assert [f.line for f in report.notes] == [2, 4]
    assert not report.clean


def test_repair_keeps_the_removed_lines_beside_the_log(log_path: Path) -> None:
    """--repair: the log holds only good lines after, the side file the others."""
    Store(log_path).record(Event(ts=T0, prompt=1, id="a"))
    with log_path.open("ab") as fh:
        fh.write(b"garbage\n" + Event(ts=T0, prompt=1, id="a").to_json() + b"\n")
    report, side = repair_log(log_path)
    assert len(report.problems) == 2 and side == rejected_path(log_path)
    assert ids(log_path) == ["a"]
    assert side.read_bytes().splitlines()[0] == b"garbage"
    assert verify_log(log_path).clean


def test_verify_exit_status(runner: CliRunner, log_path: Path) -> None:
    """0 when clean, 1 when problems were found."""
    Store(log_path).record(Event(ts=T0, prompt=1))
    assert runner.invoke(main, ["verify", "--log", str(log_path)]).exit_code == 0
    with log_path.open("ab") as fh:
        fh.write(b"{oops\n")
    result = runner.invoke(main, ["verify", "--log", str(log_path), "--json"])
    assert result.exit_code == 1
    assert orjson.loads(result.stdout)["logs"][0]["problems"][0]["line"] == 2


def test_a_copy_grows_with_the_log_and_is_replaced_after_a_rewrite(log_path: Path, tmp_path: Path) -> None:
    """sync --to appends only the new complete lines; after a prune the copy is replaced."""
    shared = tmp_path / "shared"
    old_and_new(log_path, 10)
    copy = copy_log_to(log_path, shared)
    assert copy.read_bytes() == log_path.read_bytes()
    with log_path.open("ab") as fh:
        fh.write(Event(ts=T0 + 99 * DAY, prompt=1, id="late").to_json() + b'\n{"ts": 5')
    first_inode = copy.stat().st_ino
    copy_log_to(log_path, shared)
    assert copy.stat().st_ino == first_inode
    assert copy.read_bytes() == log_path.read_bytes()[: log_path.read_bytes().rindex(b"\n") + 1]
    log_path.write_bytes(log_path.read_bytes()[: log_path.read_bytes().rindex(b"\n") + 1])
    prune_log(log_path, cutoff=T0 + 5 * DAY)
    copy_log_to(log_path, shared)
    assert copy.read_bytes() == log_path.read_bytes()
    assert [p.name for p in shared.iterdir()] == [copy.name]


def test_two_machines_one_folder_one_report(runner: CliRunner, tmp_path: Path) -> None:
    """The README's example: each machine copies its log into a shared folder; a report over
    the folder counts each event once, even the ones both machines imported."""
    shared = tmp_path / "shared"
    for host in ("laptop", "desktop"):
        log = tmp_path / host / "events.jsonl"
        Store(log).record_many(
            [
                Event(ts=T0, prompt=100, model="m", host=host, id=f"own-{host}"),
                Event(ts=T0, prompt=7, model="m", host=host, id="cc-0123456789abcdef"),
            ]
        )
        copy_log_to(log, shared, name=host)
    data = orjson.loads(
        runner.invoke(main, ["summary", "--by", "host", "--json", "--log", str(shared)]).stdout
    )
    assert data["totals"]["totalTokens"] == 207
    assert {row["host"]: row["totalTokens"] for row in data["summary"]} == {"desktop": 107, "laptop": 100}


def test_a_rewrite_numbers_lines_appended_while_it_read_as_verify_does(log_path: Path) -> None:
    """Lines that arrive during a rewrite's first pass are numbered after every earlier line,
    blank ones included, so a repair names the lines that verify names."""
    from jusage.rewrite import rewrite_log, scan_lines

    Store(log_path).record(Event(ts=T0, model="gpt-5", prompt=10, id="a"))
    with log_path.open("ab") as fh:
        fh.write(b"\n")
    seen: list[int] = []

    def decide(number: int, line: bytes, event: Event | None) -> bool:
        if not seen:  # an agent appends while the first pass reads
            Store(log_path).record(Event(ts=T0 + 1, model="gpt-5", prompt=20, id="b"))
        seen.append(number)
        return True

    lines_then = [number for number, _, _ in scan_lines(log_path)]
    assert lines_then == [1]
    rewrite_log(log_path, decide)
    assert seen == [1, 3]
    assert ids(log_path) == ["a", "b"]
