"""Token prices: the `genai-prices` package plus user overrides, in exact integer money.

Units used throughout:

- a *rate* is integer **micro-dollars per million tokens** (``$3/M`` is ``3_000_000``);
- a *cost* from :meth:`Rates.cost_pico` is integer **pico-dollars** (``rate * tokens``), so
  summing costs never rounds; divide by ``10**6`` for micro-dollars at the edge.

`genai-prices` is imported lazily, on the first :meth:`Pricer.rates` call that misses the
overrides, so ``import jusage.pricing`` stays cheap and the record path never pays for it.
"""

from __future__ import annotations

import functools
import os
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import date
    from decimal import Decimal

    from genai_prices.types import ModelInfo, ModelPrice, TieredPrices

__all__ = [
    "PriceSource",
    "Pricer",
    "PricingError",
    "Rates",
    "default_prices_path",
    "infer_provider",
    "load_overrides",
    "price_source",
    "strip_provider_prefix",
]

PriceSource = Literal["override", "package", "unknown"]
"""Where a model's price came from: a user override, the `genai-prices` package, or nowhere."""

_MICRO = 1_000_000


class PricingError(ValueError):
    """A price overrides file is unreadable or malformed; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class Rates:
    """Prices of one model on one day, in integer micro-dollars per million tokens.

    ``cache_write`` is the price of 5-minute cache writes (and of writes whose TTL is not
    known); ``cache_write_1h`` that of 1-hour writes. ``tiers`` lists ``(threshold, rates)``
    in ascending threshold order: when a request's total input tokens (``prompt``, cache
    included) is strictly greater than a threshold, that tier's rates apply to *every* token
    of the request (the "cliff" model of Anthropic's and Google's long-context prices, and
    of `genai-prices`). The rates inside a tier have no tiers of their own.
    """

    input: int
    output: int
    cache_read: int
    cache_write: int
    cache_write_1h: int
    tiers: tuple[tuple[int, Rates], ...] = ()
    source: str = "package"
    model_ref: str = ""

    def for_prompt(self, prompt: int) -> Rates:
        """The rates that apply to a request with ``prompt`` total input tokens."""
        for threshold, tier in reversed(self.tiers):
            if prompt > threshold:
                return tier
        return self

    def linear_cost(
        self, prompt: int, completion: int, cached: int = 0, cache_write: int = 0, cache_write_1h: int = 0
    ) -> int:
        """Cost in pico-dollars of these counts at exactly these rates (no tier is chosen).

        The one cost formula of jusage. Counts follow jusage's convention: ``prompt`` includes
        ``cached`` (cache reads) and ``cache_write``; ``cache_write_1h`` is the part of
        ``cache_write`` written with a one-hour TTL; ``completion`` includes reasoning. The
        result is linear in the counts, so the cost of summed counts is the sum of the costs.
        """
        return (
            (prompt - cached - cache_write) * self.input
            + cached * self.cache_read
            + (cache_write - cache_write_1h) * self.cache_write
            + cache_write_1h * self.cache_write_1h
            + completion * self.output
        )

    def cost_pico(
        self,
        prompt: int,
        completion: int,
        cached: int = 0,
        cache_write: int = 0,
        cache_write_1h: int = 0,
    ) -> int:
        """Cost of one request in pico-dollars (exact integer arithmetic), its tier chosen
        from its ``prompt``.

        Inconsistent counts are repaired by trusting the parts, so the result is never
        negative and never prices fewer tokens than were reported: negative counts count as
        0, ``cache_write`` is raised to at least ``cache_write_1h`` and ``prompt`` to at
        least ``cached + cache_write``. The tier is chosen from that ``prompt``.
        """
        completion = max(completion, 0)
        cached = max(cached, 0)
        cache_write_1h = max(cache_write_1h, 0)
        cache_write = max(cache_write, cache_write_1h)
        prompt = max(prompt, cached + cache_write)
        return self.for_prompt(prompt).linear_cost(prompt, completion, cached, cache_write, cache_write_1h)

    def thresholds(self) -> tuple[int, ...]:
        """The prompt sizes above which these rates change (ascending)."""
        return tuple(threshold for threshold, _ in self.tiers)


# --- model names ----------------------------------------------------------------------------

# Name prefixes -> provider, checked in order (str.startswith: no regex at import time).
_PROVIDER_PREFIXES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("claude",), "anthropic"),
    (
        (
            "gpt",
            "chatgpt",
            "o1",
            "o3",
            "o4",
            "codex",
            "text-embedding",
            "davinci",
            "babbage",
            "dall-e",
            "whisper",
            "tts-",
        ),
        "openai",
    ),
    (("gemini", "gemma", "palm", "bison"), "google"),
    (
        (
            "mistral",
            "mixtral",
            "codestral",
            "devstral",
            "magistral",
            "ministral",
            "pixtral",
            "voxtral",
            "open-mistral",
            "open-mixtral",
        ),
        "mistral",
    ),
    (("deepseek",), "deepseek"),
    (("grok",), "xai"),
    (("llama", "meta-llama"), "meta"),
    (("qwen", "qwq"), "alibaba"),
    (("command", "aya"), "cohere"),
    (("kimi", "moonshot"), "moonshotai"),
    (("glm",), "zhipuai"),
)


def strip_provider_prefix(model: str) -> str:
    """The model name without any ``provider/`` prefixes (``openrouter/anthropic/x`` -> ``x``)."""
    return model.rsplit("/", 1)[-1].strip()


def infer_provider(model: str) -> str:
    """The provider of a model name, or ``""`` when it cannot be told.

    An explicit ``provider/`` prefix wins (``openrouter/anthropic/claude-x`` is
    ``openrouter``). Otherwise the name decides: ``claude*`` is ``anthropic``; ``gpt*``,
    ``o1``/``o3``/``o4*``, ``codex*`` are ``openai``; ``gemini*`` is ``google``; then
    ``mistral``, ``deepseek``, ``xai`` (grok), ``meta`` (llama), ``alibaba`` (qwen),
    ``cohere``, ``moonshotai`` (kimi), ``zhipuai`` (glm).
    """
    name = model.strip().lower()
    head, sep, _ = name.partition("/")
    if sep and head and head != "models":  # Google's API returns "models/gemini-…"
        return head
    name = strip_provider_prefix(name)
    for prefixes, provider in _PROVIDER_PREFIXES:
        if name.startswith(prefixes):
            return provider
    return ""


# --- overrides file -------------------------------------------------------------------------

_PRICE_KEYS = ("input", "output", "cache_read", "cache_write", "cache_write_1h")
_MODEL_KEYS = frozenset((*_PRICE_KEYS, "tiers"))
_TIER_KEYS = frozenset((*_PRICE_KEYS, "above"))
_LINE_IN_TOML_ERROR = r"at line (\d+)"


def price_source(rates: Rates | None) -> PriceSource:
    """Where ``rates`` come from: ``override``, ``package``, or ``unknown`` for none."""
    if rates is None:
        return "unknown"
    return "override" if rates.source == "override" else "package"


def default_prices_path() -> Path:
    """``$JUSAGE_HOME/prices.toml``, or ``~/.jusage/prices.toml`` when ``JUSAGE_HOME`` is unset."""
    from jusage.locations import jusage_home

    return jusage_home() / "prices.toml"


def _usd_to_micro(value: object) -> int | None:
    """USD per million tokens -> micro-dollars per million (rounded), None if not a price."""
    from decimal import Decimal

    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not amount.is_finite() or amount < 0:
        return None
    return round(amount * _MICRO)


def _find_line(text: str, model: str, key: str | None = None, tier: int | None = None) -> int:
    """Best-effort line of a model's table (or a key in it, or its ``tier``-th tier table)."""
    import re  # error path only: keep it off the import path

    from jusage.config import key_line, table_headers

    lines = text.splitlines()
    headers = table_headers(text, "models")
    start = 0
    if tier is not None:
        tier_headers = [n for n, name, rest in headers if name == model and rest == ".tiers"]
        if tier < len(tier_headers):
            start = tier_headers[tier]
    if not start:
        start = next((n for n, name, rest in headers if name == model and not rest), 0)
    if not start:
        quoted = re.compile(re.escape(f'"{model}"') + "|" + re.escape(f"'{model}'"))
        start = next((n for n, line in enumerate(lines, 1) if quoted.search(line)), 1)
    return key_line(text, key, start) if key is not None else start


