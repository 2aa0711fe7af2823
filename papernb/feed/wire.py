"""Raw values -> validated ``Quote``, and the JSON wire format of the Redis bus.

Every source funnels through :func:`build` (int units) or :func:`normalize` (a raw dict),
so there is one place where a quote is accepted or refused.  Refusals raise ``BadQuote``;
sources and subscribers catch it, count the quote as dropped and carry on.

The hot path (tens of thousands of quotes a second from Redis) avoids ``Decimal`` for the
common shapes -- prices as short decimal strings, ints, or floats with at most four
decimals -- and falls back to :func:`papernb.money.to_units` for everything else, so odd
input is slower but never judged differently.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from ..errors import BadQuote, InvalidInput
from ..money import MAX_UNITS, read_decimal, to_units
from ..quote import NS_MAX, NS_MIN, Quote, normalize_symbol, to_ns, trusted_quote

__all__ = ["FIELDS", "build", "check_pct", "decode", "encode", "encode_many", "normalize", "price_units", "read_pct"]

#: Keys of a quote on the wire, in the order they are written.
FIELDS = ("symbol", "bid", "ask", "last", "change_pct", "bid_size", "ask_size", "ts", "src", "epoch", "seq")

_MAX_SIZE = 10**12
_MAX_PCT = Decimal(100_000)
_MAX_SRC = 64
_SYMBOL_OK = re.compile(r"[A-Z0-9./$^_-]{1,32}").fullmatch  # already normalised, as publishers send it


_FRAC_SCALE = (0, 1000, 100, 10, 1)  # a fraction of n digits, in units of $0.0001


def _plain_units(text: str) -> int | None:
    """A plain decimal price -- 1-14 ASCII digits, optionally a point and 1-4 digits -> units; else None.

    The common shape of a price on the wire and in files, read without a regex or Decimal
    (most live prices are new to the caches).  It accepts a subset of what
    :func:`papernb.money.read_decimal` accepts and reads it to the same value; everything
    else is left to read_decimal itself (``str.isdecimal`` alone would take Unicode digits
    such as ``"١٢"``, which read_decimal refuses).
    """
    if not text.isascii():
        return None
    whole, dot, frac = text.partition(".")
    if not (0 < len(whole) <= 14 and whole.isdigit()):  # 14 digits: always below MAX_UNITS
        return None
    if not dot:
        return int(whole) * 10_000
    if not (0 < len(frac) <= 4 and frac.isdigit()):
        return None
    return int(whole) * 10_000 + int(frac) * _FRAC_SCALE[len(frac)]


def price_units(value: Any, name: str) -> int | None:
    """A price in dollars (str, int, float, Decimal) -> int units of $0.0001, None when blank.

    Negative and zero values are returned as they are: whether they are allowed depends on
    the field (a 0 bid means "no bid"), which :func:`build` decides.
    """
    if value is None:
        return None
    t = type(value)
    if t is str:
        u = _plain_units(value)
        if u is not None:
            return u
        if not value.strip():
            return None
        if len(value) > 64:
            raise BadQuote(f"{name} is not a price: {value[:40]!r}...")
    elif t is int:
        if -MAX_UNITS <= value * 10_000 <= MAX_UNITS:
            return value * 10_000
    elif t is float:
        r = value * 10_000.0
        if r == r and abs(r) < 1e15:  # not NaN, not absurd
            u = round(r)
            if abs(r - u) < 1e-6:  # at most 4 decimals: the product is an integer up to float noise
                return u
    try:
        return to_units(value, name, exact=False)
    except (InvalidInput, ArithmeticError) as e:
        raise BadQuote(f"{name} is not a price: {str(value)[:40]!r} ({e})"[:200]) from None


def _shown(value: Any) -> str:
    """A value for a message: text quoted and cut at 40 characters, a Decimal as written."""
    if isinstance(value, Decimal):
        text = str(value)
        return text if len(text) <= 40 else text[:40] + "..."
    text = value if isinstance(value, str) else repr(value)
    return repr(text[:40] + "...") if len(text) > 40 else repr(value)


def _size(value: Any, name: str) -> int | None:
    """A size: a whole number of shares from 0 to 10^12, read as money.read_decimal reads numbers."""
    if value is None:
        return None
    if type(value) is int:
        n = value
    else:
        if isinstance(value, str) and not value.strip():
            return None
        try:
            d = read_decimal(value, name)
        except InvalidInput:
            raise BadQuote(f"{name} must be a whole number, was {_shown(value)}") from None
        if abs(d) > _MAX_SIZE or d != d.to_integral_value():  # bounded before int(): "1e999999"
            raise BadQuote(f"{name} must be a whole number between 0 and {_MAX_SIZE}, was {_shown(value)}")
        n = int(d)
    if not 0 <= n <= _MAX_SIZE:
        raise BadQuote(f"{name} must be between 0 and {_MAX_SIZE}, was {_shown(value)}")
    return n


def read_pct(value: Any) -> Decimal | None:
    """A percent change in percent points (None when blank): a number, or text with an optional
    trailing ``%``, read as money.read_decimal reads numbers and bounded as every source is."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if text.endswith("%"):
            text = text[:-1]
    else:
        text = value
    try:
        d = read_decimal(text, "change_pct")
    except InvalidInput:
        raise BadQuote(f"change_pct must be a number, was {_shown(value)}") from None
    return check_pct(d, value)


