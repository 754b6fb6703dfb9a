"""Pricing: genai-prices wrapped into exact integer rates, plus TOML overrides."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jusage.pricing as pricing
from jusage.pricing import Pricer, PricingError, Rates, infer_provider, load_overrides

DAY = date(2025, 10, 1)
PICO_PER_USD = 10**12


@pytest.fixture(scope="module")
def pricer() -> Pricer:
    """A pricer with no overrides: package prices only."""
    return Pricer.load(use_default_file=False)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "prices.toml"
    path.write_text(text, encoding="utf-8")
    return path


# --- known prices, computed by hand ---------------------------------------------------------


def test_claude_sonnet_4_5_rates_are_exact_micro_dollars(pricer: Pricer) -> None:
    """$3 / $15 / $0.30 / $3.75 / $6 per M, and the >200k tier at twice input, 1.5x output."""
    rates = pricer.rates("claude-sonnet-4-5", DAY)
    assert rates is not None
    assert (rates.input, rates.output, rates.cache_read) == (3_000_000, 15_000_000, 300_000)
    assert (rates.cache_write, rates.cache_write_1h) == (3_750_000, 6_000_000)
    assert [threshold for threshold, _ in rates.tiers] == [200_000]
    tier = rates.tiers[0][1]
    assert (tier.input, tier.output, tier.cache_read) == (6_000_000, 22_500_000, 600_000)
    assert (tier.cache_write, tier.cache_write_1h) == (7_500_000, 12_000_000)


def test_claude_sonnet_4_5_cost_with_cache_reads_and_both_cache_writes(pricer: Pricer) -> None:
    """A 100k-token prompt with cache reads, 5-minute and 1-hour writes, priced by hand."""
    rates = pricer.rates("claude-sonnet-4-5-20250929", DAY)
    assert rates is not None
    # prompt 100,000 = 60,000 cache reads + 20,000 cache writes (5,000 of them 1h) + 20,000 new
    #   new input   20,000 x $3.00/M  = $0.06
    #   cache read  60,000 x $0.30/M  = $0.018
    #   5m writes   15,000 x $3.75/M  = $0.05625
    #   1h writes    5,000 x $6.00/M  = $0.03
    #   output       2,000 x $15.00/M = $0.03
    #   total                           $0.19425
    cost = rates.cost_pico(
        prompt=100_000, completion=2_000, cached=60_000, cache_write=20_000, cache_write_1h=5_000
    )
    assert cost == Decimal("0.19425") * PICO_PER_USD


def test_claude_sonnet_4_5_long_context_tier_prices_the_whole_request(pricer: Pricer) -> None:
    """Above 200k total input (cache included) every token pays the long-context rate."""
    rates = pricer.rates("claude-sonnet-4-5", DAY)
    assert rates is not None
    # prompt 250,000 = 200,000 cache reads + 10,000 5m writes + 40,000 new: tier applies
    #   new input   40,000 x $6.00/M  = $0.24
    #   cache read 200,000 x $0.60/M  = $0.12
    #   5m writes   10,000 x $7.50/M  = $0.075
    #   output       1,000 x $22.50/M = $0.0225
    #   total                           $0.4575
    cost = rates.cost_pico(prompt=250_000, completion=1_000, cached=200_000, cache_write=10_000)
    assert cost == Decimal("0.4575") * PICO_PER_USD


def test_tier_threshold_is_strictly_greater_than(pricer: Pricer) -> None:
    """Exactly 200,000 input tokens is still base price; 200,001 is the tier (as genai-prices)."""
    rates = pricer.rates("claude-sonnet-4-5", DAY)
    assert rates is not None
    # 200,000 x $3/M = $0.60; 200,001 x $6/M = $1.200006
    assert rates.cost_pico(200_000, 0) == Decimal("0.60") * PICO_PER_USD
    assert rates.cost_pico(200_001, 0) == Decimal("1.200006") * PICO_PER_USD


def test_gpt_5_cost_with_cached_input(pricer: Pricer) -> None:
    """gpt-5 at $1.25 / $10 per M with cached input at $0.125 per M, priced by hand."""
    rates = pricer.rates("gpt-5", DAY)
    assert rates is not None
    assert (rates.input, rates.output, rates.cache_read) == (1_250_000, 10_000_000, 125_000)
    # prompt 10,000 = 8,000 cached + 2,000 new; 500 output (reasoning included)
    #   new input  2,000 x $1.25/M  = $0.0025
    #   cached     8,000 x $0.125/M = $0.001
    #   output       500 x $10/M    = $0.005
    #   total                         $0.0085
    assert rates.cost_pico(prompt=10_000, completion=500, cached=8_000) == 8_500_000_000


def test_missing_cache_prices_fall_back_like_genai_prices(pricer: Pricer) -> None:
    """gpt-5 has no cache-write price, so writes cost input price, as genai-prices bills them."""
    rates = pricer.rates("gpt-5", DAY)
    assert rates is not None
    assert rates.cache_write == rates.cache_write_1h == rates.input


# --- matching ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "model_ref"),
    [
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("anthropic/claude-sonnet-4-5", "claude-sonnet-4-5"),
        ("openrouter/anthropic/claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("claude-opus-4-1-20250805", "claude-opus-4-1"),
        ("gpt-5-codex", "gpt-5"),
        ("openai/gpt-5-mini-2025-08-07", "gpt-5-mini"),
        ("CLAUDE-SONNET-4-5", "claude-sonnet-4-5"),
    ],
)
def test_prefixed_and_dated_ids_match(pricer: Pricer, model: str, model_ref: str) -> None:
    """Provider prefixes are stripped and dated or variant ids match their base model."""
    rates = pricer.rates(model, DAY)
    assert rates is not None
    assert rates.model_ref == model_ref
    assert pricer.source(model, DAY) == "package"


def test_a_prefix_naming_a_provider_is_tried_when_the_bare_name_is_unknown(pricer: Pricer) -> None:
    """``openrouter/qwen/qwen3-coder`` falls back to OpenRouter's own ``qwen/qwen3-coder``."""
    rates = pricer.rates("openrouter/qwen/qwen3-coder", DAY)
    assert rates is not None
    assert rates.model_ref == "qwen/qwen3-coder"


