"""The event: one agent turn, one JSON line in the ledger.

The schema is compatible with jcode's ``~/.jcode/usage/events.jsonl``: such a line parses
unchanged. Token counts follow the *inclusive* convention: ``prompt`` includes cached reads
and cache writes, ``completion`` includes reasoning tokens.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
import orjson

__all__ = [
    "COUNT_FIELDS",
    "ROW_DECODER",
    "TEXT_FIELDS",
    "Event",
    "EventError",
    "EventRow",
    "decode_row",
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
_ALWAYS_WRITTEN = frozenset({"ts", "prompt", "completion", "cached", "total"})


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
            self.prompt,
            self.completion,
            self.cached,
            self.cache_write,
            self.cache_write_1h,
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
        try:
            row = msgspec.convert(data, EventRow)
        except msgspec.ValidationError as exc:
            raise EventError(_explain(exc)) from None
        return cls.from_row(row)

    @classmethod
    def from_json(cls, line: str | bytes) -> Event:
        """Parse one JSON line. Raises :class:`EventError` on malformed JSON or a bad event."""
        try:
            row = decode_row(line)
        except msgspec.ValidationError as exc:
            raise EventError(_explain(exc)) from None
        except msgspec.DecodeError as exc:
            raise EventError(f"not valid JSON: {exc}") from None
        return cls.from_row(row)

    @classmethod
    def from_row(cls, row: EventRow) -> Event:
        """Build an event from a decoded :class:`EventRow` (checks the cross-field rules)."""
        return cls(**{name: getattr(row, name) for name in _FIELDS})

    def to_dict(self) -> dict[str, Any]:
        """The event as a JSON-ready dict, optional keys omitted when empty or zero."""
        out: dict[str, Any] = {}
        for field in _FIELDS:
            value = getattr(self, field)
            if (
                field in _ALWAYS_WRITTEN
                or (value not in ("", 0, None))
                or (field == "cost_usd"
                and value is not None)
            ):
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

_Count = Annotated[int, msgspec.Meta(ge=0)]


class EventRow(msgspec.Struct, gc=False):
    """The typed shape of a log line, decoded in C by msgspec (types and signs checked).

    The aggregation reads rows rather than :class:`Event` objects because building a
    validated dataclass per line costs several times more than decoding it. A row that
    decodes still has to pass :func:`validate_counts` to be a valid event.
    """

    ts: int
    date: str = ""
    project: str = ""
    session: str = ""
    model: str = ""
    prompt: _Count = 0
    completion: _Count = 0
    cached: _Count = 0
    cache_write: _Count = 0
    cache_write_1h: _Count = 0
    reasoning: _Count = 0
    total: _Count = -1  # -1: absent, meaning prompt + completion (an explicit -1 is rejected)
    calls: _Count = 0
    fallbacks: _Count = 0
    id: str = ""
    source: str = ""
    provider: str = ""
    agent: str = ""
    team: str = ""
    role: str = ""
    task: str = ""
    route: str = ""
    corrects: str = ""
    cost_usd: Annotated[float, msgspec.Meta(ge=0)] | None = None


ROW_DECODER = msgspec.json.Decoder(EventRow)
"""The msgspec decoder of whole :class:`EventRow` lines."""

decode_row = ROW_DECODER.decode
"""Decode one JSON line into an :class:`EventRow`; raises ``msgspec.DecodeError``."""


def _explain(exc: msgspec.ValidationError) -> str:
    text = str(exc)
    if text.startswith("Object missing required field `ts`"):
        return "ts is missing"
    return text
