"""``papernb demo``: a throwaway book, a few quotes and orders, the account printed.

It shows the whole engine loop in a dozen lines and doubles as a smoke test of an
install: if this prints an account, papernb works on this machine.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path

from .cli import ArgParser
from .engine import Engine
from .errors import InvalidInput
from .money import fmt_money, to_units
from .quote import Quote

T0 = 1_704_205_800_000_000_000  # 2024-01-02 09:30 New York
SECOND = 1_000_000_000


def _money(x: object) -> str:
    return fmt_money(to_units(x))


def main(argv: Sequence[str] | None = None) -> int:
    """The demo on a new book: an existing file is refused (the demo would trade in it), and a book
    the demo could not finish is removed (nothing half-done is left behind)."""
    ap = ArgParser(prog="papernb demo", description=__doc__)
    ap.add_argument("--book", default=":memory:", help="a new book file (default: a throwaway :memory: book)")
    args = ap.parse_args(argv)
    if args.book == ":memory:":
        return _demo(args.book)
    path = Path(args.book).expanduser()
    if path.exists():
        raise InvalidInput(f"--book {path} exists already: the demo trades in a new book; give a new file name "
                           f"(or leave --book out for a throwaway in-memory book)")
    if not path.parent.is_dir():
        raise InvalidInput(f"--book {path}: the folder {path.parent} does not exist")
    try:
        return _demo(str(path))
    except BaseException:
        for leftover in (path, path.with_name(path.name + ".wal")):
            with contextlib.suppress(OSError):
                leftover.unlink(missing_ok=True)
        raise


def _demo(book_path: str) -> int:
    with Engine(book_path) as book:
        acct = book.account("demo")
        print(f"opened account {acct.name!r} with {_money(acct.snapshot().cash)}")
        book.on_quote(Quote("AAPL", bid=189.90, ask=190.10, last=190.00, ts=T0))
        book.on_quote(Quote("MSFT", bid=374.50, ask=374.70, last=374.60, ts=T0))
        o1 = acct.buy("AAPL", 10)
        print(f"market buy  -> {o1}")
        o2 = acct.buy("MSFT", 5, limit=373.00)
        print(f"limit buy   -> {o2}  (holds {_money(o2.reserved_cash)})")
        acct.replace(o2.id, limit=374.00)
        print(f"edited      -> {o2}  (holds {_money(o2.reserved_cash)})")
        book.on_quote(Quote("MSFT", bid=373.80, ask=373.95, last=373.90, ts=T0 + 60 * SECOND))
        print(f"quote 373.95 -> {o2}")
        book.on_quote(Quote("AAPL", bid=191.40, ask=191.60, last=191.50, ts=T0 + 120 * SECOND))
        o3 = acct.sell("AAPL", 10, limit=191.40)
        print(f"limit sell  -> {o3}")
        s = acct.snapshot()
        print()
        print(f"cash {_money(s.cash)}   reserved {_money(s.reserved)}   buying power {_money(s.buying_power)}")
        print(f"equity {_money(s.equity)}   realized {_money(s.realized_pl)}   unrealized {_money(s.unrealized_pl)}")
        for p in s.positions:
            print(f"  {p.symbol:6} {p.qty:>5} @ {p.avg_price:.2f}  last {p.last}  P/L {_money(p.unrealized_pl)}")
        for t in acct.trades():
            print(f"  round trip {t.symbol}: {t.direction} {t.qty} -> {_money(t.net_pl)} ({t.verdict})")
    return 0
