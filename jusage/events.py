"""The event: one agent turn, one JSON line in the ledger, and the valid range of every field.

The schema is compatible with jcode's ``~/.jcode/usage/events.jsonl``: such a line parses
unchanged. Token counts follow the *inclusive* convention: ``prompt`` includes cached reads
and cache writes, ``completion`` includes reasoning tokens.

:class:`Event` is the one definition of a valid event. The log reader decodes lines straight
into it (msgspec checks types and ranges in C, then :meth:`Event.__post_init__` the rules that
tie fields together), and everything that writes an event (``record``, the importers, the
hook) is held to the same rules, so what is written is exactly what is read back.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

__all__ = [
    "COUNT_FIELDS",
    "EVENT_DECODER",
    "MAX_COST_USD",
    "MAX_COUNT",
    "MAX_TS",
    "TEXT_FIELDS",
    "Event",
    "EventError",
    "check_counts",
]


class EventError(ValueError):
    """An event (or a line of the log) does not satisfy the schema."""


MAX_COUNT = 1 << 53
"""Every token and call count of one event is below this (about 9e15). No request reads or
writes that many tokens, sums of counts this size stay exact in the float arithmetic of
JSON tools, and the importers' index keeps them in 64-bit integers without overflow."""

MAX_TS = 253_402_300_799
"""The last second of 9999-12-31 UTC: every ``ts`` (unix seconds, not negative) maps to a date
that every report, time zone and calendar function can show."""

MAX_COST_USD = 1_000_000.0
"""The largest reported cost of one event, in US dollars. A million tokens at the dearest
price any provider lists costs a few hundred dollars, so this is generous by three orders of
magnitude, and still small enough that a sum of ``2**53`` such costs in pico-dollars is an
exact integer (a reported ``1e300`` would make every cost report overflow)."""

_Count = Annotated[int, msgspec.Meta(ge=0, lt=MAX_COUNT)]
_Ts = Annotated[int, msgspec.Meta(ge=0, le=MAX_TS)]
_Cost = Annotated[float, msgspec.Meta(ge=0, le=MAX_COST_USD)]

#: Integer token and call counts, in schema order.
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
    "host",
    "corrects",
)


def check_counts(
    prompt: int, completion: int, cached: int, cache_write: int, cache_write_1h: int, reasoning: int
) -> str | None:
    """Why these token counts contradict each other, or ``None`` when they agree."""
    if cached + cache_write > prompt:
        return f"cached ({cached}) + cache_write ({cache_write}) exceeds prompt ({prompt})"
    if reasoning > completion:
        return f"reasoning ({reasoning}) exceeds completion ({completion})"
    if cache_write_1h > cache_write:
        return f"cache_write_1h ({cache_write_1h}) exceeds cache_write ({cache_write})"
    return None


