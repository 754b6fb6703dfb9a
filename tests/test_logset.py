"""Several logs read as one ledger: folders, ids counted once, and the set's checkpoint."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jusage.aggregate import Aggregator, Partial
from jusage.events import Event
from jusage.logset import LogPathError, aggregate_logs, expand_logs
from jusage.store import Store

AGG = Aggregator(("model", "host"), tz=UTC)


def ev(i: int, host: str = "a", ident: str | None = None) -> Event:
    return Event(
        ts=1_767_225_600 + i * 600,
        model="m",
        host=host,
        prompt=10 + i,
        completion=1,
        id=ident or f"{host}-{i}",
    )


def totals(partial: Partial) -> tuple[int, int]:
    """(tokens, turns) of a partial."""
    return (
        sum(c[0] + c[1] for c in partial.groups.values()),
        sum(c[7] for c in partial.groups.values()),
    )


def from_scratch(paths: list[Path]) -> Partial:
    """What the checkpoints must always agree with: every log read, nothing remembered."""
    return aggregate_logs(paths, AGG, checkpoint=False)


def test_folders_files_and_links_expand_to_each_log_once(tmp_path: Path) -> None:
    """A folder gives its *.jsonl files (deeper ones with recursive); a file named twice or
    through a link is one log; a missing file is kept (an empty log)."""
    (tmp_path / "shared" / "deep").mkdir(parents=True)
    for name in ("shared/a.jsonl", "shared/b.jsonl", "shared/notes.txt", "shared/deep/c.jsonl"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "link.jsonl").symlink_to(tmp_path / "shared" / "a.jsonl")
    shared = tmp_path / "shared"
    assert expand_logs([shared]) == [shared / "a.jsonl", shared / "b.jsonl"]
    assert expand_logs([shared], recursive=True) == [
        shared / "a.jsonl",
        shared / "b.jsonl",
        shared / "deep" / "c.jsonl",
    ]
    assert expand_logs([tmp_path / "link.jsonl", shared]) == [tmp_path / "link.jsonl", shared / "b.jsonl"]
    assert expand_logs([tmp_path / "missing.jsonl"]) == [tmp_path / "missing.jsonl"]


def test_a_folder_without_logs_is_an_error(tmp_path: Path) -> None:
    """A folder of no logs is most likely the wrong folder: say so."""
    with pytest.raises(LogPathError, match=r"no \*\.jsonl"):
        expand_logs([tmp_path])


def test_an_id_in_two_logs_counts_once(tmp_path: Path) -> None:
    """The same imported message in two machines' logs counts once, with the first-sorted
    log's copy; events without an id (written by another tool) count in each log."""
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    Store(a).record_many([ev(1, "a", "cc-1"), ev(2, "a", "cc-2")])
    Store(b).record_many([ev(1, "b", "cc-1"), ev(3, "b", "cc-3")])
    with b.open("ab") as fh:
        fh.write(b'{"ts": 1767225600, "prompt": 5, "model": "m"}\n')
    with a.open("ab") as fh:
        fh.write(b'{"ts": 1767225600, "prompt": 5, "model": "m"}\n')
    partial = aggregate_logs([b, a], AGG)
    assert totals(partial) == (11 + 12 + 13 + 1 + 1 + 1 + 5 + 5, 5)
    hosts = {key[1][1] for key in partial.groups}
    assert hosts == {"a", "b", ""}
    by_host = {key[1][1]: c[7] for key, c in partial.groups.items()}
    assert by_host["a"] == 2 and by_host["b"] == 1  # cc-1 is a's


def test_within_one_log_every_line_counts(tmp_path: Path) -> None:
    """A log's writers never write an id twice; if one did, both lines count (verify says so)."""
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    Store(a).record_many([ev(1, ident="x"), ev(2, ident="x")])
    Store(b).record(ev(3, ident="y"))
    assert totals(aggregate_logs([a, b], AGG))[1] == 3


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    steps=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 30), st.booleans()), min_size=1, max_size=25)
)
def test_the_sets_checkpoint_always_agrees_with_a_full_read(
    tmp_path_factory: pytest.TempPathFactory, steps: list[tuple[int, int, bool]]
) -> None:
    """Appending to any of three logs (sometimes a copy of an id another log holds) and
    reading with the set's checkpoint after each append equals reading everything again."""
    folder = tmp_path_factory.mktemp("set")
    paths = [folder / f"log{i}.jsonl" for i in range(3)]
    for step, (which, number, shared) in enumerate(steps):
        ident = f"shared-{number}" if shared else f"own-{which}-{step}"
        Store(paths[which]).record(ev(number, f"h{which}", ident))
        assert aggregate_logs(paths, AGG, checkpoint=True) == from_scratch(paths)


def test_a_replaced_or_removed_log_is_read_again(tmp_path: Path) -> None:
    """A log renamed over (a prune on its machine) or gone from the folder: the set is read
    again, and what it lost is gone from the answer."""
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    Store(a).record_many(ev(i, "a") for i in range(5))
    Store(b).record_many(ev(i, "b") for i in range(5))
    aggregate_logs([a, b], AGG, checkpoint=True)
    smaller = tmp_path / "new.jsonl"
    Store(smaller).record_many(ev(i, "a") for i in range(2))
    smaller.replace(a)
    assert aggregate_logs([a, b], AGG, checkpoint=True) == from_scratch([a, b])
    assert totals(from_scratch([a, b]))[1] == 7
    b.unlink()
    assert aggregate_logs([a, b], AGG, checkpoint=True) == from_scratch([a])


def test_a_copy_arriving_in_an_earlier_log_moves_the_event_to_it(tmp_path: Path) -> None:
    """When a copy of an id already counted from a later-sorted log lands in an earlier one,
    the earlier copy counts from then on, exactly as a full read would have it."""
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    Store(b).record(ev(1, "b", "cc-1"))
    Store(a).record(ev(2, "a", "own"))
    aggregate_logs([a, b], AGG, checkpoint=True)
    Store(a).record(ev(1, "a", "cc-1"))
    got = aggregate_logs([a, b], AGG, checkpoint=True)
    assert got == from_scratch([a, b])
    assert {key[1][1] for key in got.groups} == {"a"}
