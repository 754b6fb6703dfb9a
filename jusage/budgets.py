"""Budgets: limits on money or tokens per period, kept in ``$JUSAGE_HOME/budgets.toml``.

A budget has a name, one or more **scopes** saying which events it counts, a **period**, a
limit in US dollars and/or tokens, the fraction of the limit at which it alerts
(``alert_at``, default 0.8) and whether reaching the limit stops agents (``hard_stop``).

Scopes: ``global`` (everything), ``project:<path>``, ``session:<id>``, ``agent:<name>``,
``team:<name>``, ``source:<claude-code|codex|...>`` and ``model:<glob>``. Scopes of different
kinds must all match; scopes of the same kind are alternatives (``project:a`` and
``project:b`` count both projects). A project matches its own path, any folder below it, or,
when the scope names no folder (``project:app``), the last part of the path. A model glob
is matched without regard to case.

Periods: ``daily``, ``weekly``, ``monthly`` (calendar periods in the configured time zone),
``block`` (the five-hour window, as ``jusage blocks`` shows it) and ``total`` (for ever).

The file, readable and editable by hand (``jusage budget set`` and ``rm`` rewrite it in
this form; comments are not kept)::

    [budgets.daily-cap]
    scope = ["global"]
    period = "daily"
    usd = 20.0
    alert_at = 0.8
    hard_stop = true

A file that cannot be read, or a budget that says something impossible, is a
:class:`BudgetError` naming the file and line.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path, PurePath
from typing import Any, Literal

import msgspec

__all__ = [
    "DEFAULT_ALERT_AT",
    "PERIODS",
    "SCOPE_KINDS",
    "Budget",
    "BudgetError",
    "Context",
    "Period",
    "Scope",
    "budgets_path",
    "load_budgets",
    "matcher",
    "save_budgets",
]

Period = Literal["daily", "weekly", "monthly", "block", "total"]
"""How long a budget's running total lasts before it starts again from zero."""

PERIODS: tuple[Period, ...] = ("daily", "weekly", "monthly", "block", "total")
"""Every period, shortest first (``total`` never resets)."""

SCOPE_KINDS = ("global", "project", "session", "agent", "team", "source", "model")
"""The kinds of scope; every kind but ``global`` names an event field."""

DEFAULT_ALERT_AT = 0.8
"""The fraction of a limit at which a budget alerts, unless it says otherwise."""

MAX_USD = 1e9
"""The largest limit in US dollars: past this a limit is surely a typo."""

_KEYS = frozenset(("scope", "period", "usd", "tokens", "alert_at", "hard_stop"))


