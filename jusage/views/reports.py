"""The reports: daily, weekly, monthly, session and summary, built from aggregated tables.

Each builder is a pure function from a :class:`~jusage.aggregate.Table` to a :class:`Report`;
the ``*_to_json`` functions give ccusage's JSON shape and field names;
:mod:`jusage.render.reports` renders them as plain-text tables. Nothing here reads the clock;
only :func:`read_log` reads a file.

Token figures in ccusage's terms (Anthropic's convention) from jusage's inclusive counters:

* ``inputTokens`` = non-cached input = ``prompt - cached - cache_write``;
* ``outputTokens`` = ``completion`` (reasoning included);
* ``cacheCreationTokens`` = ``cache_write``; ``cacheReadTokens`` = ``cached``;
* ``totalTokens`` = the sum of those four = ``prompt + completion``.

Money is integer pico-dollars inside; ``totalCost`` and ``cost`` are US dollars (floats) at
the edge. Tokens of events no price was found for are reported as ``unpricedTokens``.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, tzinfo
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, Literal

from jusage.aggregate import COMPLETION, PROMPT, UNPRICED, Aggregator, Table, Usage, add_counters
from jusage.costing import unpriced_models

if TYPE_CHECKING:
    from pathlib import Path

    from jusage.costing import Coster

__all__ = [
    "PERIODS",
    "SUMMARY_DIMS",
    "Period",
    "Report",
    "Row",
    "parse_dims",
    "period_report",
    "read_log",
    "report_to_json",
    "session_report",
    "summary_dims",
    "summary_report",
    "summary_to_json",
]

Period = Literal["daily", "weekly", "monthly"]
"""A calendar report: one row per day, week or month."""

PERIODS: tuple[Period, ...] = ("daily", "weekly", "monthly")

#: What ``summary --by`` accepts: event fields, and the calendar of the event's day.
SUMMARY_DIMS: tuple[str, ...] = (
    "model",
    "project",
    "session",
    "provider",
    "source",
    "host",
    "agent",
    "team",
    "role",
    "task",
    "route",
    "date",
    "week",
    "month",
)
_TIME_DIMS = frozenset({"date", "week", "month"})
_PERIOD_KEY = {"daily": "date", "weekly": "week", "monthly": "month"}
NO_MODEL = "(no model)"

Order = Literal["asc", "desc"]


# -- values -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Row:
    """One row of a report: its key (a date, week, month or session id) and its usage.

    ``models`` is the per-model breakdown, most expensive first. ``project`` is set for
    session rows (the project with most tokens in the session). ``labels`` are the values
    of a summary row's dimensions; ``parts`` its breakdown by another dimension than the model.
    """

    key: str
    tally: Usage
    models: tuple[tuple[str, Usage], ...] = ()
    project: str = ""
    first_day: str = ""
    last_day: str = ""
    labels: tuple[str, ...] = ()
    parts: tuple[tuple[str, Usage], ...] = ()


@dataclass(frozen=True, slots=True)
class Report:
    """A finished report: rows in the requested order, the totals, and what had no price.

    ``kind`` is ``daily``, ``weekly``, ``monthly``, ``session`` or ``summary``; for a summary
    ``by`` names the grouping dimensions and each row's ``labels`` holds their values;
    ``breakdown`` names the dimension of the rows' ``parts`` (``model``: none besides models).
    """

    kind: str
    rows: tuple[Row, ...]
    totals: Usage
    unpriced_models: dict[str, int]
    skipped_lines: int = 0
    by: tuple[str, ...] = ()
    breakdown: str = "model"


class _Acc:
    """A :class:`~jusage.aggregate.Usage` under construction."""

    __slots__ = ("c",)

    def __init__(self) -> None:
        self.c: list[int] = []

    def add(self, counters: Sequence[int]) -> None:
        if self.c:
            add_counters(self.c, counters)
        else:
            self.c = list(counters)

    def usage(self) -> Usage:
        return Usage.of(self.c)


# -- selecting groups -----------------------------------------------------------------------------


def project_matches(project: str, wanted: str) -> bool:
    """Whether ``project`` is the one ``--project`` names: the whole path or its last part."""
    if project == wanted:
        return True
    trimmed = project.rstrip("/\\")
    return bool(trimmed) and PurePath(trimmed).name == wanted


def narrow(table: Table, *, project: str | None = None, sources: Collection[str] | None = None) -> Table:
    """The rows of ``table`` of one ``project`` (its path or last path part) and of the given
    ``sources`` (agents); ``None`` keeps all. The table needs those dimensions."""
    if project is None and sources is None:
        return table
    for dim, wanted in (("project", project), ("source", sources)):
        if wanted is not None and dim not in table.dims:
            raise ValueError(f"filtering by {dim} needs the {dim} dimension")
    matches: dict[str, bool] = {}
    rows = {}
    source_at = table.position("source") if sources is not None else 0
    project_at = table.position("project") if project is not None else 0
    for key, counters in table.rows.items():
        values = key[1] if len(table.dims) != 1 else (key[1],)
        if sources is not None and values[source_at] not in sources:
            continue
        if project is not None:
            name = values[project_at]
            ok = matches.get(name)
            if ok is None:
                ok = matches[name] = project_matches(name, project)
            if not ok:
                continue
        rows[key] = counters
    return Table(table.dims, table.bucket, rows, table.skipped)


def _select(
    table: Table, since: date | None, until: date | None
) -> Iterator[tuple[str, tuple[Any, ...], list[int]]]:
    """``(day, dimension values, counters)`` of the rows in ``[since, until]``."""
    if table.bucket != "day":
        raise ValueError("reports need a table with day buckets")
    lo = since.isoformat() if since else ""
    hi = until.isoformat() if until else "9999-99-99"
    for day, values, counters in table.items():
        if lo <= day <= hi:
            yield day, values, counters


@functools.lru_cache(maxsize=4096)
def period_key(day: str, period: str, start_of_week: int = 0) -> str:
    """The row key of ``day`` (``YYYY-MM-DD``) in a ``daily``, ``weekly`` or ``monthly`` report.

    Weekly keys are the first day of the week (weeks starting on ``start_of_week``, Monday = 0);
    monthly keys are ``YYYY-MM``. A day that is not a calendar date is its own key.
    """
    if period in ("daily", "date"):
        return day
    if period in ("monthly", "month"):
        return day[:7]
    from jusage.periods import week_start

    try:
        return week_start(date.fromisoformat(day), start_of_week).isoformat()
    except ValueError:
        return day


def _parts(accs: dict[str, _Acc], blank: str = "") -> tuple[tuple[str, Usage], ...]:
    """The parts of a row, most expensive first; an empty name shows as ``blank``."""
    items = [(name or blank, acc.usage()) for name, acc in accs.items()]
    items.sort(key=lambda item: (-item[1].cost_pico, -item[1].total, item[0]))
    return tuple(items)


def _add(accs: dict[Any, _Acc], name: Any, counters: Sequence[int]) -> None:
    acc = accs.get(name)
    if acc is None:
        acc = accs[name] = _Acc()
    acc.add(counters)


def _totals(per_model: dict[str, _Acc], grand: _Acc) -> _Acc:
    """The sum of a row's parts, also added to ``grand``."""
    total = _Acc()
    for acc in per_model.values():
        total.add(acc.c)
        grand.add(acc.c)
    return total