class _Malformed(Exception):
    """A semantic error in an overrides file, before its line is known."""

    def __init__(self, message: str, key: str | None = None, tier: int | None = None) -> None:
        super().__init__(message)
        self.key = key
        self.tier = tier


def _parse_prices(table: Mapping[str, Any], tier: int | None) -> dict[str, int]:
    """The price keys given in one model or tier table, in micro-dollars per million."""
    unknown = sorted(set(table) - (_MODEL_KEYS if tier is None else _TIER_KEYS))
    if unknown:
        allowed = ", ".join(sorted(_MODEL_KEYS if tier is None else _TIER_KEYS))
        raise _Malformed(f"unknown key {unknown[0]!r} (allowed: {allowed})", unknown[0], tier)
    given: dict[str, int] = {}
    for key in _PRICE_KEYS:
        if key in table:
            micro = _usd_to_micro(table[key])
            if micro is None:
                raise _Malformed(f"{key} must be a non-negative number (USD per million tokens)", key, tier)
            given[key] = micro
    return given


def _complete(given: Mapping[str, int], pattern: str) -> Rates:
    """Rates from the given keys, filling the missing ones as genai-prices bills them.

    A missing ``cache_read`` or ``cache_write`` costs what ``input`` costs, and a missing
    ``cache_write_1h`` what ``cache_write`` costs.
    """
    input_ = given.get("input", 0)
    cache_write = given.get("cache_write", input_)
    return Rates(
        input=input_,
        output=given.get("output", 0),
        cache_read=given.get("cache_read", input_),
        cache_write=cache_write,
        cache_write_1h=given.get("cache_write_1h", cache_write),
        source="override",
        model_ref=pattern,
    )


