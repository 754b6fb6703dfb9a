"""The event: one agent turn, one JSON line in the ledger.

The schema is compatible with jcode's ``~/.jcode/usage/events.jsonl``: such a line parses
unchanged. Token counts follow the *inclusive* convention: ``prompt`` includes cached reads
and cache writes, ``completion`` includes reasoning tokens.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import orjson

__all__ = [
    "COUNT_FIELDS",
    "TEXT_FIELDS",
    "Event",
    "EventError",
    "validate_counts",
]


class EventError(ValueError):
    """An event (or a line of the log) does not satisfy the schema."""


#: Integer token and call counts, in schema order. All are non-negative.
COUNT_FIELDS: tuple[str, ...] = (
    "prompt",
    "completion",
    "cached",
    "cache_write",
    "cache_write_1h",
    "reasoning",
    "total",
    "calls",
    "fallbacks",
)

#: Optional string dimensions, in schema order.
TEXT_FIELDS: tuple[str, ...] = (
    "date",
    "project",
    "session",
    "model",
    "id",
    "source",
    "provider",
    "agent",
    "team",
    "role",
    "task",
    "route",
    "corrects",
)

# Keys jcode always writes, even when zero; kept so our lines read like theirs.
_ALWAYS_WRITTEN = frozenset({"ts", "date", "prompt", "completion", "cached", "total"})


def validate_counts(
    prompt: int, completion: int, cached: int, cache_write: int, cache_write_1h: int, reasoning: int
) -> str | None:
    """Return why the token counts are inconsistent, or ``None`` when they are fine.

    Counts must already be known to be non-negative integers.
    """
    if cached + cache_write > prompt:
        return f"cached ({cached}) + cache_write ({cache_write}) exceeds prompt ({prompt})"
    if reasoning > completion:
        return f"reasoning ({reasoning}) exceeds completion ({completion})"
    if cache_write_1h > cache_write:
        return f"cache_write_1h ({cache_write_1h}) exceeds cache_write ({cache_write})"
    return None


@dataclass(frozen=True, slots=True)
class Event:
    """One recorded agent turn's token usage (per-turn deltas, never cumulative).

    ``ts`` is unix seconds. ``total`` defaults to ``prompt + completion``. ``corrects`` names
    the ``id`` of an earlier event that this one corrects: its counts are the *additional*
    tokens (an importer saw a later, larger streaming chunk) and it is not a turn of its own.
    ``cache_write_1h`` is the part of ``cache_write`` written with a one-hour lifetime, which
    is priced higher than the default five-minute writes.
    """

    ts: int
    date: str = ""
    project: str = ""
    session: str = ""
    model: str = ""
    prompt: int = 0
    completion: int = 0
    cached: int = 0
    cache_write: int = 0
    cache_write_1h: int = 0
    reasoning: int = 0
    total: int = -1
    calls: int = 0
    fallbacks: int = 0
    id: str = ""
    source: str = ""
    provider: str = ""
    agent: str = ""
    team: str = ""
    role: str = ""
    task: str = ""
    route: str = ""
    corrects: str = ""
    cost_usd: float | None = None

    def __post_init__(self) -> None:
        if type(self.ts) is not int:
            raise EventError(f"ts must be an integer (unix seconds), got {self.ts!r}")
        for name in COUNT_FIELDS:
            value = getattr(self, name)
            if type(value) is not int:
                raise EventError(f"{name} must be an integer, got {value!r}")
            if value < 0 and not (name == "total" and value == -1):
                raise EventError(f"{name} must not be negative, got {value}")
        for name in TEXT_FIELDS:
            value = getattr(self, name)
            if not isinstance(value, str):
                raise EventError(f"{name} must be a string, got {value!r}")
        if self.cost_usd is not None:
            if isinstance(self.cost_usd, bool) or not isinstance(self.cost_usd, int | float):
                raise EventError(f"cost_usd must be a number, got {self.cost_usd!r}")
            if not 0 <= self.cost_usd < float("inf"):
                raise EventError(f"cost_usd must be a finite non-negative number, got {self.cost_usd}")
            object.__setattr__(self, "cost_usd", float(self.cost_usd))
        problem = validate_counts(
            self.prompt, self.completion, self.cached, self.cache_write, self.cache_write_1h,
            self.reasoning,
        )
        if problem:
            raise EventError(problem)
        if self.total == -1:
            object.__setattr__(self, "total", self.prompt + self.completion)

    @property
    def tokens(self) -> int:
        """Tokens of the turn, as counted in every total: ``total``."""
        return self.total

    @classmethod
    def from_dict(cls, data: Any) -> Event:
        """Build an event from a decoded JSON object; unknown keys are ignored.

        Raises :class:`EventError` when ``data`` is not an object, ``ts`` is missing or a
        value has the wrong type or breaks a consistency rule.
        """
        if not isinstance(data, dict):
            raise EventError(f"an event must be a JSON object, got {type(data).__name__}")
        if "ts" not in data:
            raise EventError("ts is missing")
        known = {k: v for k, v in data.items() if k in _FIELD_NAMES and v is not None}
        return cls(**known)

    @classmethod
    def from_json(cls, line: str | bytes) -> Event:
        """Parse one JSON line. Raises :class:`EventError` on malformed JSON or a bad event."""
        try:
            data = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise EventError(f"not valid JSON: {exc}") from None
        return cls.from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        """The event as a JSON-ready dict, optional keys omitted when empty or zero."""
        out: dict[str, Any] = {}
        for field in _FIELDS:
            value = getattr(self, field)
            if field in _ALWAYS_WRITTEN or (value not in ("", 0, None)):
                out[field] = value
        return out

    def to_json(self) -> bytes:
        """The event as one compact JSON line *without* the trailing newline."""
        return orjson.dumps(self.to_dict())

    def replace(self, **changes: Any) -> Event:
        """A copy with ``changes`` applied (and validated)."""
        if "prompt" in changes or "completion" in changes:
            changes.setdefault("total", -1)
        return dataclasses.replace(self, **changes)


_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Event))
_FIELD_NAMES = frozenset(_FIELDS)
