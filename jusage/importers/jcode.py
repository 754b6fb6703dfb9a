"""Import jcode's usage log (``~/.jcode/usage/events.jsonl``) into the ledger, exactly once.

jcode writes jusage's own event format, so a line is validated and copied. Its identity is
derived from its content: the line's own ``id`` when it has one, else a digest of the line's
canonical form (sorted keys). The copy gets the id ``jc-<16 hex digits>`` (and a
``corrects`` that points at a jcode id is mapped the same way); ``source`` defaults to
``jcode``. Reading is incremental, like the other importers.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

from jusage.events import Event, EventError
from jusage.importers.common import (
    Found,
    ImportPathError,
    ImportSummary,
    Progress,
    Tally,
    add_new,
    gc_paused,
    read_new_lines,
    stat_paths,
)
from jusage.importers.index import ID_PREFIXES, MAX_COUNT, ImportIndex, counts_of, key_of
from jusage.reading import too_deep
from jusage.store import Store

__all__ = ["ID_PREFIX", "SOURCE", "default_jcode_paths", "import_jcode"]

SOURCE = "jcode"
ID_PREFIX = ID_PREFIXES[SOURCE]


def default_jcode_paths(env: Mapping[str, str] | None = None, *, found_only: bool = True) -> list[Path]:
    """``~/.jcode/usage/events.jsonl`` when it exists (or ``found_only`` is false)."""
    env = os.environ if env is None else env
    home = Path(env.get("HOME") or Path.home())
    path = home / ".jcode" / "usage" / "events.jsonl"
    return [path] if path.is_file() or not found_only else []


def _jcode_id(value: dict[str, Any], line: bytes) -> int:
    own = value.get("id")
    if isinstance(own, str) and own:
        return key_of("jcode-id", own)
    return key_of("jcode-line", orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode())


def import_jcode(
    store: Store,
    paths: Sequence[Path],
    *,
    progress: Progress | None = None,
    lock_timeout: float = -1,
) -> ImportSummary:
    """Import what is new in the jcode usage logs ``paths`` (files) into ``store``.

    Raises :class:`~jusage.importers.common.ImportPathError` for a missing path, and for
    the ledger itself (whose events would then count twice).
    """
    files: list[tuple[str, os.stat_result]] = []
    try:
        ledger = store.path.stat()
    except FileNotFoundError:
        ledger = None
    for path, st in stat_paths(paths):
        if path.is_dir():
            path = path / "events.jsonl"
            if not path.is_file():
                continue
            st = path.stat()
        if ledger is not None and (st.st_dev, st.st_ino) == (ledger.st_dev, ledger.st_ino):
            # Its events are the ledger's own: importing them would count each one twice.
            raise ImportPathError(f"{path}: this is the ledger itself; there is nothing to import")
        files.append((str(path.resolve()), st))
    tally = Tally()
    tally.files_seen = len(files)
    with gc_paused(), ImportIndex(store.path, timeout=lock_timeout) as index:
        marks = index.marks(SOURCE, [path for path, _ in files])
        total = sum(st.st_size for _, st in files)
        done = 0
        for path_str, st in files:
            out: list[bytes] = []
            last = None
            for lines, mark in read_new_lines(path_str, st, marks.get(path_str), tally):
                found: list[Found] = []
                _parse(lines, tally, found)
                add_new(index, SOURCE, found, tally, out)
                last = mark
            if last is None:
                continue
            store.append_lines(out)
            index.set_mark(SOURCE, path_str, last)
            done += st.st_size
            if progress:
                progress(min(done, total), total)
        index.commit()
    return tally.summary(SOURCE)


def _parse(lines: list[bytes], tally: Tally, found: list[Found]) -> None:
    """Read a batch of jcode lines; each valid event goes to ``found``."""
    for line in lines:
        if not line.strip():
            continue
        try:
            if too_deep(line):  # nor could its id be derived from it (orjson writes 254 levels)
                raise EventError("nested too deep")
            value = orjson.loads(line)
            event = Event.from_dict(value)
        except (orjson.JSONDecodeError, EventError, TypeError):
            tally.malformed += 1
            continue
        if event.tokens >= MAX_COUNT:  # each count is below it (the schema), their sum may not be
            tally.malformed += 1
            continue
        counts = counts_of(event)
        tally.entries += 1
        key = _jcode_id(value, line)
        changes: dict[str, Any] = {"id": f"{ID_PREFIX}{key:016x}", "source": event.source or SOURCE}
        if event.corrects:
            changes["corrects"] = f"{ID_PREFIX}{key_of('jcode-id', event.corrects):016x}"
        found.append((key, counts, event.replace(**changes).to_json(), bool(event.corrects)))
