"""The papernb exception tree.

Every error papernb raises on purpose derives from :class:`PaperError`, so an app can
catch one class and show its message.  Messages are plain English and name the value
that was wrong.

- ``PaperError``
  - ``InvalidInput`` (also a ``ValueError``): a malformed call; nothing changed.
    - ``InvalidOrder``: bad quantity, price, side, type, time in force.
    - ``BadQuote``: a quote that fails validation (the feed counts and drops these).
    - ``ConfigError``: a bad engine or feed setting.
  - ``UnknownOrder`` (also a ``LookupError``): no such order in this account.
  - ``UnknownTrip``, ``UnknownAlert`` (also ``LookupError``): no such round trip / open alert here.
  - ``OrderNotOpen``: the order is already FILLED / CANCELLED / REJECTED / EXPIRED.
  - ``ReplaceRefused``: a replace the account cannot afford; the order stays as it was.
  - ``DuplicateClientOrderId``: a client order id reused with other parameters.
  - ``InvalidTransition``: a state-machine step that the transition table forbids.
  - ``BacktestFinished``: a command on a backtest's account after its run.
  - ``BookError``: the book file itself (``.path`` names it).
    - ``BookLocked``: another owner (a process, or another Engine in this one) has it open.
    - ``BookClosed``: the book was closed; open it again to go on.
    - ``BookUnreadable``: not a papernb book, corrupt, or written by a newer papernb.
    - ``BookWriteFailed``: a write did not commit (disk full, I/O error); nothing changed.
"""

from __future__ import annotations


class PaperError(Exception):
    """Base class of every error papernb raises on purpose."""


class InvalidInput(PaperError, ValueError):
    """A malformed call: refused at the edge, nothing changed."""


class InvalidOrder(InvalidInput):
    """An order request that cannot be an order (qty, price, side, type, tif)."""


class BadQuote(InvalidInput):
    """A quote that fails validation."""


class ConfigError(InvalidInput):
    """A setting that papernb cannot work with."""


class UnknownOrder(PaperError, LookupError):
    """No order with that id in this account."""

    def __str__(self) -> str:  # LookupError would quote the message like a key
        return str(self.args[0]) if self.args else "unknown order"


class UnknownTrip(PaperError, LookupError):
    """No round trip with that id in this account."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown round trip"


class UnknownAlert(PaperError, LookupError):
    """No open price alert with that id in this account."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown alert"


class OrderNotOpen(PaperError):
    """The order has reached a terminal state and can no longer change."""


class ReplaceRefused(PaperError):
    """The replacement does not fit the account; the order is unchanged."""


class DuplicateClientOrderId(PaperError):
    """The same client order id was used for a different order."""


class InvalidTransition(PaperError):
    """An order state change that the transition table does not allow."""


class BacktestFinished(PaperError):
    """A backtest's account is read-only once the run is over."""


class BookError(PaperError):
    """Something about the book file; ``path`` names it."""

    def __init__(self, message: str, path: str = "") -> None:
        self.path = path
        super().__init__(message)


class BookLocked(BookError):
    """Another owner has the book file open for writing: one writer per file."""

    def __init__(self, path: str, owner: str) -> None:
        self.owner = owner
        if owner.startswith("this process"):
            msg = (f"the book {path} is already open in {owner}; use that Engine (or close it first) "
                   f"instead of opening the file twice")
        else:
            msg = f"the book {path} is open in another process ({owner}); close it there first"
        super().__init__(msg, path)


class BookClosed(BookError):
    """A call on an Engine (or its accounts) after ``close()``."""

    def __init__(self, path: str = "") -> None:
        super().__init__("this book is closed; open it again with pn.Engine(path)", path)


class BookUnreadable(BookError):
    """The file cannot be opened as a papernb book (corrupt, foreign, newer, no access)."""


class BookWriteFailed(BookError):
    """A write to the book did not commit; the engine is back at its last durable state."""