def check_pct(d: Decimal, shown: Any = None) -> Decimal:
    """The one bound on change_pct (what the subscriber accepts): finite, within +-100,000 %."""
    if not d.is_finite() or abs(d) > _MAX_PCT:
        raise BadQuote(f"change_pct must be a percent between -{_MAX_PCT} and {_MAX_PCT}, was "
                       f"{_shown(d if shown is None else shown)}")
    return d


def build(symbol: Any, bid: int | None, ask: int | None, last: int | None, ts: Any = None, *,
          change_pct: Decimal | None = None, bid_size: int | None = None, ask_size: int | None = None,
          src: str | None = None, seq: int | None = None) -> Quote:
    """The one gate: prices already in int units, everything checked as the subscriber checks it
    (change_pct and sizes included), so a source cannot publish what every subscriber drops.

    Exists because ``Quote(...)`` re-parses dollars through ``Decimal``; sources that have
    converted a whole column or row to units already skip that and stay fast.
    """
    if type(symbol) is str and _SYMBOL_OK(symbol) is not None:
        sym = symbol  # already normalised (the common case): skip strip/upper
    else:
        try:
            sym = normalize_symbol(symbol)
        except InvalidInput as e:
            raise BadQuote(str(e)) from None
    if bid is not None:
        if bid == 0:
            bid = None
        elif not 0 < bid <= MAX_UNITS:
            raise BadQuote(f"bid must be positive, was {bid / 10_000} for {sym}")
    if ask is not None:
        if ask == 0:
            ask = None
        elif not 0 < ask <= MAX_UNITS:
            raise BadQuote(f"ask must be positive, was {ask / 10_000} for {sym}")
    if last is not None and not 0 < last <= MAX_UNITS:
        raise BadQuote(f"last must be positive, was {last / 10_000} for {sym}")
    if bid is not None and ask is not None and bid > ask:
        raise BadQuote(f"bid {bid / 10_000} is above ask {ask / 10_000} for {sym}")
    if last is None and (bid is None or ask is None):
        raise BadQuote(f"a quote for {sym} needs a last price or both bid and ask")
    if ts is not None and not (type(ts) is int and NS_MIN <= ts < NS_MAX):
        try:
            ts = to_ns(ts, "quote ts")
        except InvalidInput as e:
            raise BadQuote(str(e)) from None
    if change_pct is not None and (type(change_pct) is not Decimal or not change_pct.is_finite()
                                   or abs(change_pct) > _MAX_PCT):
        raise BadQuote(f"change_pct must be a percent between -{_MAX_PCT} and {_MAX_PCT}, was "
                       f"{_shown(change_pct)} for {sym}")
    if bid_size is not None and not (type(bid_size) is int and 0 <= bid_size <= _MAX_SIZE):
        raise BadQuote(f"bid_size must be a whole number from 0 to {_MAX_SIZE}, was {_shown(bid_size)} for {sym}")
    if ask_size is not None and not (type(ask_size) is int and 0 <= ask_size <= _MAX_SIZE):
        raise BadQuote(f"ask_size must be a whole number from 0 to {_MAX_SIZE}, was {_shown(ask_size)} for {sym}")
    if src is not None:
        if not isinstance(src, str) or len(src) > _MAX_SRC:
            raise BadQuote(f"src must be a short name, was {str(src)[:40]!r}")
    if seq is not None and type(seq) is not int:
        raise BadQuote(f"seq must be an int, was {str(seq)[:40]!r}")
    return Quote._trusted(sym, bid, ask, last, ts, bid_size, ask_size, change_pct, src, seq)


