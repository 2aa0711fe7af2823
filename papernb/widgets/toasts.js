// papernb toasts: short notifications in a corner for about 5 s; they never take the focus.
// Python sends {kind: "toasts", items: [{text, level}]} (one message per refresh at most).

function render({ model, el }) {
  const box = document.createElement("div");
  box.className = "papernb-toasts";
  box.setAttribute("role", "status");
  box.setAttribute("aria-live", "polite");
  el.appendChild(box);
  const timers = new Set();

  function show(item) {
    const t = document.createElement("div");
    t.className = `papernb-toast papernb-toast-${item.level || "info"}`;
    t.textContent = item.text;
    box.appendChild(t);
    while (box.children.length > 5) box.firstChild.remove();
    const id = setTimeout(() => { t.remove(); timers.delete(id); }, model.get("seconds") * 1000);
    timers.add(id);
  }

  function onMessage(msg) {
    if (msg && msg.kind === "toasts" && Array.isArray(msg.items)) msg.items.forEach(show);
  }

  model.on("msg:custom", onMessage);
  return () => {
    model.off("msg:custom", onMessage);
    timers.forEach(clearTimeout);
  };
}

export default { render };
