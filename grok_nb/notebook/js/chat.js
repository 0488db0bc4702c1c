// The chat panel's view. Loaded by chat_boot.js, which passes the helper modules in.
//
// Every number that changes while the user types or attaches (each image's tile grid,
// the next message's tokens and dollars) is computed here with tiles.js, usd.js and
// chat_estimate.js: no kernel round trip. The kernel hears about images as bytes (a
// custom message's binary buffer), about a message when it is sent, and about Stop.
// Answers arrive as small "delta" messages, drawn at most once per animation frame.

let uid = 0;

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null) continue;
    if (k === "text") el.textContent = v;
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v);
  }
  el.append(...children.filter((c) => c != null));
  return el;
}

const fmtInt = (n) => n.toLocaleString("en-US");
const asBytes = (v) => (v instanceof DataView ? new Uint8Array(v.buffer, v.byteOffset, v.byteLength) : v);

function imageSize(url) {
  return new Promise((resolve) => {
    const img = new Image();
    img.onload = () => resolve(img.naturalWidth ? [img.naturalWidth, img.naturalHeight] : null);
    img.onerror = () => resolve(null); // the kernel measures what the browser cannot decode
    img.src = url;
  });
}

class ChatView {
  constructor({ model, el, T, usd, estimate, markdown }) {
    Object.assign(this, { model, el, T, usd, E: estimate, md: markdown });
    this.id = `grok-chat-${++uid}`;
    this.local = new Map(); // image id -> {id, name, url, width, height} for browser images
    this.urls = new Map(); // image id -> object URL, kept for the transcript's thumbnails
    this.live = null; // {turn, text, images, answer} while a reply streams
    this.listeners = [];
    this.seq = 0;
    this.build();
    this.on("change:transcript", () => this.renderTranscript());
    this.on("change:pending", () => this.renderPending());
    this.on("change:context change:models change:rules", () => this.updateEstimate());
    this.on("change:streaming", () => this.renderState());
    this.on("change:error change:error_kind", () => this.renderError());
    this.on("change:total_usd", () => this.renderTotal());
    this.on("change:model change:detail change:rule", () => this.syncControls());
    this.on("msg:custom", (msg, buffers) => this.onMessage(msg, buffers));
    this.fillControls();
    this.renderTranscript();
    this.renderPending();
    this.renderState();
    this.renderError();
    this.renderTotal();
  }

  on(events, fn) {
    for (const ev of events.split(" ")) {
      this.model.on(ev, fn);
      this.listeners.push([ev, fn]);
    }
  }

  // --- DOM ---------------------------------------------------------------------------