def test_unknown_model_is_none_and_unknown(pricer: Pricer) -> None:
    """A model nobody prices is None, never free."""
    assert pricer.rates("my-local-model", DAY) is None
    assert pricer.source("my-local-model", DAY) == "unknown"


def test_price_is_taken_at_the_events_own_date(pricer: Pricer) -> None:
    """o3 cost $10 / $40 per M until OpenAI's cut to $2 / $8 on 2025-06-10."""
    before = pricer.rates("o3", date(2025, 6, 9))
    after = pricer.rates("o3", date(2025, 6, 10))
    assert before is not None
    assert after is not None
    assert (before.input, before.output) == (10_000_000, 40_000_000)
    assert (after.input, after.output) == (2_000_000, 8_000_000)
    # 1M in + 1M out: $10 + $40 = $50 before, $2 + $8 = $10 after
    assert before.cost_pico(1_000_000, 1_000_000) == 50 * PICO_PER_USD
    assert after.cost_pico(1_000_000, 1_000_000) == 10 * PICO_PER_USD


def test_rates_are_cached_per_model_and_day(monkeypatch: pytest.MonkeyPatch) -> None:
    """The package is consulted once per model; repeated look-ups return the same object."""
    calls: list[str] = []
    real = pricing._lookup_package_model

    def counting(model: str) -> object:
        calls.append(model)
        return real(model)

    monkeypatch.setattr(pricing, "_lookup_package_model", counting)
    monkeypatch.setattr(pricing, "_answers", pricing._Answers())  # forget earlier tests' answers
    fresh = Pricer()
    first = fresh.rates("gpt-5", DAY)
    assert fresh.rates("gpt-5", DAY) is first
    assert fresh.rates("gpt-5", date(2025, 10, 2)) == first
    assert calls == ["gpt-5"]


def test_importing_pricing_does_not_import_genai_prices() -> None:
    """The record path must not pay for loading the price data."""
    code = "import sys, jusage.pricing; assert 'genai_prices' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# --- agreement with genai-prices ----------------------------------------------------------------

usage_parts = st.tuples(
    st.integers(0, 400_000),  # new (uncached) input
    st.integers(0, 400_000),  # cache reads
    st.integers(0, 100_000),  # 5-minute cache writes
    st.integers(0, 100_000),  # 1-hour cache writes
    st.integers(0, 100_000),  # output
)


