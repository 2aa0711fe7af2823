"""The event stream (order events after their commit, resumable by Last-Event-ID) and durability:
kill -9 under load loses no acknowledged command; SIGTERM stops cleanly within 5 s."""

from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path

import httpx

from .conftest import Service, add_user, free_port


def _read_events(svc: Service, token: str, last_id: int | None, until: float, out: list[dict],
                 stop: threading.Event) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    if last_id is not None:
        headers["Last-Event-ID"] = str(last_id)
    with httpx.stream("GET", svc.url + "/v1/events", headers=headers, timeout=httpx.Timeout(5, read=20)) as r:
        event: dict = {}
        for line in r.iter_lines():
            if line.startswith("id: "):
                event["id"] = int(line[4:])
            elif line.startswith("event: "):
                event["event"] = line[7:]
            elif line.startswith("data: "):
                event["data"] = json.loads(line[6:])
            elif line == "" and event:
                out.append(event)
                event = {}
            if stop.is_set() or time.monotonic() > until:
                return


def _order_events(events: list[dict]) -> list[tuple[int, str, int, str]]:
    return [(e["id"], e["data"]["event"], e["data"]["order"]["id"], e["data"]["order"]["status"])
            for e in events if e.get("event") == "order"]


def test_order_events_stream_and_resume_with_nothing_lost_or_doubled(service: Service,
                                                                     tokens: dict[str, str]) -> None:
    with service.client(tokens["admin"]) as admin:
        admin.post("/v1/quotes", json=[{"symbol": "AAPL", "bid": "189.90", "ask": "190.10", "last": "190.00"}])
    first: list[dict] = []
    stop = threading.Event()
    reader = threading.Thread(target=_read_events, args=(service, tokens["alice"], None, time.monotonic() + 15,
                                                          first, stop), daemon=True)
    reader.start()
    time.sleep(0.5)
    with service.client(tokens["alice"]) as c, service.client(tokens["bob"]) as bob:
        a = c.post("/v1/orders", json={"symbol": "AAPL", "side": "buy", "qty": 1, "type": "limit",
                                       "limit_price": "185.00"}).json()
        bob.post("/v1/orders", json={"symbol": "AAPL", "side": "buy", "qty": 1})  # not alice's: not on her stream
        c.post(f"/v1/orders/{a['id']}/cancel")
        deadline = time.monotonic() + 5
        while len(_order_events(first)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        stop.set()
        seen = _order_events(first)
        assert [(e, s) for _, e, _, s in seen] == [("accepted", "PENDING"), ("cancelled", "CANCELLED")]
        assert any(e.get("event") == "account" for e in first)
        last_id = seen[-1][0]
        # while nobody listens: three more changes
        b = c.post("/v1/orders", json={"symbol": "AAPL", "side": "buy", "qty": 2}).json()
        d = c.post("/v1/orders", json={"symbol": "AAPL", "side": "buy", "qty": 1, "type": "limit",
                                       "limit_price": "180.00"}).json()
        c.patch(f"/v1/orders/{d['id']}", json={"qty": 3})
    resumed: list[dict] = []
    stop2 = threading.Event()
    t = threading.Thread(target=_read_events, args=(service, tokens["alice"], last_id, time.monotonic() + 10,
                                                     resumed, stop2), daemon=True)
    t.start()
    deadline = time.monotonic() + 5
    while len(_order_events(resumed)) < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    stop2.set()
    got = _order_events(resumed)
    assert [(oid, e) for _, e, oid, _ in got] == [(b["id"], "accepted"), (b["id"], "filled"), (d["id"], "accepted"),
                                                  (d["id"], "replaced"), (d["id"], "rested")]
    assert all(i > last_id for i, *_ in got) and [i for i, *_ in got] == sorted({i for i, *_ in got})


_LOAD = """
import sys, time, httpx, json
url, token, out = sys.argv[1], sys.argv[2], sys.argv[3]
acks = []
with httpx.Client(base_url=url, headers={"Authorization": "Bearer " + token}, timeout=5) as c:
    for i in range(10_000):
        try:
            r = c.post("/v1/orders", json={"symbol": "AAPL", "side": "buy", "qty": 1, "type": "limit",
                                            "limit_price": "150.00", "time_in_force": "gtc"})
            if r.status_code == 201:
                acks.append(("placed", r.json()["id"]))
                if i % 2:
                    r = c.post(f"/v1/orders/{r.json()['id']}/cancel")
                    if r.status_code == 200:
                        acks.append(("cancelled", r.json()["id"]))
        except httpx.HTTPError:
            break
        with open(out, "w") as f:
            json.dump(acks, f)
"""


def test_kill_9_under_load_loses_no_acknowledged_command(tmp_path: Path) -> None:
    import subprocess
    import sys

    book = tmp_path / "book.duckdb"
    admin = add_user(book, "admin", admin=True)
    names = [f"c{i}" for i in range(10)]
    toks = {n: add_user(book, n) for n in names}
    svc = Service(book, free_port(), "--feed", "none", "--rate-limit", "0").start()
    with svc.client(admin) as c:
        c.post("/v1/quotes", json=[{"symbol": "AAPL", "bid": "189.90", "ask": "190.10", "last": "190.00"}])
    script = tmp_path / "load.py"
    script.write_text(_LOAD)
    clients = [subprocess.Popen([sys.executable, str(script), svc.url, toks[n], str(tmp_path / f"{n}.json")])
               for n in names]
    deadline = time.monotonic() + 30  # every client under way, then a few seconds of load
    while time.monotonic() < deadline and not all((tmp_path / f"{n}.json").exists() for n in names):
        time.sleep(0.1)
    time.sleep(3)
    svc.proc.send_signal(signal.SIGKILL)  # type: ignore[union-attr]
    svc.proc.wait(10)  # type: ignore[union-attr]
    for p in clients:
        p.wait(30)
    svc2 = Service(book, svc.port, "--feed", "none").start()
    try:
        total = 0
        for n in names:
            acks = json.loads((tmp_path / f"{n}.json").read_text())
            total += len(acks)
            want: dict[int, str] = {}
            for what, oid in acks:
                want[oid] = "PENDING" if what == "placed" else "CANCELLED"
            with svc2.client(toks[n]) as c:
                have = {o["id"]: o["status"] for o in c.get("/v1/orders", params={"status": "all",
                                                                                   "limit": 500}).json()}
                page = list(have)
                while len(page) == 500:
                    more = c.get("/v1/orders", params={"status": "all", "limit": 500, "after": min(page)}).json()
                    page = [o["id"] for o in more]
                    have.update({o["id"]: o["status"] for o in more})
            for oid, status in want.items():
                assert have.get(oid) == status, (n, oid, status, have.get(oid))
        assert total > 100, f"the load was too light to mean anything ({total} acknowledged commands)"
    finally:
        svc2.stop()


def test_sigterm_finishes_and_exits_0_within_5_seconds(tmp_path: Path) -> None:
    book = tmp_path / "book.duckdb"
    token = add_user(book, "alice")
    svc = Service(book, free_port(), "--feed", "sim").start()
    with svc.client(token) as c:
        c.post("/v1/orders", json={"symbol": "AAPL", "side": "buy", "qty": 1, "type": "limit",
                                   "limit_price": "1.00", "time_in_force": "gtc"})
    t0 = time.monotonic()
    code = svc.stop(signal.SIGTERM, timeout=10)
    assert code == 0 and time.monotonic() - t0 < 5
    import papernb as pn

    book_ = pn.Engine(str(book))  # released, and the order is there
    assert [o.status.value for o in book_.account("alice").orders()] == ["PENDING"]
    book_.close()