  build() {
    const id = this.id;
    this.root = h("div", { class: "grok-chat", role: "region", "aria-label": "Grok vision chat" });
    this.root.grokEstimateMs = []; // time per estimate update, for the benchmark
    this.root.grokAttachMs = []; // drop/paste/pick -> grid and estimate shown
    this.modelSel = h("select", { id: `${id}-model`, class: "gc-model" });
    this.detailSel = h("select", { id: `${id}-detail`, class: "gc-detail" });
    for (const d of ["high", "low", "auto"]) this.detailSel.append(h("option", { value: d, text: d }));
    this.ruleSel = h("select", { id: `${id}-rule`, class: "gc-rule" });
    this.total = h("span", { class: "gc-total", "aria-live": "polite" });
    const controls = h("div", { class: "gc-controls" },
      h("label", { for: `${id}-model`, text: "Model" }), this.modelSel,
      h("label", { for: `${id}-detail`, text: "Detail" }), this.detailSel,
      h("label", { for: `${id}-rule`, text: "Rule" }), this.ruleSel, this.total);
    this.transcript = h("div", { class: "gc-transcript", "aria-live": "polite" });
    this.errorText = h("span", { class: "gc-error-text" });
    this.dismiss = h("button", { type: "button", class: "gc-dismiss", "aria-label": "Dismiss", text: "×" });
    this.error = h("div", { class: "gc-error", role: "alert", hidden: "" }, this.errorText, this.dismiss);
    this.pendingBox = h("div", { class: "gc-pending" });
    this.input = h("textarea", {
      id: `${id}-input`, class: "gc-input", rows: "2",
      placeholder: "Ask about the images… (Enter sends, Shift+Enter for a new line; drop or paste images)",
      "aria-label": "Message",
    });
    this.file = h("input", { type: "file", accept: "image/*", multiple: "", class: "gc-file", hidden: "" });
    this.pick = h("button", { type: "button", class: "gc-pick", text: "Add image…" });
    this.sendBtn = h("button", { type: "button", class: "gc-send", text: "Send" });
    this.stopBtn = h("button", { type: "button", class: "gc-stop", text: "Stop" });
    this.cellsBtn = h("button", { type: "button", class: "gc-cells", text: "Copy as cells", title: "Copy the exchange as %%grokvision cells" });
    this.estimate = h("div", { class: "gc-estimate", "aria-live": "polite" });
    this.copied = h("textarea", { class: "gc-copied", readonly: "", hidden: "", "aria-label": "Cells to paste" });
    const buttons = h("div", { class: "gc-buttons" }, this.pick, this.file, this.sendBtn, this.stopBtn, this.cellsBtn);
    this.root.append(controls, this.transcript, this.error, this.pendingBox, this.input, this.estimate, buttons, this.copied);
    this.el.append(this.root);
    this.bind();
  }

  fillControls() {
    this.modelSel.replaceChildren();
    for (const m of this.model.get("models") || []) {
      const p = m.price;
      const text = p ? `${m.name} (${this.usd.formatUsd(p.prompt)}/M prompt)` : `${m.name} (${this.usd.UNKNOWN_PRICE})`;
      this.modelSel.append(h("option", { value: m.name, text }));
    }
    this.ruleSel.replaceChildren();
    for (const r of this.model.get("rules") || []) {
      this.ruleSel.append(h("option", { value: r.name, text: r.name, title: r.description || "" }));
    }
    this.syncControls();
  }

  syncControls() {
    if (![...this.modelSel.options].some((o) => o.value === this.model.get("model"))) {
      this.fillControls();
      return;
    }
    this.modelSel.value = this.model.get("model");
    this.detailSel.value = this.model.get("detail");
    this.ruleSel.value = this.model.get("rule");
    this.renderPending();
  }

  // --- events ------------------------------------------------------------------------