def _sorted_rows(rows: list[Row], order: Order) -> tuple[Row, ...]:
    rows.sort(key=lambda r: r.key, reverse=order == "desc")
    return tuple(rows)


# -- builders -------------------------------------------------------------------------------------


def period_report(
    table: Table,
    period: Period,
    *,
    since: date | None = None,
    until: date | None = None,
    start_of_week: int = 0,
    order: Order = "asc",
    breakdown: str = "model",
) -> Report:
    """The ``daily``, ``weekly`` or ``monthly`` report of a table grouped by model (and project).

    Days are the table's calendar days (its time zone); ``[since, until]`` is inclusive (see
    :func:`narrow` for one project or agent). Rows are in key order,
    ascending or descending. Each row has its per-model breakdown, and with ``breakdown``
    naming another dimension of the table (``source``, ``host``, ...) its parts by that one.
    """
    if period not in PERIODS:
        raise ValueError(f"unknown period {period!r}")
    for dim in ("model", breakdown):
        if dim not in table.dims:
            raise ValueError(f"period reports need the {dim} dimension")
    rows: dict[str, dict[str, _Acc]] = {}
    parts: dict[str, dict[str, _Acc]] = {}
    unpriced: list[tuple[str, int]] = []
    model_at, part_at = table.position("model"), table.position(breakdown)
    for day, values, counters in _select(table, since, until):
        model = values[model_at]
        key = period_key(day, period, start_of_week)
        _add(rows.setdefault(key, {}), model, counters)
        if breakdown != "model":
            _add(parts.setdefault(key, {}), values[part_at], counters)
        unpriced.append((model, counters[UNPRICED]))
    out: list[Row] = []
    grand = _Acc()
    for key, per_model in rows.items():
        total = _totals(per_model, grand)
        out.append(Row(key, total.usage(), _parts(per_model, NO_MODEL), parts=_parts(parts.get(key, {}))))
    report_rows = _sorted_rows(out, order)
    return Report(
        period, report_rows, grand.usage(), unpriced_models(unpriced), table.skipped, breakdown=breakdown
    )


