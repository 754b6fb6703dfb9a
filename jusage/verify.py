"""Checking a log: what a reader skips or counts twice, line by line, and repairing it safely.

A problem is a line the reports cannot use or would count twice:

* a *malformed* line (not JSON, a value of the wrong type or out of the valid ranges,
  counts that contradict each other), with the reason;
* a *torn* last line (no newline: a writer that died, or one still writing);
* a *duplicate id*: a second line with an ``id`` an earlier line has (every report within one
  log counts both).

Events far out of time order (more than :data:`DISORDER_SECONDS` before the latest event
above them) are listed as notes, not problems: an import appends old history after newer
records, which is normal. ``repair`` rewrites the log without the problem lines (safely, as
``prune`` does: :mod:`jusage.rewrite`) and appends them to ``<log>.rejected`` beside it.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from jusage.events import Event, EventError

__all__ = ["DISORDER_SECONDS", "Finding", "VerifyReport", "rejected_path", "repair_log", "verify_log"]

DISORDER_SECONDS = 86_400
"""How far before the latest event above it an event must be to be noted as out of order."""


@dataclass(frozen=True, slots=True)
class Finding:
    """One line of a log worth knowing about: its number, what it is and why."""

    line: int
    kind: str  # "malformed", "torn", "duplicate id" or "out of order"
    detail: str


@dataclass(slots=True)
class VerifyReport:
    """What :func:`verify_log` found in a log."""

    path: Path
    lines: int = 0
    events: int = 0
    problems: list[Finding] = field(default_factory=list)
    notes: list[Finding] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """No problem was found (notes do not count)."""
        return not self.problems


def rejected_path(log: Path) -> Path:
    """Where :func:`repair_log` keeps the lines it removed: ``<log>.rejected`` (no ``.jsonl``
    ending, so a folder of logs never reads it as a log)."""
    return log.with_name(log.name + ".rejected")


class _Checker:
    """The rules, applied one line at a time (the same in a check and in a repair)."""

    def __init__(self, report: VerifyReport) -> None:
        self.report = report
        self.ids: set[str] = set()
        self.latest = -1
        self.last = 0

    def check(self, number: int, line: bytes, event: Event | None) -> bool:
        """Whether the line is fine; a problem goes to the report."""
        report = self.report
        self.last = number
        found = None
        if event is None:
            found = Finding(number, "malformed", _reason(line))
        else:
            report.events += 1
            if event.id in self.ids:
                found = Finding(number, "duplicate id", f"id {event.id!r} is on an earlier line too")
            elif event.id:
                self.ids.add(event.id)
            if self.latest - event.ts > DISORDER_SECONDS:
                hours = (self.latest - event.ts) // 3600
                report.notes.append(
                    Finding(number, "out of order", f"{hours:,} hours before an event above it")
                )
            self.latest = max(self.latest, event.ts)
        if found is not None:
            report.problems.append(found)
        return found is None

    def finish(self, path: Path) -> None:
        """Name a malformed last line without its newline what it is: torn."""
        report = self.report
        report.lines = self.last
        problems = report.problems
        if problems and problems[-1].line == self.last and problems[-1].kind == "malformed" and _torn(path):
            problems[-1] = Finding(
                self.last, "torn", "the last line has no newline (a writer died, or is writing)"
            )


def _torn(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            fh.seek(0, 2)
            if fh.tell() == 0:
                return False
            fh.seek(-1, 2)
            return fh.read(1) != b"\n"
    except OSError:
        return False


def _reason(line: bytes) -> str:
    try:
        Event.from_json(line)
    except EventError as exc:
        return str(exc)
    return "not an event"


def verify_log(path: Path) -> VerifyReport:
    """Check the log at ``path`` (a missing log is clean and empty)."""
    from jusage.rewrite import scan_lines

    report = VerifyReport(path)
    checker = _Checker(report)
    if path.exists():
        for number, line, event in scan_lines(path):
            checker.check(number, line, event)
        checker.finish(path)
    return report


def repair_log(path: Path) -> tuple[VerifyReport, Path | None]:
    """Rewrite the log at ``path`` without its problem lines, which are appended to
    :func:`rejected_path` (synced) before the log is replaced. Returns what was found and
    the side file written (``None`` when nothing had to go)."""
    from jusage.rewrite import rewrite_log

    report = VerifyReport(path)
    if not path.exists():
        return report, None
    checker = _Checker(report)
    side = rejected_path(path)

    def keep_removed(gathered: Path) -> None:
        import os

        with gathered.open("rb") as lines, side.open("ab") as out:
            shutil.copyfileobj(lines, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())

    result = rewrite_log(path, checker.check, keep_removed=keep_removed)
    report.lines = checker.last
    return report, side if result.removed else None
