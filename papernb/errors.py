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
  - ``OrderNotOpen``: the order is already FILLED / CANCELLED / REJECTED / EXPIRED.
  - ``ReplaceRefused``: a replace the account cannot afford; the order stays as it was.
  - ``DuplicateClientOrderId``: a client order id reused with other parameters.
  - ``InvalidTransition``: a state-machine step that the transition table forbids.
  - ``BookLocked``: another process owns the book file.
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


class OrderNotOpen(PaperError):
    """The order has reached a terminal state and can no longer change."""


class ReplaceRefused(PaperError):
    """The replacement does not fit the account; the order is unchanged."""


class DuplicateClientOrderId(PaperError):
    """The same client order id was used for a different order."""


class InvalidTransition(PaperError):
    """An order state change that the transition table does not allow."""


class BookLocked(PaperError):
    """Another process has the book file open for writing."""

    def __init__(self, path: str, owner: str) -> None:
        self.path = path
        self.owner = owner
        super().__init__(f"the book {path} is open in another process ({owner}); close it there first")
