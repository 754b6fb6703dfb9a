"""What every per-call agent importer promises, on its fixtures and on generated trees."""

from __future__ import annotations

import multiprocessing
import shutil
from pathlib import Path

import pytest
from agents import FIXTURES, Importer, fixture_totals, generate, same_totals, totals

from jusage import importers
from jusage.importers import ImportPathError
from jusage.store import Store

# source -> (importer's name, generator's kind)
AGENTS = {
    "gemini-cli": ("import_gemini_cli", "gemini"),
    "opencode": ("import_opencode", "opencode"),
    "qwen-code": ("import_qwen_code", "qwen"),
    "amp": ("import_amp", "amp"),
    "copilot-cli": ("import_copilot_cli", "copilot"),
}


def importer(source: str) -> Importer:
    found: Importer = getattr(importers, AGENTS[source][0])
    return found


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "ledger" / "events.jsonl")


@pytest.mark.parametrize("source", AGENTS)
def test_the_fixtures_import_to_their_totals_and_a_second_run_reads_nothing(
    store: Store, source: str
) -> None:
    """The committed fixtures give the totals they were generated with; re-importing them
    opens no file and adds nothing."""
    first = importer(source)(store, [FIXTURES / source])
    again = importer(source)(store, [FIXTURES / source])
    assert same_totals(totals(store), fixture_totals(source))
    assert first.source == source and first.events_added > 0
    assert (again.events_added, again.corrections, again.files_read) == (0, 0, 0)


@pytest.mark.parametrize("source", AGENTS)
def test_a_generated_tree_imports_to_the_generators_totals(store: Store, tmp_path: Path, source: str) -> None:
    """A larger generated tree, every awkward part included, gives the generator's own sums."""
    expected = generate(AGENTS[source][1], tmp_path / "tree", 400)
    summary = importer(source)(store, [tmp_path / "tree"])
    assert same_totals(totals(store), expected) and summary.malformed > 0 and summary.duplicates > 0


@pytest.mark.parametrize("source", AGENTS)
def test_a_copied_tree_counts_once(store: Store, tmp_path: Path, source: str) -> None:
    """The same files under another folder (a backup, another machine's copy) add nothing."""
    importer(source)(store, [FIXTURES / source])
    shutil.copytree(FIXTURES / source, tmp_path / "backup")
    assert importer(source)(store, [tmp_path / "backup"]).events_added == 0


@pytest.mark.parametrize("source", AGENTS)
def test_a_missing_path_is_an_error(store: Store, tmp_path: Path, source: str) -> None:
    """A path that does not exist raises ImportPathError and writes nothing."""
    with pytest.raises(ImportPathError):
        importer(source)(store, [tmp_path / "nowhere"])
    assert not store.path.exists()


def _import_worker(source: str, log: str, tree: str) -> None:
    importer(source)(Store(log), [Path(tree)])


@pytest.mark.parametrize("source", AGENTS)
def test_concurrent_imports_count_everything_once(tmp_path: Path, source: str) -> None:
    """Three processes importing one tree at once leave it in the ledger once."""
    log = tmp_path / "ledger" / "events.jsonl"
    ctx = multiprocessing.get_context("spawn")
    args = (source, str(log), str(FIXTURES / source))
    procs = [ctx.Process(target=_import_worker, args=args) for _ in range(3)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
    assert all(proc.exitcode == 0 for proc in procs)
    assert same_totals(totals(Store(log)), fixture_totals(source))