class Event(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, gc=False):
    """One recorded agent turn's token usage (per-turn counts, never cumulative).

    ``ts`` is unix seconds. ``corrects`` names the ``id`` of an earlier event that this one
    corrects: its counts are the *additional* tokens (an importer saw a later, larger
    streaming chunk) and it is not a turn of its own. ``cache_write_1h`` is the part of
    ``cache_write`` written with a one-hour lifetime (priced higher). ``total``, when a line
    carries it, is informational: every report counts ``prompt + completion``
    (:attr:`tokens`), and :meth:`check` refuses an event whose ``total`` says otherwise.

    Construct with :meth:`create` (or :meth:`from_dict` / :meth:`from_json`) to have every
    type and range checked; a plain ``Event(...)`` checks only the rules between fields.
    """

    ts: _Ts
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
    total: _Count | None = None
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
    host: str = ""
    corrects: str = ""
    cost_usd: _Cost | None = None

    def __post_init__(self) -> None:
        # Runs for every decoded line too, so only the cheap cross-field rules live here.
        if (
            self.cached + self.cache_write > self.prompt
            or self.reasoning > self.completion
            or self.cache_write_1h > self.cache_write
        ):
            problem = check_counts(
                self.prompt,
                self.completion,
                self.cached,
                self.cache_write,
                self.cache_write_1h,
                self.reasoning,
            )
            raise EventError(problem)

    @property
    def tokens(self) -> int:
        """Tokens of the turn, as every report counts them: ``prompt + completion``."""
        return self.prompt + self.completion

    @classmethod
    def create(cls, **fields: Any) -> Event:
        """An event from keyword fields, every type and range checked.

        Raises :class:`EventError` naming the first field that is wrong or unknown.
        """
        unknown = sorted(fields.keys() - set(cls.__struct_fields__))
        if unknown:
            raise EventError(f"unknown field {unknown[0]!r}")
        return cls.from_dict(fields)

    @classmethod
    def from_dict(cls, data: Any) -> Event:
        """An event from a decoded JSON object; unknown keys are ignored.

        Raises :class:`EventError` when ``data`` is not an object, ``ts`` is missing, or a
        value has the wrong type, is out of range or breaks a rule between fields.
        """
        try:
            return msgspec.convert(data, cls)
        except msgspec.ValidationError as exc:
            raise EventError(_explain(exc)) from None

    @classmethod
    def from_json(cls, line: str | bytes) -> Event:
        """Parse one JSON line. Raises :class:`EventError` on malformed JSON (or JSON nested
        deeper than :data:`jusage.reading.MAX_DEPTH`) or a bad event."""
        from jusage.reading import too_deep

        data = line.encode() if isinstance(line, str) else line
        if too_deep(data):
            raise EventError("not valid JSON: nested too deep")
        try:
            return EVENT_DECODER.decode(data)
        except msgspec.ValidationError as exc:
            raise EventError(_explain(exc)) from None
        except (msgspec.DecodeError, RecursionError) as exc:
            raise EventError(f"not valid JSON: {exc}") from None

    def check(self) -> Event:
        """This event, once its values are known to be within the valid ranges.

        Everything that writes an event calls this. The ranges are those the readers hold
        every line to (:data:`MAX_COUNT`, :data:`MAX_TS`, :data:`MAX_COST_USD`), and a
        ``total`` other than ``prompt + completion`` is refused. The types are the
        annotations': :meth:`create` and the decoders check them, and mypy does for an event
        built in code. Raises :class:`EventError` naming the first value out of range.
        """
        try:
            valid = self._in_range()
        except TypeError:  # a value of the wrong type, in an event built in code
            valid = False
        if not valid:
            raise EventError(self._out_of_range())
        return self

    def _in_range(self) -> bool:
        return (
            0 <= self.ts <= MAX_TS
            and 0 <= self.prompt < MAX_COUNT
            and 0 <= self.completion < MAX_COUNT
            and self.cached >= 0
            and self.cache_write >= 0
            and self.cache_write_1h >= 0
            and self.reasoning >= 0
            and 0 <= self.calls < MAX_COUNT
            and 0 <= self.fallbacks < MAX_COUNT
            and (self.cost_usd is None or 0 <= self.cost_usd <= MAX_COST_USD)
            and (self.total is None or self.total == self.prompt + self.completion)
        )

    def _out_of_range(self) -> str:
        if self.total is not None and self.total != self.prompt + self.completion:
            return f"total ({self.total}) is not prompt + completion ({self.prompt + self.completion})"
        try:
            Event.from_dict(msgspec.to_builtins(self))
        except EventError as exc:
            return str(exc)
        return "a value is out of range"

    def to_dict(self) -> dict[str, Any]:
        """The event as a JSON-ready dict, optional keys omitted when empty or zero."""
        out: dict[str, Any] = msgspec.to_builtins(self)
        return out

    def to_json(self) -> bytes:
        """The event as one compact JSON line *without* the trailing newline."""
        return _ENCODER.encode(self)

    def replace(self, **changes: Any) -> Event:
        """A copy with ``changes`` applied (the rules between fields checked again)."""
        return msgspec.structs.replace(self, **changes)


EVENT_DECODER: msgspec.json.Decoder[Event] = msgspec.json.Decoder(Event)
"""Decodes one JSON line (or, with ``decode_lines``, many) into checked :class:`Event` values."""

_ENCODER = msgspec.json.Encoder()


_KINDS = {"int": "a whole number", "float": "a number", "str": "a string", "object": "a JSON object"}
_GOT = {**_KINDS, "float": "a fraction", "bool": "true or false", "array": "an array", "null": "null"}


def _explain(exc: msgspec.ValidationError) -> str:
    """msgspec's message in words: ``prompt must be at most 9007199254740991``."""
    import re

    text = str(exc)
    if text.startswith("Object missing required field `ts`"):
        return "ts is missing"
    found = re.fullmatch(
        r"Expected `(\w+)`(?:, got `(\w+)`| (<=|>=|<|>) ([\d.e+-]+))? - at `\$\.(\w+)`", text
    )
    if found is None:
        found = re.fullmatch(r"Expected `(\w+)`, got `(\w+)`", text)
        if found:
            return f"expected {_KINDS.get(found[1], found[1])}, got {_GOT.get(found[2], found[2])}"
        return text
    kind, got, op, bound, field = found.groups()
    what = _KINDS.get(kind, kind)
    if got:
        return f"{field} must be {what}, got {_GOT.get(got, got)}"
    if op:
        words = {"<=": "at most", ">=": "at least", "<": "below", ">": "above"}[op]
        return f"{field} must be {what} {words} {bound}"
    return f"{field} must be {what}"
