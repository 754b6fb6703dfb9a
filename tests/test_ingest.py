"""Drop folders: each file's events land once, then the file goes; bad and unfinished files wait
or are set aside; claims of dead ingesters are taken over; the ledger decides what is new."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import HOOK_EVENT as HOOK
from strategies import JSON_ANY

from jusage.cli import main
from jusage.drops import ID_PREFIX, SOURCE, parse_drop
from jusage.hosts import host_name
from jusage.importers.index import ID_PREFIXES, ImportIndex, index_path
from jusage.importers.lock import ExclusiveLock
from jusage.ingest import Ingester, IngestFolderError, IngestSummary, ingest_folder
from jusage.store import Store

LATER = time.time() + 3600  # "now" for a pass that finds every file old enough


@pytest.fixture
def drop(tmp_path: Path) -> Path:
    folder = tmp_path / "drop"
    folder.mkdir()
    return folder


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "ledger" / "events.jsonl")


def put(folder: Path, name: str, content: bytes | dict[str, Any]) -> Path:
    """Write a drop file as a careful writer does: under another name, then renamed into place."""
    data = content if isinstance(content, bytes) else orjson.dumps(content)
    tmp = folder / f"{name}.tmp"
    tmp.write_bytes(data)
    tmp.rename(folder / name)
    return folder / name


def ledger(store: Store) -> list[dict[str, Any]]:
    if not store.path.exists():
        return []
    return [orjson.loads(line) for line in store.path.read_bytes().splitlines() if line.strip()]


def waiting(folder: Path) -> list[str]:
    """The drop files still in the folder itself."""
    return sorted(p.name for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def test_a_hook_event_file_lands_once_and_is_removed(drop: Path, store: Store) -> None:
    """The seed's field names map to the inclusive prompt; source and host are filled in."""
    put(drop, "inst-1_1.json", HOOK)
    summary = ingest_folder(store, drop, now=LATER)
    [event] = ledger(store)
    assert (summary.ingested, summary.events_added) == (1, 1)
    assert (event["prompt"], event["completion"], event["cached"], event["cache_write"]) == (130, 5, 100, 20)
    assert (event["session"], event["ts"], event["source"]) == ("inst-1", 1_767_225_600, "ingest")
    assert event["host"] == host_name()
    assert waiting(drop) == []


def test_jusage_events_land_as_one_object_or_json_lines(drop: Path, store: Store) -> None:
    """Both of jusage's own shapes are read; an event's own source and host are kept."""
    put(drop, "one.json", {"ts": 1_767_225_600, "prompt": 900, "completion": 80, "source": "sdk"})
    put(drop, "many.jsonl", b'{"ts": 1, "prompt": 5, "host": "runner"}\n{"ts": 2, "prompt": 6}\n')
    summary = ingest_folder(store, drop, now=LATER)
    events = ledger(store)
    assert (summary.ingested, summary.events_added) == (2, 3)
    assert sorted(e["prompt"] for e in events) == [5, 6, 900]
    assert {e["source"] for e in events} == {"sdk", "ingest"}
    assert "runner" in {e["host"] for e in events}


def test_a_file_copied_twice_counts_once(drop: Path, store: Store) -> None:
    """Copies in one pass and copies in later passes add nothing, and are removed too."""
    put(drop, "a.json", HOOK)
    put(drop, "copy-of-a.json", HOOK)
    first = ingest_folder(store, drop, now=LATER)
    put(drop, "another-copy.json", HOOK)
    second = ingest_folder(store, drop, now=LATER)
    assert len(ledger(store)) == 1
    assert (first.ingested, first.duplicates, second.duplicates, second.events_known) == (1, 1, 1, 1)
    assert waiting(drop) == []


def test_a_bad_file_is_rejected_with_its_reason_and_others_still_land(drop: Path, store: Store) -> None:
    """rejected/<name> keeps the file and rejected/<name>.reason says why, in one line."""
    put(drop, "bad.json", b'{"ts": 1, "prompt": 5, "input_tokens": 5}')
    put(drop, "good.json", HOOK)
    summary = ingest_folder(store, drop, now=LATER)
    reason = (drop / "rejected" / "bad.json.reason").read_text()
    assert (summary.rejected, summary.ingested) == (1, 1)
    assert (drop / "rejected" / "bad.json").read_bytes().startswith(b'{"ts"')
    assert "mixes" in reason and reason.count("\n") == 1
    assert len(ledger(store)) == 1 and waiting(drop) == []


