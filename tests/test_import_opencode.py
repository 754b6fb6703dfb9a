"""The OpenCode importer: the database read while OpenCode writes, old message files, exactly once."""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import orjson
import pytest
from agents import GARBAGE, events, generate, imports_the_same, never_fatal, same_totals, strange, totals
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import JSON_ANY

from jusage.importers import default_opencode_paths, import_opencode
from jusage.importers import opencode as opencode_module
from jusage.store import Store

CWD = "/home/ada/src/ledger"
CREATED = 1_756_720_800_000  # 2025-09-01T10:00:00Z
SCHEMA = """
CREATE TABLE message (id TEXT PRIMARY KEY, session_id TEXT NOT NULL,
    time_created INTEGER NOT NULL, time_updated INTEGER NOT NULL, data TEXT NOT NULL);
"""


def reply(
    inp: int = 100, out: int = 50, reasoning: int = 20, read: int = 4000, write: int = 300, **extra: Any
) -> dict[str, Any]:
    value: dict[str, Any] = {
        "role": "assistant",
        "time": {"created": CREATED, "completed": CREATED + 5000},
        "modelID": "claude-sonnet-4-20250514",
        "providerID": "anthropic",
        "mode": "build",
        "agent": "build",
        "path": {"cwd": CWD, "root": CWD},
        "cost": 0.0123,
        "tokens": {
            "input": inp,
            "output": out,
            "reasoning": reasoning,
            "cache": {"read": read, "write": write},
            "total": inp + out + reasoning + read + write,
        },
    }
    return {**value, **extra}


def database(
    folder: Path, *rows: tuple[str, Any], wal: bool = True, updated: int = CREATED
) -> sqlite3.Connection:
    """An OpenCode database with ``(id, data)`` message rows; the connection stays open."""
    folder.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(folder / "opencode.db", isolation_level=None)
    db.execute(f"PRAGMA journal_mode = {'WAL' if wal else 'DELETE'}")
    db.executescript(SCHEMA)
    for ident, data in rows:
        put(db, ident, data, updated)
    return db


def put(db: sqlite3.Connection, ident: str, data: Any, updated: int = CREATED) -> None:
    """Insert or update a message row, as OpenCode's upsert does (time_updated set again)."""
    text = data if isinstance(data, str) else orjson.dumps(data).decode()
    db.execute(
        "INSERT INTO message VALUES (?, 'ses_1', ?, ?, ?)"
        " ON CONFLICT(id) DO UPDATE SET data = excluded.data, time_updated = excluded.time_updated",
        (ident, CREATED, updated, text),
    )


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "ledger" / "events.jsonl")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "opencode"


# -- mapping -------------------------------------------------------------------------------


