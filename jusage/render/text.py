"""Formatting for people: money, token counts, integers, and plain-text tables.

Pure functions over integers (money is integer micro-dollars, as everywhere in jusage),
no third-party dependencies. Colour is off unless the caller asks for it; see
:func:`use_color` for the usual terminal test.
"""

from __future__ import annotations

import os
import unicodedata
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "cost_cell",
    "counted",
    "format_int",
    "format_pico",
    "format_tokens",
    "format_usd",
    "render_table",
    "use_color",
    "warning_color",
]

_TOKEN_UNITS = ((1_000, "K"), (1_000_000, "M"), (1_000_000_000, "B"), (1_000_000_000_000, "T"))
_ELLIPSIS = "…"
_BOLD = "\x1b[1m"
_DIM = "\x1b[2m"
_RESET = "\x1b[0m"
_YELLOW = "\x1b[33m"
_RED = "\x1b[31m"


def warning_color(text: str, over: bool) -> str:
    """``text`` in yellow (at an alert level), or red when ``over`` a limit (ANSI codes)."""
    return f"{_RED if over else _YELLOW}{text}{_RESET}"


def format_pico(pico: int) -> str:
    """Pico-dollars (the sums' unit) as :func:`format_usd` shows them, rounded half up."""
    return format_usd((pico + 500_000) // 1_000_000)


def format_usd(micro: int, *, decimals: int = 2) -> str:
    """Micro-dollars as ``$1,234.56``, rounded half away from zero to ``decimals`` places.

    Zero is ``$0.00``. A non-zero amount that would round to zero is shown as ``<$0.01``
    (``>-$0.01`` when negative), so spending is never displayed as nothing. Negative
    amounts carry a leading minus: ``-$1.50``. ``decimals`` must be 0 to 6.
    """
    if not 0 <= decimals <= 6:
        raise ValueError(f"decimals must be between 0 and 6, not {decimals}")
    sign = "-" if micro < 0 else ""
    magnitude = abs(micro)
    step = 10 ** (6 - decimals)  # micro-dollars in one displayed unit
    units = (magnitude + step // 2) // step
    if magnitude and not units:
        smallest = f"{1 / 10**decimals:.{decimals}f}"
        return f">-${smallest}" if sign else f"<${smallest}"
    whole, fraction = divmod(units, 10**decimals)
    text = f"{sign}${whole:,}"
    return f"{text}.{fraction:0{decimals}d}" if decimals else text


def counted(n: int, noun: str, plural: str = "") -> str:
    """``n`` and ``noun``, in the plural (``plural``, else ``noun`` + s) unless ``n`` is 1."""
    return f"{n} {noun}" if n == 1 else f"{n} {plural or noun + 's'}"


def cost_cell(cost_pico: int, unpriced: int) -> str:
    """A cost for a table cell: ``unpriced`` when none of the tokens had a price, the cost
    marked ``*`` when some of them had none, else the cost."""
    if unpriced and not cost_pico:
        return "unpriced"
    return format_pico(cost_pico) + ("*" if unpriced else "")


def format_tokens(n: int) -> str:
    """A token count in at most about five characters: ``999``, ``1.2K``, ``3.4M``, ``5.6B``.

    Below 1,000 the exact number; above, one decimal of the largest unit (K, M, B, T) that
    keeps the rounded value under 1,000, rounding half up, so ``999,950`` is ``1.0M``, not
    ``1000.0K``. Beyond the trillions the T count gets thousands separators. Negative
    counts keep their sign. Never raises for an int.
    """
    sign = "-" if n < 0 else ""
    magnitude = abs(int(n))
    if magnitude < 1_000:
        return f"{sign}{magnitude}"
    tenths = 0
    suffix = ""
    for unit, suffix in _TOKEN_UNITS:  # noqa: B007 - the last unit is kept on purpose
        tenths = (magnitude * 10 + unit // 2) // unit
        if tenths < 10_000:
            break
    return f"{sign}{tenths // 10:,}.{tenths % 10}{suffix}"


def format_int(n: int) -> str:
    """An integer with thousands separators: ``1,234,567``."""
    return f"{n:,}"


def use_color(stream: TextIO) -> bool:
    """Whether to colour output to ``stream``: ``NO_COLOR`` set means never, ``FORCE_COLOR``
    set (and not ``0``) means always, else only on a terminal."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR", "0") not in ("", "0"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _width(text: str) -> int:
    """Columns ``text`` takes in a terminal (East Asian wide characters take two)."""
    if text.isascii():
        return len(text)
    return sum(
        0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        for ch in text
    )


def _truncate(text: str, width: int) -> str:
    """``text`` cut to ``width`` columns, ending in an ellipsis when cut."""
    if _width(text) <= width:
        return text
    kept: list[str] = []
    used = 0
    for ch in text:
        w = _width(ch)
        if used + w > width - 1:
            break
        kept.append(ch)
        used += w
    return "".join(kept) + _ELLIPSIS


def _pad(text: str, width: int, how: str) -> str:
    gap = width - _width(text)
    if how == "r":
        return " " * gap + text
    if how == "c":
        return " " * (gap // 2) + text + " " * (gap - gap // 2)
    return text + " " * gap


def render_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    align: str,
    *,
    footer: Sequence[str] | None = None,
    max_width: int = 80,
    min_column: int = 8,
    color: bool = False,
) -> str:
    """A plain-text table: header, a rule, the rows, and an optional footer under a rule.

    ``align`` has one letter per column: ``l`` (left), ``r`` (right, for numbers) or
    ``c`` (centre). Columns are separated by two spaces and lines carry no trailing
    blanks. When the table is wider than ``max_width``, left-aligned (text) columns are
    shortened, widest first and never below ``min_column``, cutting their cells with an
    ellipsis; other columns are never cut, so a table with many numbers may stay wider.
    ``color`` makes the header bold and the rules dim with ANSI codes; leave it off when
    the output is not a terminal. The result has no final newline. Raises ValueError when
    ``align``, a row or the footer does not have one entry per header.
    """
    columns = len(headers)
    if len(align) != columns or set(align) - set("lrc"):
        raise ValueError(f"align needs one of l, r, c per column ({columns}), got {align!r}")
    body = [list(row) for row in rows]
    extra = [list(footer)] if footer is not None else []
    for row in body + extra:
        if len(row) != columns:
            raise ValueError(f"row has {len(row)} cells, table has {columns} columns: {row!r}")

    widths = [_width(h) for h in headers]
    for row in body + extra:
        widths = [max(w, _width(cell)) for w, cell in zip(widths, row, strict=True)]
    gap = 2
    excess = sum(widths) + gap * (columns - 1) - max_width
    while excess > 0:
        shrinkable = [i for i in range(columns) if align[i] == "l" and widths[i] > min_column]
        if not shrinkable:
            break
        # Cut the widest text columns down towards the next width in one step each, so a cell
        # millions of characters wide costs a few steps, not one per character.
        top = max(widths[i] for i in shrinkable)
        widest = [i for i in shrinkable if widths[i] == top]
        below = max([min_column, *(widths[i] for i in shrinkable if widths[i] < top)])
        step = min(top - below, -(-excess // len(widest)))
        for i in widest:
            if excess <= 0:
                break
            cut = min(step, excess)
            widths[i] -= cut
            excess -= cut

    def line(cells: Sequence[str]) -> str:
        parts = [
            _pad(_truncate(cell, width), width, how)
            for cell, width, how in zip(cells, widths, align, strict=True)
        ]
        return (" " * gap).join(parts).rstrip()

    rule = (" " * gap).join("-" * width for width in widths)
    head = line(headers)
    if color:
        head = f"{_BOLD}{head}{_RESET}"
        rule = f"{_DIM}{rule}{_RESET}"
    out = [head, rule, *(line(row) for row in body)]
    if extra:
        out += [rule, line(extra[0])]
    return "\n".join(out)
