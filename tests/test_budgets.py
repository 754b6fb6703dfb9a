"""Budgets as defined: scopes, limits, thresholds, and the budgets.toml file."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jusage.budgets import (
    PERIODS,
    Budget,
    BudgetError,
    Context,
    Scope,
    dump_budgets,
    load_budgets,
    matcher,
    save_budgets,
)

GLOBAL = (Scope("global"),)


def covers(scopes: list[str], **fields: str) -> bool:
    test = matcher([Scope.parse(s) for s in scopes])
    return test is None or test(Context(**fields))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("global", Scope("global")),
        ("project:/home/ada/app", Scope("project", "/home/ada/app")),
        ("model:claude-*", Scope("model", "claude-*")),
        ("  Source:codex ", Scope("source", "codex")),
        ("session:a:b", Scope("session", "a:b")),
    ],
)
def test_scopes_are_read_from_kind_and_value(text: str, expected: Scope) -> None:
    """KIND:VALUE, the kind in any case; the value is kept whole (colons included)."""
    assert Scope.parse(text) == expected


@pytest.mark.parametrize("text", ["", "everything", "project", "project:", "global:x", "planet:earth"])
def test_a_scope_that_is_not_one_is_refused(text: str) -> None:
    """Unknown kinds, a missing value and a global with a value are errors."""
    with pytest.raises(BudgetError):
        Scope.parse(text)


def test_a_project_scope_covers_the_folder_below_it_and_its_name() -> None:
    """A path covers itself and folders below; a bare name covers any folder of that name."""
    assert covers(["project:/src/app"], project="/src/app")
    assert covers(["project:/src/app/"], project="/src/app/sub")
    assert not covers(["project:/src/app"], project="/src/application")
    assert covers(["project:app"], project="/home/ada/app")
    assert not covers(["project:app"], project="/home/ada/app2")


def test_a_model_scope_is_a_glob_without_regard_to_case() -> None:
    """model:claude-opus-* covers Claude-Opus-4-1; a plain name must match whole."""
    assert covers(["model:claude-opus-*"], model="Claude-Opus-4-1")
    assert not covers(["model:claude-opus-*"], model="claude-sonnet-4-5")
    assert covers(["model:gpt-5"], model="GPT-5")
    assert not covers(["model:gpt-5"], model="gpt-5-mini")


def test_kinds_must_all_match_and_one_kind_is_a_choice() -> None:
    """Scopes of different kinds are all required; scopes of one kind are alternatives."""
    scopes = ["project:/a", "project:/b", "model:gpt-*"]
    assert covers(scopes, project="/b", model="gpt-5")
    assert not covers(scopes, project="/c", model="gpt-5")
    assert not covers(scopes, project="/a", model="claude")


def test_a_field_that_is_not_known_is_never_covered() -> None:
    """A session budget does not cover a context without a session; global covers all."""
    assert not covers(["session:s1"])
    assert not covers(["agent:x"], session="s1")
    assert covers(["global"])


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"usd": None, "tokens": None}, "needs a limit"),
        ({"usd": 0.0}, "usd must"),
        ({"usd": float("inf")}, "usd must"),
        ({"tokens": 0}, "tokens must"),
        ({"alert_at": 0.0}, "alert_at must"),
        ({"alert_at": 1.5}, "alert_at must"),
        ({"period": "hourly"}, "unknown period"),
        ({"name": ""}, "budget name"),
        ({"scopes": ()}, "needs a scope"),
    ],
)
def test_an_impossible_budget_is_refused(changes: dict[str, object], message: str) -> None:
    """Limits above zero, a fraction in (0, 1], a known period, a name and a scope."""
    fields: dict[str, object] = {"name": "b", "scopes": GLOBAL, "period": "daily", "usd": 1.0}
    fields.update(changes)
    with pytest.raises(BudgetError, match=message):
        Budget(**fields)  # type: ignore[arg-type]


def test_thresholds_are_exact_fractions_of_the_limits() -> None:
    """0.8 of $20 is exactly 16e12 pico-dollars, not a float's neighbour; tokens round up."""
    b = Budget("b", GLOBAL, "daily", usd=20.0, tokens=1001, alert_at=0.8)
    assert b.thresholds() == (16 * 10**12, 20 * 10**12, 801, 1001)
    assert Budget("c", GLOBAL, "daily", tokens=10).thresholds() == (None, None, 8, 10)


