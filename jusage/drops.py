"""What one file of a drop folder holds: its events, or why it is not ready or never will be.

A drop file holds one JSON object, a JSON array of objects, or JSON lines (one object a
line). Each object is an event in one of two shapes:

* jusage's own event (see :mod:`jusage.events`): ``ts``, ``prompt``, ``completion``, ...
* the agent cost package's hook event (``RawCostEvent`` of agent-deck's
  ``internal/costs``): ``instance_id``, ``model``, ``input_tokens``, ``output_tokens``,
  ``cache_read_tokens``, ``cache_write_tokens``, ``ts``. Its hook handler copies Claude's
  ``usage`` into it, where ``input_tokens`` *excludes* the cache, so the event gets
  ``prompt = input_tokens + cache_read_tokens + cache_write_tokens``, ``cached =
  cache_read_tokens``, ``cache_write = cache_write_tokens``, ``completion = output_tokens``
  and ``session = instance_id``. Newer versions add ``provider``,
  ``cache_write_1h_tokens`` and ``reasoning_tokens``, taken as ``provider``,
  ``cache_write_1h`` and ``reasoning``.

``ts`` may be unix seconds, milliseconds, microseconds or nanoseconds (the hook handler
writes ``time.Now().UnixNano()``), told apart by size: a number up to :data:`MAX_TS` is
seconds, up to a thousand times that milliseconds, and so on. It may also be an ISO 8601
string with a time zone (``2026-01-01T12:00:00Z``).

Every event gets an id derived from what the file says, so a copy of a file adds nothing:
an event's own ``id`` when it has one, else a digest of its JSON (keys sorted) and of how
many identical objects came before it in the file. ``source`` becomes ``ingest`` and
``host`` this machine unless the event names them; ``date`` is the local day at ``ts``.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import Any

import orjson

from jusage.events import MAX_TS, TEXT_FIELDS, Event, EventError
from jusage.reading import MAX_DEPTH, too_deep

__all__ = [
    "ID_PREFIX",
    "MAX_FILE_BYTES",
    "SOURCE",
    "DropIncomplete",
    "DropRejected",
    "drop_key",
    "parse_drop",
    "unix_seconds",
]

ID_PREFIX = "dr-"
"""The id prefix of events that came through a drop folder: ``dr-<16 hex digits>`` (the
``ingest`` source's in :data:`jusage.importers.index.ID_PREFIXES`)."""

SOURCE = "ingest"
"""The ``source`` of a dropped event that does not name its own."""

MAX_FILE_BYTES = 16 << 20
"""A drop file larger than this (16 MiB) is rejected unread: no batch of turns is that big."""

_SEED_COUNTS = {
    "input_tokens": "input",
    "output_tokens": "output",
    "cache_read_tokens": "cache read",
    "cache_write_tokens": "cache write",
}
_OWN_COUNTS = ("prompt", "completion", "cached", "cache_write")


class DropIncomplete(Exception):
    """The file may still be being written: it is empty, or its JSON stops before it is whole."""


class DropRejected(ValueError):
    """The file can never become events; the message says why in one line."""


def drop_key(kind: str, identity: bytes) -> int:
    """The unsigned 64-bit key of an event's identity: blake2b of its kind and bytes.

    The event's id is ``dr-`` and the key in 16 hex digits.
    """
    digest = hashlib.blake2b(identity, digest_size=8, person=kind.encode()[:16])
    return int.from_bytes(digest.digest(), "big")


def parse_drop(data: bytes, *, host: str) -> list[Event]:
    """The events of a drop file's bytes, each checked and with its ``dr-`` id.

    ``host`` fills the events that do not name one. Raises :class:`DropIncomplete` for a
    file that may still be growing and :class:`DropRejected` for one that never can be
    read (then none of its events is taken).
    """
    values = _values(data)
    if not values:
        raise DropRejected("the file holds no event")
    events: list[Event] = []
    copies: dict[bytes, int] = {}
    for number, value in enumerate(values, start=1):
        where = f"event {number}: " if len(values) > 1 else ""
        if not isinstance(value, dict):
            raise DropRejected(f"{where}not a JSON object")
        try:
            canonical = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
            nth = copies.get(canonical, 0)
            copies[canonical] = nth + 1
            events.append(_event(value, canonical, nth, host))
        except (DropRejected, EventError) as exc:
            raise DropRejected(f"{where}{exc}") from None
    return events


def _values(data: bytes) -> list[Any]:
    """The JSON values of the file: one value (an array counts as its items) or JSON lines."""
    if not data.strip():
        raise DropIncomplete("the file is empty")
    if too_deep(data):  # no event nests at all, nor can its id be derived from one that does
        raise DropRejected(f"nested deeper than {MAX_DEPTH} levels")
    try:
        whole = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if _truncated(exc, data):
            raise DropIncomplete("the JSON is not complete yet") from None
        first_error = exc.msg
    else:
        return whole if isinstance(whole, list) else [whole]
    lines = data.split(b"\n")
    numbered = [(n, line) for n, line in enumerate(lines, start=1) if line.strip()]
    if len(numbered) == 1:
        raise DropRejected(f"not JSON: {first_error}")
    values = []
    for n, line in numbered:
        try:
            values.append(orjson.loads(line))
        except orjson.JSONDecodeError as exc:
            if n == len(lines) and _truncated(exc, line):  # the last line, no newline yet
                raise DropIncomplete("the last JSON line is not complete yet") from None
            raise DropRejected(f"line {n} is not JSON: {exc.msg}") from None
    return values


def _truncated(exc: orjson.JSONDecodeError, data: bytes) -> bool:
    """Whether the JSON failed only because it ends too early (more bytes could mend it).

    The parser's error is then at the very end of the text; a multi-byte character cut in
    two fails the UTF-8 check first, which reports no position, so that is checked apart.
    """
    if exc.doc:
        return exc.pos >= len(exc.doc)
    try:
        data.decode()
    except UnicodeDecodeError as bad:
        return bad.end == len(data) and bad.reason == "unexpected end of data"
    return False


def _event(value: dict[str, Any], canonical: bytes, nth: int, host: str) -> Event:
    seed = [name for name in _SEED_COUNTS if name in value]
    own = [name for name in _OWN_COUNTS if name in value]
    if seed and own:
        raise DropRejected(f"mixes jusage's {own[0]!r} with the hook event's {seed[0]!r}")
    if "ts" not in value:
        raise DropRejected("ts is missing")
    fields = _from_seed(value) if seed else dict(value)
    fields["ts"] = unix_seconds(value["ts"])
    event = Event.from_dict(fields)
    # The nth copy of one object in a file is an event of its own (two identical turns).
    key = _own_key(event.id) if event.id else drop_key("event", b"%d\n%s" % (nth, canonical))
    changes: dict[str, Any] = {"id": f"{ID_PREFIX}{key:016x}"}
    if event.corrects:
        changes["corrects"] = f"{ID_PREFIX}{_own_key(event.corrects):016x}"
    if not event.source:
        changes["source"] = SOURCE
    if not event.host:
        changes["host"] = host
    if event.date:
        try:
            date.fromisoformat(event.date)
        except ValueError:
            raise DropRejected(f"date must be YYYY-MM-DD, got {event.date!r}") from None
    else:
        from jusage.days import local_day

        changes["date"] = local_day(event.ts)
    event = event.replace(**changes).check()
    if event.tokens == 0:
        raise DropRejected("the event has no tokens")
    return event


def _own_key(own_id: str) -> int:
    """The key of an event that names its own id (so does an event it corrects)."""
    return drop_key("id", own_id.encode("utf-8", "surrogatepass"))


def _from_seed(value: dict[str, Any]) -> dict[str, Any]:
    """jusage's fields for a hook event (``input_tokens`` excludes the cache: see above)."""

    def count(name: str) -> int:
        got = value.get(name, 0)
        if type(got) is not int or got < 0:
            raise DropRejected(f"{name} must be a whole number of tokens, got {got!r}")
        return got

    cache_read = count("cache_read_tokens")
    cache_write = count("cache_write_tokens")
    output = count("output_tokens")
    fields: dict[str, Any] = {k: value[k] for k in (*TEXT_FIELDS, "cost_usd") if k in value}
    fields.update(
        prompt=count("input_tokens") + cache_read + cache_write,
        completion=output,
        cached=cache_read,
        cache_write=cache_write,
        cache_write_1h=count("cache_write_1h_tokens"),
        reasoning=count("reasoning_tokens"),
    )
    instance = value.get("instance_id")
    if instance is not None and not isinstance(instance, str):
        raise DropRejected(f"instance_id must be a string, got {instance!r}")
    if instance and not fields.get("session"):
        fields["session"] = instance
    return fields


def unix_seconds(value: Any) -> int:
    """Whole unix seconds from a ``ts``: seconds, ms, µs or ns by size, or an ISO 8601 string.

    Raises :class:`DropRejected` for anything else, for a negative or too late number, and
    for an ISO string without a time zone (it would be read in whichever zone we run in).

    >>> unix_seconds(1_767_225_600_123_456_789), unix_seconds("2026-01-01T00:00:00Z")
    (1767225600, 1767225600)
    """
    if isinstance(value, str):
        try:
            stamp = datetime.fromisoformat(value)
        except ValueError:
            raise DropRejected(f"ts is not a number or an ISO 8601 time: {value!r}") from None
        if stamp.tzinfo is None:
            raise DropRejected(f"ts has no time zone: {value!r} (add Z or an offset)")
        seconds = stamp.timestamp()
        if not 0 <= seconds <= MAX_TS:
            raise DropRejected(f"ts is outside 1970-9999: {value!r}")
        return int(seconds)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DropRejected(f"ts must be a number or an ISO 8601 string, got {value!r}")
    if not 0 <= value <= MAX_TS * 1_000_000_000:  # NaN fails this too
        raise DropRejected(f"ts is outside 1970-9999 in any unit: {value!r}")
    scale = 1
    while value > MAX_TS * scale:
        scale *= 1000
    return int(value // scale)
