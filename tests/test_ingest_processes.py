"""Drop folders across processes: ingesters killed at random, beside an import that keeps taking
the ledger's index, lose and duplicate nothing, and `jusage ingest --watch` picks files up
through notifications and stops cleanly on a signal."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest

from jusage.drops import parse_drop
from jusage.hosts import host_name
from jusage.ingest import ingest_folder
from jusage.store import Store

# A worker: an ingester making passes as fast as it can, with no minimum age, so that it
# also meets files still being written, and a short wait for the index, so that it also
# puts files back.
WORKER = """
import sys, time
from jusage.ingest import Ingester
from jusage.store import Store
with Ingester(Store(sys.argv[2]), sys.argv[1], min_age=0, abandon_after=3600, lock_timeout=0.05) as ingester:
    while True:
        ingester.run_pass()
        time.sleep(0.002)
"""

# An import as the ingesters meet it: it holds the ledger's index for a while, appends its
# own events under it and commits, again and again.
IMPORTER = """
import random, sys, time
from jusage.events import Event
from jusage.importers.index import ImportIndex
from jusage.store import Store
store = Store(sys.argv[1])
for n in range(1, 1 << 30):
    with ImportIndex(store.path) as index:
        store.record(Event.from_dict({"ts": n, "prompt": 1, "completion": 1, "id": f"cc-{n:016x}"}))
        time.sleep(random.uniform(0, 0.02))
        index.commit()
    time.sleep(random.uniform(0, 0.02))
"""


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    """Whether ``condition`` came true within ``timeout`` seconds (it is asked every 20 ms)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def ledger_ids(path: Path) -> list[str]:
    return [event.id for event in Store(path).iter_events()]