class BudgetError(ValueError):
    """A budget (or the budgets file) is malformed; the message names the file and line.

    ``key`` names the setting at fault, when one is (its line is the one reported)."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


class Scope(msgspec.Struct, frozen=True):
    """Which events a budget counts: ``kind`` is one of :data:`SCOPE_KINDS`, ``value`` its
    argument (empty for ``global``)."""

    kind: str
    value: str = ""

    @classmethod
    def parse(cls, text: str) -> Scope:
        """``global`` or ``KIND:VALUE``. Raises :class:`BudgetError` for anything else."""
        kind, sep, value = text.strip().partition(":")
        kind = kind.strip().lower()
        if kind == "global" and not value.strip():
            return cls("global")
        if kind not in SCOPE_KINDS or kind == "global" or not sep:
            kinds = ", ".join(f"{k}:<value>" for k in SCOPE_KINDS[1:])
            raise BudgetError(f"unknown scope {text!r}: expected global, {kinds}")
        if not value:
            raise BudgetError(f"scope {text!r} needs a value after {kind}:")
        return cls(kind, value)

    def __str__(self) -> str:
        return self.kind if self.kind == "global" else f"{self.kind}:{self.value}"


class Context(msgspec.Struct, frozen=True):
    """What an agent is doing, as far as budgets care: the event fields scopes look at.

    An empty field is unknown, and a budget scoped on it does not cover the context.
    """

    project: str = ""
    session: str = ""
    agent: str = ""
    team: str = ""
    source: str = ""
    model: str = ""


def _project_test(wanted: str) -> Callable[[str], bool]:
    folder = wanted.rstrip("/\\")
    bare = "/" not in wanted and "\\" not in wanted

    def test(project: str) -> bool:
        trimmed = project.rstrip("/\\")
        return (
            trimmed == folder
            or trimmed.startswith(folder + "/")
            or (bare and bool(trimmed) and PurePath(trimmed).name == wanted)
        )

    return test


def _model_test(pattern: str) -> Callable[[str], bool]:
    lowered = pattern.lower()
    if not any(ch in lowered for ch in "*?["):
        return lambda model: model.lower() == lowered
    from fnmatch import fnmatchcase

    return lambda model: fnmatchcase(model.lower(), lowered)


def _value_test(scope: Scope) -> Callable[[str], bool]:
    if scope.kind == "project":
        return _remembered(_project_test(scope.value))
    if scope.kind == "model":
        return _remembered(_model_test(scope.value))
    wanted = scope.value
    return lambda value: value == wanted


def _remembered(test: Callable[[str], bool]) -> Callable[[str], bool]:
    """``test``, its answers kept: a log holds few projects and models, met again and again."""
    seen: dict[str, bool] = {}

    def remembered(value: str) -> bool:
        found = seen.get(value)
        if found is None:
            if len(seen) >= 4096:
                seen.clear()
            found = seen[value] = test(value)
        return found

    return remembered


def matcher(scopes: Sequence[Scope]) -> Callable[[Any], bool] | None:
    """A test of whether an event (or a :class:`Context`) is counted by ``scopes``;
    ``None`` when they count everything.

    Scopes of one kind are alternatives, kinds must all match, and an empty field never
    matches a scope on it.
    """
    by_kind: dict[str, list[Callable[[str], bool]]] = {}
    for scope in scopes:
        if scope.kind != "global":
            by_kind.setdefault(scope.kind, []).append(_value_test(scope))
    if not by_kind:
        return None
    checks = [(kind, tests[0] if len(tests) == 1 else _any(tests)) for kind, tests in by_kind.items()]
    if len(checks) == 1:
        ((kind, only),) = checks

        def one(obj: Any) -> bool:
            value = getattr(obj, kind)
            return bool(value) and only(value)

        return one

    def every(obj: Any) -> bool:
        for kind, test in checks:
            value = getattr(obj, kind)
            if not value or not test(value):
                return False
        return True

    return every


def _any(tests: list[Callable[[str], bool]]) -> Callable[[str], bool]:
    return lambda value: any(test(value) for test in tests)


class Budget(msgspec.Struct, frozen=True):
    """A limit on the money and/or tokens of the events ``scopes`` count, per ``period``.

    ``usd`` (US dollars) and ``tokens`` are the limits (at least one is set); the budget
    alerts from ``alert_at`` times a limit and is exhausted at the limit, where a
    ``hard_stop`` budget stops agents. Raises :class:`BudgetError` when a value is
    impossible.
    """

    name: str
    scopes: tuple[Scope, ...]
    period: Period
    usd: float | None = None
    tokens: int | None = None
    alert_at: float = DEFAULT_ALERT_AT
    hard_stop: bool = False

    def __post_init__(self) -> None:
        if not self.name or not self.name.isprintable() or len(self.name) > 100:
            raise BudgetError(f"budget name {self.name!r} must be 1 to 100 printable characters")
        if not self.scopes:
            raise BudgetError("needs a scope (global for everything)")
        if self.period not in PERIODS:
            raise BudgetError(f"unknown period {self.period!r}: expected {', '.join(PERIODS)}", "period")
        if self.usd is None and self.tokens is None:
            raise BudgetError("needs a limit: usd, tokens or both")
        if self.usd is not None and not (
            isinstance(self.usd, int | float) and math.isfinite(self.usd) and 0 < self.usd <= MAX_USD
        ):
            raise BudgetError(
                f"usd must be a number above 0 and at most {MAX_USD:,.0f}, not {self.usd!r}", "usd"
            )
        if self.tokens is not None and not (
            isinstance(self.tokens, int) and not isinstance(self.tokens, bool) and 0 < self.tokens < 1 << 62
        ):
            raise BudgetError(f"tokens must be a whole number above 0, not {self.tokens!r}", "tokens")
        if not (isinstance(self.alert_at, int | float) and 0 < self.alert_at <= 1):
            raise BudgetError(
                f"alert_at must be a fraction above 0 and at most 1, not {self.alert_at!r}", "alert_at"
            )

    @property
    def tracker(self) -> str:
        """What its running total is keyed by (budgets with the same one share a total)."""
        named = sorted({str(s) for s in self.scopes if s.kind != "global"})
        return f"{self.period}|{','.join(named) or 'global'}"

    @property
    def limit_pico(self) -> int | None:
        """The money limit in pico-dollars (``None`` without one)."""
        return None if self.usd is None else round(self.usd * 10**12)

    def thresholds(self) -> tuple[int | None, int | None, int | None, int | None]:
        """``(alert pico-dollars, limit pico-dollars, alert tokens, limit tokens)``: the
        alert thresholds are ``alert_at`` (as written, 0.8 being 8/10) times the limits,
        rounded up, in integer arithmetic."""
        num, den = _decimal_ratio(float(self.alert_at))
        money = self.limit_pico
        alert_money = None if money is None else -(-money * num // den)
        alert_tokens = None if self.tokens is None else -(-self.tokens * num // den)
        return alert_money, money, alert_tokens, self.tokens

    def describe_scope(self) -> str:
        """The scopes as one line: ``global`` or ``project:/x + model:claude-*``."""
        return " + ".join(str(s) for s in self.scopes)


def _decimal_ratio(value: float) -> tuple[int, int]:
    """``value`` as the fraction its shortest decimal form says (0.8 is 8/10, not the binary
    double just above it), so thresholds are what the user wrote."""
    text = repr(value)
    if "e" in text or "n" in text:  # exponent form (or inf/nan): the double's own ratio
        return value.as_integer_ratio()
    whole, _, fraction = text.partition(".")
    return int(whole + fraction), 10 ** len(fraction)


# -- the file -----------------------------------------------------------------------------------


def budgets_path() -> Path:
    """``$JUSAGE_HOME/budgets.toml``."""
    from jusage.locations import jusage_home

    return jusage_home() / "budgets.toml"


def _line_of(text: str, name: str, key: str | None) -> int:
    """The line of ``key`` in budget ``name``'s table (of its header without a key), else 1."""
    from jusage.config import key_line, table_headers

    start = next((n for n, found, rest in table_headers(text, "budgets") if found == name and not rest), 0)
    if not start:
        return 1
    return key_line(text, key, start) if key is not None else start


