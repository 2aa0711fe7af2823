"""``papernb serve``, ``papernb users`` and ``papernb backup``."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import signal
import sys
from pathlib import Path
from typing import Any

from ..cli import ArgParser, UsageError
from ..engine.account import account_key
from ..engine.store import default_book_path
from ..errors import BookError, PaperError

__all__ = ["backup_main", "serve_main", "users_main"]


def _book(arg: str | None) -> str:
    return arg or default_book_path(simulated=False)


# -- serve ------------------------------------------------------------------------------------------
def serve_main(argv: list[str]) -> int:
    p = ArgParser(prog="papernb serve", description="Serve one book over HTTP: the only writer of the book.")
    p.add_argument("--book", help="the book file (PAPERNB_DB, else ~/.papernb/paper.duckdb)")
    p.add_argument("--feed", default=None, help="sim (default without Redis), redis, replay:FILE or none")
    p.add_argument("--redis", help="Redis URL (PAPERNB_REDIS_URL)")
    p.add_argument("--symbols", help="comma-separated symbols for the simulated market or Redis")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--rate-limit", type=float, default=50.0, help="requests per second per token (0: none)")
    p.add_argument("--hub", action="store_true",
                   help="run as a JupyterHub-managed service: hub tokens and logins, an account per hub user")
    a = p.parse_args(argv)
    from ..feed.redis_bus import mask_url, redis_url

    url = redis_url(a.redis)
    feed = a.feed or ("redis" if url else "sim")
    if feed == "redis" and not url:
        raise UsageError("--feed redis needs --redis URL (or PAPERNB_REDIS_URL)")
    if not 0 < a.port < 65536:
        raise UsageError(f"--port must be 1-65535, was {a.port}")
    book = _book(a.book)
    _warn_if_exposed(a.host)
    from .app import ServiceConfig, create_app

    symbols = [s.strip() for s in a.symbols.split(",")] if a.symbols else None
    config = ServiceConfig(book=book, feed=feed, redis=url, symbols=symbols, rate_limit=a.rate_limit, hub=a.hub)
    app: Any = create_app(config)
    if a.hub:
        from .hub import HubAuthAdapter, strip_prefix

        app.state.service.hub_auth = HubAuthAdapter()
        prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX")
        if prefix:
            app = strip_prefix(app, prefix)
    return _run_uvicorn(app, a.host, a.port, book, f"{feed}" + (f" {mask_url(url)}" if feed == "redis" else ""))


def _warn_if_exposed(host: str) -> None:
    try:
        local = ipaddress.ip_address(host).is_loopback
    except ValueError:
        local = host == "localhost"
    if not local:
        print(f"papernb serve: warning: listening on {host} without TLS; tokens would cross the network in "
              f"clear. Put it behind a TLS reverse proxy (docs/service.md, 'TLS') and bind it to 127.0.0.1.",
              file=sys.stderr)


def _run_uvicorn(app: Any, host: str, port: int, book: str, feed: str) -> int:
    import uvicorn

    config = uvicorn.Config(app, host=host, port=port, workers=1, log_level="warning", access_log=False,
                            lifespan="on", timeout_graceful_shutdown=3)
    server = uvicorn.Server(config)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, lambda: setattr(server, "should_exit", True))
        server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        await server.serve()

    print(f"papernb serve: {book} on http://{host}:{port} (feed {feed}); docs at /docs", file=sys.stderr, flush=True)
    asyncio.run(main())
    if not server.started:
        raise PaperError(f"the service did not start on {host}:{port} (is the port in use, or the book open "
                         f"elsewhere? the line above says why)")
    return 0


# -- users ------------------------------------------------------------------------------------------
def users_main(argv: list[str]) -> int:
    p = ArgParser(prog="papernb users", description="Users and their API tokens (each user has one account).")
    sub = p.add_subparsers(dest="action", required=True)
    for name, help_ in (("add", "create a user (and an account with the starting cash); prints the token"),
                        ("list", "list the users"), ("revoke", "stop a user's token working"),
                        ("token", "issue a new token (the old one stops working)")):
        sp = sub.add_parser(name, help=help_)
        if name != "list":
            sp.add_argument("name")
        if name == "add":
            sp.add_argument("--admin", action="store_true")
        sp.add_argument("--book")
        sp.add_argument("--service", help="the URL of a running papernb serve (then --token is an admin token)")
        sp.add_argument("--token", help="an admin token for --service (or PAPERNB_TOKEN)")
    a = p.parse_args(argv)
    if a.service:
        return _users_remote(a)
    if getattr(a, "name", None) is not None:
        a.name = account_key(a.name)
    book = _book(a.book)
    from ..engine import Engine
    from .users import UserStore

    try:
        engine = Engine(book)
    except BookError as e:
        if "open in" in str(e):
            raise PaperError(f"{e} -- if papernb serve holds it, use --service URL --token ADMIN_TOKEN") from None
        raise
    try:
        users = UserStore(engine.store.writer())
        if a.action == "add":
            token = users.add(a.name, admin=a.admin)
            engine.account(a.name)
            print(f"user {a.name} added{' (admin)' if a.admin else ''} with account {a.name}; its token (shown once):")
            print(token)
        elif a.action == "list":
            for u in users.list():
                print(f"{u.name}\taccount={u.account}\t{'admin' if u.admin else 'user'}\t"
                      f"{'active' if u.active else 'revoked'}")
        elif a.action == "revoke":
            users.revoke(a.name)
            print(f"user {a.name}: token revoked")
        else:
            print(f"user {a.name}: new token (shown once; the old one no longer works):")
            print(users.new_token(a.name))
    finally:
        engine.close()
    return 0


def _users_remote(a: Any) -> int:
    token = a.token or os.environ.get("PAPERNB_TOKEN")
    if not token:
        raise UsageError("--service needs --token ADMIN_TOKEN (or PAPERNB_TOKEN)")
    r = _request(a.service, token, {"add": "POST", "list": "GET", "revoke": "DELETE", "token": "POST"}[a.action],
                 {"add": "/v1/users", "list": "/v1/users", "revoke": f"/v1/users/{a.name}",
                  "token": f"/v1/users/{a.name}/token"}[a.action],
                 {"name": a.name, "admin": a.admin} if a.action == "add" else None)
    body = r.json()
    if a.action == "list":
        for u in body:
            print(f"{u['name']}\taccount={u['account']}\t{'admin' if u['admin'] else 'user'}\t"
                  f"{'active' if u['active'] else 'revoked'}")
    elif a.action == "revoke":
        print(f"user {a.name}: token revoked")
    else:
        print(f"user {body['name']}: token (shown once):")
        print(body["token"])
    return 0


def _request(service: str, token: str, method: str, path: str, body: Any = None) -> Any:
    import httpx

    try:
        r = httpx.request(method, service.rstrip("/") + path, json=body, timeout=30,
                          headers={"Authorization": f"Bearer {token}"})
    except httpx.HTTPError as e:
        raise PaperError(f"cannot reach the service at {service}: {e}") from None
    if r.status_code >= 400:
        try:
            msg = r.json().get("message", r.text)
        except ValueError:
            msg = r.text[:200]
        raise PaperError(f"{service}{path}: {r.status_code}: {msg}")
    return r


# -- backup -----------------------------------------------------------------------------------------
def backup_main(argv: list[str]) -> int:
    p = ArgParser(prog="papernb backup", description="An online copy of the book a running service holds.")
    p.add_argument("--service", required=True)
    p.add_argument("--token", help="an admin token (or PAPERNB_TOKEN)")
    p.add_argument("--to", required=True, help="the new file to write")
    a = p.parse_args(argv)
    token = a.token or os.environ.get("PAPERNB_TOKEN")
    if not token:
        raise UsageError("--token ADMIN_TOKEN (or PAPERNB_TOKEN) is needed")
    out = Path(a.to).expanduser()
    if out.exists():
        raise UsageError(f"{out} exists already; back up to a new file")
    if not out.parent.is_dir():
        raise UsageError(f"{out.parent} is not a folder")
    r = _request(a.service, token, "POST", "/v1/backup")
    tmp = out.with_name(out.name + ".partial")
    tmp.write_bytes(r.content)
    tmp.rename(out)
    print(f"backed up to {out} ({len(r.content):,} bytes)")
    return 0
