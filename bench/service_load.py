#!/usr/bin/env python3
"""The engine service under load, beside its own floors, measured from a separate load process.

    python bench/service_load.py [--duration 30] [--clients 50] [--subscribers 100]

1. Floors on the same stack (FastAPI + uvicorn, one worker) and the same load generator:
   (a) an endpoint that returns a constant; (b) one that commits one journal-sized row to a
   DuckDB file per request.
2. ``papernb serve``: ``--clients`` clients each submitting a resting limit order and cancelling
   it, for ``--duration`` seconds: commands/s and submit -> acknowledged latency p50/p99.
3. ``--subscribers`` SSE subscribers of one account: fan-out latency of order events (client
   clock: from the submit's answer to each subscriber's receipt) and memory per idle subscriber.
4. The quote loop under command load: 5,000 quotes/s over 200 symbols published over HTTP while
   the clients trade; quotes/s the engine processed and how far behind it was.

These machines have 2 shared cores and the load generator competes with the server: read the
ratios to the floors, not the absolute milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

FLOOR_APP = '''
import os, threading, duckdb
from fastapi import FastAPI, Request
app = FastAPI()
con = duckdb.connect(os.environ["FLOOR_DB"])
con.execute("CREATE TABLE IF NOT EXISTS journal (seq BIGINT, ts BIGINT, account VARCHAR, kind VARCHAR, "
            "order_id BIGINT, symbol VARCHAR, status VARCHAR, data VARCHAR)")
local = threading.local()
seq = [0]
lock = threading.Lock()

@app.get("/v1/const")
async def const():
    return {"ok": 1}

@app.post("/v1/commit")
def commit(body: dict):
    cur = getattr(local, "cur", None)
    if cur is None:
        cur = local.cur = con.cursor()
    with lock:
        seq[0] += 1
        n = seq[0]
    cur.execute("INSERT INTO journal VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [n, n, "alice", "OrderAccepted", n, "AAPL", "PENDING", __import__("json").dumps(body)])
    return {"seq": n}
'''

BODY = {"symbol": "AAPL", "side": "buy", "qty": 1, "type": "limit", "limit_price": "150.00",
        "time_in_force": "gtc"}


def pct(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url: str, timeout: float = 30) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# -- the load process -------------------------------------------------------------------------------
async def load_main(a: argparse.Namespace) -> None:
    import httpx

    tokens = json.loads(Path(a.tokens).read_text()) if a.tokens else [""] * a.clients
    deadline = time.monotonic() + a.duration
    lat: list[float] = []
    done = 0
    errors = 0

    async def client(token: str) -> None:
        nonlocal done, errors
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with httpx.AsyncClient(base_url=a.url, headers=headers, timeout=30) as c:
            while time.monotonic() < deadline:
                t0 = time.perf_counter()
                try:
                    if a.mode == "const":
                        r = await c.get("/v1/const")
                    elif a.mode == "commit":
                        r = await c.post("/v1/commit", json=BODY)
                    else:
                        r = await c.post("/v1/orders", json=BODY)
                    lat.append((time.perf_counter() - t0) * 1000)
                    done += 1
                    if a.mode == "trade" and r.status_code == 201:
                        await c.post(f"/v1/orders/{r.json()['id']}/cancel")
                        done += 1
                    elif r.status_code >= 400:
                        errors += 1
                except httpx.HTTPError:
                    errors += 1

    t0 = time.monotonic()
    await asyncio.gather(*(client(tokens[i % len(tokens)]) for i in range(a.clients)))
    secs = time.monotonic() - t0
    print(json.dumps({"per_s": done / secs, "p50": pct(lat, 50), "p99": pct(lat, 99), "n": len(lat),
                      "errors": errors}))


async def sse_main(a: argparse.Namespace) -> None:
    """N subscribers of one account; a submitter places an order every 200 ms."""
    import httpx

    token = a.tokens
    acked: dict[int, float] = {}
    got: list[float] = []
    ready = asyncio.Event()
    connected = 0

    async def subscriber() -> None:
        nonlocal connected
        async with httpx.AsyncClient(base_url=a.url, timeout=httpx.Timeout(10, read=60),
                                     headers={"Authorization": f"Bearer {token}"}) as c:
            async with c.stream("GET", "/v1/events") as r:
                connected += 1
                if connected == a.subscribers:
                    ready.set()
                event = None
                async for line in r.aiter_lines():
                    if line.startswith("event: "):
                        event = line[7:]
                    elif line.startswith("data: ") and event == "order":
                        d = json.loads(line[6:])
                        if d["event"] == "accepted":
                            oid = d["order"]["id"]
                            now = time.perf_counter()
                            while oid not in acked and time.perf_counter() - now < 2:
                                await asyncio.sleep(0.001)
                            if oid in acked:
                                got.append((now - acked[oid]) * 1000)

    subs = [asyncio.create_task(subscriber()) for _ in range(a.subscribers)]
    await asyncio.wait_for(ready.wait(), 60)
    print(json.dumps({"stage": "connected"}), flush=True)
    await asyncio.sleep(a.idle)  # the parent reads the service's memory now
    async with httpx.AsyncClient(base_url=a.url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as c:
        for _ in range(a.orders):
            t0 = time.perf_counter()
            r = await c.post("/v1/orders", json=BODY)
            acked[r.json()["id"]] = t0 + (time.perf_counter() - t0)  # the answer's arrival
            await asyncio.sleep(0.2)
    await asyncio.sleep(1)
    for t in subs:
        t.cancel()
    print(json.dumps({"p50": pct(got, 50), "p99": pct(got, 99), "n": len(got),
                      "expected": a.orders * a.subscribers}), flush=True)


async def quotes_main(a: argparse.Namespace) -> None:
    """Publish ``rate`` quotes/s over 200 symbols in batches of 100 for ``duration`` seconds."""
    import httpx

    syms = [f"S{i:03d}" for i in range(200)]
    sent = 0
    deadline = time.monotonic() + a.duration
    async with httpx.AsyncClient(base_url=a.url, headers={"Authorization": f"Bearer {a.tokens}"}, timeout=30) as c:
        next_t = time.monotonic()
        while time.monotonic() < deadline:
            batch = [{"symbol": syms[(sent + i) % 200], "bid": "99.99", "ask": "100.01", "last": "100.00"}
                     for i in range(100)]
            await c.post("/v1/quotes", json=batch)
            sent += 100
            next_t += 100 / a.rate
            await asyncio.sleep(max(0.0, next_t - time.monotonic()))
    print(json.dumps({"sent": sent}))


def run_load(*args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


# -- the orchestra ------------------------------------------------------------------------------------
def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--duration", type=float, default=30)
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--subscribers", type=int, default=100)
    p.add_argument("--role", default="main")
    p.add_argument("--url")
    p.add_argument("--tokens")
    p.add_argument("--mode", default="trade")
    p.add_argument("--idle", type=float, default=3)
    p.add_argument("--orders", type=int, default=50)
    p.add_argument("--rate", type=float, default=5000)
    a = p.parse_args()
    if a.role == "load":
        return asyncio.run(load_main(a))
    if a.role == "sse":
        return asyncio.run(sse_main(a))
    if a.role == "quotes":
        return asyncio.run(quotes_main(a))

    tmp = Path(tempfile.mkdtemp(prefix="papernb-service-bench-"))
    print(f"service_load: {a.clients} clients, {a.duration:g} s per phase, {a.subscribers} SSE subscribers; "
          f"{os.cpu_count()} cores shared by server and load")
    # 1. floors
    (tmp / "floor.py").write_text(FLOOR_APP)
    port = free_port()
    floor = subprocess.Popen([sys.executable, "-m", "uvicorn", "floor:app", "--port", str(port), "--workers", "1",
                              "--log-level", "warning"], cwd=tmp, env={**os.environ, "FLOOR_DB": str(tmp / "f.duckdb")})
    try:
        wait_up(f"http://127.0.0.1:{port}/v1/const")
        fa = run_load("--role", "load", "--url", f"http://127.0.0.1:{port}", "--mode", "const",
                      "--clients", str(a.clients), "--duration", str(a.duration))
        fb = run_load("--role", "load", "--url", f"http://127.0.0.1:{port}", "--mode", "commit",
                      "--clients", str(a.clients), "--duration", str(a.duration))
    finally:
        floor.terminate()
        floor.wait()
    print(f"floor (a) constant endpoint:       {fa['per_s']:8.0f} req/s   p50 {fa['p50']:6.1f} ms   p99 {fa['p99']:6.1f} ms")
    print(f"floor (b) one DuckDB commit each:  {fb['per_s']:8.0f} req/s   p50 {fb['p50']:6.1f} ms   p99 {fb['p99']:6.1f} ms")

    # 2. the service
    book = tmp / "book.duckdb"
    from papernb.engine import Engine
    from papernb.service.users import UserStore

    eng = Engine(str(book))
    users = UserStore(eng.store.writer())
    admin = users.add("admin", admin=True)
    toks = []
    for i in range(a.clients):
        toks.append(users.add(f"c{i}"))
        eng.account(f"c{i}")
    sub_token = users.add("watcher")
    eng.account("watcher")
    eng.close()
    (tmp / "tokens.json").write_text(json.dumps(toks))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    svc = subprocess.Popen([sys.executable, "-m", "papernb.cli", "serve", "--book", str(book), "--port", str(port),
                            "--feed", "none", "--rate-limit", "0"], cwd=ROOT)
    try:
        wait_up(url + "/v1/health")
        import httpx

        httpx.post(url + "/v1/quotes", headers={"Authorization": f"Bearer {admin}"},
                   json=[{"symbol": "AAPL", "bid": "189.90", "ask": "190.10", "last": "190.00"}])
        sv = run_load("--role", "load", "--url", url, "--tokens", str(tmp / "tokens.json"), "--mode", "trade",
                      "--clients", str(a.clients), "--duration", str(a.duration))
        h = httpx.get(url + "/v1/health").json()
        per_group = h["commands"] / max(h["groups"], 1)
        print(f"papernb serve, submit+cancel:      {sv['per_s']:8.0f} cmd/s   p50 {sv['p50']:6.1f} ms   "
              f"p99 {sv['p99']:6.1f} ms   (submit -> acknowledged; {per_group:.1f} commands per group commit; "
              f"{sv['errors']} errors)")
        print(f"  vs floor (b): throughput {sv['per_s'] / fb['per_s']:.2f}x; p50 {sv['p50'] - fb['p50']:+.1f} ms; "
              f"p99 {sv['p99'] / fb['p99']:.2f}x   (targets: >= 1x and >= 500/s; <= +1 ms; <= 2x)")

        # 3. SSE fan-out
        rss0 = rss_mb(svc.pid)
        sse = subprocess.Popen([sys.executable, __file__, "--role", "sse", "--url", url, "--tokens", sub_token,
                                "--subscribers", str(a.subscribers), "--idle", "3"], stdout=subprocess.PIPE, text=True)
        assert sse.stdout is not None
        json.loads(sse.stdout.readline())  # connected
        time.sleep(2)
        rss1 = rss_mb(svc.pid)
        out, _ = sse.communicate(timeout=300)
        fan = json.loads(out.strip().splitlines()[-1])
        print(f"SSE fan-out to {a.subscribers} subscribers: p50 {fan['p50']:.1f} ms   p99 {fan['p99']:.1f} ms   "
              f"({fan['n']} of {fan['expected']} events; target p99 < 100 ms); "
              f"memory {(rss1 - rss0) * 1024 / a.subscribers:.0f} KiB per idle subscriber")

        # 4. the quote loop under command load
        q0 = httpx.get(url + "/v1/health").json()["quotes"]
        t0 = time.monotonic()
        quotes = subprocess.Popen([sys.executable, __file__, "--role", "quotes", "--url", url, "--tokens", admin,
                                   "--duration", str(min(a.duration, 15)), "--rate", str(a.rate)],
                                  stdout=subprocess.PIPE, text=True)
        trade = run_load("--role", "load", "--url", url, "--tokens", str(tmp / "tokens.json"), "--mode", "trade",
                         "--clients", str(a.clients), "--duration", str(min(a.duration, 15)))
        out, _ = quotes.communicate(timeout=120)
        sent = json.loads(out.strip().splitlines()[-1])["sent"]
        secs = time.monotonic() - t0
        q1 = httpx.get(url + "/v1/health").json()["quotes"]
        print(f"quotes under command load: {sent / secs:,.0f}/s published, {(q1 - q0) / secs:,.0f}/s processed, "
              f"behind by {sent - (q1 - q0):,} at the end; commands meanwhile {trade['per_s']:.0f}/s "
              f"(p99 {trade['p99']:.1f} ms)")
    finally:
        svc.terminate()
        svc.wait(30)


if __name__ == "__main__":
    main()