def test_a_reply_maps_to_the_inclusive_convention(store: Store, data_dir: Path) -> None:
    """input leaves the cache out and output the reasoning: both are added back."""
    database(data_dir, ("msg_1", reply())).close()
    import_opencode(store, [data_dir])
    [event] = events(store)
    assert (event["prompt"], event["cached"], event["cache_write"]) == (4400, 4000, 300)
    assert (event["completion"], event["reasoning"], event["cost_usd"]) == (70, 20, 0.0123)
    assert (event["model"], event["provider"], event["project"]) == (
        "claude-sonnet-4-20250514",
        "anthropic",
        CWD,
    )
    assert (event["session"], event["agent"], event["ts"]) == ("ses_1", "build", CREATED // 1000)
    assert event["source"] == "opencode" and event["id"].startswith("oc-")


def test_an_older_output_that_held_the_reasoning_is_not_added_twice(store: Store, data_dir: Path) -> None:
    """total = input + cache + output: the output already held the reasoning."""
    old = reply(out=70)
    old["tokens"]["total"] = 100 + 4000 + 300 + 70
    database(data_dir, ("msg_1", old)).close()
    import_opencode(store, [data_dir])
    assert (events(store)[0]["completion"], events(store)[0]["reasoning"]) == (70, 20)


def test_a_zero_cost_is_no_price(store: Store, data_dir: Path) -> None:
    """A subscription's 0 is left out, so the ledger prices the call itself."""
    database(data_dir, ("msg_1", reply(cost=0, providerID="github-copilot"))).close()
    import_opencode(store, [data_dir])
    assert "cost_usd" not in events(store)[0]


def test_user_messages_and_replies_without_tokens_yet_do_not_count(store: Store, data_dir: Path) -> None:
    """A user message, and a reply whose row has no tokens yet (still streaming)."""
    user = {"role": "user", "time": {"created": CREATED}, "agent": "build"}
    database(data_dir, ("msg_0", user), ("msg_1", reply(inp=0, out=0, reasoning=0, read=0, write=0))).close()
    assert import_opencode(store, [data_dir]).entries == 0


# -- exactly once ----------------------------------------------------------------------------


def test_a_message_in_the_database_and_in_an_old_file_counts_once(store: Store, data_dir: Path) -> None:
    """OpenCode kept the ids when it moved its files into the database."""
    database(data_dir, ("msg_1", reply())).close()
    folder = data_dir / "storage" / "message" / "ses_1"
    folder.mkdir(parents=True)
    (folder / "msg_1.json").write_bytes(orjson.dumps({"id": "msg_1", "sessionID": "ses_1", **reply()}))
    (folder / "msg_2.json").write_bytes(orjson.dumps({"id": "msg_2", "sessionID": "ses_1", **reply()}))
    summary = import_opencode(store, [data_dir])
    assert (summary.events_added, summary.duplicates) == (2, 1)
    assert {e["session"] for e in events(store)} == {"ses_1"}


def test_a_reply_that_grows_later_adds_a_correction(store: Store, data_dir: Path) -> None:
    """Tokens written first, more later (a later step): the difference is a correcting event."""
    db = database(data_dir, ("msg_1", reply(out=10)))
    import_opencode(store, [data_dir])
    put(db, "msg_1", reply(out=50), updated=CREATED + 9000)
    db.close()
    summary = import_opencode(store, [data_dir])
    assert summary.corrections == 1 and events(store)[-1]["completion"] == 40


def test_a_reply_without_tokens_is_counted_once_they_come(store: Store, data_dir: Path) -> None:
    """A row read while streaming is read again once updated, and counted then."""
    db = database(data_dir, ("msg_1", reply(inp=0, out=0, reasoning=0, read=0, write=0)))
    import_opencode(store, [data_dir])
    put(db, "msg_1", reply(), updated=CREATED + 9000)
    db.close()
    assert import_opencode(store, [data_dir]).events_added == 1


@pytest.mark.parametrize("wal", [False, True], ids=["rollback-journal", "write-ahead-log"])
def test_a_generated_store_imports_to_the_generators_totals(store: Store, tmp_path: Path, wal: bool) -> None:
    """Paid, subscription and free providers, old files, files also in the database, garbage;
    with ``wal`` the rows are still in the write-ahead log, as while OpenCode runs."""
    expected = generate("opencode", tmp_path / "oc", 300, **({"wal": True} if wal else {}))
    assert (tmp_path / "oc" / "opencode.db-wal").exists() is wal
    import_opencode(store, [tmp_path / "oc"])
    assert same_totals(totals(store), expected)


# -- incremental, and OpenCode writing meanwhile --------------------------------------------------------


def test_an_unchanged_database_is_not_read_again(store: Store, data_dir: Path) -> None:
    """Neither the database nor its log changed: the second run opens nothing."""
    database(data_dir, ("msg_1", reply())).close()
    import_opencode(store, [data_dir])
    assert import_opencode(store, [data_dir]).files_read == 0


def test_only_rows_updated_since_the_last_run_are_read(store: Store, data_dir: Path) -> None:
    """Rows updated long before the newest seen are not read again; new ones are."""
    db = database(data_dir, ("msg_1", reply()), updated=CREATED)
    put(db, "msg_2", reply(), updated=CREATED + 3_600_000)
    import_opencode(store, [data_dir])
    put(db, "msg_3", reply(), updated=CREATED + 3_700_000)
    db.close()
    summary = import_opencode(store, [data_dir])
    assert (summary.entries, summary.duplicates, summary.events_added) == (2, 1, 1)


def test_a_write_in_progress_is_not_seen_until_committed(store: Store, data_dir: Path) -> None:
    """The import reads a consistent snapshot while OpenCode holds a write transaction."""
    db = database(data_dir, ("msg_1", reply()))
    db.execute("BEGIN IMMEDIATE")
    put(db, "msg_2", reply(), updated=CREATED + 1000)
    assert import_opencode(store, [data_dir]).events_added == 1
    db.execute("COMMIT")
    db.close()
    assert import_opencode(store, [data_dir]).events_added == 1


def test_a_replaced_database_is_read_whole(store: Store, data_dir: Path, tmp_path: Path) -> None:
    """Another file at the same path (OpenCode reinstalled, a restore): every row is looked at."""
    database(data_dir, ("msg_1", reply())).close()
    import_opencode(store, [data_dir])
    restored = tmp_path / "restored"
    database(restored, ("msg_1", reply()), ("msg_2", reply()), updated=CREATED - 10**9).close()
    for suffix in ("-wal", "-shm"):
        Path(f"{data_dir / 'opencode.db'}{suffix}").unlink(missing_ok=True)
    (restored / "opencode.db").replace(data_dir / "opencode.db")
    summary = import_opencode(store, [data_dir])
    assert (summary.entries, summary.events_added) == (2, 1)


@pytest.mark.parametrize("wal", [False, True], ids=["no-log", "with-log"])
def test_a_database_that_cannot_be_opened_read_only_is_read_another_way(
    store: Store, data_dir: Path, monkeypatch: pytest.MonkeyPatch, wal: bool
) -> None:
    """mode=ro refused (a folder it may not write in): immutable without a log, else a copy."""
    db = database(data_dir, ("msg_1", reply()), wal=wal)
    if wal:
        db.execute("PRAGMA wal_autocheckpoint = 0")
        put(db, "msg_2", reply(), updated=CREATED + 1)
        assert Path(f"{data_dir / 'opencode.db'}-wal").stat().st_size > 0
    real = opencode_module._connect
    opened: list[str] = []

    def refuse_read_only(uri: str) -> sqlite3.Connection:
        opened.append(uri)
        if uri.endswith("?mode=ro"):
            raise sqlite3.OperationalError("unable to open database file")
        return real(uri)

    monkeypatch.setattr(opencode_module, "_connect", refuse_read_only)
    summary = import_opencode(store, [data_dir])
    db.close()
    assert summary.events_added == (2 if wal else 1)
    assert ("immutable=1" in opened[-1]) is not wal


# -- where things are --------------------------------------------------------------------------


def test_channel_databases_are_found_and_other_files_are_not(store: Store, data_dir: Path) -> None:
    """opencode-<channel>.db is read; other databases, and JSON files outside storage/, are not."""
    database(data_dir, ("msg_1", reply())).close()
    (data_dir / "opencode.db").rename(data_dir / "opencode-dev.db")
    (data_dir / "other.db").write_bytes(b"")
    (data_dir / "auth.json").write_bytes(b"{}")
    (data_dir / "storage" / "message").mkdir(parents=True)
    stray = data_dir / "snapshot" / "p" / "message" / "s" / "msg_9.json"  # not where messages are
    stray.parent.mkdir(parents=True)
    stray.write_bytes(orjson.dumps({"id": "msg_9", **reply()}))
    summary = import_opencode(store, [data_dir])
    assert (summary.files_seen, summary.events_added) == (1, 1)


def test_default_paths(tmp_path: Path) -> None:
    """OPENCODE_DATA_DIR, else $XDG_DATA_HOME/opencode, else ~/.local/share/opencode; and the
    database OPENCODE_DB names when it is elsewhere."""
    (tmp_path / "oc").mkdir()
    assert default_opencode_paths({"OPENCODE_DATA_DIR": str(tmp_path / "oc")}) == [tmp_path / "oc"]
    (tmp_path / "xdg" / "opencode").mkdir(parents=True)
    assert default_opencode_paths({"XDG_DATA_HOME": str(tmp_path / "xdg")}) == [tmp_path / "xdg" / "opencode"]
    assert default_opencode_paths({"HOME": str(tmp_path)}) == []
    elsewhere = tmp_path / "dbs" / "work.db"
    elsewhere.parent.mkdir()
    elsewhere.write_bytes(b"")
    env = {"OPENCODE_DATA_DIR": str(tmp_path / "oc"), "OPENCODE_DB": str(elsewhere)}
    assert default_opencode_paths(env) == [tmp_path / "oc", elsewhere]
    (tmp_path / "oc" / "other.db").write_bytes(b"")
    env["OPENCODE_DB"] = "other.db"  # a name in the data folder, which is searched anyway
    assert default_opencode_paths(env) == [tmp_path / "oc"]


# -- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        "not json{",
        "[]",
        orjson.dumps(reply(inp=-1)).decode(),
        orjson.dumps(reply(cost=2e9)).decode(),
        orjson.dumps(reply(cost="free")).decode(),
        orjson.dumps(reply(time={"created": "now"})).decode(),
        orjson.dumps(reply(tokens={"input": 5, "cache": [1]})).decode(),
    ],
    ids=["text", "array", "negative", "huge-cost", "text-cost", "text-time", "cache-list"],
)
def test_malformed_rows_are_skipped_and_counted(store: Store, data_dir: Path, bad: str) -> None:
    """A bad row is malformed; the good row beside it still counts."""
    database(data_dir, ("msg_0", bad), ("msg_1", reply())).close()
    summary = import_opencode(store, [data_dir])
    assert (summary.malformed, summary.events_added) == (1, 1)