@pytest.mark.parametrize(
    ("model", "day"),
    [
        ("claude-sonnet-4-5", DAY),
        ("claude-opus-4-1", DAY),
        ("claude-sonnet-4-6", date(2026, 3, 12)),
        ("claude-sonnet-4-6", date(2026, 3, 13)),
        ("gpt-5", DAY),
        ("gemini-2.5-pro", DAY),
        ("deepseek-chat", DAY),
    ],
)
@settings(max_examples=60, deadline=None)
@given(parts=usage_parts)
def test_cost_matches_genai_prices_exactly(
    pricer: Pricer, model: str, day: date, parts: tuple[int, int, int, int, int]
) -> None:
    """cost_pico equals genai-prices' own total for the same usage, to the pico-dollar."""
    from genai_prices import Usage, calc_price

    new, reads, writes_5m, writes_1h, output = parts
    prompt = new + reads + writes_5m + writes_1h
    rates = pricer.rates(model, day)
    assert rates is not None
    ours = rates.cost_pico(prompt, output, reads, writes_5m + writes_1h, writes_1h)
    usage = Usage(
        input_tokens=prompt,
        cache_read_tokens=reads,
        cache_write_tokens=writes_5m + writes_1h,
        cache_write_1h_tokens=writes_1h,
        output_tokens=output,
    )
    theirs = calc_price(
        usage, model, genai_request_timestamp=datetime.combine(day, time(12), tzinfo=UTC)
    ).total_price
    assert ours == theirs * PICO_PER_USD


# --- properties of cost_pico --------------------------------------------------------------------

counts = st.integers(0, 2_000_000)


@settings(max_examples=200)
@given(prompt=counts, completion=counts, cached=counts, write=counts, write_1h=counts)
def test_cost_is_never_negative_even_for_inconsistent_counts(
    pricer: Pricer, prompt: int, completion: int, cached: int, write: int, write_1h: int
) -> None:
    """Whatever the counts, the cost is >= 0 (the parts are trusted over the total)."""
    rates = pricer.rates("claude-sonnet-4-5", DAY)
    assert rates is not None
    assert rates.cost_pico(prompt, completion, cached, write, write_1h) >= 0


@pytest.mark.parametrize("model", ["claude-sonnet-4-5", "gpt-5", "gemini-2.5-pro"])
@settings(max_examples=100)
@given(parts=usage_parts, which=st.integers(0, 4), extra=st.integers(1, 300_000))
def test_cost_is_monotone_in_every_kind_of_token(
    pricer: Pricer, model: str, parts: tuple[int, int, int, int, int], which: int, extra: int
) -> None:
    """Adding tokens of any kind (new input, reads, 5m/1h writes, output) never lowers cost."""
    rates = pricer.rates(model, DAY)
    assert rates is not None

    def cost(new: int, reads: int, w5: int, w1: int, out: int) -> int:
        return rates.cost_pico(new + reads + w5 + w1, out, reads, w5 + w1, w1)

    more = list(parts)
    more[which] += extra
    assert cost(*more) >= cost(*parts)


# --- overrides ----------------------------------------------------------------------------------

OVERRIDES = """\
[models."my-local-*"]
input = 0.0
output = 0.0

[models."claude-sonnet-4-5*"]
input = 3.0
output = 15.0
cache_read = 0.30
cache_write = 3.75

[[models."claude-sonnet-4-5*".tiers]]
above = 200000
input = 6.0
output = 22.5

[models."claude-sonnet-4-5-20250929"]
input = 1
output = 2

[models."claude-*"]
input = 100
output = 100
"""


def test_override_file_values_become_micro_dollars(tmp_path: Path) -> None:
    """USD per million tokens in the file become exact integer micro-dollars per million."""
    rates = load_overrides(write(tmp_path, OVERRIDES))["claude-sonnet-4-5*"]
    assert (rates.input, rates.output, rates.cache_read, rates.cache_write) == (
        3_000_000,
        15_000_000,
        300_000,
        3_750_000,
    )
    # cache_write_1h not given: costs what cache_write costs
    assert rates.cache_write_1h == 3_750_000
    assert rates.source == "override"


def test_override_tier_inherits_prices_it_does_not_change(tmp_path: Path) -> None:
    """A tier keeps the model's explicit cache prices unless it sets its own."""
    rates = load_overrides(write(tmp_path, OVERRIDES))["claude-sonnet-4-5*"]
    [(threshold, tier)] = rates.tiers
    assert threshold == 200_000
    assert (tier.input, tier.output) == (6_000_000, 22_500_000)
    assert (tier.cache_read, tier.cache_write) == (300_000, 3_750_000)