class Writer:
    """Drops files the way agents do (and a few ways they should not), remembering each."""

    def __init__(self, folder: Path, seed: int) -> None:
        self.folder = folder
        self.random = random.Random(seed)
        self.expected: set[str] = set()  # the ids every good file's events must have
        self.garbage: set[str] = set()  # names of the files that must be rejected
        self.written: list[bytes] = []
        self.count = 0

    def drop_one(self) -> None:
        n = self.count
        self.count += 1
        kind = self.random.random()
        if kind < 0.1 and self.written:  # a copy of an earlier file: adds nothing
            data = self.random.choice(self.written)
        elif kind < 0.15:
            name = f"junk-{n}.json"
            (self.folder / name).write_bytes(b"{not json at all}")
            self.garbage.add(name)
            return
        elif kind < 0.5:
            data = orjson.dumps(
                {
                    "instance_id": f"inst-{n % 7}",
                    "model": "claude-sonnet-4-6",
                    "input_tokens": n + 1,
                    "output_tokens": 7,
                    "cache_read_tokens": 3 * n,
                    "cache_write_tokens": n % 5,
                    "ts": 1_767_225_600_000_000_000 + n,
                }
            )
        else:
            data = b"".join(
                orjson.dumps({"ts": 1_767_225_600 + n, "prompt": 100 + i, "completion": n + 1}) + b"\n"
                for i in range(self.random.randint(1, 3))
            )
        self.written.append(data)
        self.expected.update(e.id for e in parse_drop(data, host=host_name()))
        name = f"event-{n}.jsonl"
        if self.random.random() < 0.2 and data.count(b"\n") <= 1:
            # Written in place in two steps: a reader may meet the first half.
            with (self.folder / name).open("wb") as fh:
                fh.write(data[: len(data) // 2])
                fh.flush()
                time.sleep(0.003)
                fh.write(data[len(data) // 2 :])
        else:
            tmp = self.folder / f"{name}.tmp"
            tmp.write_bytes(data)
            tmp.rename(self.folder / name)


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Ingester processes started by a test, all killed at its end."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)


def test_ingesters_killed_at_random_lose_and_duplicate_nothing(
    tmp_path: Path, workers: list[subprocess.Popen[bytes]]
) -> None:
    """Four ingesters share a folder while files keep arriving and an import keeps taking the
    ledger's index; one ingester is SIGKILLed every few tens of milliseconds and replaced.
    Afterwards every good file's events are in the ledger exactly once, every bad file is in
    rejected/, and no file is left anywhere else."""
    folder = tmp_path / "drop"
    folder.mkdir()
    log = tmp_path / "ledger" / "events.jsonl"
    env = {**os.environ, "JUSAGE_HOME": str(tmp_path / "home")}

    def start() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen([sys.executable, "-c", WORKER, str(folder), str(log)], env=env)
        workers.append(proc)
        return proc

    importer = subprocess.Popen([sys.executable, "-c", IMPORTER, str(log)], env=env)
    workers.append(importer)
    alive = [start() for _ in range(4)]
    writer = Writer(folder, seed=1234)
    done = threading.Event()

    def write() -> None:
        for _ in range(400):
            writer.drop_one()
            time.sleep(writer.random.uniform(0, 0.01))
        done.set()

    thread = threading.Thread(target=write)
    thread.start()
    chaos = random.Random(99)
    kills = 0
    while not done.is_set():
        time.sleep(chaos.uniform(0.01, 0.15))
        victim = alive.pop(chaos.randrange(len(alive)))
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=30)
        kills += 1
        alive.append(start())
    thread.join()
    # Let the survivors work a little, then kill them too, mid-pass.
    wait_for(lambda: not any(p.suffix == ".jsonl" for p in folder.iterdir()), timeout=10)
    for proc in [*alive, importer]:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    # One last pass takes over what the dead held.
    ingest_folder(Store(log), folder, min_age=0.0)
    ids = ledger_ids(log)
    dropped = [i for i in ids if i.startswith("dr-")]
    assert kills >= 10
    assert len(ids) == len(set(ids)), "an event was appended twice"
    assert set(dropped) == writer.expected, "an event was lost"
    assert len(ids) > len(dropped), "the import never ran"
    assert sorted(p.name for p in folder.iterdir()) == [".claimed", "rejected"]
    assert list((folder / ".claimed").iterdir()) == []
    rejected = {p.name for p in (folder / "rejected").iterdir() if not p.name.endswith(".reason")}
    assert rejected == writer.garbage


def _jusage() -> str:
    exe = shutil.which("jusage") or str(Path(sys.executable).parent / "jusage")
    assert Path(exe).exists(), "the jusage console script is not installed"
    return exe


def _drop_old(folder: Path, name: str, value: dict[str, int]) -> None:
    """Drop a file already a minute old, so only a notification can explain a quick pick-up."""
    tmp = folder / f".{name}.tmp"
    tmp.write_bytes(orjson.dumps(value))
    then = time.time() - 60
    os.utime(tmp, (then, then))
    tmp.rename(folder / name)


@pytest.mark.parametrize("stop_with", [signal.SIGINT, signal.SIGTERM])
def test_watch_picks_up_files_and_exits_cleanly_on_a_signal(tmp_path: Path, stop_with: int) -> None:
    """`--watch` ingests a file that arrives while it waits, then exits 0 without a
    traceback on Ctrl-C (SIGINT) or SIGTERM."""
    folder = tmp_path / "drop"
    folder.mkdir()
    log = tmp_path / "events.jsonl"
    env = {**os.environ, "JUSAGE_HOME": str(tmp_path / "home")}
    proc = subprocess.Popen(
        [_jusage(), "ingest", str(folder), "--watch", "--log", str(log)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        _drop_old(folder, "first.json", {"ts": 1_767_225_600, "prompt": 10, "completion": 1})
        assert wait_for(lambda: log.exists() and len(ledger_ids(log)) == 1), "the first file never landed"
        # The watch is set up now; nothing is pending, so only a notification starts a pass.
        _drop_old(folder, "second.json", {"ts": 1_767_225_601, "prompt": 20, "completion": 2})
        assert wait_for(lambda: len(ledger_ids(log)) == 2, timeout=15), "the watch missed a new file"
        proc.send_signal(stop_with)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err.decode()
    assert b"Traceback" not in err
    assert out.decode().count("1 file ingested") == 2
    assert not (folder / "first.json").exists() and not (folder / "second.json").exists()