def _parse_model(pattern: str, table: object) -> Rates:
    """Rates for one ``[models."NAME"]`` table; raises :class:`_Malformed`.

    In a tier, a key the tier omits keeps the model's own price when the model gave one
    explicitly, else follows the fallbacks of :func:`_complete` within the tier.
    """
    if not isinstance(table, dict):
        raise _Malformed("must be a table of prices")
    given = _parse_prices(table, None)
    for key in ("input", "output"):
        if key not in given:
            raise _Malformed(f"missing required key {key!r}")
    raw_tiers = table.get("tiers", [])
    if not isinstance(raw_tiers, list):
        raise _Malformed('tiers must be an array of tables ([[models."NAME".tiers]])', "tiers")
    tiers: list[tuple[int, Rates]] = []
    for index, tier in enumerate(raw_tiers):
        if not isinstance(tier, dict):
            raise _Malformed("must be a table", None, index)
        above = tier.get("above")
        if isinstance(above, bool) or not isinstance(above, int) or above < 0:
            raise _Malformed("'above' must be a whole number of input tokens >= 0", "above", index)
        tiers.append((above, _complete({**given, **_parse_prices(tier, index)}, pattern)))
    tiers.sort(key=lambda item: item[0])
    base = _complete(given, pattern)
    return Rates(
        base.input,
        base.output,
        base.cache_read,
        base.cache_write,
        base.cache_write_1h,
        tuple(tiers),
        "override",
        pattern,
    )


def load_overrides(path: Path) -> dict[str, Rates]:
    """Parse a price overrides TOML file into ``{name or glob: Rates}`` (in file order).

    Format: one ``[models."NAME"]`` table per model (``NAME`` an exact name or a glob such
    as ``my-local-*``) with ``input`` and ``output`` (required) and ``cache_read``,
    ``cache_write``, ``cache_write_1h`` (optional), all in USD per million tokens; optional
    ``[[models."NAME".tiers]]`` tables with ``above`` (total input tokens; the tier applies
    to requests with more) and the prices that change above it. Raises
    :class:`PricingError` naming the file and line when the file cannot be read, is not
    valid TOML, has an unknown or missing key, or a negative or non-numeric price.
    """
    import re
    import tomllib

    from jusage.config import top_key_line

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PricingError(f"{path}: cannot read price overrides: {exc}") from exc
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(_LINE_IN_TOML_ERROR, str(exc))
        line = match.group(1) if match else str(max(len(text.splitlines()), 1))
        raise PricingError(f"{path}:{line}: invalid TOML: {exc}") from exc

    for key in document:
        if key != "models":
            raise PricingError(
                f"{path}:{top_key_line(text, key)}: unknown key {key!r}"
                ' (expected only [models."NAME"] tables)'
            )
    models = document.get("models", {})
    if not isinstance(models, dict):
        raise PricingError(f"{path}:{top_key_line(text, 'models')}: 'models' must be a table")
    result: dict[str, Rates] = {}
    for pattern, table in models.items():
        try:
            result[pattern] = _parse_model(pattern, table)
        except _Malformed as exc:
            line = _find_line(text, pattern, exc.key, exc.tier)
            tier = f" tier {exc.tier + 1}" if exc.tier is not None else ""
            where = f"models.{pattern!r}{tier}"
            raise PricingError(f"{path}:{line}: {where}: {exc}") from None
    return result