def test_a_row_that_is_not_utf8_is_malformed_alone(store: Store, data_dir: Path) -> None:
    """Text that is not UTF-8 in one row spoils that row, not the read of the database."""
    db = database(data_dir, ("msg_1", reply()))
    db.execute(
        "INSERT INTO message VALUES ('msg_0', 'ses_\xff', 0, 0, CAST(? AS TEXT))", (b'{"role":"\xff"}',)
    )
    db.close()
    summary = import_opencode(store, [data_dir])
    assert (summary.malformed, summary.events_added) == (1, 1)


def test_a_file_that_is_not_a_database_is_malformed_once(
    store: Store, data_dir: Path, tmp_path: Path
) -> None:
    """Garbage named opencode.db: one malformed record, and not read again until it changes."""
    database(tmp_path / "good", ("msg_1", reply())).close()
    data_dir.mkdir()
    (data_dir / "opencode.db").write_bytes(b"this is not sqlite" * 100)
    assert import_opencode(store, [data_dir, tmp_path / "good"]).malformed == 1
    assert import_opencode(store, [data_dir, tmp_path / "good"]).malformed == 0


def test_a_database_without_a_message_table_holds_nothing(store: Store, data_dir: Path) -> None:
    """Another program's database named like OpenCode's is read, and holds no calls."""
    data_dir.mkdir()
    sqlite3.connect(data_dir / "opencode.db").execute("CREATE TABLE t (x)").connection.close()
    summary = import_opencode(store, [data_dir])
    assert (summary.events_added, summary.malformed) == (0, 0)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(garbage=st.lists(GARBAGE, min_size=1, max_size=4))