def test_exact_override_beats_glob_beats_package(tmp_path: Path) -> None:
    """Exact name, then the most specific glob, then genai-prices."""
    pricer = Pricer.load(write(tmp_path, OVERRIDES))
    exact = pricer.rates("claude-sonnet-4-5-20250929", DAY)
    glob = pricer.rates("claude-sonnet-4-5", DAY)
    general = pricer.rates("claude-opus-4-1", DAY)
    package = pricer.rates("gpt-5", DAY)
    assert exact is not None
    assert glob is not None
    assert general is not None
    assert package is not None
    assert (exact.input, exact.model_ref) == (1_000_000, "claude-sonnet-4-5-20250929")
    assert glob.model_ref == "claude-sonnet-4-5*"  # longer glob beats "claude-*"
    assert general.model_ref == "claude-*"
    assert package.source == "package"
    assert pricer.source("claude-sonnet-4-5", DAY) == "override"
    assert pricer.source("gpt-5", DAY) == "package"


def test_override_matches_after_stripping_prefix_and_case(tmp_path: Path) -> None:
    """``anthropic/Claude-Sonnet-4-5-20250929`` finds the exact override for its bare name."""
    pricer = Pricer.load(write(tmp_path, OVERRIDES))
    rates = pricer.rates("anthropic/Claude-Sonnet-4-5-20250929", DAY)
    assert rates is not None
    assert rates.model_ref == "claude-sonnet-4-5-20250929"


def test_override_makes_a_local_model_known_and_free(tmp_path: Path) -> None:
    """An explicit zero price is a price: the model is not unknown."""
    pricer = Pricer.load(write(tmp_path, OVERRIDES))
    rates = pricer.rates("my-local-llm", DAY)
    assert rates is not None
    assert rates.cost_pico(1000, 1000) == 0
    assert pricer.source("my-local-llm", DAY) == "override"


def test_default_file_comes_from_jusage_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pricer.load() reads $JUSAGE_HOME/prices.toml when it exists."""
    write(tmp_path, OVERRIDES)
    monkeypatch.setenv("JUSAGE_HOME", str(tmp_path))
    assert pricing.default_prices_path() == tmp_path / "prices.toml"
    assert Pricer.load().source("my-local-x", DAY) == "override"
    assert Pricer.load(use_default_file=False).source("my-local-x", DAY) == "unknown"


def test_missing_default_file_is_fine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No prices.toml means package prices only, not an error."""
    monkeypatch.setenv("JUSAGE_HOME", str(tmp_path / "nowhere"))
    assert Pricer.load().overrides_path is None


def test_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    """A --prices path that does not exist is reported, naming the file."""
    missing = tmp_path / "missing.toml"
    with pytest.raises(PricingError, match=r"missing\.toml"):
        Pricer.load(missing)


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ('[models."a"]\ninput = 1\noutput = \n', 3, "invalid TOML"),
        (
            '[models."a"]\ninput = 1\noutput = 2\n\n[models."b"]\ninput = -1\noutput = 2\n',
            6,
            "non-negative",
        ),
        ('[models."a"]\ninput = 1\noutput = "cheap"\n', 3, "output"),
        ('[models."a"]\ninput = 1\noutput = 2\ncahce_read = 1\n', 4, "unknown key 'cahce_read'"),
        ('[models."a"]\ninput = 1\n', 1, "missing required key 'output'"),
        ('[models."a"]\ninput = 1\noutput = 2\n[[models."a".tiers]]\nabove = -5\n', 5, "above"),
        (
            '[models."a"]\ninput = 1\noutput = 2\n[[models."a".tiers]]\nabove = 9\nfoo = 1\n',
            6,
            "tier 1: unknown key 'foo'",
        ),
        ('currency = "EUR"\n', 1, "unknown key 'currency'"),
        ('[models."a"]\ninput = true\noutput = 2\n', 2, "input"),
    ],
)
def test_malformed_file_error_names_file_and_line(tmp_path: Path, text: str, line: int, words: str) -> None:
    """Syntax and semantic errors both say ``path:line: what``."""
    path = write(tmp_path, text)
    with pytest.raises(PricingError) as info:
        load_overrides(path)
    message = str(info.value)
    assert message.startswith(f"{path}:{line}: ")
    assert words in message
    assert "\n" not in message


def test_pricing_error_is_a_value_error() -> None:
    """Callers catching ValueError catch pricing errors too."""
    assert issubclass(PricingError, ValueError)


