"""Drop folders: agents that cannot write the ledger drop JSON files, and each lands once.

Agents in containers, sandboxes or on remote runners often cannot take a lock on the
user's ledger, but can write a file into a shared folder. :func:`ingest_folder` appends
the events of each such file to the ledger exactly once and then removes it;
:func:`watch_folder` keeps doing so as files arrive. What a file may hold is described in
:mod:`jusage.drops`.

The drop folder ``DIR`` on disk:

``DIR/*.json``, ``DIR/*.jsonl``, ``DIR/*.ndjson``
    Files waiting. Other names (hidden files, a writer's ``x.json.tmp``) are left alone:
    a writer should write under another name and rename the file into place.
``DIR/.claimed/<owner>.lock``, ``DIR/.claimed/<owner>/``
    One pair per running ingester (``<owner>`` is ``<host>-<pid>-<random>``). The ingester
    holds an exclusive ``flock`` on its lock file while it lives, and takes a file by
    renaming it into its folder (``<n>-<name>``): a rename succeeds for one ingester only.
``DIR/done/``
    With ``keep``: the files whose events are in the ledger, under their own names.
``DIR/rejected/``
    Files that can never be read as events, each with ``<name>.reason`` beside it.

A pass (1) takes over the files claimed by ingesters that died (their lock can be taken),
(2) claims the files modified at least ``min_age`` seconds ago (a younger one may still be
written), (3) reads each claimed file: one whose JSON is not complete yet goes back to
``DIR`` (and to ``rejected/`` once it has not changed for ``abandon_after`` seconds), a bad
one to ``rejected/``; (4) holding the ledger's import index (:mod:`jusage.importers.index`,
the one the importers hold), appends the events whose ids the ledger does not hold yet,
``fsync``s the ledger and then commits the index; (5) only then removes the files (or moves
them to ``done/``). When an import holds the index for more than ``lock_timeout`` seconds,
(4) and (5) wait: the files go back to ``DIR`` for a later pass, and the summary says so.

Why each event lands exactly once, whatever is killed when:

* A file is in one place at a time (``DIR``, one ingester's folder, ``done/``,
  ``rejected/``) and moves by rename, so two ingesters never hold the same file, and a
  file left in a dead ingester's folder is taken over by the next pass of any other.
* An event's id is derived from the file's content (:mod:`jusage.drops`), and the ledger's
  own ids decide what is appended: one run at a time holds the import index, which on entry
  takes in the ``dr-`` ids of the ledger's new lines (all of them, when it does not match
  the ledger), and the ingester skips every event whose id is there. So a file handled
  twice (killed after the append and before the removal, or a copy) adds nothing the second
  time, whether the index was committed or not; a killed append leaves at most a torn line,
  which no reader counts and whose event is appended again.
* The index is taken before the writers' lock, as imports take it, so an ingester, an
  import and a writer never wait on each other in a circle.
* Nothing is removed before the ledger is ``fsync``-ed, so no event is lost with its file.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from stat import S_ISDIR, S_ISREG
from typing import TYPE_CHECKING

from jusage.drops import MAX_FILE_BYTES, SOURCE, DropIncomplete, DropRejected, parse_drop
from jusage.events import Event

if TYPE_CHECKING:
    import threading

    from jusage.store import Store

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "ABANDON_AFTER",
    "LOCK_TIMEOUT",
    "MIN_AGE",
    "SUFFIXES",
    "SWEEP_EVERY",
    "IngestFolderError",
    "IngestSummary",
    "Ingester",
    "ingest_folder",
    "watch_folder",
]

SUFFIXES = (".json", ".jsonl", ".ndjson")
"""Names a drop file may end in; others are left alone."""

MIN_AGE = 1.0
"""Seconds since its last change before a file is taken (a younger one may still grow)."""

ABANDON_AFTER = 600.0
"""Seconds a file whose JSON is not complete may stay unchanged before it is rejected (its
writer is taken to have died)."""

LOCK_TIMEOUT = 10.0
"""Seconds a pass waits for the ledger's import index while an import holds it, before it
leaves its files for a later pass."""

SWEEP_EVERY = 30.0
"""Seconds between passes that :func:`watch_folder` makes without being notified: they take
over the files of ingesters that died, and files whose notification was missed."""

CLAIMED, DONE, REJECTED = ".claimed", "done", "rejected"
_BATCH = 256  # files appended in one locked write
_TICK_MS = 500  # how often the watcher looks at its own timers (never at the folder)
_DEBOUNCE_MS = 200
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NO_LINKS = {errno.EPERM, errno.EXDEV, errno.EMLINK, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP}


class IngestFolderError(ValueError):
    """The drop folder cannot be used (missing, not a folder, or holding the ledger itself)."""


@dataclass(frozen=True, slots=True)
class IngestSummary:
    """What one or more passes over a drop folder did, counted in files and events.

    ``ingested`` files had at least one event appended; ``duplicates`` had all their events
    in the ledger already (copies, or a pass killed before it removed them); ``pending``
    files were left for a later pass (too new, JSON not complete yet, or ``busy``);
    ``busy`` of them were ready but an import held the ledger's index for longer than the
    ingester waits; ``recovered`` files were taken over from ingesters that died (and are
    counted again by what became of them). ``events_known`` counts events skipped because
    the ledger held their ids.
    """

    ingested: int = 0
    duplicates: int = 0
    rejected: int = 0
    pending: int = 0
    recovered: int = 0
    events_added: int = 0
    events_known: int = 0
    busy: int = 0

    def __add__(self, later: IngestSummary) -> IngestSummary:
        """The sum of two passes; ``pending`` and ``busy`` are the later pass's (the same
        files wait on)."""
        sums = {f.name: getattr(self, f.name) + getattr(later, f.name) for f in fields(self)}
        sums["pending"], sums["busy"] = later.pending, later.busy
        return IngestSummary(**sums)

    @property
    def settled(self) -> int:
        """Files this pass finished with: ingested, duplicate or rejected."""
        return self.ingested + self.duplicates + self.rejected

    def describe(self) -> str:
        """A one-line human summary."""
        from jusage.render.text import counted

        text = (
            f"{counted(self.ingested, 'file')} ingested ({counted(self.events_added, 'event')} added), "
            f"{self.duplicates} already in the ledger, {self.rejected} rejected, "
            f"{self.pending} left for a later pass"
        )
        if self.busy:
            text += f" ({self.busy} of them because an import into the log is running)"
        if self.recovered:
            text += f"; {self.recovered} taken over from a stopped ingester"
        return text


def ingest_folder(
    store: Store,
    folder: str | os.PathLike[str],
    *,
    keep: bool = False,
    min_age: float = MIN_AGE,
    abandon_after: float = ABANDON_AFTER,
    lock_timeout: float = LOCK_TIMEOUT,
    now: float | None = None,
) -> IngestSummary:
    """Append the events of the files in the drop folder to ``store``, each exactly once.

    One pass: see the module notes. ``keep`` moves finished files to ``folder/done/``
    instead of removing them. ``lock_timeout`` is how many seconds to wait for an import
    holding the ledger's index (``-1``: for ever). ``now`` (unix seconds, default: the
    clock) is what file ages are measured against. Raises :class:`IngestFolderError` for an
    unusable folder and ``OSError`` when the ledger cannot be written (the claimed files
    then wait in ``folder/.claimed/`` for the next pass).
    """
    with Ingester(
        store, folder, keep=keep, min_age=min_age, abandon_after=abandon_after, lock_timeout=lock_timeout
    ) as ingester:
        return ingester.run_pass(now)


def watch_folder(
    store: Store,
    folder: str | os.PathLike[str],
    *,
    keep: bool = False,
    min_age: float = MIN_AGE,
    abandon_after: float = ABANDON_AFTER,
    lock_timeout: float = LOCK_TIMEOUT,
    sweep_every: float = SWEEP_EVERY,
    stop: threading.Event | None = None,
    on_pass: Callable[[IngestSummary], None] | None = None,
) -> IngestSummary:
    """Ingest the drop folder's files as they arrive, until ``stop`` is set.

    New files are found through the operating system's file notifications (``watchfiles``);
    a pass also runs when a file left for later becomes due (files an import kept waiting
    are due at once), and every ``sweep_every`` seconds. ``on_pass`` is called with each
    pass's summary; the sum of all is returned.
    A ``KeyboardInterrupt`` while waiting ends the watch like ``stop``.
    """
    import watchfiles  # only here: its import costs the other commands' start-up

    def wanted(change: watchfiles.Change, path: str) -> bool:
        return change != watchfiles.Change.deleted and _is_candidate(Path(path).name)

    total = IngestSummary()
    with Ingester(
        store, folder, keep=keep, min_age=min_age, abandon_after=abandon_after, lock_timeout=lock_timeout
    ) as ingester:
        last_pass = -float("inf")
        # The first pass runs once the watch is set up (its first tick), so no file that
        # arrives in between is missed.
        for changes in watchfiles.watch(
            ingester.folder,
            watch_filter=wanted,
            debounce=_DEBOUNCE_MS,
            stop_event=stop,
            rust_timeout=_TICK_MS,
            yield_on_timeout=True,
            recursive=False,
            raise_interrupt=False,
        ):
            if stop is not None and stop.is_set():
                break
            due = ingester.next_due
            is_due = due is not None and time.time() >= due
            if changes or is_due or time.monotonic() - last_pass >= sweep_every:
                last_pass = time.monotonic()
                summary = ingester.run_pass()
                total = total + summary
                if on_pass is not None:
                    on_pass(summary)
    return total


def _is_candidate(name: str) -> bool:
    return not name.startswith(".") and name.endswith(SUFFIXES)


_CLAIM_NAME = re.compile(r"^[0-9]+-")


def _original(claimed: str) -> str:
    """The name a claimed file had in the drop folder (its claim adds ``<n>-``)."""
    return _CLAIM_NAME.sub("", claimed, count=1) or claimed


class _Unreadable(Exception):
    """A claimed file that cannot be read as a drop file at all (the message says why)."""


class Ingester:
    """One ingester of a drop folder: its claim on files, and the passes that ingest them.

    Use as a context manager: entering registers the claim (``folder/.claimed/<owner>``),
    leaving withdraws it; files it still holds then wait there for any other ingester's
    next pass. :attr:`next_due` is when a file that a pass left for later can be taken
    (unix seconds), or ``None``. ``lock_timeout``: see :func:`ingest_folder`.
    """

    def __init__(
        self,
        store: Store,
        folder: str | os.PathLike[str],
        *,
        keep: bool = False,
        min_age: float = MIN_AGE,
        abandon_after: float = ABANDON_AFTER,
        lock_timeout: float = LOCK_TIMEOUT,
    ) -> None:
        self.store = store
        self.folder = Path(folder).expanduser()
        self.keep = keep
        self.min_age = min_age
        self.abandon_after = abandon_after
        self.lock_timeout = lock_timeout
        self.next_due: float | None = None
        self._claims = self.folder / CLAIMED
        self._owner = ""
        self._own = self._claims
        self._lock_fd = -1
        self._numbers = itertools.count()
        # Files put back unfinished, by name: (inode, size, mtime_ns) when put back.
        self._unfinished: dict[str, tuple[int, int, int]] = {}
        self._host = ""

    def __enter__(self) -> Ingester:
        self._check_folder()
        from jusage.hosts import host_name

        self._host = host_name()
        self._register()
        return self

    def __exit__(self, *exc: object) -> None:
        self._withdraw()

    # -- a pass ------------------------------------------------------------------------------

    def run_pass(self, now: float | None = None) -> IngestSummary:
        """Take over, claim, read, append and settle: see the module notes.

        ``now`` (unix seconds, default: the clock) is what file ages are measured against.
        """
        if self._lock_fd < 0 and fcntl is not None:
            raise RuntimeError("use Ingester as a context manager")
        tally = _Tally()
        self.next_due = None
        self._take_over_all(tally)
        moment = time.time() if now is None else now
        self._claim_ready(moment, tally)
        held = sorted(self._own.iterdir(), key=lambda path: _claim_order(path.name))
        for start in range(0, len(held), _BATCH):
            self._process(held[start : start + _BATCH], moment, tally)
        return tally.summary()

    def _due(self, when: float) -> None:
        if self.next_due is None or when < self.next_due:
            self.next_due = when

    def _claim_ready(self, now: float, tally: _Tally) -> None:
        unfinished: dict[str, tuple[int, int, int]] = {}
        try:
            ledger = self.store.path.stat()
            ledger_id = (ledger.st_dev, ledger.st_ino)
        except OSError:
            ledger_id = None
        with os.scandir(self.folder) as entries:
            for entry in entries:
                if not _is_candidate(entry.name):
                    continue
                try:
                    st = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                if not S_ISREG(st.st_mode) or (st.st_dev, st.st_ino) == ledger_id:
                    continue
                if now < st.st_mtime + self.min_age:
                    tally.pending += 1
                    self._due(st.st_mtime + self.min_age)
                    continue
                mark = (st.st_ino, st.st_size, st.st_mtime_ns)
                if self._unfinished.get(entry.name) == mark and now < st.st_mtime + self.abandon_after:
                    # Put back unfinished and unchanged since: reading it again tells nothing
                    # (and a watch would be woken by its own put-back for ever).
                    unfinished[entry.name] = mark
                    tally.pending += 1
                    self._due(st.st_mtime + self.abandon_after)
                    continue
                with contextlib.suppress(FileNotFoundError):  # another ingester took it first
                    Path(entry.path).rename(self._own / self._claim_name(entry.name))
        self._unfinished = unfinished  # forget the files that changed or went

    def _claim_name(self, name: str) -> str:
        if len(name) > 200:  # room for the number within the file system's 255 bytes
            name = name[:100] + name[-100:]
        return f"{next(self._numbers):06d}-{name}"

    def _process(self, paths: list[Path], now: float, tally: _Tally) -> None:
        """Read the claimed files, settle the bad and the unfinished, ingest the rest."""
        ready: list[tuple[Path, str, list[Event]]] = []
        for path in paths:
            name = _original(path.name)
            try:
                data, st = _read(path)
            except FileNotFoundError:
                continue
            except _Unreadable as exc:
                self._reject(path, name, str(exc))
                tally.rejected += 1
                continue
            try:
                events = parse_drop(data, host=self._host)
            except DropIncomplete as exc:
                if now - st.st_mtime >= self.abandon_after:
                    self._reject(path, name, f"{exc}, and unchanged for {now - st.st_mtime:.0f} s")
                    tally.rejected += 1
                else:
                    back = _move_unique(path, self.folder, name)
                    self._unfinished[back.name] = (st.st_ino, st.st_size, st.st_mtime_ns)
                    tally.pending += 1
                    self._due(st.st_mtime + self.abandon_after)
                continue
            except DropRejected as exc:
                self._reject(path, name, str(exc))
                tally.rejected += 1
                continue
            ready.append((path, name, events))
        if ready:
            # After one wait for a long import, the pass's later batches wait no more.
            if tally.busy or not self._append(ready, tally):
                self._put_back(ready, tally)
                return
            for path, name, _events in ready:
                if self.keep:
                    _move_unique(path, self.folder / DONE, name)
                else:
                    with contextlib.suppress(FileNotFoundError):
                        path.unlink()

    def _append(self, ready: list[tuple[Path, str, list[Event]]], tally: _Tally) -> bool:
        """Append the events the ledger does not hold, durably, holding its import index;
        False (nothing done) when an import held the index for over :attr:`lock_timeout`."""
        from jusage.importers.index import ImportBusyError, ImportIndex, counts_of

        new_ledger = not self.store.path.exists()
        with contextlib.ExitStack() as held:  # so that only the wait for the index is caught
            try:
                index = held.enter_context(ImportIndex(self.store.path, timeout=self.lock_timeout))
            except ImportBusyError:
                return False
            keyed = [[(_key(event), event) for event in events] for _path, _name, events in ready]
            known = set(index.known(SOURCE, {key for pairs in keyed for key, _event in pairs}))
            lines: list[bytes] = []
            for pairs in keyed:
                added = 0
                for key, event in pairs:
                    if key in known:
                        tally.events_known += 1
                        continue
                    known.add(key)  # a copy later in this batch is a duplicate too
                    lines.append(event.to_json())
                    index.put(SOURCE, key, counts_of(event))  # written only by the commit below
                    added += 1
                tally.events_added += added
                if added:
                    tally.ingested += 1
                else:
                    tally.duplicates += 1
            if lines:
                self.store.append_lines(lines)
                _fsync(self.store.path, with_folder=new_ledger)
                # Only now: an index ahead of the ledger would take a lost event for ingested.
                index.commit()
        return True

    def _put_back(self, ready: list[tuple[Path, str, list[Event]]], tally: _Tally) -> None:
        """Return files to the folder for a later pass, due at once: an import held the index."""
        for path, name, _events in ready:
            _move_unique(path, self.folder, name)
        tally.busy += len(ready)
        tally.pending += len(ready)
        self._due(time.time())

    def _reject(self, path: Path, name: str, reason: str) -> None:
        target = _move_unique(path, self.folder / REJECTED, name)
        _write_atomic(target.with_name(target.name + ".reason"), reason.replace("\n", " ") + "\n")

    # -- claims ------------------------------------------------------------------------------

    def _check_folder(self) -> None:
        try:
            st = self.folder.stat()
        except FileNotFoundError:
            raise IngestFolderError(f"{self.folder}: no such folder") from None
        if not S_ISDIR(st.st_mode):
            raise IngestFolderError(f"{self.folder}: not a folder")
        if self.store.path.resolve().parent == self.folder.resolve():
            raise IngestFolderError(
                f"{self.folder}: the ledger {self.store.path.name} is in the drop folder; "
                "keep it elsewhere, or its own lines would be taken as drops"
            )

    def _register(self) -> None:
        """Create ``.claimed/<owner>.lock`` already locked, then ``.claimed/<owner>/``."""
        self._claims.mkdir(exist_ok=True)
        host = re.sub(r"[^A-Za-z0-9_.]", "_", self._host)[:64] or "host"
        for _attempt in range(8):
            owner = f"{host}-{os.getpid()}-{os.urandom(6).hex()}"
            # Locked before its name is one a sweep looks at, so a live claim is never free.
            temporary = self._claims / f".{owner}.lock.tmp"
            fd = os.open(temporary, os.O_RDWR | os.O_CREAT | os.O_EXCL | _O_CLOEXEC, 0o644)
            try:
                if fcntl is not None:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                temporary.rename(self._claims / f"{owner}.lock")
            except FileNotFoundError:  # a sweep removed the file before we locked it
                os.close(fd)
                continue
            except BaseException:
                os.close(fd)
                with contextlib.suppress(OSError):
                    temporary.unlink()
                raise
            self._own = self._claims / owner
            try:
                self._own.mkdir()
            except BaseException:
                os.close(fd)
                raise
            self._owner, self._lock_fd = owner, fd
            return
        raise OSError(f"{self._claims}: could not register an ingester")

    def _withdraw(self) -> None:
        """Give up the claim; files still held stay for another ingester to take over."""
        if self._lock_fd < 0:
            return
        try:
            self._own.rmdir()
            (self._claims / f"{self._owner}.lock").unlink()
        except OSError:
            pass  # not empty: the lock file stays, and is free once we close it
        finally:
            os.close(self._lock_fd)
            self._lock_fd = -1

    def _take_over_all(self, tally: _Tally) -> None:
        """Take the files of every ingester that died (its lock can be had) into ours."""
        try:
            with os.scandir(self._claims) as it:
                entries = list(it)
        except FileNotFoundError:
            return
        names = {entry.name for entry in entries}
        for entry in entries:
            name = entry.name
            if name in (self._owner, f"{self._owner}.lock"):
                continue
            if name.startswith("."):
                if name.endswith(".lock.tmp"):
                    with _free_lock(entry.path) as free:
                        if free:  # its ingester died while registering
                            Path(entry.path).unlink(missing_ok=True)
            elif name.endswith(".lock"):
                with _free_lock(entry.path) as free:
                    if free:
                        owner = self._claims / name.removesuffix(".lock")
                        self._adopt(owner, tally)
                        with contextlib.suppress(OSError):
                            owner.rmdir()
                        Path(entry.path).unlink(missing_ok=True)
            elif (
                f"{name}.lock" not in names
                and entry.is_dir(follow_symlinks=False)
                and not (self._claims / f"{name}.lock").exists()
            ):
                # A folder without its lock: a take-over that could not finish. An owner
                # creates its lock before its folder and removes it after, so none lives.
                self._adopt(Path(entry.path), tally)
                with contextlib.suppress(OSError):
                    Path(entry.path).rmdir()

    def _adopt(self, folder: Path, tally: _Tally) -> None:
        try:
            with os.scandir(folder) as it:
                held = [entry.name for entry in it]
        except (FileNotFoundError, NotADirectoryError):
            return
        for name in sorted(held, key=_claim_order):
            with contextlib.suppress(FileNotFoundError):
                (folder / name).rename(self._own / self._claim_name(_original(name)))
                tally.recovered += 1


class _Tally:
    """Counters of one pass, frozen into an :class:`IngestSummary`."""

    def __init__(self) -> None:
        self.ingested = self.duplicates = self.rejected = self.pending = self.recovered = 0
        self.events_added = self.events_known = self.busy = 0

    def summary(self) -> IngestSummary:
        return IngestSummary(**{f.name: getattr(self, f.name) for f in fields(IngestSummary)})


def _claim_order(name: str) -> tuple[int, str]:
    number, _, rest = name.partition("-")
    return (int(number), rest) if number.isdigit() else (-1, name)


def _key(event: Event) -> int:
    """The 64-bit key in a dropped event's id (``dr-<16 hex digits>``)."""
    return int(event.id[3:], 16)


