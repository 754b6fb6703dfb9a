"""Import OpenCode's message store (``~/.local/share/opencode``) into the ledger, exactly once.

OpenCode (``packages/opencode/src/session/session.sql.ts`` and ``message-v2.ts``) keeps its
sessions in SQLite, ``opencode.db`` (``opencode-<channel>.db`` for other release channels),
in WAL mode. Table ``message`` has ``id``, ``session_id``, ``time_created``,
``time_updated`` (milliseconds, set again on every update) and ``data``, the message as JSON
without its id and session. An assistant message's ``data``::

    {"role": "assistant", "modelID", "providerID", "agent", "time": {"created": <ms>},
     "path": {"cwd", "root"}, "cost": <USD>,
     "tokens": {"total"?, "input", "output", "reasoning", "cache": {"read", "write"}}}

Older versions wrote each message as a JSON file, ``storage/message/<session>/<id>.json``
(``storage/session/message/...`` before that), with ``id`` and ``sessionID`` inside.

Rules:

* An assistant message with tokens is one call, identified by its id (OpenCode kept the ids
  when it moved the JSON files into the database): the database and the old files count a
  message once. OpenCode updates a message while it streams; a copy with more tokens than
  the one recorded adds a correcting event, and a message with no tokens yet waits.
* ``tokens.input`` leaves the cache out (OpenCode subtracts cache reads and writes from the
  provider's input), so ``prompt`` = input + cache.read + cache.write, ``cached`` =
  cache.read, ``cache_write`` = cache.write. Current versions also subtract the reasoning
  from ``output``, so ``completion`` = output + reasoning; when ``total`` shows that
  ``output`` already held it (total = input + cache + output), ``completion`` = output.
* ``cost`` is OpenCode's own figure for the call (its price table, or what the provider
  billed); providers used through a subscription report 0, which is no price, so only a
  positive cost is kept in ``cost_usd``.
* ``provider`` = providerID, ``model`` = modelID, ``project`` = path.cwd, ``agent`` = agent.

The database is opened read-only (``mode=ro``) and read in one transaction, a consistent
snapshot however OpenCode writes meanwhile. Where that cannot be opened (a folder it may not
write its shared-memory file in), it is read as an immutable file when it has no
write-ahead log to miss, else from a private copy of the database and its log. A run reads
only the rows updated since the last one (five minutes of overlap, against writes committed
late), and none when neither the database nor its log changed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

from jusage.importers.common import ImportSummary, Progress, Tally, by_age, stamp_of
from jusage.importers.index import FileMark, key_of
from jusage.importers.records import (
    Bad,
    Calls,
    Usage,
    count,
    data_home,
    env_folder,
    existing,
    find_files,
    json_reader,
    millis,
    run_import,
    text,
    whole_mark,
)
from jusage.reading import too_deep
from jusage.store import Store

__all__ = ["SOURCE", "default_opencode_paths", "import_opencode", "opencode_files"]

SOURCE = "opencode"

OVERLAP_MS = 5 * 60 * 1000
"""Rows updated this long before the newest one seen are read again on the next run."""


def default_opencode_paths(env: Mapping[str, str] | None = None, *, found_only: bool = True) -> list[Path]:
    """OpenCode's data folder, ``$OPENCODE_DATA_DIR`` (ccusage's name for it), else
    ``$XDG_DATA_HOME/opencode`` (where OpenCode puts it), else ``~/.local/share/opencode``,
    when it exists; and the database ``$OPENCODE_DB`` names (OpenCode's own override, a path
    or a name in the data folder) when it is a file elsewhere. With ``found_only`` false: both,
    whether they exist or not."""
    env = os.environ if env is None else env
    folder = env_folder(env, "OPENCODE_DATA_DIR", data_home(env) / "opencode")
    out: list[Path] = existing([folder], found_only)
    named = env.get("OPENCODE_DB", "").strip()
    database = (folder / Path(named).expanduser()) if named and named != ":memory:" else None
    if not found_only:
        return out if database is None else [*out, database]
    if database is not None and database.is_file() and not any(p in database.resolve().parents for p in out):
        out.append(database.resolve())
    return out


def _roots(folder: Path) -> list[Path]:
    """Where old message files are in a data folder (its snapshots' many files are not
    walked); any other folder is searched whole."""
    storage = folder / "storage"
    return [storage / "message", storage / "session" / "message"] if storage.is_dir() else [folder]


def opencode_files(paths: Sequence[Path]) -> list[tuple[str, os.stat_result]]:
    """The databases (``opencode*.db`` in a folder given) and old message files
    (``.../message/<session>/*.json``) of ``paths`` (OpenCode's data folder, any folder, or
    files), oldest first, each once."""
    found = find_files(paths, _roots, lambda path: f"{os.sep}message{os.sep}" in path, (".json",))
    for folder in [path for path in paths if Path(path).expanduser().is_dir()]:
        for db in Path(folder).expanduser().glob("opencode*.db"):
            with contextlib.suppress(OSError):
                found.append((str(db.resolve()), db.stat()))
    unique = {(st.st_dev, st.st_ino): (path, st) for path, st in reversed(found)}
    return by_age(unique.values())


def import_opencode(
    store: Store,
    paths: Sequence[Path],
    *,
    progress: Progress | None = None,
    lock_timeout: float = -1,
) -> ImportSummary:
    """Import what is new in OpenCode's databases and message files below ``paths``.

    Incremental, exactly once across runs, copies and concurrent runs (with each other and
    with OpenCode writing), malformed messages skipped and counted. Raises
    :class:`~jusage.importers.common.ImportPathError` for a path that does not exist.
    """
    jobs = [
        (path, st, _read_json if path.endswith(".json") else _read_db) for path, st in opencode_files(paths)
    ]
    return run_import(store, SOURCE, jobs, progress=progress, lock_timeout=lock_timeout)


def _message(value: Any, ident: Any, session: Any, calls: Calls) -> None:
    """One stored message: a call when it is an assistant message with tokens."""
    if type(value) is not dict:
        calls.malformed()
        return
    tokens = value.get("tokens")
    if value.get("role") != "assistant" or tokens is None:
        return
    try:
        if type(tokens) is not dict or not text(ident):
            raise Bad("a message without tokens or id")
        cache = tokens.get("cache")
        if cache is not None and type(cache) is not dict:
            raise Bad("tokens.cache is not an object")
        inp, out, reasoning = (count(tokens.get(name)) for name in ("input", "output", "reasoning"))
        read, write = (count(cache.get(name)) for name in ("read", "write")) if cache else (0, 0)
        completion = out + reasoning
        if reasoning and tokens.get("total") == inp + read + write + out:
            completion = out  # written before OpenCode took the reasoning out of ``output``
        when, where = value.get("time"), value.get("path")
        calls.add(
            key_of(SOURCE, text(ident)),
            millis(when.get("created") if type(when) is dict else None),
            inp + read + write,
            completion,
            cached=read,
            cache_write=write,
            reasoning=reasoning,
            cost_usd=value.get("cost"),
            model=text(value.get("modelID")),
            session=text(session),
            project=(text(where.get("cwd")) or text(where.get("root"))) if type(where) is dict else "",
            provider=text(value.get("providerID")),
            agent=text(value.get("agent")) or text(value.get("mode")),
        )
    except Bad:
        calls.malformed()


def _parse_json(path: str, doc: Any, calls: Calls) -> None:
    ident = doc.get("id") if type(doc) is dict else None
    session = doc.get("sessionID") if type(doc) is dict else None
    _message(doc, ident or Path(path).stem, session, calls)


_read_json = json_reader(_parse_json)


def _wal_stamp(path: str) -> list[int] | None:
    """``[size, mtime_ns]`` of the database's write-ahead log; ``None`` without one, or with an
    empty one (reading a database in WAL mode makes an empty log when there is none)."""
    try:
        st = Path(f"{path}-wal").stat()
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns] if st.st_size else None


def _read_db(
    path: str, st: os.stat_result, mark: FileMark | None, tally: Tally
) -> tuple[list[Usage], FileMark] | None:
    """Read the messages of an OpenCode database updated since its mark (all of them for a
    database not seen before, or replaced)."""
    wal = _wal_stamp(path)
    # Another file at the path, or one that shrank (vacuumed, restored): every row is looked at.
    same_file = (
        mark is not None and (mark.dev, mark.ino) == (st.st_dev, st.st_ino) and st.st_size >= mark.size
    )
    if same_file and mark is not None and mark.stamp() == stamp_of(st) and mark.context.get("wal") == wal:
        return None
    since = mark.context.get("updated") if same_file and mark is not None else None
    tally.files_read += 1
    calls = Calls(tally)
    try:
        newest = _query(path, since if type(since) is int else None, calls)
    except (sqlite3.OperationalError, OSError):
        return None  # busy, or cannot be opened or copied now: the next run tries again
    except sqlite3.DatabaseError:
        calls.malformed()  # not a database, or a damaged one; read again once it changes
        newest = None
    context: dict[str, Any] = {"wal": wal}
    if newest is not None or type(since) is int:
        context["updated"] = max(n for n in (newest, since) if type(n) is int)
    return calls.found, dataclasses.replace(whole_mark(st), context=context)


def _query(path: str, since: int | None, calls: Calls) -> int | None:
    """Read the message rows (those updated from ``since`` minus the overlap on, when the
    table has the column) into ``calls``; the newest ``time_updated`` read."""
    with _connected(path) as db:
        db.text_factory = bytes  # text that is not UTF-8 is one malformed row, not a failed read
        db.execute("BEGIN")  # one snapshot for the whole read
        columns = {bytes(row[1]).decode(errors="replace") for row in db.execute("PRAGMA table_info(message)")}
        if not {"id", "session_id", "data"} <= columns:
            return None  # another program's database, or one from before the table
        if "time_updated" in columns:
            query = "SELECT id, session_id, data, time_updated FROM message"
            if since is None:
                rows = db.execute(query)
            else:
                rows = db.execute(f"{query} WHERE time_updated >= ?", (since - OVERLAP_MS,))
        else:
            rows = db.execute("SELECT id, session_id, data, NULL FROM message")
        newest: int | None = None
        for ident, session, data, updated in rows:
            if type(updated) is int and (newest is None or updated > newest):
                newest = updated
            try:
                value = orjson.loads(data) if isinstance(data, bytes) and not too_deep(data) else None
            except orjson.JSONDecodeError:
                value = None
            _message(value, _decoded(ident), _decoded(session), calls)
        db.execute("COMMIT")
        return newest


def _decoded(value: Any) -> str:
    """A text column read as bytes, as text (``""`` for a column of another type)."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else ""


@contextlib.contextmanager
def _connected(path: str) -> Iterator[sqlite3.Connection]:
    """A read-only connection to the database at ``path`` (see the module docstring)."""
    uri = Path(path).as_uri()
    try:
        db = _connect(f"{uri}?mode=ro")
    except sqlite3.OperationalError:
        db = None
    if db is not None:
        with contextlib.closing(db):
            yield db
        return
    if _wal_stamp(path) is None:
        # Nothing in a log to miss: the file alone is the database, read without locks.
        with contextlib.closing(_connect(f"{uri}?mode=ro&immutable=1")) as db:
            yield db
        return
    with tempfile.TemporaryDirectory(prefix="jusage-opencode-") as tmp:
        copy = Path(tmp) / "opencode.db"
        shutil.copyfile(path, copy)
        shutil.copyfile(f"{path}-wal", f"{copy}-wal")
        with contextlib.closing(_connect(copy.as_uri())) as db:
            yield db


def _connect(uri: str) -> sqlite3.Connection:
    """Open ``uri`` and check that it can be read (opening alone reads nothing)."""
    db = sqlite3.connect(uri, uri=True, timeout=5, isolation_level=None)
    try:
        db.execute("PRAGMA query_only = 1")
        db.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
    except sqlite3.Error:
        db.close()
        raise
    return db
