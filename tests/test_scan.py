"""Reading logs into partials: checkpoints give the same answer as a full read."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jusage.aggregate import Aggregator
from jusage.events import Event
from jusage.scan import aggregate_file, checkpoint_path
from jusage.store import Store

AGG = Aggregator(("model", "project"), tz=UTC)


def ev(i: int, model: str = "m") -> Event:
    return Event(ts=1_767_225_600 + i * 3_600, model=model, project="/p", prompt=10 + i, completion=i)


def full(path: Path) -> object:
    return aggregate_file(path, AGG)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chunks=st.lists(st.lists(st.integers(0, 500), max_size=8), min_size=1, max_size=6))
def test_checkpointed_reads_equal_full_reads(tmp_path: Path, chunks: list[list[int]]) -> None:
    """Appending in chunks and reading with a checkpoint after each equals a full read."""
    path = tmp_path / "log.jsonl"
    path.unlink(missing_ok=True)
    store = Store(path)
    for chunk in chunks:
        store.record_many(ev(i) for i in chunk)
        assert aggregate_file(path, AGG, checkpoint=True) == full(path)


def test_a_checkpoint_is_written_and_used(log_path: Path) -> None:
    """The second read starts at the checkpoint: changing the saved partial shows in it."""
    store = Store(log_path)
    store.record_many(ev(i) for i in range(10))
    first = aggregate_file(log_path, AGG, checkpoint=True)
    ckpt = checkpoint_path(log_path, AGG)
    assert ckpt.exists()
    store.record(ev(11))
    assert aggregate_file(log_path, AGG, checkpoint=True) == full(log_path)
    assert first != full(log_path)


def test_a_replaced_log_is_read_from_the_start(log_path: Path) -> None:
    """A log renamed over (retention) or rewritten in place never reuses the old checkpoint."""
    store = Store(log_path)
    store.record_many(ev(i) for i in range(20))
    aggregate_file(log_path, AGG, checkpoint=True)
    other = log_path.with_suffix(".new")
    Store(other).record_many(ev(i, model="x") for i in range(25))
    other.replace(log_path)
    assert aggregate_file(log_path, AGG, checkpoint=True) == full(log_path)
    # Same inode, truncated and rewritten with different content of a greater length.
    log_path.write_bytes(b"".join(ev(i, model="y").to_json() + b"\n" for i in range(40)))
    assert aggregate_file(log_path, AGG, checkpoint=True) == full(log_path)


def test_a_line_still_being_written_is_not_checkpointed(log_path: Path) -> None:
    """A torn tail is read as it is now, and read again once it is complete."""
    store = Store(log_path)
    store.record_many(ev(i) for i in range(5))
    line = ev(99).to_json()
    with log_path.open("ab") as fh:
        fh.write(line[:10])
    torn = aggregate_file(log_path, AGG, checkpoint=True)
    assert torn.skipped == 1
    with log_path.open("ab") as fh:
        fh.write(line[10:] + b"\n")
    assert aggregate_file(log_path, AGG, checkpoint=True) == full(log_path)
    assert full(log_path).skipped == 0  # type: ignore[attr-defined]


def test_different_aggregations_do_not_share_checkpoints(log_path: Path) -> None:
    """Another grouping or another time zone gets its own checkpoint file."""
    from zoneinfo import ZoneInfo

    other = Aggregator(("model",), tz=UTC)
    berlin = Aggregator(("model", "project"), tz=ZoneInfo("Europe/Berlin"))
    assert checkpoint_path(log_path, AGG) != checkpoint_path(log_path, other)
    assert checkpoint_path(log_path, AGG) != checkpoint_path(log_path, berlin)


def test_an_edit_in_the_middle_of_the_same_length_is_caught(log_path: Path) -> None:
    """A same-size edit far from both ends of the covered bytes falls in one of the windows
    spread over them, so the log is read in full again."""
    store = Store(log_path)
    store.record_many(ev(i) for i in range(2_000))
    aggregate_file(log_path, AGG, checkpoint=True)
    data = bytearray(log_path.read_bytes())
    middle = data.index(b'"model":"m"', len(data) // 2 - 40)
    data[middle : middle + 11] = b'"model":"z"'
    with log_path.open("r+b") as fh:  # in place: same file, same length
        fh.write(data)
    assert aggregate_file(log_path, AGG, checkpoint=True) == full(log_path)


def test_a_corrupt_checkpoint_means_a_full_read(log_path: Path) -> None:
    """Garbage (or a crafted file) in place of a checkpoint is never trusted, never fatal."""
    store = Store(log_path)
    store.record_many(ev(i) for i in range(30))
    aggregate_file(log_path, AGG, checkpoint=True)
    ckpt = checkpoint_path(log_path, AGG)
    for garbage in (b"", b"\x80\x04garbage", b"\x93\x01\x02\x03", ckpt.read_bytes()[:-7]):
        ckpt.write_bytes(garbage)
        assert aggregate_file(log_path, AGG, checkpoint=True) == full(log_path)


def test_checkpoints_of_logs_that_are_gone_are_removed(tmp_path: Path) -> None:
    """The cache folder does not grow for ever: checkpoints of deleted logs are dropped."""
    from jusage.scan import MAX_CHECKPOINTS

    logs = []
    for i in range(MAX_CHECKPOINTS // 2 + 5):
        path = tmp_path / f"log{i}.jsonl"
        Store(path).record(ev(i))
        aggregate_file(path, AGG, checkpoint=True)
        logs.append(path)
    folder = checkpoint_path(logs[0], AGG).parent
    for path in logs[:-1]:
        path.unlink()
    survivor = tmp_path / "survivor.jsonl"
    Store(survivor).record(ev(1))
    aggregate_file(survivor, AGG, checkpoint=True)
    left = sorted(p.name for p in folder.glob("*.checkpoint"))
    assert left == sorted({checkpoint_path(logs[-1], AGG).name, checkpoint_path(survivor, AGG).name})


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    chunks=st.lists(st.lists(st.integers(0, 500), max_size=8), min_size=1, max_size=5),
    modes=st.lists(st.sampled_from(["auto", "calculate", "display"]), min_size=1, max_size=5),
)
def test_the_priced_table_kept_in_a_checkpoint_equals_pricing_a_full_read(
    tmp_path: Path, chunks: list[list[int]], modes: list[str]
) -> None:
    """A checkpoint keeps the priced table of the bytes it covers; read with it after each
    append, in any cost mode, it equals the full read priced anew."""
    from jusage.aggregate import rollup
    from jusage.costing import Coster
    from jusage.pricing import Pricer, Rates
    from jusage.scan import table_of_file

    pricer = Pricer({"m": Rates(1_000_000, 2_000_000, 100_000, 1_250_000, 2_000_000)})
    path = tmp_path / "priced.jsonl"
    path.unlink(missing_ok=True)
    store = Store(path)
    for index, chunk in enumerate(chunks):
        store.record_many(ev(i) for i in chunk)
        agg = Aggregator(("model", "project"), tz=UTC, coster=Coster(pricer, modes[index % len(modes)]))  # type: ignore[arg-type]
        assert table_of_file(path, agg, checkpoint=True) == rollup(aggregate_file(path, agg), agg)
