// papernb DataTable: one table widget whose cells are updated in place (no JS build: plain ESM).
//
// Python sends {kind: "update", order?: [key...], cells: {key: {column: [text, cls, points?]}}, rows?: {key: cls}}
// once per refresh with only what changed ("order" when rows came, went or moved).  A new view asks
// for everything with {kind: "hello"}.  Clicks go back as {kind: "click", key} or
// {kind: "action", key, action}; Python checks them (a forged message is refused there).
// Cell text is set with textContent: nothing from the kernel is ever parsed as HTML.

const SVG = "http://www.w3.org/2000/svg";

function sparkline(points) {
  const w = 64, h = 18;
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("width", w);
  svg.setAttribute("height", h);
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  svg.classList.add("papernb-spark");
  if (!points || points.length < 2) return svg;
  let lo = Math.min(...points), hi = Math.max(...points);
  if (hi === lo) { hi += 1; lo -= 1; }
  const step = w / (points.length - 1);
  const xy = points.map((p, i) => `${(i * step).toFixed(1)},${(h - 2 - ((p - lo) / (hi - lo)) * (h - 4)).toFixed(1)}`);
  const line = document.createElementNS(SVG, "polyline");
  line.setAttribute("points", xy.join(" "));
  line.setAttribute("fill", "none");
  line.setAttribute("stroke-width", "1.5");
  line.setAttribute("class", points[points.length - 1] >= points[0] ? "papernb-spark-up" : "papernb-spark-down");
  svg.appendChild(line);
  return svg;
}

function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "papernb-datatable";
  el.appendChild(root);
  const rows = new Map(); // key -> {tr, tds: Map(column -> td)}
  let order = [];
  let table = null, tbody = null, empty = null;

  function columns() { return model.get("columns") || []; }
  function actions() { return model.get("actions") || []; }

  function setCell(td, cell) {
    const [text, cls, points] = cell;
    const base = td.dataset.base;
    const want = cls ? `${base} ${cls}` : base;
    if (td.className !== want) td.className = want;
    if (points !== undefined && points !== null) {
      td.replaceChildren(sparkline(points));
    } else if (td.textContent !== text) {
      td.textContent = text;
    }
  }

  function makeRow(key) {
    const tr = document.createElement("tr");
    tr.dataset.key = key;
    tr.className = model.get("row_class");
    const tds = new Map();
    for (const [col] of columns()) {
      const td = document.createElement("td");
      td.dataset.base = `papernb-col-${col}` + (col === "symbol" ? " papernb-sym" : "");
      td.className = td.dataset.base;
      tr.appendChild(td);
      tds.set(col, td);
    }
    if (actions().length) {
      const td = document.createElement("td");
      td.className = "papernb-col-actions";
      for (const [name, label, title] of actions()) {
        const b = document.createElement("button");
        b.type = "button";
        b.className = `papernb-action papernb-action-${name}`;
        b.dataset.action = name;
        b.textContent = label;
        if (title) b.title = title;
        td.appendChild(b);
      }
      tr.appendChild(td);
    }
    return { tr, tds };
  }

  function build() {
    root.replaceChildren();
    rows.clear();
    order = [];
    table = document.createElement("table");
    table.className = `papernb-table ${model.get("table_class")}`;
    const head = document.createElement("tr");
    for (const [col, title] of columns()) {
      const th = document.createElement("th");
      th.className = `papernb-col-${col}` + (col === "symbol" ? " papernb-sym" : "");
      th.textContent = title;
      head.appendChild(th);
    }
    if (actions().length) {
      const th = document.createElement("th");
      th.className = "papernb-col-actions";
      head.appendChild(th);
    }
    const thead = document.createElement("thead");
    thead.appendChild(head);
    tbody = document.createElement("tbody");
    table.append(thead, tbody);
    empty = document.createElement("div");
    empty.className = `papernb-empty ${model.get("table_class")}-empty`;
    empty.textContent = model.get("empty");
    root.append(table, empty);
    showEmpty();
  }

  function showEmpty() {
    const none = order.length === 0;
    table.style.display = none ? "none" : "";
    empty.style.display = none ? "" : "none";
  }

  function apply(msg) {
    if (msg.order) {
      const keep = new Set(msg.order);
      for (const [key, row] of rows) {
        if (!keep.has(key)) { row.tr.remove(); rows.delete(key); }
      }
      for (const key of msg.order) {
        if (!rows.has(key)) rows.set(key, makeRow(key));
      }
      msg.order.forEach((key) => tbody.appendChild(rows.get(key).tr)); // appendChild moves: keeps the order
      order = msg.order;
      showEmpty();
    }
    for (const [key, cells] of Object.entries(msg.cells || {})) {
      const row = rows.get(key);
      if (!row) continue;
      for (const [col, cell] of Object.entries(cells)) {
        const td = row.tds.get(col);
        if (td) setCell(td, cell);
      }
    }
    for (const [key, cls] of Object.entries(msg.rows || {})) {
      const row = rows.get(key);
      if (row) row.tr.className = cls ? `${model.get("row_class")} ${cls}` : model.get("row_class");
    }
  }

  function onMessage(msg) {
    if (!msg || typeof msg !== "object") return;
    if (msg.kind === "full") { build(); apply(msg); }
    else if (msg.kind === "update") apply(msg);
  }

  function onClick(ev) {
    const tr = ev.target.closest("tr[data-key]");
    if (!tr || !root.contains(tr)) return;
    const button = ev.target.closest("button[data-action]");
    if (button) {
      ev.stopPropagation();
      model.send({ kind: "action", key: tr.dataset.key, action: button.dataset.action });
    } else {
      model.send({ kind: "click", key: tr.dataset.key });
    }
  }

  build();
  model.on("msg:custom", onMessage);
  const rebuild = () => model.send({ kind: "hello" });
  model.on("change:columns", rebuild);
  model.on("change:actions", rebuild);
  root.addEventListener("click", onClick);
  model.send({ kind: "hello" });
  return () => {
    model.off("msg:custom", onMessage);
    model.off("change:columns", rebuild);
    model.off("change:actions", rebuild);
    root.removeEventListener("click", onClick);
  };
}

export default { render };