# --- the package ----------------------------------------------------------------------------


def _price_at(price: Decimal | TieredPrices | None, total_input: int) -> Decimal | None:
    """The unit price for a request of ``total_input`` tokens, as genai-prices picks it."""
    from genai_prices.types import TieredPrices

    if price is None or not isinstance(price, TieredPrices):
        return price
    for tier in reversed(price.tiers):  # genai-prices keeps tiers sorted by start
        if total_input > tier.start:
            return tier.price
    return price.base


def _rates_from_model_price(model_price: ModelPrice, model_ref: str) -> Rates | None:
    """Convert a genai-prices ``ModelPrice`` into Rates, or None if it has no token prices.

    A unit genai-prices has no price for is billed at its parent unit's price (its usage
    decomposition leaves those tokens in the parent), so: cache reads and cache writes
    fall back to input, 1-hour writes to cache writes, 5-minute writes to cache writes.
    """
    from genai_prices.types import TieredPrices

    keys = (
        "input_mtok",
        "output_mtok",
        "cache_read_mtok",
        "cache_write_mtok",
        "cache_write_5m_mtok",
        "cache_write_1h_mtok",
    )
    prices: dict[str, Decimal | TieredPrices | None] = {key: getattr(model_price, key, None) for key in keys}
    if prices["input_mtok"] is None and prices["output_mtok"] is None:
        return None
    thresholds = sorted(
        {tier.start for price in prices.values() if isinstance(price, TieredPrices) for tier in price.tiers}
    )

    def at(total_input: int) -> Rates:
        p = {key: _price_at(value, total_input) for key, value in prices.items()}
        micro = {key: None if value is None else round(value * _MICRO) for key, value in p.items()}
        input_ = micro["input_mtok"] or 0
        write = micro["cache_write_mtok"]
        return Rates(
            input=input_,
            output=micro["output_mtok"] or 0,
            cache_read=_first(micro["cache_read_mtok"], input_),
            cache_write=_first(micro["cache_write_5m_mtok"], write, input_),
            cache_write_1h=_first(micro["cache_write_1h_mtok"], write, input_),
            source="package",
            model_ref=model_ref,
        )

    base = at(0)
    if not thresholds:
        return base
    tiers = tuple((threshold, at(threshold + 1)) for threshold in thresholds)
    return Rates(
        base.input,
        base.output,
        base.cache_read,
        base.cache_write,
        base.cache_write_1h,
        tiers,
        "package",
        model_ref,
    )


def _first(*values: int | None) -> int:
    return next(value for value in values if value is not None)


def _lookup_package_model(model: str) -> ModelInfo | None:
    """The genai-prices model for a (possibly prefixed) name, or None when it has none.

    The name is first matched without its ``provider/`` prefixes, letting genai-prices pick
    the provider; if that fails, each prefix that names a genai-prices provider is tried
    with the rest of the name (``openrouter/qwen/qwen3-coder`` -> openrouter's
    ``qwen/qwen3-coder``).
    """
    from genai_prices import Usage, calc_price

    usage = Usage()
    stripped = strip_provider_prefix(model)
    attempts: list[tuple[str, str | None]] = [(stripped, None)]
    parts = model.strip().split("/")
    for index, prefix in enumerate(parts[:-1]):
        attempts += [("/".join(parts[index + 1 :]), prefix), (stripped, prefix)]
    for ref, provider in attempts:
        if not ref:
            continue
        try:
            return calc_price(usage, ref, provider_id=provider).model
        except LookupError:
            continue
    return None


# --- the package's answers, kept between runs ------------------------------------------------
#
# Importing genai-prices and building its model table costs a few hundred milliseconds, more
# than a report over a checkpointed log. Its answers only change with its version, so the
# models' price histories are kept in $JUSAGE_HOME/cache/ and the package is imported only for
# a model never priced before.

_Segments = tuple[tuple[str, Rates | None], ...]
"""A model's price history: ``(first day YYYY-MM-DD, or "" for the start of time, rates)``."""


