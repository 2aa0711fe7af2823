// papernb downloads: one button per export file.  A click asks the kernel for the bytes
// ({kind: "download", name}); they come back as a binary buffer and are saved by the browser.

function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "papernb-downloads";
  const note = document.createElement("div");
  note.className = "papernb-download-message";
  el.appendChild(root);
  el.appendChild(note);

  function draw() {
    root.replaceChildren();
    for (const [name, label] of model.get("files") || []) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = `papernb-download papernb-download-${name.replace(/[^a-z0-9]+/gi, "-")}`;
      b.textContent = label;
      b.addEventListener("click", () => {
        note.textContent = `Preparing ${label}…`;
        note.className = "papernb-download-message papernb-muted";
        model.send({ kind: "download", name });
      });
      root.appendChild(b);
    }
  }

  function onMessage(msg, buffers) {
    if (!msg || typeof msg !== "object") return;
    if (msg.kind === "file" && buffers && buffers.length) {
      const blob = new Blob([buffers[0]], { type: msg.mime || "application/octet-stream" });
      const url = URL.createObjectURL(blob);
      const a = document.createElement("a");
      a.href = url;
      a.download = msg.filename;
      a.style.display = "none";
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
      note.textContent = `Saved ${msg.filename}`;
      note.className = "papernb-download-message papernb-ok";
    } else if (msg.kind === "error") {
      note.textContent = msg.message;
      note.className = "papernb-download-message papernb-error";
    }
  }

  draw();
  model.on("change:files", draw);
  model.on("msg:custom", onMessage);
  return () => {
    model.off("change:files", draw);
    model.off("msg:custom", onMessage);
  };
}

export default { render };