def load_budgets(path: Path | None = None) -> list[Budget]:
    """The budgets in ``path`` (default :func:`budgets_path`), in file order; none when the
    file does not exist. Raises :class:`BudgetError` naming the file and line."""
    from jusage.config import read_toml, top_key_line

    where = path or budgets_path()
    found = read_toml(where, BudgetError)
    if found is None:
        return []
    text, data = found
    for key in data:
        if key != "budgets":
            raise BudgetError(
                f"{where}:{top_key_line(text, key)}: unknown key {key!r} (expected [budgets.NAME])"
            )
    tables = data.get("budgets", {})
    if not isinstance(tables, dict):
        raise BudgetError(f"{where}:{top_key_line(text, 'budgets')}: budgets must be tables [budgets.NAME]")
    out = []
    for name, table in tables.items():
        try:
            out.append(_budget_from(name, table))
        except BudgetError as bad:
            raise BudgetError(f"{where}:{_line_of(text, name, bad.key)}: budget {name!r}: {bad}") from None
    return out


def _budget_from(name: str, table: Any) -> Budget:
    if not isinstance(table, dict):
        raise BudgetError("must be a table of settings")
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise BudgetError(f"unknown key {unknown[0]!r} (allowed: {', '.join(sorted(_KEYS))})", unknown[0])
    raw_scopes = table.get("scope", ["global"])
    if isinstance(raw_scopes, str):
        raw_scopes = [raw_scopes]
    if not isinstance(raw_scopes, list) or not all(isinstance(s, str) for s in raw_scopes):
        raise BudgetError("scope must be a string or a list of strings", "scope")
    checks = {
        "period": (str, "a string"),
        "usd": (int | float, "a number"),
        "tokens": (int, "a whole number"),
        "alert_at": (int | float, "a number"),
        "hard_stop": (bool, "true or false"),
    }
    for key, (kind, wanted) in checks.items():
        value = table.get(key)
        if value is not None and (not isinstance(value, kind) or (key != "hard_stop" and value is True)):
            raise BudgetError(f"{key} must be {wanted}", key)
    if "period" not in table:
        raise BudgetError(f"needs a period ({', '.join(PERIODS)})")
    try:
        scopes = tuple(Scope.parse(s) for s in raw_scopes)
    except BudgetError as exc:
        raise BudgetError(str(exc), "scope") from None
    usd = table.get("usd")
    return Budget(
        name,
        scopes,
        table["period"],
        usd=None if usd is None else float(usd),
        tokens=table.get("tokens"),
        alert_at=float(table.get("alert_at", DEFAULT_ALERT_AT)),
        hard_stop=table.get("hard_stop", False),
    )