def test_garbage_rows_never_raise_nor_change_the_other_rows(tmp_path: Path, garbage: list[bytes]) -> None:
    """Any data in any row: no exception, and the good rows import the same."""
    good = [("msg_1", reply()), ("msg_2", reply(inp=7))]
    with tempfile.TemporaryDirectory(dir=tmp_path) as tmp:
        base = Path(tmp)
        database(base / "clean", *good).close()
        rows = [(f"msg_g{n}", raw.decode("utf-8", "replace")) for n, raw in enumerate(garbage)]
        database(base / "dirty", *good, *rows).close()
        imports_the_same(import_opencode, base / "clean", base / "dirty")


STRANGE = [
    ("id",),
    ("sessionID",),
    ("role",),
    ("time",),
    ("time", "created"),
    ("cost",),
    ("path",),
    ("modelID",),
    ("tokens",),
    ("tokens", "input"),
    ("tokens", "cache"),
    ("tokens", "cache", "read"),
    ("tokens", "total"),
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.lists(st.tuples(st.sampled_from(STRANGE), JSON_ANY), max_size=4))
def test_any_json_in_any_field_is_never_fatal(
    tmp_path: Path, changes: list[tuple[tuple[str, ...], Any]]
) -> None:
    """Lists, objects, huge or fractional numbers where counts, names and times belong: the
    record is imported or counted as malformed, never a crash; a second run adds nothing."""
    with tempfile.TemporaryDirectory(dir=tmp_path) as tmp:
        folder = Path(tmp) / "storage" / "message" / "ses_1"
        folder.mkdir(parents=True)
        (folder / "msg_1.json").write_bytes(
            strange({"id": "msg_1", "sessionID": "ses_1", **reply()}, changes)
        )
        never_fatal(import_opencode, Path(tmp))