def session_report(
    table: Table,
    *,
    tz: tzinfo | None = None,
    since: date | None = None,
    until: date | None = None,
    order: Order = "asc",
) -> Report:
    """One row per session, from a table grouped by ``("session", "project", "model")``.

    A session's project is the one with most of its tokens. Its first and last activity are
    the calendar days (in ``tz``; None = local) of its first and last event in the window.
    Rows are ordered by last activity (then session id), ascending or descending.
    """
    if not {"session", "project", "model"} <= set(table.dims):
        raise ValueError("session reports need the session, project and model dimensions")
    from jusage.days import Calendar

    sessions: dict[str, dict[str, _Acc]] = {}
    projects: dict[str, dict[str, int]] = {}
    unpriced: list[tuple[str, int]] = []
    session_at, model_at, project_at = (table.position(d) for d in ("session", "model", "project"))
    for _day, values, counters in _select(table, since, until):
        session, model = values[session_at], values[model_at]
        _add(sessions.setdefault(session, {}), model, counters)
        tokens = projects.setdefault(session, {})
        tokens[values[project_at]] = (
            tokens.get(values[project_at], 0) + counters[PROMPT] + counters[COMPLETION]
        )
        unpriced.append((model, counters[UNPRICED]))
    day = Calendar(tz).day
    out: list[Row] = []
    grand = _Acc()
    for session, per_model in sessions.items():
        tally = _totals(per_model, grand).usage()
        top = sorted(projects[session].items(), key=lambda item: (-item[1], item[0]))[0][0]
        out.append(Row(session, tally, _parts(per_model, NO_MODEL), top, day(tally.first), day(tally.last)))
    out.sort(key=lambda r: (r.tally.last, r.key), reverse=order == "desc")
    return Report("session", tuple(out), grand.usage(), unpriced_models(unpriced), table.skipped)


def parse_dims(text: str) -> tuple[str, ...]:
    """The dimensions of ``summary --by`` (comma separated, e.g. ``model,project``).

    Raises ValueError naming the first unknown or repeated dimension.
    """
    dims = tuple(part.strip().lower() for part in text.split(",") if part.strip())
    if not dims:
        raise ValueError(f"--by needs at least one of {', '.join(SUMMARY_DIMS)}")
    for index, dim in enumerate(dims):
        if dim not in SUMMARY_DIMS:
            raise ValueError(f"unknown dimension {dim!r}: expected {', '.join(SUMMARY_DIMS)}")
        if dim in dims[:index]:
            raise ValueError(f"dimension {dim!r} given twice")
    return dims


def summary_dims(by: Sequence[str]) -> tuple[str, ...]:
    """The event fields a summary ``by`` these dimensions must aggregate by.

    The calendar dimensions come from the day bucket; ``model`` is always kept (to name
    unpriced models and to infer providers).
    """
    fields = [dim for dim in by if dim not in _TIME_DIMS]
    return tuple(fields if "model" in fields else [*fields, "model"])


def summary_report(
    table: Table,
    by: Sequence[str],
    *,
    since: date | None = None,
    until: date | None = None,
    start_of_week: int = 0,
) -> Report:
    """Usage grouped by any dimensions: one row per distinct combination of their values.

    ``provider`` is the event's own, else inferred from the model name. Rows come most tokens
    first (ties by key); a summary by calendar dimensions only is in date order.
    """
    from jusage.pricing import infer_provider

    by = tuple(by)
    missing = [d for d in summary_dims(by) if d not in table.dims]
    if missing:
        raise ValueError(f"the aggregation lacks the dimensions {missing}")
    providers: dict[str, str] = {}
    groups: dict[tuple[str, ...], _Acc] = {}
    unpriced: list[tuple[str, int]] = []
    model_at = table.position("model")
    at = {dim: table.position(dim) for dim in by if dim not in _TIME_DIMS}
    for day, values, counters in _select(table, since, until):
        label: list[str] = []
        for dim in by:
            if dim in _TIME_DIMS:
                label.append(period_key(day, dim, start_of_week))
            elif dim == "provider" and not values[at[dim]]:
                model = values[model_at]
                found = providers.get(model)
                if found is None:
                    found = providers[model] = infer_provider(model)
                label.append(found)
            else:
                label.append(values[at[dim]])
        key = tuple(label)
        _add(groups, key, counters)
        unpriced.append((values[model_at], counters[UNPRICED]))
    grand = _Acc()
    out: list[Row] = []
    for key, acc in groups.items():
        grand.add(acc.c)
        out.append(Row(key[0] if key else "", acc.usage(), labels=key))
    if set(by) <= _TIME_DIMS:
        out.sort(key=lambda r: r.labels)
    else:
        out.sort(key=lambda r: (-r.tally.total, r.labels))
    return Report("summary", tuple(out), grand.usage(), unpriced_models(unpriced), table.skipped, by)


