"""Users and their API tokens, kept in the book file beside the journal.

A user owns one account (of the same name).  A token is shown once, when it is made, and
only its SHA-256 is stored: tokens are 256 random bits, so a plain hash is as good as a slow
one and lets every request be checked with one dictionary lookup.  Tokens never appear in
logs or errors.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidInput, PaperError

__all__ = ["User", "UserStore", "hash_token"]

_TABLE = """CREATE TABLE IF NOT EXISTS users (
    name VARCHAR PRIMARY KEY, account VARCHAR NOT NULL, admin BOOLEAN NOT NULL, token_hash VARCHAR,
    created_at BIGINT NOT NULL, revoked_at BIGINT, hub_name VARCHAR)"""


class UnknownUser(PaperError, LookupError):
    """No such user."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown user"


@dataclass(frozen=True)
class User:
    name: str
    account: str
    admin: bool
    active: bool = True
    hub_name: str | None = None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return "pnb_" + secrets.token_urlsafe(32)


class UserStore:
    """The ``users`` table of a book, read and written through one DuckDB connection (or cursor)."""

    def __init__(self, con: Any) -> None:
        self.con = con
        con.execute(_TABLE)
        self._by_hash: dict[str, User] = {}
        self._load()

    def _load(self) -> None:
        self._by_hash = {}
        for name, account, admin, token_hash, revoked, hub in self.con.execute(
                "SELECT name, account, admin, token_hash, revoked_at, hub_name FROM users").fetchall():
            if token_hash and revoked is None:
                self._by_hash[token_hash] = User(name, account, bool(admin), True, hub)

    def resolve(self, token: str) -> User | None:
        """The user a bearer token belongs to, or None (unknown, revoked, or replaced)."""
        if not token or len(token) > 200:
            return None
        return self._by_hash.get(hash_token(token))

    def get(self, name: str) -> User | None:
        row = self.con.execute("SELECT name, account, admin, revoked_at, hub_name FROM users WHERE name = ?",
                               [name]).fetchone()
        if row is None:
            return None
        return User(row[0], row[1], bool(row[2]), row[3] is None, row[4])

    def list(self) -> list[User]:
        return [User(n, a, bool(ad), r is None, h) for n, a, ad, r, h in self.con.execute(
            "SELECT name, account, admin, revoked_at, hub_name FROM users ORDER BY name").fetchall()]

    def add(self, name: str, *, admin: bool = False, hub_name: str | None = None) -> str:
        """Create user ``name`` (its account has the same name); returns its token, once."""
        if self.get(name) is not None:
            raise InvalidInput(f"there is a user {name!r} already (papernb users token {name} makes a new token)")
        token = new_token()
        self.con.execute("INSERT INTO users VALUES (?, ?, ?, ?, ?, NULL, ?)",
                         [name, name, admin, hash_token(token), time.time_ns(), hub_name])
        self._load()
        return token

    def ensure_hub_user(self, account: str, hub_name: str) -> User:
        """The user bound to a JupyterHub login (created on first sight, no token of its own)."""
        u = self.get(account)
        if u is not None:
            if u.hub_name != hub_name:
                raise InvalidInput(f"hub user {hub_name!r} maps to account {account!r}, which belongs to "
                                   f"{u.hub_name or u.name!r}: rename one of them")
            return u
        self.con.execute("INSERT INTO users VALUES (?, ?, FALSE, NULL, ?, NULL, ?)",
                         [account, account, time.time_ns(), hub_name])
        return User(account, account, False, True, hub_name)

    def new_token(self, name: str) -> str:
        """A new token for ``name``; the old one stops working at once."""
        if self.get(name) is None:
            raise UnknownUser(f"there is no user {name!r}")
        token = new_token()
        self.con.execute("UPDATE users SET token_hash = ?, revoked_at = NULL WHERE name = ?",
                         [hash_token(token), name])
        self._load()
        return token

    def revoke(self, name: str) -> None:
        if self.get(name) is None:
            raise UnknownUser(f"there is no user {name!r}")
        self.con.execute("UPDATE users SET revoked_at = ?, token_hash = NULL WHERE name = ?", [time.time_ns(), name])
        self._load()