def normalize(raw: Mapping[str, Any]) -> Quote:
    """A raw mapping (wire JSON, file row, parsed Excel row) -> ``Quote``, or ``BadQuote``.

    Keys are the Quote field names; unknown keys are ignored so that newer publishers can
    add fields without breaking older subscribers.
    """
    if not isinstance(raw, Mapping):
        raise BadQuote(f"a quote must be an object, was {type(raw).__name__}")
    g = raw.get
    return build(g("symbol"), price_units(g("bid"), "bid"), price_units(g("ask"), "ask"),
                 price_units(g("last"), "last"), g("ts"), change_pct=read_pct(g("change_pct")),
                 bid_size=_size(g("bid_size"), "bid_size"), ask_size=_size(g("ask_size"), "ask_size"),
                 src=g("src"), seq=g("seq"))


# Caches for the hot paths: quotes repeat the same few prices and percents over and over,
# and a dict lookup is ~20x cheaper than formatting or parsing one.  Bounded by clearing.
_CACHE_MAX = 200_000
_dollar_text: dict[int, str] = {}
# the decimals of every price on the wire: two when they are enough (cents), else four
_FRAC_TEXT = [f".{f // 100:02d}" if f % 100 == 0 else f".{f:04d}" for f in range(10_000)]
_units_of: dict[str, int] = {}
_pct_text: dict[Decimal, str] = {}
_pct_of: dict[str, Decimal] = {}
_src_text: dict[str | None, str] = {None: "null"}
_symbols_ok: set[str] = set()


def _dollars(u: int | None) -> str:
    if u is None:
        return "null"
    text = _dollar_text.get(u)
    if text is None:
        w, f = divmod(u, 10_000)
        text = f'"{w}{_FRAC_TEXT[f]}"'
        if len(_dollar_text) >= _CACHE_MAX:
            _dollar_text.clear()
        _dollar_text[u] = text
    return text


def _pct_json(d: Decimal | None) -> str:
    if d is None:
        return "null"
    text = _pct_text.get(d)
    if text is None:
        text = f'"{d}"'
        if len(_pct_text) >= _CACHE_MAX:
            _pct_text.clear()
        _pct_text[d] = text
    return text


def encode_many(quotes: Iterable[Quote], *, src: str | None, epoch: int | None, seq: int | None) -> list[str]:
    """Wire JSON for a batch, numbering the quotes ``seq + 1, seq + 2, ...`` (``seq=None``:
    each quote's own ``seq``).

    Built by hand rather than with ``json.dumps`` because this runs once per quote on the
    publisher's hot path; symbols cannot contain characters that need escaping.
    """
    js = _src_text.get(src)
    if js is None:
        js = json.dumps(src)
        if len(_src_text) < 1024:
            _src_text[src] = js
    ep = "null" if epoch is None else int(epoch)
    tail = f',"src":{js},"epoch":{ep},"seq":'
    out = []
    dollars, pct = _dollar_text.get, _pct_text.get  # cached text first, formatting on a miss
    for q in quotes:
        if seq is None:
            n = "null" if q._seq is None else q._seq
        else:
            seq += 1
            n = seq
        sym, b, a, la, _, ts, c, bsz, asz = q[:9]  # Quote's fields (one slice beats nine attribute reads)
        out.append(f'{{"symbol":"{sym}","bid":{dollars(b) or _dollars(b)},"ask":{dollars(a) or _dollars(a)},'
                   f'"last":{dollars(la) or _dollars(la)},"change_pct":{pct(c) or _pct_json(c)},'
                   f'"bid_size":{"null" if bsz is None else bsz},"ask_size":{"null" if asz is None else asz},'
                   f'"ts":{"null" if ts is None else ts}{tail}{n}}}')
    return out


def encode(q: Quote, *, src: str | None = None, epoch: int | None = None, seq: int | None = None) -> str:
    """A quote as one wire JSON object; ``src``/``seq`` override the quote's own."""
    return encode_many([q], src=q._src if src is None else src, epoch=epoch,
                       seq=None if seq is None else seq - 1)[0]


class _Slow(Exception):
    """The fast wire path declines; :func:`normalize` decides (and explains)."""


