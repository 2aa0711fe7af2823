"""The service's JSON: engine values in, engine values out, in the names clients rely on.

Money is a string with its exact decimals as the engine shows them (``"189.50"``; four places
where cents are not exact), quantities are ints, times ISO 8601 UTC, statuses the engine's
upper-case values, sides and types lower-case.  Errors are ``{"error": code, "message": sentence}``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ..engine.model import Alert, Estimate, Fill, MarketState, OrderView, PositionView, RoundTrip, Snapshot
from ..quote import Quote

__all__ = ["account_json", "fill_json", "iso", "market_json", "money", "order_json", "position_json", "quote_json", "trip_json"]


_CENT, _UNIT = Decimal("0.01"), Decimal("0.0001")


def money(d: Decimal | None) -> str | None:
    """Exact decimal text: cents when the amount is whole cents (``"189.50"``), else four places,
    else (an average price) every digit there is."""
    if d is None:
        return None
    c = d.quantize(_CENT)
    if c == d:
        return str(c)
    u = d.quantize(_UNIT)
    return str(u) if u == d else str(d)


def iso(ns: int | None) -> str | None:
    """Int ns UTC -> ISO 8601 with microseconds and a Z."""
    if ns is None:
        return None
    dt = datetime.fromtimestamp(ns // 1_000_000_000, tz=UTC).replace(microsecond=(ns // 1000) % 1_000_000)
    return dt.isoformat().replace("+00:00", "Z")


def order_json(o: OrderView) -> dict[str, Any]:
    return {
        "id": o.id, "symbol": o.symbol, "side": o.side.value.lower(), "qty": o.qty, "filled_qty": o.filled_qty,
        "type": o.type.value.lower(), "limit_price": money(o.limit), "stop_price": money(o.stop),
        "time_in_force": o.tif.value.lower(), "status": o.status.value, "reason": o.reason,
        "avg_fill_price": money(o.avg_fill_price), "fees": money(o.fees), "reserved_cash": money(o.reserved_cash),
        "reserved_shares": o.reserved_shares, "triggered": o.triggered, "client_order_id": o.client_order_id,
        "created_at": iso(o.created_at), "eligible_at": iso(o.eligible_at), "expires_at": iso(o.expires_at),
        "updated_at": iso(o.updated_at), "closed_at": iso(o.closed_at), "epoch": o.epoch,
        "trail": money(o.trail), "trail_pct": None if o.trail_pct is None else str(o.trail_pct),
        "take_profit": money(o.take_profit), "stop_loss": money(o.stop_loss), "parent_id": o.parent_id,
        "oco_id": o.oco_id, "child_ids": list(o.child_ids or ()),
    }


def position_json(p: PositionView) -> dict[str, Any]:
    return {"symbol": p.symbol, "qty": p.qty, "avg_price": money(p.avg_price),
            "cost": money(p.cost), "last": money(p.last), "market_value": money(p.market_value),
            "unrealized_pl": money(p.unrealized_pl),
            "unrealized_pl_pct": None if p.unrealized_pl_pct is None else str(p.unrealized_pl_pct),
            "reserved_qty": p.reserved_qty, "opened_at": iso(p.opened_at),
            "day_change_pct": None if p.day_change_pct is None else str(p.day_change_pct)}


def account_json(s: Snapshot) -> dict[str, Any]:
    return {"account": s.account, "as_of": iso(s.ts), "epoch": s.epoch, "starting_cash": money(s.starting_cash),
            "cash": money(s.cash), "reserved": money(s.reserved), "buying_power": money(s.buying_power),
            "market_value": money(s.market_value), "equity": money(s.equity), "unrealized_pl": money(s.unrealized_pl),
            "realized_pl": money(s.realized_pl), "fees": money(s.fees), "day_pl": money(s.day_pl),
            "positions": [position_json(p) for p in s.positions], "seq": s.seq,
            "open_orders": [o.id for o in s.open_orders]}


def fill_json(f: Fill) -> dict[str, Any]:
    return {"id": f.id, "order_id": f.order_id, "symbol": f.symbol, "side": f.side.value.lower(), "qty": f.qty,
            "price": money(f.price), "fee": money(f.fee), "realized_pl": money(f.realized_pl), "ts": iso(f.ts),
            "quote_bid": money(f.quote_bid), "quote_ask": money(f.quote_ask), "quote_last": money(f.quote_last),
            "quote_age_ms": None if f.quote_age_ns is None else f.quote_age_ns // 1_000_000}


def trip_json(t: RoundTrip) -> dict[str, Any]:
    return {"id": t.id, "symbol": t.symbol, "direction": t.direction, "qty": t.qty, "entries": t.entries,
            "exits": t.exits, "avg_entry": money(t.avg_entry),
            "avg_exit": money(t.avg_exit), "realized_pl": money(t.realized_pl),
            "fees": money(t.fees), "net_pl": money(t.net_pl), "return_pct": str(t.return_pct),
            "opened_at": iso(t.opened_at), "closed_at": iso(t.closed_at), "mfe": money(t.mfe), "mae": money(t.mae),
            "verdict": t.verdict, "epoch": t.epoch, "note": t.note, "tags": list(t.tags)}


def quote_json(q: Quote, age_ns: int, stale: bool) -> dict[str, Any]:
    return {"symbol": q.symbol, "bid": money(q.bid), "ask": money(q.ask), "last": money(q.last),
            "change_pct": None if q.change_pct is None else str(q.change_pct), "ts": iso(q.ts),
            "age_ms": age_ns // 1_000_000, "stale": stale}


def estimate_json(e: Estimate) -> dict[str, Any]:
    return {"symbol": e.symbol, "side": e.side.value.lower(), "type": e.type.value.lower(), "qty": e.qty,
            "price": money(e.price), "reserve_cash": money(e.reserve_cash), "reserve_shares": e.reserve_shares,
            "commission": money(e.commission), "buying_power": money(e.buying_power),
            "buying_power_after": money(e.buying_power_after), "refusal": e.refusal,
            "quote_age_ms": None if e.quote_age_ns is None else e.quote_age_ns // 1_000_000, "stale": e.stale}


def stats_json(st: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in st.items():
        out[k] = str(v) if isinstance(v, Decimal) else v
    return out


def market_json(m: MarketState) -> dict[str, Any]:
    return {"state": m.state, "text": m.text, "trading_hours": m.trading_hours, "trading": m.trading,
            "ts": iso(m.ts), "next_open": iso(m.next_open), "next_close": iso(m.next_close)}


# -- back from JSON (a remote broker's mirror) -------------------------------------------------------
def ns(text: str | None) -> int | None:
    """ISO 8601 (as :func:`iso` writes it) -> int ns UTC."""
    if text is None:
        return None
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    delta = dt - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def dec(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def order_from_json(d: dict[str, Any], account: str) -> OrderView:
    from ..engine.model import order_view

    return order_view(
        id=d["id"], account=account, symbol=d["symbol"], side=d["side"], type=d["type"], qty=d["qty"],
        filled_qty=d["filled_qty"], limit=dec(d["limit_price"]), stop=dec(d["stop_price"]), tif=d["time_in_force"],
        status=d["status"], reason=d["reason"], client_order_id=d["client_order_id"], created_at=ns(d["created_at"]),
        eligible_at=ns(d["eligible_at"]), expires_at=ns(d["expires_at"]), updated_at=ns(d["updated_at"]),
        avg_fill_price=dec(d["avg_fill_price"]), fees=dec(d["fees"]), triggered=d["triggered"],
        epoch=d.get("epoch", 1), reserved_cash=dec(d["reserved_cash"]), reserved_shares=d["reserved_shares"],
        closed_at=ns(d["closed_at"]), trail=dec(d.get("trail")), trail_pct=dec(d.get("trail_pct")),
        take_profit=dec(d.get("take_profit")), stop_loss=dec(d.get("stop_loss")), parent_id=d.get("parent_id"),
        oco_id=d.get("oco_id"), child_ids=tuple(d.get("child_ids") or ()))  # type: ignore[arg-type]


def position_from_json(d: dict[str, Any]) -> PositionView:
    from ..engine.model import position_view

    return position_view(symbol=d["symbol"], qty=d["qty"], cost=dec(d["cost"]), last=dec(d["last"]),
                         day_change_pct=d.get("day_change_pct"), reserved_qty=d["reserved_qty"],
                         opened_at=ns(d["opened_at"]))  # type: ignore[arg-type]


def account_from_json(d: dict[str, Any], open_orders: tuple[OrderView, ...]) -> Snapshot:
    from ..engine.model import snapshot_view

    return snapshot_view(account=d["account"], ts=ns(d["as_of"]), epoch=d["epoch"],  # type: ignore[arg-type]
                         starting_cash=dec(d["starting_cash"]), cash=dec(d["cash"]), reserved=dec(d["reserved"]),
                         market_value=dec(d["market_value"]), unrealized_pl=dec(d["unrealized_pl"]),
                         realized_pl=dec(d["realized_pl"]), fees=dec(d["fees"]), day_pl=dec(d["day_pl"]),
                         positions=tuple(position_from_json(p) for p in d["positions"]), open_orders=open_orders,
                         seq=d["seq"])


def fill_from_json(d: dict[str, Any], account: str) -> Fill:
    from ..engine.model import Side

    age = d.get("quote_age_ms")
    return Fill(d["id"], d["order_id"], account, d["symbol"], Side.parse(d["side"], "side"), d["qty"],
                dec(d["price"]), dec(d["fee"]), ns(d["ts"]), None, None if age is None else age * 1_000_000,  # type: ignore[arg-type]
                dec(d["quote_bid"]), dec(d["quote_ask"]), dec(d["quote_last"]), dec(d["realized_pl"]), 1)  # type: ignore[arg-type]


def trip_from_json(d: dict[str, Any], account: str) -> RoundTrip:
    return RoundTrip(d["id"], account, d["symbol"], d["direction"], d["qty"], d["entries"], d["exits"],
                     dec(d["avg_entry"]), dec(d["avg_exit"]), dec(d["realized_pl"]), dec(d["fees"]),  # type: ignore[arg-type]
                     dec(d["net_pl"]), Decimal(d["return_pct"]), ns(d["opened_at"]), ns(d["closed_at"]),  # type: ignore[arg-type]
                     dec(d["mfe"]), dec(d["mae"]), d["epoch"], d.get("note") or "",  # type: ignore[arg-type]
                     tuple(d.get("tags") or ()))


def estimate_from_json(d: dict[str, Any]) -> Estimate:
    from ..engine.model import OrderType, Side

    age = d.get("quote_age_ms")
    return Estimate(d["symbol"], Side.parse(d["side"], "side"), OrderType.parse(d["type"], "type"), d["qty"],
                    dec(d["price"]), dec(d["reserve_cash"]), d["reserve_shares"], dec(d["commission"]),  # type: ignore[arg-type]
                    dec(d["buying_power"]), dec(d["buying_power_after"]), d["refusal"],  # type: ignore[arg-type]
                    None if age is None else age * 1_000_000, d["stale"])


def market_from_json(d: dict[str, Any]) -> MarketState:
    return MarketState(d["state"], d["text"], d["trading_hours"], bool(d["trading"]), ns(d["ts"]) or 0,
                       ns(d["next_open"]), ns(d["next_close"]))


def alert_json(a: Alert) -> dict[str, Any]:
    return {"id": a.id, "symbol": a.symbol, "above": money(a.above), "below": money(a.below),
            "created_at": iso(a.created_at), "status": a.status, "closed_at": iso(a.closed_at),
            "price": money(a.price), "direction": a.direction}


def alert_from_json(d: dict[str, Any], account: str) -> Alert:
    return Alert(d["id"], account, d["symbol"], dec(d["above"]), dec(d["below"]), ns(d["created_at"]),  # type: ignore[arg-type]
                 d["status"], ns(d["closed_at"]), dec(d["price"]), d["direction"])