class _Answers:
    """The package's answers: each model's price history. Kept as msgpack (a format that
    cannot run code when read)."""

    def __init__(self) -> None:
        self.models: dict[str, _Segments] = {}
        self.dirty = False

    @classmethod
    def load(cls) -> _Answers:
        import msgspec

        answers = cls()
        try:
            data = _package_cache_file().read_bytes()
            answers.models = msgspec.msgpack.decode(data, type=_ANSWERS_TYPE)
        except Exception:  # no cache yet, or an unreadable one: ask the package
            answers.models = {}
        return answers

    def changed(self) -> None:
        if not self.dirty:
            import atexit

            self.dirty = True
            atexit.register(self.save)

    def save(self) -> None:
        """Write the answers back (best effort; a failure only costs time next run)."""
        import contextlib

        import msgspec

        if not self.dirty:
            return
        self.dirty = False
        with contextlib.suppress(OSError):
            path = _package_cache_file()
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(msgspec.msgpack.encode(self.models))
            tmp.replace(path)


_ANSWERS_TYPE = dict[str, _Segments]
_answers: _Answers | None = None


def _package_answers() -> _Answers:
    global _answers
    if _answers is None:
        _answers = _Answers.load()
    return _answers


def _package_cache_file() -> Path:
    from jusage.locations import cache_dir

    return cache_dir() / f"genai-prices-{package_version()}-v4.msgpack"


@functools.cache
def package_version() -> str:
    """The installed genai-prices' version, without importing it or ``importlib.metadata``.

    Asking ``importlib.metadata`` costs more imports than a report read from a checkpoint,
    so the version is read from the name of the package's ``.dist-info`` folder beside it,
    with the digest of its price table that the installer recorded (or, for a table edited
    since, its size and time, so an edit counts as another version). ``"unknown"`` when it
    is not installed.
    """
    import importlib.util

    spec = importlib.util.find_spec("genai_prices")
    if spec is None or not spec.origin:
        return "unknown"
    package = Path(spec.origin).parent
    try:
        st = (package / "data.py").stat()
    except OSError:
        return "unknown"
    infos = sorted(package.parent.glob("genai_prices-*.dist-info"))
    names = "+".join(info.name[len("genai_prices-") : -len(".dist-info")] for info in infos) or "unpackaged"
    for info in infos:
        # The installer's record of the table's digest names its content, so two installs
        # of one version agree (their caches are shared); a table edited since then does not
        # count as installed.
        try:
            record = info / "RECORD"
            if st.st_mtime_ns > record.stat().st_mtime_ns:
                break
            for line in record.read_text("utf-8").splitlines():
                if line.startswith("genai_prices/data.py,") and line.endswith(f",{st.st_size}"):
                    return f"{names}-{line.split(',')[1]}"
        except OSError:
            pass
    return f"{names}-{st.st_size}-{st.st_mtime_ns}"


# --- the pricer -----------------------------------------------------------------------------


def _pricer(overrides: Mapping[str, Rates], overrides_path: Path | None) -> Pricer:
    return Pricer(overrides, overrides_path=overrides_path)


