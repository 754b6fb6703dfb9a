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
        assert aggregate_file(path, AGG, cache="t") == full(path)


def test_a_checkpoint_is_written_and_used(log_path: Path) -> None:
    """The second read starts at the checkpoint: changing the saved partial shows in it."""
    store = Store(log_path)
    store.record_many(ev(i) for i in range(10))
    first = aggregate_file(log_path, AGG, cache="t")
    ckpt = checkpoint_path(log_path, AGG, "t")
    assert ckpt.exists()
    store.record(ev(11))
    assert aggregate_file(log_path, AGG, cache="t") == full(log_path)
    assert first != full(log_path)


def test_a_replaced_log_is_read_from_the_start(log_path: Path) -> None:
    """A log renamed over (retention) or rewritten in place never reuses the old checkpoint."""
    store = Store(log_path)
    store.record_many(ev(i) for i in range(20))
    aggregate_file(log_path, AGG, cache="t")
    other = log_path.with_suffix(".new")
    Store(other).record_many(ev(i, model="x") for i in range(25))
    other.replace(log_path)
    assert aggregate_file(log_path, AGG, cache="t") == full(log_path)
    # Same inode, truncated and rewritten with different content of a greater length.
    log_path.write_bytes(b"".join(ev(i, model="y").to_json() + b"\n" for i in range(40)))
    assert aggregate_file(log_path, AGG, cache="t") == full(log_path)


def test_a_line_still_being_written_is_not_checkpointed(log_path: Path) -> None:
    """A torn tail is read as it is now, and read again once it is complete."""
    store = Store(log_path)
    store.record_many(ev(i) for i in range(5))
    line = ev(99).to_json()
    with log_path.open("ab") as fh:
        fh.write(line[:10])
    torn = aggregate_file(log_path, AGG, cache="t")
    assert torn.skipped == 1
    with log_path.open("ab") as fh:
        fh.write(line[10:] + b"\n")
    assert aggregate_file(log_path, AGG, cache="t") == full(log_path)
    assert full(log_path).skipped == 0  # type: ignore[attr-defined]


def test_different_keys_do_not_share_checkpoints(log_path: Path) -> None:
    """Another cache key or another aggregation gets its own checkpoint file."""
    other = Aggregator(("model",), tz=UTC)
    assert checkpoint_path(log_path, AGG, "a") != checkpoint_path(log_path, AGG, "b")
    assert checkpoint_path(log_path, AGG, "a") != checkpoint_path(log_path, other, "a")
