"""The seed flow over HTTP, against a real service subprocess and a real DuckDB book."""

from __future__ import annotations

from decimal import Decimal as D

from .conftest import Service


def _quote(svc: Service, admin: str, symbol: str, bid: str, ask: str, last: str) -> None:
    with svc.client(admin) as c:
        r = c.post("/v1/quotes", json=[{"symbol": symbol, "bid": bid, "ask": ask, "last": last}])
        assert r.status_code == 200, r.text


def test_seed_flow_account_market_buy_limit_edit_cancel(service: Service, tokens: dict[str, str]) -> None:
    _quote(service, tokens["admin"], "AAPL", "189.90", "190.10", "190.00")
    with service.client(tokens["alice"]) as c:
        acct = c.get("/v1/account").json()
        assert (acct["account"], acct["cash"], acct["buying_power"], acct["positions"]) == (
            "alice", "100000.00", "100000.00", [])
        r = c.post("/v1/orders", json={"symbol": "AAPL", "side": "buy", "qty": 10, "type": "market"})
        assert r.status_code == 201, r.text
        o = r.json()
        assert (o["status"], o["filled_qty"], o["avg_fill_price"]) == ("FILLED", 10, "190.10")
        r = c.post("/v1/orders", json={"symbol": "aapl", "side": "BUY", "qty": 5, "type": "limit",
                                       "limit_price": "185.00", "time_in_force": "gtc"})
        lim = r.json()
        assert (r.status_code, lim["status"], lim["reserved_cash"]) == (201, "PENDING", "925.00")
        assert c.get("/v1/account").json()["reserved"] == "925.00"
        r = c.patch(f"/v1/orders/{lim['id']}", json={"limit_price": "186.00"})
        assert (r.status_code, r.json()["id"], r.json()["limit_price"]) == (200, lim["id"], "186.00")
        r = c.post(f"/v1/orders/{lim['id']}/cancel")
        assert (r.status_code, r.json()["status"]) == (200, "CANCELLED")
        r = c.post(f"/v1/orders/{lim['id']}/cancel")
        assert r.status_code == 409 and r.json() == {"error": "conflict",
                                                       "message": f"order {lim['id']} is already CANCELLED"}
        pos = c.get("/v1/positions/AAPL").json()
        assert (pos["qty"], pos["avg_price"]) == (10, "190.10")
        assert D(c.get("/v1/account").json()["cash"]) == D("98099.00")


def test_client_order_id_is_idempotent_and_a_conflict_with_other_parameters(service: Service,
                                                                            tokens: dict[str, str]) -> None:
    _quote(service, tokens["admin"], "AAPL", "189.90", "190.10", "190.00")
    body = {"symbol": "AAPL", "side": "buy", "qty": 1, "type": "limit", "limit_price": "180.00",
            "client_order_id": "retry-1"}
    with service.client(tokens["alice"]) as c:
        first = c.post("/v1/orders", json=body)
        again = c.post("/v1/orders", json=body)
        assert (first.status_code, again.status_code) == (201, 200)
        assert first.json()["id"] == again.json()["id"]
        other = c.post("/v1/orders", json={**body, "qty": 2})
        assert other.status_code == 409 and other.json()["error"] == "conflict"
        assert len(c.get("/v1/orders", params={"status": "all"}).json()) == 1


def test_lists_are_newest_first_and_paged(service: Service, tokens: dict[str, str]) -> None:
    _quote(service, tokens["admin"], "AAPL", "189.90", "190.10", "190.00")
    with service.client(tokens["alice"]) as c:
        ids = [c.post("/v1/orders", json={"symbol": "AAPL", "side": "buy", "qty": 1, "type": "limit",
                                          "limit_price": f"{150 + i}.00"}).json()["id"] for i in range(7)]
        page1 = c.get("/v1/orders", params={"limit": 3}).json()
        assert [o["id"] for o in page1] == ids[::-1][:3]
        page2 = c.get("/v1/orders", params={"limit": 3, "after": page1[-1]["id"]}).json()
        assert [o["id"] for o in page2] == ids[::-1][3:6]
        c.post(f"/v1/orders/{ids[0]}/cancel")
        assert [o["id"] for o in c.get("/v1/orders", params={"status": "closed"}).json()] == [ids[0]]
        r = c.delete("/v1/orders")
        assert r.status_code == 200 and len(r.json()) == 6
        assert c.get("/v1/orders").json() == []


def test_seed_paths_are_aliases(service: Service, tokens: dict[str, str]) -> None:
    _quote(service, tokens["admin"], "MSFT", "419.90", "420.10", "420.00")
    with service.client(tokens["alice"]) as c:
        o = c.post("/v1/orders", json={"symbol": "MSFT", "side": "buy", "qty": 1, "type": "limit",
                                       "limit_price": "400.00"}).json()
        r = c.patch(f"/orders/{o['id']}/update", json={"qty": 2})
        assert (r.status_code, r.json()["qty"]) == (200, 2)
        snap = c.get("/snapshot", params={"symbols": "MSFT,NOPE"}).json()
        assert [(q["symbol"], q["bid"], q["stale"]) for q in snap] == [("MSFT", "419.90", False)]
        r = c.post(f"/orders/{o['id']}/cancel")
        assert r.json()["status"] == "CANCELLED"