class Pricer:
    """Looks up a model's rates on a day: user overrides first, then `genai-prices`.

    Results are cached per ``(model, day)`` so pricing many events costs one dict look-up
    each. Matching is case-insensitive. An override whose name equals the model (with or
    without its ``provider/`` prefixes) beats any glob; among globs the longest pattern
    wins, ties going to the one first in the file; any override beats the package.
    """

    __slots__ = (
        "_cache",
        "_exact",
        "_given",
        "_globs",
        "_models",
        "_price_cache",
        "_thresholds",
        "overrides_path",
    )

    def __init__(
        self, overrides: Mapping[str, Rates] | None = None, *, overrides_path: Path | None = None
    ) -> None:
        """Build a pricer from already-parsed overrides (see :func:`load_overrides`)."""
        self.overrides_path = overrides_path
        self._given = dict(overrides or {})
        self._thresholds: dict[str, tuple[int, ...]] = {}
        self._exact: dict[str, Rates] = {}
        globs: list[tuple[int, int, str, Rates]] = []
        for order, (pattern, rates) in enumerate((overrides or {}).items()):
            key = pattern.lower()
            if any(ch in key for ch in "*?["):
                globs.append((-len(key), order, key, rates))
            else:
                self._exact.setdefault(key, rates)
        self._globs = [(key, rates) for _, _, key, rates in sorted(globs)]
        self._cache: dict[tuple[str, date], Rates | None] = {}
        self._models: dict[str, ModelInfo | None] = {}
        self._price_cache: dict[int, tuple[ModelPrice, Rates | None]] = {}

    @classmethod
    def load(cls, overrides: Path | None = None, *, use_default_file: bool = True) -> Pricer:
        """A pricer with the overrides from ``overrides``, else from the default file.

        The default file is :func:`default_prices_path` and is used only when it exists,
        ``overrides`` is None and ``use_default_file`` is true. An explicit ``overrides``
        path must exist. Raises :class:`PricingError` for an unreadable or malformed file.
        """
        path = overrides
        if path is None and use_default_file:
            default = default_prices_path()
            path = default if default.is_file() else None
        if path is None:
            return cls()
        return cls(load_overrides(path), overrides_path=path)

    @property
    def signature(self) -> str:
        """A digest of everything that decides this pricer's answers (overrides, package
        version), so cached costs are recomputed when either changes."""
        import hashlib

        text = repr((sorted(self._exact.items()), self._globs, package_version()))
        return hashlib.sha256(text.encode()).hexdigest()[:24]

    def __reduce__(self) -> tuple[Any, ...]:
        # Sent to worker processes: the overrides, not the caches (which hold the package's
        # own objects).
        return (_pricer, (self._given, self.overrides_path))

    def model_thresholds(self, model: str) -> tuple[int, ...]:
        """The prompt sizes above which ``model``'s price changes on any day (its
        long-context tiers over its whole price history), ascending: events on either side
        of one are priced apart."""
        found = self._thresholds.get(model)
        if found is None:
            history = self.history(model)
            found = tuple(sorted({t for _, rates in history if rates for t in rates.thresholds()}))
            self._thresholds[model] = found
        return found

    def rates(self, model: str, day: date) -> Rates | None:
        """The rates for ``model`` on ``day`` (the event's own date), or None if unknown."""
        key = (model, day)
        try:
            return self._cache[key]
        except KeyError:
            pass
        segments = self.history(model)
        at = bisect_right([start for start, _ in segments], day.isoformat()) - 1
        found = self._cache[key] = segments[max(at, 0)][1]
        return found

    def history(self, model: str) -> _Segments:
        """``model``'s prices over time: ``(first day YYYY-MM-DD, or "" for the start of time,
        rates or None)``, in order; an override is one price for all time."""
        override = self._override(model)
        if override is not None:
            return (("", override),)
        answers = _package_answers()
        segments = answers.models.get(model)
        if segments is None:
            segments = answers.models[model] = self._segments(model)
            answers.changed()
        return segments

    def source(self, model: str, day: date) -> PriceSource:
        """Where ``model``'s price on ``day`` comes from: override, package or unknown."""
        return price_source(self.rates(model, day))

    def _override(self, model: str) -> Rates | None:
        names = (model.strip().lower(), strip_provider_prefix(model).lower())
        for name in names:
            if name in self._exact:
                return self._exact[name]
        from fnmatch import fnmatchcase

        for pattern, rates in self._globs:
            if any(fnmatchcase(name, pattern) for name in names):
                return rates
        return None

    def _segments(self, model: str) -> _Segments:
        """The model's price history: ``(first day, rates)`` for each period of one price.

        genai-prices changes a model's price on the start dates of its conditional prices, so
        the rates on those dates (and the day before the first) are every answer there is.
        """
        from datetime import date, timedelta

        if model not in self._models:
            self._models[model] = _lookup_package_model(model)
        info = self._models[model]
        if info is None:
            return (("", None),)
        starts: set[date] = set()
        if isinstance(info.prices, list):
            for conditional in info.prices:
                start = getattr(conditional.constraint, "start_date", None)
                if isinstance(start, date):
                    starts.add(start)
        ordered = sorted(starts)
        before = ordered[0] - timedelta(days=1) if ordered else date(2000, 1, 1)
        return (
            ("", self._package_lookup(model, before)),
            *((start.isoformat(), self._package_lookup(model, start)) for start in ordered),
        )

    def _package_lookup(self, model: str, day: date) -> Rates | None:
        from datetime import UTC, datetime, time

        if model not in self._models:
            self._models[model] = _lookup_package_model(model)
        info = self._models[model]
        if info is None:
            return None
        # genai-prices compares start dates with the request's UTC date; noon UTC makes that
        # the event's own date. Time-of-day discounts (DeepSeek off-peak) are not modelled:
        # noon UTC falls in their standard-price window.
        model_price = info.get_prices(datetime.combine(day, time(12), tzinfo=UTC))
        cached = self._price_cache.get(id(model_price))
        if cached is not None and cached[0] is model_price:
            return cached[1]
        rates = _rates_from_model_price(model_price, info.id)
        self._price_cache[id(model_price)] = (model_price, rates)
        return rates
