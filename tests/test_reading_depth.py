"""``too_deep``, the depth check every reader and importer makes before decoding a line."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from jusage.reading import MAX_DEPTH, too_deep


def reference_depth(line: bytes) -> int:
    """The deepest nesting of ``line``, byte by byte (brackets inside strings left out)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in line:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        elif byte in b"]}":
            depth -= 1
    return deepest


# Text full of what a depth check must not be fooled by: brackets, quotes and backslashes.
TRICKY = st.text(alphabet='[]{}"\\ab\n', max_size=12)


def nested(depth: int, leaf: object, as_object: bool) -> bytes:
    """``leaf`` inside ``depth`` arrays or objects, as JSON text."""
    inner = json.dumps(leaf).encode()
    if as_object:
        return b'{"k": ' * depth + inner + b"}" * depth
    return b"[" * depth + inner + b"]" * depth


@given(
    st.recursive(
        st.none() | st.integers() | TRICKY,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TRICKY, inner, max_size=3),
        max_leaves=12,
    ),
    st.integers(0, 2 * MAX_DEPTH),
    st.booleans(),
)
def test_too_deep_agrees_with_a_byte_by_byte_count(value: object, depth: int, as_object: bool) -> None:
    """For any JSON, with strings full of brackets, quotes and backslashes, the answer is
    whether its nesting passes MAX_DEPTH."""
    line = nested(depth, value, as_object)
    assert too_deep(line) == (reference_depth(line) > MAX_DEPTH)


def test_brackets_in_strings_do_not_count() -> None:
    """A string of a thousand brackets is not nesting; a thousand arrays are."""
    assert not too_deep(json.dumps({"x": "[" * 1000, "y": '\\"' + "{" * 1000}).encode())
    assert too_deep(b'{"x": ' + b"[" * 1000 + b"]" * 1000 + b"}")
    assert not too_deep(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH)
    assert too_deep(b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1))
