"""The jcode importer: its log is already in jusage's format; import it once, incrementally."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from jusage.importers import import_jcode
from jusage.store import Store

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "jcode" / "events.jsonl"


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "ledger" / "events.jsonl")


def test_lines_are_imported_once_with_content_derived_ids(store: Store) -> None:
    """Each jcode line becomes one event with a jc- id; a second run adds nothing."""
    first = import_jcode(store, [FIXTURE])
    second = import_jcode(store, [FIXTURE])
    lines = [orjson.loads(raw) for raw in store.path.read_bytes().splitlines()]
    assert first.events_added == 120 and second.events_added == 0
    assert all(e["id"].startswith("jc-") and e["source"] == "jcode" for e in lines)


def test_the_same_line_in_another_file_counts_once(store: Store, tmp_path: Path) -> None:
    """Identity comes from content, not position: a copied log adds nothing."""
    copy = tmp_path / "copy.jsonl"
    copy.write_bytes(FIXTURE.read_bytes())
    import_jcode(store, [FIXTURE])
    assert import_jcode(store, [copy]).events_added == 0


def test_appended_lines_are_read_incrementally(store: Store, tmp_path: Path) -> None:
    """Only the appended line is read on the next run; invalid lines are counted."""
    log = tmp_path / "events.jsonl"
    log.write_bytes(b'{"ts":1,"prompt":5,"completion":1,"cached":0}\n')
    import_jcode(store, [log])
    with log.open("ab") as fh:
        fh.write(b'{"ts":2,"prompt":7,"completion":1}\n{"ts":"x"}\n')
    summary = import_jcode(store, [log])
    assert (summary.entries, summary.events_added, summary.malformed) == (1, 1, 1)


def test_importing_the_ledger_into_itself_is_refused(tmp_path: Path) -> None:
    """Pointing the jcode import at the ledger itself would count every event twice: it is a
    clear error, and the ledger is left as it was."""
    from jusage.events import Event
    from jusage.importers import ImportPathError

    ledger = Store(tmp_path / "events.jsonl")
    ledger.record(Event(ts=1_767_225_600, model="m", prompt=10, completion=2))
    before = ledger.path.read_bytes()
    with pytest.raises(ImportPathError, match="the ledger itself"):
        import_jcode(ledger, [ledger.path])
    assert ledger.path.read_bytes() == before


def test_a_path_that_is_neither_file_nor_folder_is_refused(store: Store, tmp_path: Path) -> None:
    """A named pipe (or a device) would block the read for ever: a clear error instead."""
    import os

    from jusage.importers import ImportPathError, import_claude_code

    pipe = tmp_path / "pipe.jsonl"
    os.mkfifo(pipe)
    with pytest.raises(ImportPathError, match="not a file or a folder"):
        import_claude_code(store, [pipe])
    with pytest.raises(ImportPathError, match="not a file or a folder"):
        import_jcode(store, [pipe])
