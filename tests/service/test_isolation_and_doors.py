"""Who sees what, and bad input at the HTTP door: every answer a 4xx in one JSON shape, state unchanged."""

from __future__ import annotations

import httpx
import pytest

from .conftest import Service, papernb


def _quote(svc: Service, admin: str) -> None:
    with svc.client(admin) as c:
        assert c.post("/v1/quotes", json=[{"symbol": "AAPL", "bid": "189.90", "ask": "190.10",
                                           "last": "190.00"}]).status_code == 200


def _alice_order(svc: Service, token: str) -> int:
    with svc.client(token) as c:
        return c.post("/v1/orders", json={"symbol": "AAPL", "side": "buy", "qty": 3, "type": "limit",
                                          "limit_price": "180.00", "time_in_force": "gtc"}).json()["id"]


def test_another_users_ids_answer_exactly_like_ids_that_do_not_exist(service: Service, tokens: dict[str, str]) -> None:
    _quote(service, tokens["admin"])
    oid = _alice_order(service, tokens["alice"])
    with service.client(tokens["alice"]) as alice:
        before = alice.get("/v1/account").json()
    missing = oid + 1000
    with service.client(tokens["bob"]) as bob:
        for method, path, body in [("GET", "/v1/orders/{}", None), ("PATCH", "/v1/orders/{}", {"qty": 9}),
                                   ("POST", "/v1/orders/{}/cancel", None), ("DELETE", "/v1/orders/{}", None),
                                   ("PATCH", "/orders/{}/update", {"qty": 9}), ("POST", "/orders/{}/cancel", None)]:
            theirs = bob.request(method, path.format(oid), json=body)
            nobodys = bob.request(method, path.format(missing), json=body)
            assert theirs.status_code == nobodys.status_code == 404, (path, theirs.text)
            assert theirs.json()["message"].replace(str(oid), "N") == nobodys.json()["message"].replace(
                str(missing), "N")
        assert bob.get("/v1/orders", params={"status": "all"}).json() == []
        assert bob.get("/v1/positions/AAPL").status_code == 404
        assert bob.delete("/v1/orders").json() == []
        for admin_only in (("GET", "/v1/users"), ("POST", "/v1/users"), ("GET", "/v1/accounts/alice"),
                           ("POST", "/v1/accounts/alice/reset"), ("POST", "/v1/quotes"), ("POST", "/v1/backup")):
            r = bob.request(*admin_only, json={"name": "x"})
            assert r.status_code == 403 and r.json()["error"] == "forbidden", admin_only
    with service.client(tokens["alice"]) as alice:
        assert alice.get("/v1/account").json()["reserved"] == before["reserved"] == "540.00"
        assert alice.get(f"/v1/orders/{oid}").json()["status"] == "PENDING"


@pytest.mark.parametrize("auth", [None, "Bearer nope", "Basic YWxpY2U6eA==", "Bearer x" * 60])
def test_no_token_or_a_bad_one_is_401(shared_service: tuple[Service, dict[str, str]], auth: str | None) -> None:
    service = shared_service[0]
    headers = {"Authorization": auth} if auth else {}
    r = httpx.get(service.url + "/v1/account", headers=headers)
    assert r.status_code == 401 and r.json()["error"] == "unauthorized"


def test_revoked_and_replaced_tokens_stop_working_at_once(service: Service, tokens: dict[str, str]) -> None:
    with service.client(tokens["admin"]) as admin:
        new = admin.post("/v1/users/bob/token").json()["token"]
        assert httpx.get(service.url + "/v1/account", headers={"Authorization": f"Bearer {tokens['bob']}"}
                         ).status_code == 401
        assert httpx.get(service.url + "/v1/account", headers={"Authorization": f"Bearer {new}"}).status_code == 200
        assert admin.delete("/v1/users/bob").status_code == 200
        assert httpx.get(service.url + "/v1/account", headers={"Authorization": f"Bearer {new}"}).status_code == 401
        carol = admin.post("/v1/users", json={"name": "Carol"}).json()
        assert (carol["name"], carol["account"]) == ("carol", "carol")
        with service.client(carol["token"]) as c:
            assert c.get("/v1/account").json()["cash"] == "100000.00"
        names = {u["name"]: u["active"] for u in admin.get("/v1/users").json()}
        assert names == {"admin": True, "alice": True, "bob": False, "carol": True}
    assert tokens["admin"] not in service.log.read_text()


BAD_ORDERS = [
    ("not json", b"{symbol: AAPL", 400, "malformed"),
    ("qty zero", {"symbol": "AAPL", "side": "buy", "qty": 0}, 422, "invalid"),
    ("qty negative", {"symbol": "AAPL", "side": "buy", "qty": -5}, 422, "invalid"),
    ("qty text", {"symbol": "AAPL", "side": "buy", "qty": "10"}, 422, "invalid"),
    ("qty float", {"symbol": "AAPL", "side": "buy", "qty": 1.5}, 422, "invalid"),
    ("qty bool", {"symbol": "AAPL", "side": "buy", "qty": True}, 422, "invalid"),
    ("unknown field", {"symbol": "AAPL", "side": "buy", "qty": 1, "leverage": 100}, 422, "invalid"),
    ("unknown type", {"symbol": "AAPL", "side": "buy", "qty": 1, "type": "teleport"}, 422, "invalid"),
    ("bad price", {"symbol": "AAPL", "side": "buy", "qty": 1, "type": "limit", "limit_price": "189,50"}, 422,
     "invalid"),
    ("negative price", {"symbol": "AAPL", "side": "buy", "qty": 1, "type": "limit", "limit_price": -1}, 422,
     "invalid"),
    ("sql symbol", {"symbol": "AAPL'; DROP TABLE journal;--", "side": "buy", "qty": 1}, 422, "invalid"),
    ("html symbol", {"symbol": "<script>alert(1)</script>", "side": "buy", "qty": 1}, 422, "invalid"),
    ("missing side", {"symbol": "AAPL", "qty": 1}, 422, "invalid"),
    ("array body", [1, 2, 3], 422, "invalid"),
    ("huge body", {"symbol": "AAPL", "side": "buy", "qty": 1, "client_order_id": "x" * 100_000}, 413, "too_large"),
]


