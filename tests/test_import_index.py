"""The import index belongs to its ledger: lost, moved, truncated, replaced or rewritten
ledgers; crashes and concurrent runs; counts too large to be true."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time
from array import array
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from jusage.cli import main
from jusage.importers import ImportBusyError, import_claude_code, import_codex, import_jcode
from jusage.importers.index import ImportIndex, index_path
from jusage.store import Store

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CLAUDE = FIXTURES / "claude-code"
CODEX = FIXTURES / "codex"
JCODE = FIXTURES / "jcode" / "events.jsonl"


def ids(path: Path) -> list[str]:
    """The event ids of a ledger, in order (none for a missing one); like the readers, a
    line that is not a JSON object (say, torn by a writer killed mid-write) is skipped."""
    if not path.exists():
        return []
    found = []
    for raw in path.read_bytes().splitlines():
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError:
            continue
        if isinstance(value, dict):
            found.append(value.get("id", ""))
    return found


def import_all(log: Path) -> None:
    """Import the three fixture trees into ``log``, each with a fresh store (as separate runs
    of the command line do)."""
    import_claude_code(Store(log), [CLAUDE])
    import_codex(Store(log), [CODEX])
    import_jcode(Store(log), [JCODE])


@pytest.fixture
def log(tmp_path: Path) -> Path:
    return tmp_path / "ledger" / "events.jsonl"


@pytest.fixture
def everything(tmp_path: Path) -> set[str]:
    """The ids one import of the three fixture trees writes."""
    reference = tmp_path / "reference" / "events.jsonl"
    import_all(reference)
    found = ids(reference)
    assert len(found) == len(set(found)) > 300
    return set(found)


# -- the ledger goes, the events come back ------------------------------------------------------


def _delete(log: Path) -> None:
    log.unlink()


def _move(log: Path) -> None:
    log.rename(log.with_name("archive.jsonl"))


def _truncate_to_nothing(log: Path) -> None:
    os.truncate(log, 0)


def _replace_by_another_file(log: Path) -> None:
    tmp = log.with_name("new.jsonl")
    tmp.write_bytes(b'{"ts":1767225600,"prompt":1,"completion":1,"source":"cli"}\n')
    tmp.replace(log)


@pytest.mark.parametrize("lose", [_delete, _move, _truncate_to_nothing, _replace_by_another_file])
def test_importing_again_after_the_ledger_is_lost_brings_every_event_back(
    log: Path, everything: set[str], lose: Callable[[Path], None]
) -> None:
    """Deleted, moved, truncated or replaced: the next imports write every event again, once."""
    import_all(log)
    lose(log)
    import_all(log)
    again = [i for i in ids(log) if i[:3] in ("cc-", "cx-", "jc-")]
    assert len(again) == len(set(again)) and set(again) == everything


def test_a_ledger_truncated_half_way_gets_the_lost_half_back(log: Path, everything: set[str]) -> None:
    """Events still in the ledger are not written twice; those cut off come back."""
    import_all(log)
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(lines[: len(lines) // 2]))
    import_all(log)
    assert len(ids(log)) == len(set(ids(log))) and set(ids(log)) == everything


def test_a_second_ledger_in_the_same_folder_gets_everything(log: Path, everything: set[str]) -> None:
    """Each ledger has its own index: importing into a second one imports it all again."""
    import_all(log)
    other = log.with_name("work.jsonl")
    import_all(other)
    assert set(ids(other)) == everything and len(ids(other)) == len(everything)
    assert index_path(other) != index_path(log) and index_path(other).exists()


def test_every_name_of_a_ledger_shares_one_index(log: Path) -> None:
    """A ledger reached through a symbolic link has the index (and the lock) of its real path,
    so runs naming it differently still take turns."""
    log.parent.mkdir(parents=True)
    log.touch()
    link = log.parent.parent / "link.jsonl"
    link.symlink_to(log)
    assert index_path(link) == index_path(log)
    with ImportIndex(log), pytest.raises(ImportBusyError):
        ImportIndex(link, timeout=0).__enter__()


def test_an_unreadable_index_is_rebuilt_from_the_ledger(log: Path, everything: set[str]) -> None:
    """The index is a cache: garbage in its place is replaced, and nothing counts twice."""
    import_all(log)
    index_path(log).write_bytes(b"this is not a database" * 100)
    import_all(log)
    assert len(ids(log)) == len(everything)


def test_an_index_found_damaged_during_a_run_is_rebuilt_by_the_next(
    log: Path, everything: set[str], runner: CliRunner
) -> None:
    """A page of the index turned to garbage: that run fails with a one-line message, the
    next one rebuilds the index from the ledger and counts nothing twice."""
    import_all(log)
    with index_path(log).open("r+b") as fh:  # every page after the first (the schema's)
        fh.seek(4096)
        fh.write(b"\xa5" * (index_path(log).stat().st_size - 4096))
    args = ["import", "claude-code", "--path", str(CLAUDE), "--log", str(log)]
    failed = runner.invoke(main, args)
    again = runner.invoke(main, args)
    assert failed.exit_code == 2 and "could not be used" in failed.stderr
    assert len(failed.stderr.strip().splitlines()) == 1
    assert again.exit_code == 0 and sorted(ids(log)) == sorted(everything)


# -- jusage's own rewrites ----------------------------------------------------------------------


def _rewrite_without(log: Path, dropped: set[str]) -> None:
    """Rewrite the ledger as a prune would: a new file without ``dropped``, renamed over it
    (``os.replace``)."""
    kept = [
        raw for raw in log.read_bytes().splitlines(keepends=True) if orjson.loads(raw)["id"] not in dropped
    ]
    tmp = log.with_name(log.name + ".tmp")
    tmp.write_bytes(b"".join(kept))
    tmp.replace(log)


def test_a_rewrite_that_adopts_the_new_ledger_keeps_pruned_events_out(log: Path) -> None:
    """Events a rewrite dropped stay dropped: the index keeps their keys for the new file."""
    import_all(log)
    dropped = set(ids(log)[::3])
    store = Store(log)
    with ImportIndex(log) as index, store.exclusive():
        _rewrite_without(log, dropped)
        index.adopt_rewritten_ledger()
    after_prune = log.read_bytes()
    import_all(log)
    assert log.read_bytes() == after_prune and not dropped & set(ids(log))


def test_a_rewrite_that_does_not_adopt_the_new_ledger_brings_the_pruned_events_back(log: Path) -> None:
    """Without adopting, the index takes the rewritten file for another ledger (and so the
    dropped events are imported again): why rewrites must call it."""
    import_all(log)
    before = set(ids(log))
    _rewrite_without(log, set(ids(log)[::3]))
    import_all(log)
    assert set(ids(log)) == before and len(ids(log)) == len(before)


# -- counts too large to be true ----------------------------------------------------------------


def test_a_ledger_line_with_a_huge_count_does_not_break_later_imports(log: Path) -> None:
    """A count of 2**63 in the ledger (written by hand, or by another tool) is taken for a
    malformed line, not a reason for every later import to fail."""
    log.parent.mkdir(parents=True)
    huge = {"ts": 1, "prompt": 2**63, "completion": 1, "id": "cc-0123456789abcdef", "source": "claude-code"}
    log.write_bytes(orjson.dumps(huge) + b"\n")
    first = import_claude_code(Store(log), [CLAUDE])
    again = import_claude_code(Store(log), [CLAUDE])
    assert first.events_added > 0 and again.events_added == 0


def test_a_ledger_line_nested_too_deep_is_not_taken_for_the_event_it_names(log: Path) -> None:
    """A line the log readers skip (nested past MAX_DEPTH) counts in no report, so the event
    whose id it bears is imported again when the index is rebuilt from the ledger."""
    import_jcode(Store(log), [JCODE])
    lines = log.read_bytes().splitlines()
    first = orjson.loads(lines[0])
    deep = orjson.dumps(first)[:-1] + b',"x":' + b"[" * 100 + b"]" * 100 + b"}"
    log.write_bytes(b"\n".join([deep, *lines[1:]]) + b"\n")
    index_path(log).unlink()
    assert import_jcode(Store(log), [JCODE]).events_added == 1
    assert len(Store(log).load()) == len(lines)


def test_huge_counts_in_transcripts_are_malformed(log: Path, tmp_path: Path) -> None:
    """A jcode count or a Claude Code entry's tokens of 2**53 or more make a malformed line;
    the rest imports, now and in later runs, and what was imported is taken back whole when
    the index is rebuilt from the ledger."""
    jcode = tmp_path / "jcode.jsonl"
    jcode.write_bytes(
        b'{"ts":1,"prompt":9223372036854775808,"completion":1}\n'
        b'{"ts":1,"prompt":9007199254740992,"completion":1}\n'
        b'{"ts":2,"prompt":9007199254740991,"completion":0}\n'
    )
    claude = tmp_path / "claude" / "projects" / "-p" / "t.jsonl"
    claude.parent.mkdir(parents=True)
    lines = []
    for n, (inp, out) in enumerate([(2**53, 0), (2**53 - 2, 1), (2**53 - 2, 2)]):
        usage = {"input_tokens": inp, "output_tokens": out}
        message = {"id": f"m{n}", "usage": usage}
        lines.append(
            orjson.dumps({"type": "assistant", "timestamp": "2025-09-01T10:00:00Z", "message": message})
        )
    claude.write_bytes(b"\n".join(lines) + b"\n")
    jc = import_jcode(Store(log), [jcode])
    cc = import_claude_code(Store(log), [claude.parent])
    assert (jc.malformed, jc.events_added, cc.malformed, cc.events_added) == (2, 1, 2, 1)
    with jcode.open("ab") as fh:
        fh.write(b'{"ts":3,"prompt":6,"completion":1}\n')
    assert import_jcode(Store(log), [jcode]).events_added == 1
    index_path(log).unlink()
    assert import_jcode(Store(log), [jcode]).events_added == 0
    assert import_claude_code(Store(log), [claude.parent]).events_added == 0


# -- concurrency and crashes --------------------------------------------------------------------


def _import_worker(log: str, source: str) -> None:
    store = Store(log)
    if source == "claude-code":
        import_claude_code(store, [CLAUDE])
    elif source == "codex":
        import_codex(store, [CODEX])
    else:
        import_jcode(store, [JCODE])


def test_concurrent_imports_of_every_source_count_everything_once(log: Path, everything: set[str]) -> None:
    """Two processes per source, all importing into one ledger at once: each event once."""
    ctx = multiprocessing.get_context("spawn")
    procs = [
        ctx.Process(target=_import_worker, args=(str(log), source))
        for source in ("claude-code", "codex", "jcode") * 2
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(120)
    assert all(proc.exitcode == 0 for proc in procs)
    assert len(ids(log)) == len(everything) and set(ids(log)) == everything


def test_another_import_waits_for_the_lock_and_gives_up_after_the_timeout(log: Path) -> None:
    """One run at a time per ledger, whatever the source: a second one waits, then raises."""
    log.parent.mkdir(parents=True)
    with ImportIndex(log), pytest.raises(ImportBusyError):
        import_codex(Store(log), [CODEX], lock_timeout=0.05)


_CHILD = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from jusage.importers import claude_code
    from jusage.importers.index import ImportIndex
    from jusage.store import Store

    log, tree, marker, where = sys.argv[1:5]

    def stop_here(*args, **kwargs):
        import multiprocessing
        workers = [str(p.pid) for p in multiprocessing.active_children()]
        Path(marker).write_text(" ".join(workers))
        time.sleep(600)

    if where == "commit":
        ImportIndex.commit = stop_here
    elif where == "settle":
        claude_code.PARALLEL_BYTES = 0
        claude_code._settle = stop_here
    claude_code.import_claude_code(Store(log), [Path(tree)], workers=2)
    """
)