@contextlib.contextmanager
def _free_lock(path: str) -> Iterator[bool]:
    """Whether the lock file at ``path`` is free (its owner died), held while inside."""
    if fcntl is None:  # pragma: no cover - Windows: no way to tell, so never take over
        yield False
        return
    try:
        fd = os.open(path, os.O_RDONLY | _O_CLOEXEC)  # flock needs no write access
    except FileNotFoundError:
        yield False
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def _read(path: Path) -> tuple[bytes, os.stat_result]:
    """The bytes and ``stat`` of a claimed file; :class:`_Unreadable` for one that
    is not a regular file (it would block, or lead elsewhere) or is too large."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | _O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _Unreadable("a symbolic link, not a file") from None
        raise
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fd)
        if not S_ISREG(st.st_mode):
            raise _Unreadable("not a regular file")
        if st.st_size > MAX_FILE_BYTES:
            raise _Unreadable(f"larger than {MAX_FILE_BYTES} bytes: not a drop file")
        data = fh.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise _Unreadable(f"larger than {MAX_FILE_BYTES} bytes: not a drop file")
    return data, st


def _move_unique(src: Path, folder: Path, name: str) -> Path:
    """Move ``src`` into ``folder`` as ``name`` (``a.1.json``, ... when taken); never overwrite.

    A hard link and an unlink rather than a rename, because a link fails where a rename
    would silently replace a file. A name that holds the same bytes already is this file
    (a move killed between its link and its unlink): ``src`` is just removed.
    """
    folder.mkdir(exist_ok=True)
    stem, _dot, suffix = name.rpartition(".")
    for n in itertools.count():
        numbered = f"{stem}.{n}.{suffix}" if stem else f"{name}.{n}"
        target = folder / (numbered if n else name)
        try:
            os.link(src, target)
        except FileExistsError:
            if _same_bytes(src, target):
                src.unlink()
                return target
            continue
        except OSError as exc:
            if exc.errno not in _NO_LINKS:
                raise
            if os.path.lexists(target):  # no hard links on this file system: rename instead
                continue
            src.rename(target)
            return target
        src.unlink()
        return target
    raise AssertionError("unreachable")  # pragma: no cover


def _same_bytes(a: Path, b: Path) -> bool:
    try:
        sa, sb = a.stat(), b.stat()
        if (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino):
            return True
        return sa.st_size == sb.st_size <= MAX_FILE_BYTES and a.read_bytes() == b.read_bytes()
    except OSError:
        return False


def _write_atomic(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


def _fsync(path: Path, *, with_folder: bool) -> None:
    """Flush the file at ``path`` to disk (and its folder's entry, for a new file)."""
    fd = os.open(path, os.O_RDONLY | _O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    if with_folder:
        with contextlib.suppress(OSError):  # some systems cannot open or flush a folder
            folder_fd = os.open(path.parent, os.O_RDONLY | _O_CLOEXEC)
            try:
                os.fsync(folder_fd)
            finally:
                os.close(folder_fd)