def _wire_units(v: Any) -> int | None:
    if v is None:
        return None
    u = _units_of.get(v) if type(v) is str else None
    if u is None:
        if type(v) is not str:
            raise _Slow
        u = _plain_units(v)
        if u is None or not 0 < u <= MAX_UNITS:
            raise _Slow  # zero sides and absurd values: the full path handles them
        if len(_units_of) >= _CACHE_MAX:
            _units_of.clear()
        _units_of[v] = u
    return u


def _wire_pct(v: Any) -> Decimal | None:
    if v is None:
        return None
    d = _pct_of.get(v) if type(v) is str else None
    if d is None:
        if type(v) is not str or len(v) > 32:
            raise _Slow
        whole, dot, frac = (v[1:] if v[:1] == "-" else v).partition(".")
        if v.isascii() and whole.isdigit() and (not dot or frac.isdigit()):
            d = Decimal(v)  # plain "-1.23": a shape read_decimal accepts, read to the same value
        else:
            try:
                d = read_decimal(v, "change_pct")  # the one number reader: no "1_0", no Unicode digits
            except InvalidInput:
                raise _Slow from None
        if not d.is_finite() or abs(d) > _MAX_PCT:
            raise _Slow
        if len(_pct_of) >= _CACHE_MAX:
            _pct_of.clear()
        _pct_of[v] = d
    return d


def _symbol_ok(sym: Any) -> bool:
    """An already normalised symbol (as papernb publishers send it), remembered once checked."""
    if type(sym) is not str or _SYMBOL_OK(sym) is None:
        return False
    if len(_symbols_ok) >= _CACHE_MAX:
        _symbols_ok.clear()
    _symbols_ok.add(sym)
    return True


def decode(data: bytes | str) -> tuple[list[tuple[int, Quote]], int]:
    """One wire message (an object or an array of them) -> ``([(epoch, quote)...], dropped)``.

    Never raises: whatever cannot be a quote is counted in ``dropped``.  A message that is
    not JSON at all counts as one dropped quote.

    The loop has a fast path, written out inline because it runs for every quote a kernel
    receives (two function calls per quote were about a tenth of decode's time): an object with exactly
    papernb's keys in papernb's order, prices as short decimal strings, ints where ints
    belong.  Anything else, or any doubt, goes to :func:`normalize`, which judges the same
    way and explains its refusals.
    """
    try:
        obj = json.loads(data)
    except (ValueError, RecursionError):  # bad JSON, bad UTF-8, absurd nesting
        return [], 1
    items = obj if type(obj) is list else [obj]
    out: list[tuple[int, Quote]] = []
    append = out.append
    dropped = 0
    units, pcts, symbols_ok, make = _units_of.get, _pct_of.get, _symbols_ok, trusted_quote
    # json.loads shares one str per key among the objects of a message: once one object's keys
    # are known to be FIELDS, comparing the next object's keys is a pointer check per key
    ours = FIELDS
    for item in items:
        if type(item) is not dict:
            dropped += 1
            continue
        keys = tuple(item)
        if keys == ours:
            ours = keys
            sym, bid, ask, last, chg, bsz, asz, ts, src, epoch, seq = item.values()
            try:
                if type(epoch) is int and epoch >= 0 and (sym in symbols_ok or _symbol_ok(sym)):
                    b = None if bid is None else units(bid) or _wire_units(bid)
                    a = None if ask is None else units(ask) or _wire_units(ask)
                    la = None if last is None else units(last) or _wire_units(last)
                    if la is not None:
                        mark = la
                    elif b is not None and a is not None:
                        mark = (a + b) // 2
                    else:
                        mark = None
                    if (mark is not None and (b is None or a is None or b <= a)
                            and (ts is None or type(ts) is int and NS_MIN <= ts < NS_MAX)
                            and (bsz is None or type(bsz) is int and 0 <= bsz <= _MAX_SIZE)
                            and (asz is None or type(asz) is int and 0 <= asz <= _MAX_SIZE)
                            and (src is None or type(src) is str and len(src) <= _MAX_SRC)
                            and (seq is None or type(seq) is int)):
                        pct = None if chg is None else pcts(chg) or _wire_pct(chg)
                        append((epoch, make(sym, b, a, la, mark, ts, pct, bsz, asz, src, seq)))
                        continue
            except (_Slow, TypeError):  # TypeError: an unhashable price or symbol
                pass
        epoch = item.get("epoch")
        if epoch is None:
            epoch = 0
        elif type(epoch) is not int or epoch < 0:
            dropped += 1
            continue
        try:
            append((epoch, normalize(item)))
        except BadQuote:
            dropped += 1
    return out, dropped