def test_budgets_sharing_a_period_and_scopes_share_a_running_total() -> None:
    """The tracker key ignores order, duplicates and a redundant global."""
    a = Budget("a", (Scope.parse("model:x"), Scope.parse("project:/p")), "weekly", usd=1.0)
    b = Budget("b", (Scope.parse("project:/p"), Scope("global"), Scope.parse("model:x")), "weekly", tokens=5)
    assert a.tracker == b.tracker == "weekly|model:x,project:/p"
    assert Budget("g", GLOBAL, "block", usd=1.0).tracker == "block|global"


names = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=20).filter(
    lambda s: s.isprintable()
)
values = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12).filter(
    lambda s: s.strip() == s and s.isprintable()
)
budgets = st.builds(
    Budget,
    name=names,
    scopes=st.lists(
        st.builds(Scope, st.sampled_from(["project", "session", "agent", "team", "source", "model"]), values),
        min_size=1,
        max_size=3,
    ).map(tuple),
    period=st.sampled_from(PERIODS),
    usd=st.one_of(st.none(), st.floats(min_value=0.01, max_value=1e9)),
    tokens=st.integers(1, 10**15),
    alert_at=st.floats(min_value=0.01, max_value=1.0),
    hard_stop=st.booleans(),
)


@given(st.lists(budgets, max_size=4, unique_by=lambda b: b.name))
def test_the_file_reads_back_what_was_written(
    tmp_path_factory: pytest.TempPathFactory, found: list[Budget]
) -> None:
    """Any budgets (any names, values with quotes or backslashes) survive a save and a load."""
    path = tmp_path_factory.mktemp("b") / "budgets.toml"
    save_budgets(found, path)
    assert load_budgets(path) == found


def test_a_missing_file_has_no_budgets(tmp_path: Path) -> None:
    """No budgets.toml: no budgets, no error."""
    assert load_budgets(tmp_path / "budgets.toml") == []


BAD_FILES = [
    ("[budgets.a]\nscope = 'global'\nperiod = 'daily'\nusd = 1\nextra = 2\n", 5, "unknown key 'extra'"),
    ("[budgets.a]\nscope = ['global']\nperiod = 'yearly'\nusd = 1\n", 3, "unknown period"),
    ("[budgets.a]\nscope = ['planet:x']\nperiod = 'daily'\nusd = 1\n", 2, "unknown scope"),
    ("[budgets.a]\nscope = ['global']\nperiod = 'daily'\n", 1, "needs a limit"),
    ("[budgets.a]\nscope = ['global']\nperiod = 'daily'\nusd = 'ten'\n", 4, "usd must be a number"),
    ("[budgets.a]\nperiod = 'daily'\nusd = 1\nhard_stop = 1\n", 4, "hard_stop must be true or false"),
    (
        "[budgets.a]\nscope = ['global']\nperiod = 'daily'\nusd = 1\n\n[budgets.b]\nusd = 2\n",
        6,
        "needs a period",
    ),
    (
        "[budgets.a]\nperiod = 'daily'\nusd = 1\n\n\n[budgets.%s]\nperiod = 'daily'\nusd = 1\n"
        % ("period" * 20),
        6,
        "must be 1 to 100 printable characters",
    ),
    ("[budgets.a\nusd = 1\n", 1, "invalid TOML"),
    ("oops = 1\n", 1, "unknown key 'oops'"),
]


@pytest.mark.parametrize(("text", "line", "message"), BAD_FILES)
def test_a_bad_file_is_one_error_naming_the_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    """Every mistake in budgets.toml names the file and the line to look at."""
    path = tmp_path / "budgets.toml"
    path.write_text(text)
    with pytest.raises(BudgetError) as caught:
        load_budgets(path)
    assert str(caught.value).startswith(f"{path}:{line}: ")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_hand_written_file_may_say_less(tmp_path: Path) -> None:
    """A single scope as a string, no scope at all (global), integers for money, defaults."""
    where = tmp_path / "budgets.toml"
    where.write_text(
        '[budgets.x]\nscope = "model:gpt-*"\nperiod = "monthly"\nusd = 5\n\n'
        '[budgets.y]\nperiod = "total"\ntokens = 9\n'
    )
    x, y = load_budgets(where)
    assert x == Budget("x", (Scope("model", "gpt-*"),), "monthly", usd=5.0)
    assert y == Budget("y", GLOBAL, "total", tokens=9)
    assert "[budgets.x]" in dump_budgets([x])