_FILE_HEADER = """\
# jusage budgets. `jusage budget set` and `jusage budget rm` rewrite this file (comments are
# not kept); edit it by hand too. scope: global, project:<path>, session:<id>, agent:<name>,
# team:<name>, source:<name>, model:<glob> (kinds must all match; one kind: any of them).
# period: daily, weekly, monthly, block (the 5-hour window) or total. usd and/or tokens are
# the limits; alert_at is the fraction that alerts; hard_stop = true stops agents at the limit.
"""


def _toml_string(text: str) -> str:
    import json

    # A JSON string is a TOML basic string, except that TOML also wants DEL escaped.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else _toml_string(name)


def dump_budgets(budgets: Sequence[Budget]) -> str:
    """The text of a budgets file holding ``budgets`` (read back equal by :func:`load_budgets`)."""
    parts = [_FILE_HEADER]
    for b in budgets:
        lines = [f"\n[budgets.{_toml_key(b.name)}]"]
        lines.append(f"scope = [{', '.join(_toml_string(str(s)) for s in b.scopes)}]")
        lines.append(f'period = "{b.period}"')
        if b.usd is not None:
            lines.append(f"usd = {b.usd!r}")
        if b.tokens is not None:
            lines.append(f"tokens = {b.tokens}")
        lines.append(f"alert_at = {float(b.alert_at)!r}")
        lines.append(f"hard_stop = {'true' if b.hard_stop else 'false'}")
        parts.append("\n".join(lines) + "\n")
    return "".join(parts)


def save_budgets(budgets: Sequence[Budget], path: Path | None = None) -> Path:
    """Write ``budgets`` to ``path`` (default :func:`budgets_path`) at once: a reader sees the
    old file or the new one, never a mix. Returns the path. Raises ``OSError``."""
    import time

    where = path or budgets_path()
    where.parent.mkdir(parents=True, exist_ok=True)
    tmp = where.with_name(f".{where.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
    try:
        tmp.write_text(dump_budgets(budgets), encoding="utf-8")
        tmp.replace(where)
    finally:
        tmp.unlink(missing_ok=True)
    return where