  bind() {
    this.input.addEventListener("input", () => this.updateEstimate());
    this.input.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        this.sendMessage();
      }
    });
    this.input.addEventListener("paste", (e) => {
      const files = [...(e.clipboardData?.files || [])].filter((f) => f.type.startsWith("image/"));
      if (!files.length) return; // text pastes as text
      e.preventDefault();
      for (const f of files) this.attachFile(f, "pasted");
    });
    this.root.addEventListener("dragover", (e) => {
      if (![...(e.dataTransfer?.types || [])].includes("Files")) return;
      e.preventDefault();
      this.root.classList.add("gc-dragging");
    });
    this.root.addEventListener("dragleave", () => this.root.classList.remove("gc-dragging"));
    this.root.addEventListener("drop", (e) => {
      this.root.classList.remove("gc-dragging");
      const files = [...(e.dataTransfer?.files || [])];
      if (!files.length) return;
      e.preventDefault();
      e.stopPropagation(); // JupyterLab would otherwise open the file
      for (const f of files) this.attachFile(f, "dropped");
    });
    this.pick.addEventListener("click", () => this.file.click());
    this.file.addEventListener("change", () => {
      for (const f of this.file.files) this.attachFile(f, "picked");
      this.file.value = "";
    });
    this.sendBtn.addEventListener("click", () => this.sendMessage());
    this.stopBtn.addEventListener("click", () => this.model.send({ type: "stop" }));
    this.dismiss.addEventListener("click", () => this.model.send({ type: "dismiss" }));
    this.cellsBtn.addEventListener("click", () => this.copyCells());
    for (const [sel, name] of [[this.modelSel, "model"], [this.detailSel, "detail"], [this.ruleSel, "rule"]]) {
      sel.addEventListener("change", () => {
        this.model.set(name, sel.value);
        this.model.save_changes();
        this.renderPending(); // replanned here at once; the kernel follows
      });
    }
  }

  async attachFile(file, how) {
    const t0 = performance.now();
    const id = `b${Date.now().toString(36)}-${++this.seq}`;
    const ext = (file.type.split("/")[1] || "png").replace("jpeg", "jpg");
    const name = file.name && file.name !== "image.png" ? file.name : `${how} image ${this.seq}.${ext}`;
    const max = this.model.get("max_file_mb");
    if (max != null && file.size > max * 1024 * 1024) {
      this.model.send({ type: "too_big", id, name, size: file.size }); // the kernel words it
      return;
    }
    const url = URL.createObjectURL(file);
    const item = { id, name, url, width: 0, height: 0 };
    this.local.set(id, item);
    this.urls.set(id, url);
    const size = await imageSize(url);
    if (size) [item.width, item.height] = size;
    this.renderPending();
    this.root.grokAttachMs.push(performance.now() - t0);
    const bytes = await file.arrayBuffer();
    // send(content, callbacks, buffers): the bytes travel as a binary buffer
    this.model.send({ type: "attach", id, name, mime: file.type, size: file.size }, undefined, [bytes]);
  }

  sendMessage() {
    if (this.model.get("streaming")) return;
    const text = this.input.value;
    if (!text.trim() && !this.pendingItems().length) return;
    this.model.send({ type: "send", text });
    this.input.value = "";
    this.updateEstimate();
  }

  copyCells() {
    const text = this.model.get("cells_text") || "";
    const show = () => {
      this.copied.hidden = false;
      this.copied.value = text;
      this.copied.select();
    };
    this.root.dataset.copied = "pending";
    const done = (how) => {
      this.root.dataset.copied = how;
      this.cellsBtn.textContent = how === "clipboard" ? "Copied ✓" : "Copy as cells";
      setTimeout(() => (this.cellsBtn.textContent = "Copy as cells"), 1500);
    };
    if (navigator.clipboard?.writeText) {
      navigator.clipboard.writeText(text).then(() => done("clipboard"), () => (show(), done("shown")));
    } else {
      show();
      done("shown");
    }
  }

  onMessage(msg, _buffers) {
    if (!msg || typeof msg !== "object") return;
    if (msg.type === "start") {
      this.live = { turn: msg.turn, text: msg.text, images: msg.images || [], answer: "" };
      this.renderTranscript();
    } else if (msg.type === "delta" && this.live && msg.turn === this.live.turn) {
      this.live.answer += msg.text;
      this.root.dataset.deltas = String(Number(this.root.dataset.deltas || 0) + 1);
      this.scheduleLive();
    } else if (msg.type === "end") {
      const turn = this.live?.turn;
      this.live = null;
      if (msg.status !== "done" && msg.status !== "stopped" && turn === msg.turn && !this.input.value) {
        this.input.value = msg.text; // refused or failed: the message is not lost
        this.updateEstimate();
      }
      this.renderTranscript();
    } else if (msg.type === "attach_error") {
      const item = this.local.get(msg.id);
      if (item) URL.revokeObjectURL(item.url);
      this.local.delete(msg.id);
      this.renderPending();
    }
  }

  // --- pending images and the estimate ------------------------------------------------

  pendingItems() {
    // the kernel's list, in its order; then images still on their way to it
    const out = [];
    const seen = new Set();
    for (const p of this.model.get("pending") || []) {
      seen.add(p.id);
      const local = this.local.get(p.id);
      let url = local?.url || this.urls.get(p.id);
      if (!url && p.preview && p.preview.byteLength) {
        url = URL.createObjectURL(new Blob([asBytes(p.preview)], { type: p.preview_mime }));
        this.urls.set(p.id, url);
      }
      out.push({ id: p.id, name: p.name, width: p.width, height: p.height, url, kernelTokens: p.tokens });
    }
    for (const item of this.local.values()) if (!seen.has(item.id)) out.push({ ...item, kernelTokens: null });
    // images the kernel has taken are no longer "on their way"
    for (const id of seen) this.local.delete(id);
    return out;
  }

  planOptions() {
    const rules = {};
    for (const r of this.model.get("rules") || []) rules[r.name] = r;
    return { rule: this.model.get("rule"), detail: this.model.get("detail"), rules: Object.keys(rules).length ? rules : this.T.RULES };
  }

  computeEstimate(items = this.pendingItems()) {
    const name = this.model.get("model");
    const entry = (this.model.get("models") || []).find((m) => m.name === name);
    return this.E.estimateNext(this.T, {
      text: this.input.value, images: items, ctx: this.model.get("context"), price: entry ? entry.price : null, ...this.planOptions(),
    });
  }

  renderPending() {
    const items = this.pendingItems();
    let est;
    try {
      est = this.computeEstimate(items);
    } catch (err) {
      this.estimate.textContent = String(err.message || err);
      return;
    }
    this.pendingBox.replaceChildren(...items.map((item, i) => this.pendingCard(item, est.plans[i])));
    this.pendingBox.hidden = !items.length;
    this.showEstimate(est, items.length);
  }

  pendingCard(item, plan) {
    const card = h("figure", { class: "gc-card", "data-id": item.id });
    const frame = h("div", { class: "gc-thumb" });
    if (item.url) frame.append(h("img", { src: item.url, alt: item.name, draggable: "false" }));
    if (plan) {
      const [cols, rows] = plan.grid;
      const grid = h("div", { class: "gc-grid", "aria-hidden": "true" });
      grid.style.gridTemplateColumns = `repeat(${cols}, 1fr)`;
      grid.style.gridTemplateRows = `repeat(${rows}, 1fr)`;
      for (let k = 0; k < cols * rows; k++) grid.append(h("div", { class: "gc-tile" }));
      frame.append(grid);
      const ratio = item.width / item.height;
      frame.style.aspectRatio = String(ratio);
      frame.style.width = `${Math.min(160, Math.round(120 * ratio))}px`; // tall ones stay short
      card.dataset.grid = `${cols}x${rows}`;
      card.dataset.tokens = String(plan.tokens);
      if (item.kernelTokens != null) card.dataset.kernelTokens = String(item.kernelTokens);
    }
    const remove = h("button", { type: "button", class: "gc-remove", "aria-label": `Remove ${item.name}`, text: "×" });
    remove.addEventListener("click", () => {
      this.local.delete(item.id);
      this.model.send({ type: "remove", id: item.id });
      this.renderPending();
    });
    const caption = plan
      ? `${item.name} · ${item.width}×${item.height} px · ${plan.grid[0]}×${plan.grid[1]} grid · ${fmtInt(plan.tokens)} tokens`
      : `${item.name} · measuring…`;
    card.append(frame, h("figcaption", { text: caption }), remove);
    return card;
  }

  updateEstimate() {
    const t0 = performance.now();
    try {
      this.showEstimate(this.computeEstimate(), null);
    } catch (err) {
      this.estimate.textContent = String(err.message || err);
    }
    const times = this.root.grokEstimateMs;
    times.push(performance.now() - t0);
    if (times.length > 5000) times.shift();
  }

  showEstimate(est, count) {
    const f = this.usd.formatUsd;
    const tokens = est.textTokens + est.imageTokens;
    const history = this.model.get("context").history_image_tokens;
    let text = `Next message ≈ ${fmtInt(tokens)} prompt tokens (images ${fmtInt(est.newImageTokens)}`;
    if (history) text += ` + ${fmtInt(history)} resent`;
    text += `, text ${fmtInt(est.textTokens)}) · ${f(est.promptUsd)}`;
    if (est.worstUsd !== est.promptUsd && est.worstUsd != null) text += ` (at most ${f(est.worstUsd)} with the answer)`;
    this.estimate.textContent = text;
    const ds = this.root.dataset;
    ds.estimateTokens = String(tokens);
    ds.imageTokens = String(est.newImageTokens);
    ds.estimateUsd = est.worstUsd == null ? "" : String(est.worstUsd);
    if (count != null) ds.pending = String(count);
  }

  // --- transcript --------------------------------------------------------------------

  userBubble(text, images) {
    const chips = (images || []).map((im) => {
      const url = this.urls.get(im.id);
      const chip = h("span", { class: "gc-chip", title: `${im.width}×${im.height} px` });
      if (url) chip.append(h("img", { src: url, alt: im.name }));
      chip.append(h("span", { text: im.name }));
      return chip;
    });
    const body = h("div", { class: "gc-text" });
    body.innerHTML = this.md.escapeHtml(text).replace(/\n/g, "<br>");
    return h("div", { class: "gc-msg gc-user" }, chips.length ? h("div", { class: "gc-chips" }, ...chips) : null, body);
  }

  answerBubble(text, footer, status) {
    const body = h("div", { class: "gc-answer" });
    body.innerHTML = this.md.renderMarkdown(text); // escaped first, fixed tags only
    const bubble = h("div", { class: `gc-msg gc-assistant gc-${status}`, "data-status": status }, body);
    if (status === "stopped") bubble.append(h("div", { class: "gc-badge", text: "stopped" }));
    if (footer) bubble.append(h("div", { class: "gc-footer", text: footer }));
    return bubble;
  }

  renderTranscript() {
    const nodes = [];
    const entries = this.model.get("transcript") || [];
    for (const e of entries) {
      nodes.push(this.userBubble(e.prompt, e.images), this.answerBubble(e.answer, e.footer, e.status));
    }
    this.liveBubble = null;
    if (this.live && !entries.some((e) => e.turn === this.live.turn)) {
      this.liveBubble = this.answerBubble(this.live.answer, null, "streaming");
      nodes.push(this.userBubble(this.live.text, this.live.images), this.liveBubble);
    }
    this.transcript.replaceChildren(...nodes);
    this.transcript.scrollTop = this.transcript.scrollHeight;
    this.root.dataset.turns = String(entries.length);
  }

  scheduleLive() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = null;
      if (!this.live || !this.liveBubble) return;
      this.liveBubble.querySelector(".gc-answer").innerHTML = this.md.renderMarkdown(this.live.answer);
      this.transcript.scrollTop = this.transcript.scrollHeight;
    });
  }

  renderState() {
    const busy = this.model.get("streaming");
    this.root.dataset.streaming = busy ? "1" : "0";
    this.sendBtn.disabled = busy;
    this.stopBtn.disabled = !busy;
  }

  renderError() {
    const text = this.model.get("error");
    this.error.hidden = !text;
    this.errorText.textContent = text;
    this.error.dataset.kind = this.model.get("error_kind");
  }

  renderTotal() {
    this.total.textContent = `Total ${this.usd.formatUsd(this.model.get("total_usd"))}`;
  }

  destroy() {
    for (const [ev, fn] of this.listeners) this.model.off(ev, fn);
    if (this.frame) cancelAnimationFrame(this.frame);
    for (const url of this.urls.values()) URL.revokeObjectURL(url);
    this.root.remove();
  }
}

export function render(ctx) {
  const view = new ChatView(ctx);
  return () => view.destroy();
}