# --- Rates and providers ------------------------------------------------------------------------


def test_rates_for_prompt_picks_the_highest_tier_passed() -> None:
    """With several tiers, the highest threshold strictly below the prompt wins."""
    low = Rates(1, 1, 1, 1, 1)
    mid = Rates(2, 2, 2, 2, 2)
    high = Rates(3, 3, 3, 3, 3)
    rates = Rates(0, 0, 0, 0, 0, tiers=((100, low), (200, mid), (300, high)))
    picked = [rates.for_prompt(n) for n in (100, 101, 200, 201, 10**9)]
    assert picked == [rates, low, low, mid, high]


@pytest.mark.parametrize(
    ("model", "provider"),
    [
        ("claude-sonnet-4-5-20250929", "anthropic"),
        ("gpt-5-codex", "openai"),
        ("o3", "openai"),
        ("o4-mini", "openai"),
        ("codex-mini-latest", "openai"),
        ("gemini-2.5-pro", "google"),
        ("models/gemini-2.5-flash", "google"),
        ("mistral-large-latest", "mistral"),
        ("devstral-small", "mistral"),
        ("deepseek-chat", "deepseek"),
        ("grok-code-fast-1", "xai"),
        ("llama-3.3-70b", "meta"),
        ("openrouter/anthropic/claude-sonnet-4.5", "openrouter"),
        ("ollama/llama3", "ollama"),
        ("something-else", ""),
        ("", ""),
    ],
)
def test_infer_provider(model: str, provider: str) -> None:
    """The provider comes from an explicit prefix, else from the model family."""
    assert infer_provider(model) == provider


def test_package_answers_are_kept_between_runs(tmp_path: Path) -> None:
    """A second process prices a known (model, day) without importing genai-prices."""
    import os

    code = (
        "import sys; from datetime import date; from jusage.pricing import Pricer; "
        "r = Pricer().rates('claude-sonnet-4-5', date(2026, 1, 5)); "
        "print(r.input, 'genai_prices' in sys.modules)"
    )
    env = {**os.environ, "JUSAGE_HOME": str(tmp_path)}
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, env=env, check=True, text=True)
    second = subprocess.run([sys.executable, "-c", code], capture_output=True, env=env, check=True, text=True)
    assert first.stdout.split() == ["3000000", "True"]
    assert second.stdout.split() == ["3000000", "False"]


def _fake_install(site: Path, table: bytes, *, touch_after: bool = False) -> None:
    """genai_prices as an installer leaves it: the table, then RECORD naming its digest."""
    import base64
    import hashlib
    import os

    package = site / "genai_prices"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "data.py").write_bytes(table)
    digest = base64.urlsafe_b64encode(hashlib.sha256(table).digest()).rstrip(b"=").decode()
    info = site / "genai_prices-0.2.3.dist-info"
    info.mkdir()
    (info / "RECORD").write_text(
        f"genai_prices/__init__.py,,\ngenai_prices/data.py,sha256={digest},{len(table)}\n"
    )
    if touch_after:  # edited after the install
        later = (info / "RECORD").stat().st_mtime_ns + 10**9
        os.utime(package / "data.py", ns=(later, later))


def _version_in(site: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    import importlib.machinery
    import importlib.util

    spec = importlib.machinery.ModuleSpec(
        "genai_prices", None, origin=str(site / "genai_prices" / "__init__.py")
    )
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: spec)
    pricing.package_version.cache_clear()
    try:
        return pricing.package_version()
    finally:
        pricing.package_version.cache_clear()


def test_two_installs_of_one_price_table_share_caches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_install(tmp_path / "a", b"PRICES = 1\n")
    _fake_install(tmp_path / "b", b"PRICES = 1\n")
    _fake_install(tmp_path / "c", b"PRICES = 2\n")
    first = _version_in(tmp_path / "a", monkeypatch)
    assert first.startswith("0.2.3-sha256=")
    assert _version_in(tmp_path / "b", monkeypatch) == first
    assert _version_in(tmp_path / "c", monkeypatch) != first


def test_a_price_table_edited_after_install_is_another_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_install(tmp_path / "a", b"PRICES = 1\n")
    _fake_install(tmp_path / "b", b"PRICES = 1\n", touch_after=True)
    edited = _version_in(tmp_path / "b", monkeypatch)
    assert "sha256" not in edited
    assert edited != _version_in(tmp_path / "a", monkeypatch)
