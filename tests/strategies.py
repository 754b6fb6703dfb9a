"""Hypothesis strategies and helpers shared by the importers' and the drop folder's tests."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

JSON_ANY = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**65), 2**65)
    | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)
"""Any JSON value, integers past 64 bits included (write them with the standard library's json)."""


def set_at(value: dict[str, Any], path: tuple[str, ...], new: Any) -> None:
    """Put ``new`` at ``path`` inside ``value`` when every step before the last is an object."""
    target = value
    for part in path[:-1]:
        step = target.get(part)
        if not isinstance(step, dict):
            return
        target = step
    target[path[-1]] = new


HOOK_EVENT: dict[str, Any] = {
    "instance_id": "inst-1",
    "model": "claude-sonnet-4-6",
    "input_tokens": 10,
    "output_tokens": 5,
    "cache_read_tokens": 100,
    "cache_write_tokens": 20,
    "ts": 1_767_225_600_123_456_789,
}
"""A file of the agent cost hook (agent-deck's RawCostEvent), ts in nanoseconds as it writes it."""