@pytest.mark.parametrize("label,body,status,code", BAD_ORDERS, ids=[b[0] for b in BAD_ORDERS])
def test_bad_orders_get_one_json_error_and_change_nothing(shared_service: tuple[Service, dict[str, str]],
                                                         label: str, body: object, status: int, code: str) -> None:
    service, tokens = shared_service
    _quote(service, tokens["admin"])
    with service.client(tokens["alice"]) as c:
        before = c.get("/v1/account").json()
        if isinstance(body, bytes):
            r = c.post("/v1/orders", content=body, headers={"Content-Type": "application/json"})
        else:
            r = c.post("/v1/orders", json=body)
        assert r.status_code == status, r.text
        err = r.json()
        assert set(err) == {"error", "message"} and err["error"] == code and err["message"]
        assert "Traceback" not in r.text
        assert c.get("/v1/orders", params={"status": "all"}).json() == []
        after = c.get("/v1/account").json()
        assert {k: v for k, v in after.items() if k != "as_of"} == {k: v for k, v in before.items() if k != "as_of"}


def test_a_token_over_its_rate_gets_429(book, tokens: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    from .conftest import free_port

    svc = Service(book, free_port(), "--feed", "none", "--rate-limit", "5").start()
    try:
        with svc.client(tokens["alice"]) as c:
            codes = [c.get("/v1/account").status_code for _ in range(30)]
        assert codes[0] == 200 and 429 in codes
    finally:
        svc.stop()


def test_unknown_paths_and_methods_answer_in_the_same_shape(service: Service, tokens: dict[str, str]) -> None:
    with service.client(tokens["alice"]) as c:
        r = c.get("/v1/nothing-here")
        assert r.status_code == 404 and r.json()["error"] == "not_found"
        r = c.put("/v1/account")
        assert r.status_code == 405 and set(r.json()) == {"error", "message"}
        r = c.get("/v1/orders", params={"status": "sideways"})
        assert r.status_code == 422 and "status must be open, closed or all" in r.json()["message"]


def test_users_cli_against_a_book_and_against_the_service(book, tokens: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    out = papernb("users", "list", "--book", str(book)).stdout
    assert "alice\taccount=alice\tuser\tactive" in out and "admin\taccount=admin\tadmin\tactive" in out
    r = papernb("users", "add", "alice", "--book", str(book), check=False)
    assert r.returncode == 1 and "there is a user 'alice' already" in r.stderr and "Traceback" not in r.stderr
    from .conftest import free_port

    svc = Service(book, free_port(), "--feed", "none").start()
    try:
        r = papernb("users", "add", "dave", "--book", str(book), check=False)
        assert r.returncode == 1 and "use --service URL --token ADMIN_TOKEN" in r.stderr
        r = papernb("users", "add", "dave", "--service", svc.url, "--token", tokens["admin"])
        token = r.stdout.strip().splitlines()[-1]
        with svc.client(token) as c:
            assert c.get("/v1/account").json()["account"] == "dave"
        r = papernb("users", "add", "erin", "--service", svc.url, "--token", tokens["alice"], check=False)
        assert r.returncode == 1 and "403" in r.stderr
        out = svc.book.parent / "copy.duckdb"
        r = papernb("backup", "--service", svc.url, "--token", tokens["admin"], "--to", str(out))
        assert r.returncode == 0 and out.exists()
    finally:
        svc.stop()
    import papernb as pn

    copy = pn.Engine(str(out))
    assert set(copy.accounts()) >= {"alice", "bob", "dave"}
    copy.close()


def test_another_users_round_trips_and_alerts_are_unknown_too(service: Service, tokens: dict[str, str]) -> None:
    _quote(service, tokens["admin"])
    with service.client(tokens["alice"]) as alice:
        alice.post("/v1/orders", json={"symbol": "AAPL", "side": "buy", "qty": 1})
        alice.post("/v1/orders", json={"symbol": "AAPL", "side": "sell", "qty": 1})
        (trip,) = alice.get("/v1/trades").json()
        al = alice.post("/v1/alerts", json={"symbol": "AAPL", "above": "500.00"}).json()
    with service.client(tokens["bob"]) as bob:
        r = bob.patch(f"/v1/trades/{trip['id']}", json={"note": "mine now"})
        assert r.status_code == 404 and r.json()["error"] == "unknown_trip"
        r = bob.delete(f"/v1/alerts/{al['id']}")
        assert r.status_code == 404 and r.json()["error"] == "unknown_alert"
        assert bob.get("/v1/trades").json() == [] and bob.get("/v1/alerts").json() == []
        assert bob.get("/v1/export/round_trips.csv").text.count("\n") <= 1  # a header, no rows
    with service.client(tokens["alice"]) as alice:
        assert alice.get("/v1/trades").json()[0]["note"] == ""
        assert [a["status"] for a in alice.get("/v1/alerts").json()] == ["open"]
