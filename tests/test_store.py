"""The ledger file: appends from many processes, torn lines, and reads that skip garbage."""

from __future__ import annotations

import logging
import multiprocessing
import os
from pathlib import Path

import orjson
import pytest
from freezegun import freeze_time
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jusage.events import Event
from jusage.locations import default_log_path
from jusage.reading import read_lines, split_ranges
from jusage.store import Store, record_event

WRITERS = 8
PER_WRITER = 500


def _write_many(path: str, writer: int) -> None:
    store = Store(path)
    for i in range(PER_WRITER):
        # Varied sizes, some beyond PIPE_BUF, so interleaving would show.
        store.record(
            Event(ts=1_700_000_000 + i, prompt=i + 1, id=f"w{writer}-{i}", project="p" * (i % 9) * 600)
        )


def test_concurrent_appends_lose_nothing(log_path: Path) -> None:
    """8 processes x 500 records: every event present exactly once, every line parses."""
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_write_many, args=(str(log_path), w)) for w in range(WRITERS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    lines = log_path.read_bytes().split(b"\n")
    assert lines[-1] == b""
    ids = [orjson.loads(line)["id"] for line in lines[:-1]]
    assert len(ids) == WRITERS * PER_WRITER
    assert set(ids) == {f"w{w}-{i}" for w in range(WRITERS) for i in range(PER_WRITER)}


def test_torn_last_line_does_not_swallow_the_next_record(log_path: Path) -> None:
    """A writer that died mid-line leaves a fragment; the next record lands on its own line."""
    store = Store(log_path)
    store.record(Event(ts=1, prompt=1))
    with log_path.open("ab") as fh:
        fh.write(b'{"ts": 2, "prom')
    Store(log_path).record(Event(ts=3, prompt=3))
    reader = Store(log_path)
    assert [e.ts for e in reader.load()] == [1, 3]
    assert reader.read_stats.skipped == 1


def _die_mid_line(path: str) -> None:
    """A jusage writer killed in the middle of its write: half a line written, then gone."""
    import jusage.store as store_module

    store = Store(path)
    store.record(Event(ts=2, prompt=2))

    def half_then_die(fd: int, data: bytes) -> None:
        os.write(fd, data[: len(data) // 2])
        os._exit(0)

    store_module._write_all = half_then_die  # type: ignore[assignment]
    store.record(Event(ts=3, prompt=3))


def test_a_writer_that_died_mid_line_is_stepped_over_by_a_running_writer(log_path: Path) -> None:
    """A writer that already checked the tail still notices another writer died mid-line."""
    store = Store(log_path)
    store.record(Event(ts=1, prompt=1))
    child = multiprocessing.get_context("fork").Process(target=_die_mid_line, args=(str(log_path),))
    child.start()
    child.join(30)
    store.record(Event(ts=4, prompt=4))
    reader = Store(log_path)
    assert [e.ts for e in reader.load()] == [1, 2, 4]
    assert reader.read_stats.skipped == 1


def test_missing_file_is_an_empty_log(tmp_path: Path) -> None:
    """Reading a log that does not exist gives no events and no error."""
    store = Store(tmp_path / "nope.jsonl")
    assert store.load() == []
    assert store.read_stats.skipped == 0


def test_malformed_lines_are_skipped_and_counted(log_path: Path) -> None:
    """Bad JSON, wrong types and inconsistent counts are skipped; good lines survive."""
    log_path.parent.mkdir(parents=True)
    log_path.write_bytes(
        b'{"ts": 1, "prompt": 5}\n'
        b"not json\n"
        b'{"ts": "x"}\n'
        b'{"ts": 2, "prompt": 1, "cached": 3}\n'
        b"\xff\xfe\x00\n"
        b"\n"
        b'{"ts": 3, "completion": 2}\n'
    )
    store = Store(log_path)
    assert [e.ts for e in store.load()] == [1, 3]
    assert store.read_stats.skipped == 4


def test_since_filters_by_date(log_path: Path) -> None:
    """load(since) keeps events whose date is on or after since."""
    store = Store(log_path)
    store.record_many([Event(ts=1, date="2026-01-01", prompt=1), Event(ts=2, date="2026-02-01", prompt=1)])
    assert [e.date for e in store.load(since="2026-01-15")] == ["2026-02-01"]


GOOD = Event(ts=42, prompt=7, completion=1, model="m").to_json()


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(garbage=st.lists(st.binary(max_size=60), max_size=6))
def test_reader_never_raises_and_never_loses_a_good_line(tmp_path: Path, garbage: list[bytes]) -> None:
    """Arbitrary bytes before a valid line: no exception, and the valid line is read."""
    path = tmp_path / "g.jsonl"
    path.write_bytes(b"\n".join(garbage) + b"\n" + GOOD + b"\n")
    events = Store(path).load()
    assert Event.from_json(GOOD) in events


@settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400))
def test_reader_survives_arbitrary_files(tmp_path: Path, data: bytes) -> None:
    """Any file content at all reads without raising; lines + skipped account for every line."""
    path = tmp_path / "a.jsonl"
    path.write_bytes(data)
    store = Store(path)
    events = store.load()
    assert len(events) + store.read_stats.skipped == store.read_stats.lines


@settings(max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sizes=st.lists(st.integers(1, 300), min_size=1, max_size=40), parts=st.integers(1, 6))
def test_split_ranges_cover_every_line_once(tmp_path: Path, sizes: list[int], parts: int) -> None:
    """Cutting a file for parallel reading never splits or repeats a line."""
    path = tmp_path / "r.jsonl"
    path.write_bytes(b"".join(b"x" * n + b"\n" for n in sizes))
    seen: list[bytes] = []
    for start, end in split_ranges(path, parts):
        for batch in read_lines(path, start, end):
            seen.extend(line for line in batch if line)
    assert [len(line) for line in seen] == sizes


def test_rewrite_renamed_over_the_log_is_followed(log_path: Path) -> None:
    """After another file is renamed over the log, appends go to the new file."""
    store = Store(log_path)
    store.record(Event(ts=1, prompt=1))
    replacement = log_path.with_suffix(".new")
    replacement.write_bytes(Event(ts=9, prompt=9).to_json() + b"\n")
    with store.exclusive():
        replacement.replace(log_path)
    store.record(Event(ts=2, prompt=2))
    assert [e.ts for e in Store(log_path).load()] == [9, 2]


def test_a_removed_log_is_created_again_before_the_next_append(log_path: Path) -> None:
    """A long-lived writer whose log was deleted does not write into the unlinked file."""
    store = Store(log_path)
    store.record(Event(ts=1, prompt=1))
    log_path.unlink()
    for ts in (2, 3, 4):
        store.record(Event(ts=ts, prompt=1))
    assert [e.ts for e in Store(log_path).load()] == [2, 3, 4]


def test_a_log_renamed_away_is_left_alone(log_path: Path) -> None:
    """After the log is renamed (moved aside by a user), the next append goes to the path."""
    store = Store(log_path)
    store.record(Event(ts=1, prompt=1))
    moved = log_path.with_name("old.jsonl")
    log_path.rename(moved)
    store.record(Event(ts=2, prompt=1))
    assert [e.ts for e in Store(moved).load()] == [1]
    assert [e.ts for e in Store(log_path).load()] == [2]


def test_every_name_of_a_log_shares_one_writers_page(tmp_path: Path) -> None:
    """A log reached through a symbolic link and by its real path has one side page, so a
    torn line left through one name is noticed by a writer using the other."""
    real = tmp_path / "real.jsonl"
    link = tmp_path / "link.jsonl"
    link.symlink_to(real)
    Store(real).record(Event(ts=1, prompt=1))
    Store(link).record(Event(ts=2, prompt=1))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.jsonl", "real.jsonl", "real.jsonl.meta"]
    assert [e.ts for e in Store(real).load()] == [1, 2]


def test_default_path_honours_environment(tmp_path: Path) -> None:
    """JUSAGE_LOG names the file; JUSAGE_HOME moves the folder; else ~/.jusage."""
    assert default_log_path({"JUSAGE_LOG": str(tmp_path / "x.jsonl")}) == tmp_path / "x.jsonl"
    assert default_log_path({"JUSAGE_HOME": str(tmp_path)}) == tmp_path / "usage" / "events.jsonl"
    assert default_log_path({}) == Path.home() / ".jusage" / "usage" / "events.jsonl"


@freeze_time("2026-03-01 12:00:00")
def test_record_event_stamps_time_and_date(log_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The agent entry point fills ts (now) and date (local today)."""
    monkeypatch.setenv("JUSAGE_LOG", str(log_path))
    monkeypatch.setenv("TZ", "UTC")
    assert record_event(prompt=10, completion=2, model="m", session="s")
    (event,) = Store(log_path).load()
    assert event.ts == 1772366400
    assert event.date == "2026-03-01"
    assert event.tokens == 12


def test_record_event_drops_turns_without_tokens(log_path: Path) -> None:
    """A turn with no tokens writes nothing."""
    assert not record_event(prompt=0, completion=0, store=Store(log_path))
    assert not log_path.exists()


def test_record_event_never_raises(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Bad input or an unwritable log is logged, not raised into the agent."""
    blocked = tmp_path / "file"
    blocked.write_text("x")
    with caplog.at_level(logging.WARNING, logger="jusage"):
        assert not record_event(prompt=5, store=Store(blocked / "sub" / "log.jsonl"))
        assert not record_event(prompt=5, cached=9, store=Store(tmp_path / "l.jsonl"))
        assert not record_event(prompt=5, no_such_field=1, store=Store(tmp_path / "l.jsonl"))
    assert len(caplog.records) == 3


def test_record_many_is_one_block_of_lines(log_path: Path) -> None:
    """record_many writes every event, in order, one per line."""
    store = Store(log_path)
    assert store.record_many(Event(ts=i, prompt=i + 1) for i in range(5)) == 5
    assert [e.ts for e in store.load()] == [0, 1, 2, 3, 4]


def test_a_writer_holding_the_old_file_moves_to_the_new_one(log_path: Path) -> None:
    """A writer that opened the log before a rewrite appends to the new file, not the retired one."""
    writer = Store(log_path)
    writer.record(Event(ts=1, prompt=1))  # keeps its descriptor on the old file
    rewriter = Store(log_path)
    replacement = log_path.with_suffix(".new")
    replacement.write_bytes(Event(ts=9, prompt=9).to_json() + b"\n")
    with rewriter.exclusive():
        replacement.replace(log_path)
    writer.record(Event(ts=2, prompt=2))
    assert [e.ts for e in Store(log_path).load()] == [9, 2]


def test_a_forked_child_does_not_reuse_the_parents_descriptor(log_path: Path) -> None:
    """After fork, the child opens its own descriptor (an inherited one would share the lock)."""
    store = Store(log_path)
    store.record(Event(ts=1, prompt=1))
    parent_fd = store._fd
    ctx = multiprocessing.get_context("fork")
    child = ctx.Process(target=_child_records_with, args=(store,))
    child.start()
    child.join(30)
    assert child.exitcode == 0
    assert store._fd == parent_fd
    assert sorted(e.ts for e in Store(log_path).load()) == [1, 7]


def _child_records_with(store: Store) -> None:
    assert store._fd == -1  # forgotten at fork
    store.record(Event(ts=7, prompt=7))


LINE_PARTS = st.sampled_from(
    [
        b'{"ts": 1, "prompt": 2}',
        b'{"ts": 3}',
        b"{",
        b"}",
        b'"x"}',
        b'{"ts": 4} {"ts": 5}',
        b'{"ts":',
        b"6}",
        b'{"ts": 7, "a": [1,',
        b"2]}",
        b"",
        b"  ",
        b"\r",
        b'{"ts": -1}',
        b"\xff",
        b"{}",
        b'{"ts": 8, "a": [{"b": 1}',
        b'{"c": 2}]}',
    ]
)


@settings(max_examples=300)
@given(st.lists(st.lists(LINE_PARTS, max_size=3).map(b"".join), max_size=12))
def test_block_decoding_equals_line_by_line_decoding(lines: list[bytes]) -> None:
    """The one-call decode of a block never differs from decoding each line on its own."""
    import tempfile

    from jusage.events import EVENT_DECODER, EventError
    from jusage.reading import ReadStats, read_rows

    expected, bad = [], 0
    for line in lines:
        if not line.strip():
            continue
        try:
            expected.append(Event.from_json(line))
        except EventError:
            bad += 1
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "b.jsonl"
        path.write_bytes(b"\n".join(lines))
        stats = ReadStats()
        got = [row for rows in read_rows(path, stats, decoder=EVENT_DECODER) for row in rows]
    assert got == expected
    assert stats.skipped == bad


def test_appends_still_work_without_the_shared_page(log_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the meta page cannot be mapped, every append takes the careful path and still works."""
    import jusage.store as store_module

    def refuse(path: Path) -> object:
        raise OSError("mmap not supported here")

    monkeypatch.setattr(store_module, "_map_meta", refuse)
    store = Store(log_path)
    store.record(Event(ts=1, prompt=1))
    with log_path.open("ab") as fh:
        fh.write(b'{"ts": 2, "pro')
    store.record(Event(ts=3, prompt=3))  # the same writer notices the torn line
    assert [e.ts for e in Store(log_path).load()] == [1, 3]
    replacement = log_path.with_suffix(".new")
    replacement.write_bytes(Event(ts=9, prompt=9).to_json() + b"\n")
    replacement.replace(log_path)
    store.record(Event(ts=4, prompt=4))  # and follows the replaced log
    assert [e.ts for e in Store(log_path).load()] == [9, 4]


@settings(max_examples=100)
@given(
    st.lists(st.integers(0, 300), min_size=1, max_size=30),
    st.integers(8, 256),
    st.booleans(),
)
def test_reads_in_a_small_buffer_keep_every_line(widths: list[int], block: int, torn: bool) -> None:
    """Lines longer than the read buffer, lines cut by its edge and a torn tail all come out
    whole, once each: the buffer grows and carries unfinished lines over."""
    import tempfile

    import jusage.reading as store_module
    from jusage.events import EVENT_DECODER
    from jusage.reading import ReadStats, read_rows

    lines = [b'{"ts": %d, "project": "%s"}' % (i, b"p" * w) for i, w in enumerate(widths)]
    data = b"\n".join(lines) + (b'\n{"ts": 99, "pro' if torn else b"\n")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "b.jsonl"
        path.write_bytes(data)
        stats = ReadStats()
        saved = store_module.BLOCK
        store_module.BLOCK = block
        try:
            got = [row.ts for rows in read_rows(path, stats, decoder=EVENT_DECODER) for row in rows]
        finally:
            store_module.BLOCK = saved
    assert got == list(range(len(widths)))
    assert stats.skipped == (1 if torn else 0)


@settings(max_examples=100)
@given(
    st.lists(st.tuples(st.booleans(), st.integers(0, 200)), min_size=1, max_size=25),
    st.integers(8, 64),
)
def test_lines_longer_than_the_cap_are_skipped_and_counted(lines: list[tuple[bool, int]], block: int) -> None:
    """A line that outgrows MAX_LINE while it is read is never held whole: the readers drop
    it as they go, the row reader counts it as skipped, and every other line comes out in
    order (the long lines here are at least three times the cap)."""
    import tempfile

    import jusage.reading as store_module
    from jusage.events import EVENT_DECODER
    from jusage.reading import ReadStats, read_lines, read_rows

    cap = 96
    data = []
    expected = []
    for n, (long, width) in enumerate(lines):
        if long:
            data.append(b"x" * (3 * cap + width * 3))
        else:
            data.append(b'{"ts": %d, "project": "%s"}' % (n, b"p" * (width % 40)))
            expected.append(n)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "b.jsonl"
        path.write_bytes(b"\n".join(data) + b"\n")
        saved = store_module.BLOCK, store_module.MAX_LINE
        store_module.BLOCK, store_module.MAX_LINE = block, cap
        try:
            stats = ReadStats()
            got = [row.ts for rows in read_rows(path, stats, decoder=EVENT_DECODER) for row in rows]
            kept = [line for batch in read_lines(path) for line in batch]
        finally:
            store_module.BLOCK, store_module.MAX_LINE = saved
    assert got == expected
    assert stats.skipped == len(lines) - len(expected)
    assert not any(line.startswith(b"x") for line in kept)
    assert [orjson.loads(line)["ts"] for line in kept if line] == expected