# -- JSON -----------------------------------------------------------------------------------------


def _tokens_json(t: Usage) -> dict[str, Any]:
    return {
        "inputTokens": t.input_tokens,
        "outputTokens": t.completion,
        "cacheCreationTokens": t.cache_write,
        "cacheReadTokens": t.cached,
        "totalTokens": t.total,
    }


def _totals_json(t: Usage) -> dict[str, Any]:
    return {**_tokens_json(t), "totalCost": t.cost_usd, "unpricedTokens": t.unpriced}


def _row_json(row: Row, breakdown: str = "model") -> dict[str, Any]:
    out = {
        **_tokens_json(row.tally),
        "totalCost": row.tally.cost_usd,
        "unpricedTokens": row.tally.unpriced,
        "modelsUsed": sorted(name for name, _ in row.models),
        "modelBreakdowns": [
            {
                "modelName": name,
                "inputTokens": t.input_tokens,
                "outputTokens": t.completion,
                "cacheCreationTokens": t.cache_write,
                "cacheReadTokens": t.cached,
                "cost": t.cost_usd,
            }
            for name, t in row.models
        ],
    }
    if breakdown != "model":
        out["breakdown"] = [
            {breakdown: name, **_tokens_json(t), "cost": t.cost_usd, "unpricedTokens": t.unpriced}
            for name, t in row.parts
        ]
    return out


def report_to_json(report: Report) -> dict[str, Any]:
    """The report in ccusage's JSON shape: ``{"daily": [...], "totals": {...}}``.

    The list is named ``daily``, ``weekly``, ``monthly`` or ``sessions`` and its rows carry
    ``date``, ``week`` (first day of the week), ``month`` (``YYYY-MM``) or ``sessionId``
    with ``projectPath``, ``firstActivity`` and ``lastActivity`` (days, in the report's zone).
    With a breakdown by another dimension than the model, each row also has ``breakdown``:
    one entry per value of that dimension (named by it) with its tokens and cost.
    """
    if report.kind == "summary":
        return summary_to_json(report)
    if report.kind == "session":
        sessions = [
            {
                "sessionId": row.key,
                **_row_json(row),
                "firstActivity": row.first_day,
                "lastActivity": row.last_day,
                "projectPath": row.project,
            }
            for row in report.rows
        ]
        return {"sessions": sessions, "totals": _totals_json(report.totals)}
    key = _PERIOD_KEY[report.kind]
    rows = [{key: row.key, **_row_json(row, report.breakdown)} for row in report.rows]
    return {report.kind: rows, "totals": _totals_json(report.totals)}


def summary_to_json(report: Report) -> dict[str, Any]:
    """A summary as ``{"by": [...], "summary": [...], "totals": {...}}``.

    Each row has one key per dimension, the ccusage token figures, ``calls``, ``turns``,
    ``totalCost``, ``unpricedTokens`` and ``share`` (of all tokens, 0 to 1).
    """
    grand = report.totals.total
    rows = []
    for row in report.rows:
        t = row.tally
        rows.append(
            {
                **dict(zip(report.by, row.labels, strict=True)),
                **_tokens_json(t),
                "reasoningTokens": t.reasoning,
                "calls": t.calls,
                "turns": t.turns,
                "totalCost": t.cost_usd,
                "unpricedTokens": t.unpriced,
                "share": t.total / grand if grand else 0.0,
            }
        )
    totals = {**_totals_json(report.totals), "calls": report.totals.calls, "turns": report.totals.turns}
    return {"by": list(report.by), "summary": rows, "totals": totals}


# -- reading a log --------------------------------------------------------------------------------


def read_log(
    path: Path | Sequence[Path],
    dims: tuple[str, ...],
    *,
    tz: tzinfo | None = None,
    bucket: str = "day",
    coster: Coster | None = None,
    workers: int = 1,
) -> Table:
    """The log at ``path`` (or several logs, as one ledger: see :mod:`jusage.logset`)
    aggregated by ``dims`` and priced; a missing file is an empty log."""
    from pathlib import Path

    from jusage.logset import table_of_logs

    aggregator = Aggregator(dims, tz=tz, bucket=bucket, coster=coster)
    paths = [Path(path)] if isinstance(path, str | os.PathLike) else [Path(p) for p in path]
    return table_of_logs(paths, aggregator, workers=workers, checkpoint=True)