def test_a_file_still_being_written_is_left_for_the_next_pass(drop: Path, store: Store) -> None:
    """A file changed less than a second ago may still grow: it waits, then lands."""
    path = put(drop, "young.json", HOOK)
    mtime = path.stat().st_mtime
    early = ingest_folder(store, drop, now=mtime + 0.5)
    assert (early.pending, early.ingested, waiting(drop)) == (1, 0, ["young.json"])
    late = ingest_folder(store, drop, now=mtime + 2)
    assert (late.ingested, len(ledger(store))) == (1, 1)


def test_a_file_whose_json_is_not_complete_waits_in_the_folder(drop: Path, store: Store) -> None:
    """No closing brace yet: the file goes back where it was, and lands once it is whole."""
    whole = orjson.dumps(HOOK)
    path = drop / "slow.json"
    path.write_bytes(whole[:30])
    first = ingest_folder(store, drop, now=path.stat().st_mtime + 5)
    assert (first.pending, waiting(drop), ledger(store)) == (1, ["slow.json"], [])
    with path.open("ab") as fh:
        fh.write(whole[30:])
    assert ingest_folder(store, drop, now=path.stat().st_mtime + 5).ingested == 1
    assert len(ledger(store)) == 1


def test_an_unfinished_file_is_not_read_again_until_it_changes(
    drop: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An ingester that put a file back unfinished leaves it be while it stays unchanged (a
    watch would otherwise be woken by its own put-back for ever)."""
    import jusage.ingest

    reads: list[bytes] = []
    real = jusage.ingest.parse_drop

    def counted(data: bytes, *, host: str) -> list[Any]:
        reads.append(data)
        return real(data, host=host)

    monkeypatch.setattr(jusage.ingest, "parse_drop", counted)
    path = drop / "slow.json"
    path.write_bytes(orjson.dumps(HOOK)[:30])
    with Ingester(store, drop) as ingester:
        ingester.run_pass(path.stat().st_mtime + 5)
        again = ingester.run_pass(path.stat().st_mtime + 5)
        assert (len(reads), again.pending, waiting(drop)) == (1, 1, ["slow.json"])
        path.write_bytes(orjson.dumps(HOOK))
        assert ingester.run_pass(path.stat().st_mtime + 5).ingested == 1
    assert len(reads) == 2


def test_a_file_left_unfinished_for_long_is_rejected(drop: Path, store: Store) -> None:
    """A writer that died mid-file: after ten unchanged minutes the file is set aside."""
    path = drop / "dead.json"
    path.write_bytes(b'{"ts": 1, "prompt": 5')
    summary = ingest_folder(store, drop, now=path.stat().st_mtime + 601)
    assert summary.rejected == 1
    assert "not complete" in (drop / "rejected" / "dead.json.reason").read_text()


def test_keep_moves_finished_files_to_done_without_overwriting(drop: Path, store: Store) -> None:
    """--keep: done/ holds each file; a later file of the same name gets a numbered name."""
    put(drop, "a.json", HOOK)
    ingest_folder(store, drop, keep=True, now=LATER)
    put(drop, "a.json", {**HOOK, "output_tokens": 6})
    ingest_folder(store, drop, keep=True, now=LATER)
    assert sorted(p.name for p in (drop / "done").iterdir()) == ["a.1.json", "a.json"]
    assert len(ledger(store)) == 2 and waiting(drop) == []


def test_a_pass_killed_after_its_append_adds_nothing_the_next_time(
    drop: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed between the append and the removal: the next pass takes the file over, finds its
    id in the ledger and only removes it."""
    put(drop, "a.json", HOOK)
    real_append = Ingester._append

    def append_then_die(self: Ingester, *args: Any) -> None:
        real_append(self, *args)
        raise KeyboardInterrupt

    monkeypatch.setattr(Ingester, "_append", append_then_die)
    with pytest.raises(KeyboardInterrupt):
        ingest_folder(store, drop, now=LATER)
    monkeypatch.undo()
    assert len(ledger(store)) == 1 and waiting(drop) == []
    summary = ingest_folder(store, drop, now=LATER)
    assert (summary.recovered, summary.duplicates, summary.events_added) == (1, 1, 0)
    assert len(ledger(store)) == 1
    assert list((drop / ".claimed").iterdir()) == []


def test_files_claimed_by_a_dead_ingester_are_taken_over(drop: Path, store: Store) -> None:
    """A claim whose lock nobody holds is a dead ingester's: its files are ingested, its claim
    and a half-registered one are cleared."""
    claims = drop / ".claimed"
    (claims / "box-99-dead").mkdir(parents=True)
    (claims / "box-99-dead.lock").touch()
    (claims / ".box-98-dying.lock.tmp").touch()
    put(claims / "box-99-dead", "000003-a.json", HOOK)
    summary = ingest_folder(store, drop, now=LATER)
    assert (summary.recovered, summary.ingested) == (1, 1)
    assert list(claims.iterdir()) == []


def test_files_claimed_by_a_live_ingester_are_left_to_it(drop: Path, store: Store) -> None:
    """Another ingester's held files are not touched; once it stops, the next pass takes them."""
    with Ingester(store, drop) as other:
        put(other._own, "000000-a.json", HOOK)
        assert ingest_folder(store, drop, now=LATER).recovered == 0
    summary = ingest_folder(store, drop, now=LATER)
    assert (summary.recovered, summary.ingested, len(ledger(store))) == (1, 1, 1)


def test_the_ledger_decides_when_the_import_index_is_lost_or_damaged(drop: Path, store: Store) -> None:
    """The import index is rebuilt from the ledger, dropped events included: a copy after it
    was removed, or garbled, adds nothing."""
    put(drop, "a.json", HOOK)
    ingest_folder(store, drop, now=LATER)
    index_path(store.path).unlink()
    put(drop, "b.json", HOOK)
    assert ingest_folder(store, drop, now=LATER).duplicates == 1
    assert index_path(store.path).exists()
    index_path(store.path).write_bytes(b"not a database" * 100)
    put(drop, "c.json", HOOK)
    assert ingest_folder(store, drop, now=LATER).duplicates == 1
    assert len(ledger(store)) == 1


def test_dropped_ids_are_registered_with_the_import_index() -> None:
    """The index's catch-up and rebuild read dr- ids as the ingest source's."""
    assert ID_PREFIXES[SOURCE] == ID_PREFIX


def test_an_index_from_before_dropped_ids_were_registered_is_rebuilt(drop: Path, store: Store) -> None:
    """An index of version 1 covers the ledger's dr- lines without holding their ids: it is
    rebuilt from the ledger, so a copy of an old file adds nothing."""
    put(drop, "a.json", HOOK)
    ingest_folder(store, drop, now=LATER)
    with contextlib.closing(sqlite3.connect(index_path(store.path))) as db:
        db.execute("DELETE FROM seen")
        db.execute("PRAGMA user_version = 1")
        db.commit()
    put(drop, "b.json", HOOK)
    assert ingest_folder(store, drop, now=LATER).duplicates == 1
    assert len(ledger(store)) == 1


def test_a_pass_killed_before_its_index_commit_adds_nothing_the_next_time(
    drop: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed after the ledger's fsync and before the index's commit: the next pass's catch-up
    finds the ids in the ledger, and only removes the file."""
    put(drop, "a.json", HOOK)

    def die(self: ImportIndex) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(ImportIndex, "commit", die)
    with pytest.raises(KeyboardInterrupt):
        ingest_folder(store, drop, now=LATER)
    monkeypatch.undo()
    assert len(ledger(store)) == 1
    summary = ingest_folder(store, drop, now=LATER)
    assert (summary.recovered, summary.duplicates, summary.events_added) == (1, 1, 0)
    assert len(ledger(store)) == 1


def test_files_wait_in_the_folder_while_an_import_holds_the_index(drop: Path, store: Store) -> None:
    """A pass waits lock_timeout seconds for a running import, then puts its files back and
    says so; the next pass lands them."""
    put(drop, "a.json", HOOK)
    put(drop, "b.json", {"ts": 1_767_225_600, "prompt": 9, "completion": 1})
    with ImportIndex(store.path), Ingester(store, drop, lock_timeout=0.05) as ingester:
        busy = ingester.run_pass(LATER)
        assert ingester.next_due is not None
    assert (busy.busy, busy.pending, busy.settled) == (2, 2, 0)
    assert "because an import into the log is running" in busy.describe()
    assert waiting(drop) == ["a.json", "b.json"] and ledger(store) == []
    later = ingest_folder(store, drop, now=LATER)
    assert (later.ingested, later.busy, len(ledger(store))) == (2, 0, 2)


def test_a_pass_waiting_for_the_index_keeps_no_writer_waiting(
    drop: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The index is taken before the writers' lock, as imports take it: an import that holds
    the index while a pass waits for it can still append, so the two never deadlock."""
    put(drop, "a.json", HOOK)
    waiting_for_index = threading.Event()
    real_acquire = ExclusiveLock.acquire

    def acquire(self: ExclusiveLock, timeout: float) -> bool:
        waiting_for_index.set()
        return real_acquire(self, timeout)

    summaries: list[IngestSummary] = []

    def ingest() -> None:
        summaries.append(ingest_folder(store, drop, lock_timeout=-1, now=LATER))

    with ImportIndex(store.path) as index:
        monkeypatch.setattr(ExclusiveLock, "acquire", acquire)
        ingester = threading.Thread(target=ingest)
        ingester.start()
        assert waiting_for_index.wait(30)
        event = parse_drop(b'{"ts": 5, "prompt": 9}', host="h")[0].replace(id="cc-0000000000000001")
        importer = threading.Thread(target=Store(store.path).append_lines, args=([event.to_json()],))
        importer.start()
        importer.join(30)
        assert not importer.is_alive(), "the import's append waited for the ingester"
        index.commit()
    ingester.join(30)
    assert [s.ingested for s in summaries] == [1]
    assert [e["id"][:3] for e in ledger(store)] == ["cc-", "dr-"]


def test_a_torn_line_in_the_ledger_does_not_count_as_ingested(drop: Path, store: Store) -> None:
    """An ingester killed mid-write leaves part of a line that no reader counts: its event is
    appended again, whole."""
    [event] = parse_drop(orjson.dumps(HOOK), host=host_name())
    store.path.parent.mkdir(parents=True)
    store.path.write_bytes(event.to_json()[:-10])
    put(drop, "a.json", HOOK)
    assert ingest_folder(store, drop, now=LATER).ingested == 1
    assert [e.id for e in store.load()] == [event.id]


def test_other_writers_lines_are_kept_and_never_taken_as_drops(drop: Path, store: Store) -> None:
    """Lines appended by others between passes stay; only dr- ids count as ingested."""
    put(drop, "a.json", HOOK)
    ingest_folder(store, drop, now=LATER)
    store.record(parse_drop(b'{"ts": 5, "prompt": 9, "id": "x"}', host="h")[0].replace(id="cc-1"))
    put(drop, "b.json", {"ts": 5, "prompt": 9})
    assert ingest_folder(store, drop, now=LATER).ingested == 1
    assert len(ledger(store)) == 3


def test_links_pipes_and_other_names_are_left_alone(drop: Path, store: Store) -> None:
    """Only regular *.json, *.jsonl and *.ndjson files are drops; a writer's .tmp is not one."""
    target = put(drop.parent, "elsewhere.json", HOOK)
    (drop / "link.json").symlink_to(target)
    os.mkfifo(drop / "pipe.json")
    (drop / "writing.json.tmp").write_bytes(orjson.dumps(HOOK))
    (drop / "notes.txt").write_text("hello")
    summary = ingest_folder(store, drop, now=LATER)
    assert summary.settled == 0 and ledger(store) == []
    left = sorted(p.name for p in drop.iterdir() if p.name != ".claimed")
    assert left == ["link.json", "notes.txt", "pipe.json", "writing.json.tmp"]


def test_an_unusable_folder_is_a_clear_error(tmp_path: Path, store: Store) -> None:
    """A missing folder, a file, and the ledger's own folder are refused."""
    with pytest.raises(IngestFolderError, match="no such folder"):
        ingest_folder(store, tmp_path / "missing")
    (tmp_path / "file").touch()
    with pytest.raises(IngestFolderError, match="not a folder"):
        ingest_folder(store, tmp_path / "file")
    store.path.parent.mkdir(parents=True, exist_ok=True)
    with pytest.raises(IngestFolderError, match="ledger"):
        ingest_folder(store, store.path.parent)


GOOD = [
    {"ts": 1_767_225_600, "prompt": 1200, "completion": 300, "model": "gpt-5"},
    {**HOOK, "instance_id": "inst-2"},
]
GARBAGE = (
    st.binary(max_size=120)
    | st.text(max_size=60).map(str.encode)
    | JSON_ANY.map(lambda v: json.dumps(v).encode())
    | st.fixed_dictionaries(
        {},
        optional={
            name: st.one_of(JSON_ANY, st.integers(-5, 2**64))
            for name in ("ts", "prompt", "completion", "cached", "input_tokens", "cache_read_tokens", "id")
        },
    ).map(lambda v: json.dumps(v).encode())
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(garbage=st.lists(GARBAGE, min_size=1, max_size=4), jsonl=st.booleans())
def test_garbage_never_crashes_the_ingester_nor_stops_good_files(garbage: list[bytes], jsonl: bool) -> None:
    """Whatever lands beside them, the good files' events are in the ledger once, and every
    garbage file is either ingested (it was a valid event after all) or rejected with a reason."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "drop"
        folder.mkdir()
        store = Store(Path(tmp) / "events.jsonl")
        suffix = ".jsonl" if jsonl else ".json"
        for i, data in enumerate(garbage):
            (folder / f"junk{i}{suffix}").write_bytes(data)
        for i, value in enumerate(GOOD):
            put(folder, f"good{i}.json", value)
        ingest_folder(store, folder, min_age=0, abandon_after=0, now=LATER)
        ids = [e["id"] for e in ledger(store)]
        good_ids = {e.id for value in GOOD for e in parse_drop(orjson.dumps(value), host=host_name())}
        assert good_ids <= set(ids) and len(ids) == len(set(ids))
        assert waiting(folder) == [] and list((folder / ".claimed").iterdir()) == []
        rejected = folder / "rejected"
        names = sorted(p.name for p in rejected.iterdir()) if rejected.exists() else []
        assert all(f"{n}.reason" in names for n in names if not n.endswith(".reason"))


def test_cli_ingests_and_prints_a_summary(runner: CliRunner, drop: Path, store: Store) -> None:
    """`jusage ingest DIR` prints one line; --json the summary's counts."""
    put(drop, "a.json", HOOK)
    os.utime(drop / "a.json", (time.time() - 10, time.time() - 10))
    result = runner.invoke(main, ["ingest", str(drop), "--log", str(store.path)])
    assert result.exit_code == 0, result.output
    assert "1 file ingested (1 event added)" in result.output
    put(drop, "b.json", HOOK)
    os.utime(drop / "b.json", (time.time() - 10, time.time() - 10))
    result = runner.invoke(main, ["ingest", str(drop), "--log", str(store.path), "--json", "--keep"])
    assert orjson.loads(result.output)["duplicates"] == 1
    assert (drop / "done" / "b.json").exists() and len(ledger(store)) == 1


def test_cli_errors_are_one_line_and_exit_2(runner: CliRunner, tmp_path: Path, store: Store) -> None:
    """A missing folder, or a log that is a folder, is a one-line error."""
    result = runner.invoke(main, ["ingest", str(tmp_path / "nope"), "--log", str(store.path)])
    assert (result.exit_code, result.output.strip()) == (2, f"Error: {tmp_path / 'nope'}: no such folder")
    result = runner.invoke(main, ["ingest", str(tmp_path), "--log", str(tmp_path)])
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_only_the_watch_imports_watchfiles(drop: Path, store: Store) -> None:
    """The other commands, and a single pass, run without loading watchfiles; the import index
    (sqlite3) is loaded only by a pass that appends."""
    put(drop, "a.json", HOOK)
    code = (
        "import sys, jusage.cli, jusage.cli.ingest, jusage.ingest; "
        "assert 'watchfiles' not in sys.modules and 'sqlite3' not in sys.modules; "
        "from jusage.store import Store; "
        f"s = jusage.ingest.ingest_folder(Store({str(store.path)!r}), {str(drop)!r}, now={LATER}); "
        "assert s.ingested == 1 and 'watchfiles' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
