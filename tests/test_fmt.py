"""Formatting: money, token counts, integers and plain-text tables."""

from __future__ import annotations

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jusage.render.text import format_int, format_tokens, format_usd, render_table, use_color

# --- money --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("micro", "text"),
    [
        (0, "$0.00"),
        (1, "<$0.01"),
        (4_999, "<$0.01"),
        (5_000, "$0.01"),  # half a cent rounds up
        (10_000, "$0.01"),
        (14_999, "$0.01"),
        (15_000, "$0.02"),
        (1_234_560_000, "$1,234.56"),
        (1_000_000_000_000, "$1,000,000.00"),
        (-1_500_000, "-$1.50"),
        (-1, ">-$0.01"),
    ],
)
def test_format_usd(micro: int, text: str) -> None:
    """Micro-dollars become dollars and cents; tiny non-zero amounts are never $0.00."""
    assert format_usd(micro) == text


def test_format_usd_with_more_decimals() -> None:
    """More decimals show sub-cent costs; zero decimals whole dollars."""
    assert format_usd(1_234, decimals=4) == "$0.0012"
    assert format_usd(12, decimals=4) == "<$0.0001"
    assert format_usd(2_500_000, decimals=0) == "$3"
    with pytest.raises(ValueError, match="decimals"):
        format_usd(1, decimals=7)


@given(st.integers(-(10**15), 10**15))
def test_format_usd_reads_back_within_half_a_cent(micro: int) -> None:
    """Parsing the text back gives the amount to the nearest cent."""
    text = format_usd(micro)
    if "<" in text or ">" in text:
        assert 0 < abs(micro) < 5_000
        return
    value = int(text.replace("$", "").replace(",", "").replace(".", ""))  # in cents
    assert abs(value * 10_000 - micro) <= 5_000


# --- tokens -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0"),
        (999, "999"),
        (1_000, "1.0K"),
        (1_234, "1.2K"),
        (1_250, "1.3K"),  # half up
        (999_949, "999.9K"),
        (999_950, "1.0M"),  # never "1000.0K"
        (3_400_000, "3.4M"),
        (5_600_000_000, "5.6B"),
        (7_000_000_000_000, "7.0T"),
        (1_234_500_000_000_000, "1,234.5T"),
        (-1_234, "-1.2K"),
    ],
)
def test_format_tokens(n: int, text: str) -> None:
    """Exact below a thousand, one decimal of K, M, B or T above."""
    assert format_tokens(n) == text


@given(st.integers())
def test_format_tokens_never_raises_and_stays_short(n: int) -> None:
    """Any int formats; below a quadrillion the text is at most six characters."""
    text = format_tokens(n)
    assert text
    if abs(n) < 999_950_000_000_000:
        assert len(text.lstrip("-")) <= 6


@given(st.integers(0, 10**14))
def test_format_tokens_is_monotone(n: int) -> None:
    """A larger count never shows a smaller number (same unit or a larger one)."""
    units = "KMBT"

    def key(text: str) -> tuple[int, float]:
        if text[-1] in units:
            return units.index(text[-1]) + 1, float(text[:-1].replace(",", ""))
        return 0, float(text)

    assert key(format_tokens(n)) <= key(format_tokens(n + 1))


def test_format_int() -> None:
    """Thousands separators, sign kept."""
    assert format_int(1_234_567) == "1,234,567"
    assert format_int(-1_000) == "-1,000"
    assert format_int(12) == "12"


# --- tables -------------------------------------------------------------------------------------


def test_render_table_aligns_numbers_right_and_text_left() -> None:
    """Header, rule, rows, footer; numbers right-aligned; no trailing blanks."""
    table = render_table(
        ["Model", "Tokens", "Cost"],
        [["claude-sonnet-4-5", "1.2M", "$3.40"], ["gpt-5", "999", "$0.01"]],
        "lrr",
        footer=["Total", "1.2M", "$3.41"],
    )
    assert table.splitlines() == [
        "Model              Tokens   Cost",
        "-----------------  ------  -----",
        "claude-sonnet-4-5    1.2M  $3.40",
        "gpt-5                 999  $0.01",
        "-----------------  ------  -----",
        "Total                1.2M  $3.41",
    ]


def test_render_table_shrinks_text_columns_to_fit_80_columns() -> None:
    """A long project path is cut with an ellipsis; numbers are kept whole."""
    path = "/home/someone/work/" + "deeply/nested/" * 8 + "project"
    table = render_table(["Project", "Cost"], [[path, "$1,234.56"]], "lr")
    lines = table.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert lines[2].endswith("$1,234.56")
    assert "…" in lines[2]
    assert lines[2].startswith("/home/someone/work/")


def test_render_table_cannot_cut_numbers_so_it_may_stay_wide() -> None:
    """Only text columns shrink, and never below the minimum column width."""
    headers = [f"n{i}" for i in range(12)]
    row = ["1,234,567,890"] * 12
    table = render_table(headers, [row], "r" * 12)
    assert "1,234,567,890" in table
    assert len(table.splitlines()[2]) > 80


def test_render_table_colour_only_when_asked() -> None:
    """ANSI codes appear with color=True and never by default."""
    plain = render_table(["A"], [["x"]], "l")
    coloured = render_table(["A"], [["x"]], "l", color=True)
    assert "\x1b[" not in plain
    assert "\x1b[1m" in coloured


def test_render_table_counts_wide_characters_as_two_columns() -> None:
    """East Asian wide characters keep the columns aligned."""
    table = render_table(["Name", "N"], [["日本", "1"], ["ab", "22"]], "lr")
    lines = table.splitlines()
    assert lines[2] == "日本   1"
    assert lines[3] == "ab    22"


def test_render_table_empty_rows_is_just_the_header() -> None:
    """No rows still renders the header and rule."""
    assert render_table(["Date", "Cost"], [], "lr").splitlines() == ["Date  Cost", "----  ----"]


@pytest.mark.parametrize(
    ("align", "rows"),
    [("l", [["a", "b"]]), ("lx", [["a", "b"]]), ("lr", [["a"]])],
)
def test_render_table_rejects_mismatched_shapes(align: str, rows: list[list[str]]) -> None:
    """align and every row need one entry per header."""
    with pytest.raises(ValueError, match="column"):
        render_table(["A", "B"], rows, align)


def test_use_color_needs_a_terminal_and_no_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    """A StringIO is not a terminal; NO_COLOR turns colour off even on one."""

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert use_color(io.StringIO()) is False
    assert use_color(Tty()) is True
    monkeypatch.setenv("NO_COLOR", "1")
    assert use_color(Tty()) is False