def _start_child(log: Path, tree: Path, marker: Path, where: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", _CHILD, str(log), str(tree), str(marker), where])


def _wait_for(marker: Path, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)


def _kill(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def test_an_import_killed_between_appending_and_committing_counts_once(log: Path, tmp_path: Path) -> None:
    """kill -9 after the ledger lines are written and before the index is: the next run
    takes the ledger's new events in and adds nothing."""
    reference = tmp_path / "reference.jsonl"
    import_claude_code(Store(reference), [CLAUDE])
    marker = tmp_path / "marker"
    proc = _start_child(log, CLAUDE, marker, "commit")
    _wait_for(marker, proc)
    _kill(proc)
    assert ids(log) == ids(reference)
    summary = import_claude_code(Store(log), [CLAUDE], lock_timeout=10)
    assert summary.events_added == summary.corrections == 0 and ids(log) == ids(reference)


def test_a_killed_import_leaves_no_lock_behind_in_its_workers(log: Path, tmp_path: Path) -> None:
    """kill -9 while its parse workers are alive: the workers do not hold the ledger's lock,
    so the next run goes ahead, and counts everything once."""
    reference = tmp_path / "reference.jsonl"
    import_claude_code(Store(reference), [CLAUDE])
    marker = tmp_path / "marker"
    proc = _start_child(log, CLAUDE, marker, "settle")
    _wait_for(marker, proc)
    while not marker.read_text():  # the pids are written after the file is created
        time.sleep(0.01)
    workers = [int(pid) for pid in marker.read_text().split()]
    _kill(proc)
    try:
        import_claude_code(Store(log), [CLAUDE], lock_timeout=10)
    finally:
        for pid in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    assert sorted(ids(log)) == sorted(ids(reference))


@pytest.mark.parametrize("delay", [None, 0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.7])
def test_an_import_killed_at_any_moment_then_run_again_counts_once(
    log: Path, tmp_path: Path, delay: float | None, big_tree: Path
) -> None:
    """kill -9 a run after ``delay`` seconds (``None``: as soon as the ledger appears), in
    whatever it was doing (reading, appending, committing): the next run completes the
    ledger with every event exactly once."""
    reference = tmp_path / "reference.jsonl"
    import_claude_code(Store(reference), [big_tree])
    proc = _start_child(log, big_tree, tmp_path / "never", "nowhere")
    if delay is None:
        _wait_for(log, proc)
    else:
        time.sleep(delay)
    _kill(proc)
    import_claude_code(Store(log), [big_tree], lock_timeout=10)
    assert sorted(ids(log)) == sorted(ids(reference))


@pytest.fixture(scope="module")
def big_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Forty copies of the Claude Code fixtures, each with its own message ids, so that an
    import runs long enough to be killed in every phase."""
    root = tmp_path_factory.mktemp("big") / "projects"
    for n in range(40):
        for path in CLAUDE.rglob("*.jsonl"):
            target = root / f"copy{n}" / path.relative_to(CLAUDE)
            target.parent.mkdir(parents=True, exist_ok=True)
            data = (
                path.read_bytes()
                .replace(b'"msg_', f'"msg{n}_'.encode())
                .replace(b'"uuid":"', f'"uuid":"{n}'.encode())
            )
            target.write_bytes(data)
    return root


# -- the index on its own -----------------------------------------------------------------------


def test_keys_and_counts_survive_a_commit_across_the_whole_64_bit_range(log: Path) -> None:
    """Keys above 2**63 (stored as signed integers) come back as they went in, with their
    counts, from this run's memory and after a commit from the database."""
    keys = [0, 1, 2**63 - 1, 2**63, 2**64 - 1]
    log.parent.mkdir(parents=True)
    log.write_bytes(b"")  # an index describes a ledger: without one it would be forgotten
    with ImportIndex(log) as index:
        for n, key in enumerate(keys):
            index.put("codex", key, (n, 2, 3, 4, 5, 1_700_000_000 + n))
        index.put_packed("jcode", keys[:2], array("q", [1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2]).tobytes())
        index.put_packed("jcode", keys[1:3], array("q", [3, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4]).tobytes())
        in_memory = index.known("codex", keys)
        index.commit()
    with ImportIndex(log) as index:
        assert index.known("codex", keys) == in_memory
        assert {key: counts[0] for key, counts in in_memory.items()} == {key: n for n, key in enumerate(keys)}
        assert index.known("jcode", keys) == {0: (1,) * 6, 1: (3,) * 6, 2**63 - 1: (4,) * 6}
        assert index.get("claude-code", 0) is None and index.get("jcode", 2**64 - 1) is None


def test_a_transcript_whose_name_is_not_utf8_is_imported_once(tmp_path: Path, log: Path) -> None:
    """File marks keep any name the file system allows: the second run opens nothing."""
    folder = tmp_path / "claude" / "projects" / "-p"
    folder.mkdir(parents=True)
    name = os.fsdecode(b"caf\xe9.jsonl")
    (folder / name).write_bytes((CLAUDE / next(CLAUDE.rglob("*.jsonl")).relative_to(CLAUDE)).read_bytes())
    first = import_claude_code(Store(log), [tmp_path / "claude"])
    again = import_claude_code(Store(log), [tmp_path / "claude"])
    assert first.files_read == 1 and (again.files_read, again.events_added) == (0, 0)
