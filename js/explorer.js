// TileExplorer front end (anywidget). Every redraw is computed here with tiles.js;
// the kernel only hears about the framing (crop, scale, rule, detail, model) and
// recomputes the authoritative plan in Python.
//
// tiles.js arrives as source text in the `_tiles_js` trait and is imported from a
// Blob URL: anywidget itself loads this file from a Blob URL, so a relative import
// ("./tiles.js") has nothing to resolve against.

const modules = new Map(); // tiles.js source -> Promise<module>, shared by all views

function loadTiles(source) {
  if (!modules.has(source)) {
    const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
    const loaded = import(/* webpackIgnore: true */ /* @vite-ignore */ url);
    loaded.finally(() => URL.revokeObjectURL(url));
    modules.set(source, loaded);
  }
  return modules.get(source);
}

const SYNC_MS = 120; // at most one framing update to the kernel per this many ms
const STAGE_MAX = [560, 420]; // display box for the image, CSS px
const STAGE_MIN = 40; // extreme panoramas are stretched to stay grabbable
const CANVAS_MAX = [260, 196]; // the model's-eye view
const EXTRA_PX = 72;
const MIN_CROP_CSS = 8; // smallest crop side while dragging, in CSS px
const KIND_TEXT = { full: "full", stretched: "stretched", padding: "part padding" };

let uid = 0;

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

const fmtInt = (n) => n.toLocaleString("en-US");
const fmtPct = (s) => `${(Math.round(s * 1000) / 10).toString()}%`;
const fmtSize = ([w, hh]) => `${fmtInt(w)}×${fmtInt(hh)}`;

class ExplorerView {
  constructor(T, model, el) {
    this.T = T;
    this.model = model;
    this.el = el;
    this.id = `grok-tiles-${++uid}`;
    this.drag = null;
    this.syncTimer = null;
    this.pending = new Set();
    this.lastSync = 0;
    this.steps = null; // token steps along the slider, for the current crop/rule/detail
    this.stepsKey = "";
    this.imageUrl = null;
    this.listeners = [];
    this.readModel();
    this.build();
    this.loadImage();
    for (const name of ["crop", "scale", "rule", "detail", "model"]) {
      this.onModel(`change:${name}`, () => this.fromModel(name));
    }
    this.onModel("change:models", () => this.fillModels());
    this.onModel("change:rules", () => {
      this.fillRules();
      this.redraw();
    });
    this.onModel("change:image_data", () => this.loadImage());
    this.onModel("change:plan", () => this.checkKernelPlan());
    // canvases read theme colours when drawn: redraw when JupyterLab switches theme
    this.themeWatch = new MutationObserver(() => this.redraw());
    this.themeWatch.observe(document.body, { attributes: true, attributeFilter: ["data-jp-theme-name", "data-jp-theme-light"] });
    this.redraw();
    this.checkKernelPlan();
  }

  onModel(event, fn) {
    this.model.on(event, fn);
    this.listeners.push([event, fn]);
  }

  readModel() {
    const m = this.model;
    const [w, hh] = m.get("image_size");
    this.size = [w, hh];
    this.state = {
      crop: [...m.get("crop")],
      scale: m.get("scale"),
      rule: m.get("rule"),
      detail: m.get("detail"),
      model: m.get("model"),
    };
  }

  rulesByName() {
    const out = {};
    for (const r of this.model.get("rules") || []) out[r.name] = r;
    return Object.keys(out).length ? out : this.T.RULES;
  }

  planOptions(detail = this.state.detail) {
    return { rule: this.state.rule, detail, rules: this.rulesByName() };
  }

  // --- DOM ---------------------------------------------------------------------------

  build() {
    const id = this.id;
    const [W, H] = this.size;
    const label = this.model.get("label");
    this.root = h("div", { class: "grok-tiles", role: "group", "aria-label": `Tile explorer for ${label || "image"}` });
    this.root.grokRedrawMs = [];

    const title = h("div", { class: "gt-title" },
      h("strong", { text: label || "image" }),
      h("span", { class: "gt-muted", text: ` · original ${fmtSize([W, H])} px` }));

    this.ruleSel = h("select", { id: `${id}-rule`, class: "gt-rule" });
    this.detailSel = h("select", { id: `${id}-detail`, class: "gt-detail" });
    for (const d of ["high", "low", "auto"]) this.detailSel.append(h("option", { value: d, text: d }));
    this.modelSel = h("select", { id: `${id}-model`, class: "gt-model" });
    this.resetBtn = h("button", { type: "button", class: "gt-reset", text: "Reset framing" });
    const controls = h("div", { class: "gt-controls" },
      h("label", { for: `${id}-rule`, text: "Rule" }), this.ruleSel,
      h("label", { for: `${id}-detail`, text: "Detail" }), this.detailSel,
      h("label", { for: `${id}-model`, text: "Model" }), this.modelSel,
      this.resetBtn);

    this.scaleIn = h("input", {
      id: `${id}-scale`, class: "gt-scale", type: "range", min: "0.01", max: "1", step: "0.005",
    });
    this.scaleOut = h("output", { class: "gt-scale-out", for: `${id}-scale` });
    this.stepsBar = h("div", { class: "gt-steps", "aria-hidden": "true" });
    const scaleRow = h("div", { class: "gt-scale-row" },
      h("label", { for: `${id}-scale`, text: "Scale" }),
      h("div", { class: "gt-slider" }, this.scaleIn, this.stepsBar),
      this.scaleOut);

    // the image, its tile overlay, and the crop rectangle with handles
    this.img = h("img", { class: "gt-img", alt: "", draggable: "false" });
    this.tilesLayer = h("div", { class: "gt-tiles", "aria-hidden": "true" });
    this.cropBox = h("div", {
      class: "gt-crop",
      tabindex: "0",
      role: "group",
      "aria-roledescription": "crop rectangle",
      "aria-describedby": `${id}-crop-help`,
    });
    for (const hd of this.T.HANDLES) {
      if (hd !== "move") this.cropBox.append(h("div", { class: `gt-handle gt-h-${hd}`, "data-handle": hd }));
    }
    this.stage = h("div", { class: "gt-stage" }, this.img, this.tilesLayer, this.cropBox);
    const [sw, sh] = this.stageSize();
    this.stage.style.width = `${sw}px`;
    this.stage.style.height = `${sh}px`;
    const cropHelp = h("p", {
      id: `${id}-crop-help`,
      class: "gt-help",
      text: "Drag the image to draw a crop, drag its edges or corners to resize. " +
        "Keyboard: arrow keys move the crop, Shift+arrows resize it, Alt for 1 px steps.",
    });

    // the model's-eye view and the extra tile
    this.canvas = h("canvas", { class: "gt-canvas", role: "img" });
    this.canvasCap = h("figcaption", { class: "gt-canvas-cap" });
    this.extra = h("canvas", { class: "gt-extra", role: "img", width: String(EXTRA_PX), height: String(EXTRA_PX) });
    this.extraCap = h("figcaption", { class: "gt-extra-cap" });
    this.extraFig = h("figure", { class: "gt-extra-fig" }, this.extra, this.extraCap);
    const side = h("div", { class: "gt-side" },
      h("figure", { class: "gt-canvas-fig" }, this.canvas, this.canvasCap), this.extraFig);

    this.summary = h("div", { class: "gt-summary", "aria-live": "polite" });
    this.resolution = h("div", { class: "gt-resolution" });
    this.cropText = h("div", { class: "gt-crop-text gt-muted" });
    const legend = h("div", { class: "gt-legend", "aria-hidden": "true" },
      h("span", { class: "gt-key gt-k-full", text: "full" }),
      h("span", { class: "gt-key gt-k-stretched", text: "stretched" }),
      h("span", { class: "gt-key gt-k-padding", text: "part padding" }));
    this.hintText = h("span", { class: "gt-hint-text" });
    this.applyBtn = h("button", { type: "button", class: "gt-apply", text: "Apply" });
    this.hint = h("div", { class: "gt-hint" }, this.hintText, this.applyBtn);
    this.assumption = h("div", { class: "gt-assumption" });

    this.root.append(title, controls, scaleRow,
      h("div", { class: "gt-main" }, h("div", {}, this.stage, legend), side),
      this.summary, this.resolution, this.cropText, this.hint, this.assumption, cropHelp);
    this.el.append(this.root);

    this.fillRules();
    this.fillModels();
    this.syncControls();
    this.bindEvents();
  }

  stageSize() {
    const [W, H] = this.size;
    const k = Math.min(STAGE_MAX[0] / W, STAGE_MAX[1] / H);
    return [Math.max(STAGE_MIN, Math.round(W * k)), Math.max(STAGE_MIN, Math.round(H * k))];
  }

  fillRules() {
    this.ruleSel.replaceChildren();
    for (const r of Object.values(this.rulesByName())) {
      this.ruleSel.append(h("option", { value: r.name, text: r.name, title: r.description || "" }));
    }
    this.ruleSel.value = this.state.rule;
  }

  fillModels() {
    this.modelSel.replaceChildren();
    for (const m of this.model.get("models") || []) {
      const price = m.image_per_million == null ? "price unknown" : `$${m.image_per_million.toFixed(2)}/M image tokens`;
      this.modelSel.append(h("option", { value: m.name, text: `${m.name} (${price})` }));
    }
    this.modelSel.value = this.state.model;
    this.summarize();
  }

  syncControls() {
    this.ruleSel.value = this.state.rule;
    this.detailSel.value = this.state.detail;
    this.modelSel.value = this.state.model;
    this.scaleIn.value = String(this.state.scale);
  }

  loadImage() {
    const data = this.model.get("image_data");
    if (this.imageUrl) URL.revokeObjectURL(this.imageUrl);
    this.imageUrl = URL.createObjectURL(new Blob([data], { type: this.model.get("image_mime") }));
    this.img.onload = () => this.redraw();
    this.img.src = this.imageUrl;
    this.img.alt = this.model.get("label") || "image";
  }

  // --- events ------------------------------------------------------------------------

  bindEvents() {
    this.scaleIn.addEventListener("input", () => {
      this.state.scale = this.scaleIn.valueAsNumber;
      this.redraw({ timed: true });
      this.queueSync("scale");
    });
    this.scaleIn.addEventListener("change", () => this.flushSync());
    this.ruleSel.addEventListener("change", () => this.setLocal({ rule: this.ruleSel.value }));
    this.detailSel.addEventListener("change", () => this.setLocal({ detail: this.detailSel.value }));
    this.modelSel.addEventListener("change", () => this.setLocal({ model: this.modelSel.value }));
    this.resetBtn.addEventListener("click", () => this.setLocal({ crop: [0, 0, ...this.size], scale: 1 }));
    this.applyBtn.addEventListener("click", () => {
      if (this.hintValue) this.setLocal({ scale: this.hintValue.scale, detail: this.hintValue.detail });
    });
    this.cropBox.addEventListener("keydown", (e) => {
      const next = this.T.keyCrop(this.state.crop, e.key, e, ...this.size);
      if (!next) return;
      e.preventDefault();
      this.state.crop = next;
      this.redraw();
      this.queueSync("crop");
    });
    this.stage.addEventListener("pointerdown", (e) => this.pointerDown(e));
    this.stage.addEventListener("pointermove", (e) => this.pointerMove(e));
    this.stage.addEventListener("pointerup", (e) => this.pointerUp(e));
    this.stage.addEventListener("pointercancel", (e) => this.pointerUp(e));
  }

  toImage(e) {
    const r = this.stage.getBoundingClientRect();
    return this.T.viewToImage(e.clientX - r.left, e.clientY - r.top, r.width, r.height, ...this.size);
  }

  pointerDown(e) {
    if (e.button !== 0) return;
    const [W, H] = this.size;
    const whole = this.state.crop.every((v, i) => v === [0, 0, W, H][i]);
    // inside the crop drags it, unless it is the whole image: then a drag draws a new one
    let handle = e.target.dataset?.handle || (this.cropBox.contains(e.target) ? "move" : "new");
    if (handle === "move" && whole) handle = "new";
    const r = this.stage.getBoundingClientRect();
    this.drag = {
      handle,
      start: [...this.state.crop],
      x: e.clientX,
      y: e.clientY,
      anchor: this.toImage(e),
      perPx: [this.size[0] / r.width, this.size[1] / r.height],
    };
    this.stage.setPointerCapture(e.pointerId);
    this.cropBox.focus({ preventScroll: true });
    e.preventDefault();
  }

  pointerMove(e) {
    const d = this.drag;
    if (!d) return;
    const [W, H] = this.size;
    let next;
    if (d.handle === "new") {
      const [px, py] = this.toImage(e);
      const [ax, ay] = d.anchor;
      next = this.T.clampCrop([Math.min(ax, px), Math.min(ay, py), Math.max(ax, px), Math.max(ay, py)], W, H);
    } else {
      const minSize = Math.max(1, Math.round(MIN_CROP_CSS * Math.min(...d.perPx)));
      const dx = (e.clientX - d.x) * d.perPx[0];
      const dy = (e.clientY - d.y) * d.perPx[1];
      next = this.T.dragCrop(d.start, d.handle, dx, dy, W, H, minSize);
    }
    if (next.some((v, i) => v !== this.state.crop[i])) {
      this.state.crop = next;
      this.redraw({ timed: true });
    }
  }

  pointerUp(e) {
    if (!this.drag) return;
    this.drag = null;
    if (this.stage.hasPointerCapture(e.pointerId)) this.stage.releasePointerCapture(e.pointerId);
    this.queueSync("crop");
    this.flushSync();
  }

  setLocal(changes) {
    Object.assign(this.state, changes);
    this.syncControls();
    this.redraw();
    for (const k of Object.keys(changes)) this.pending.add(k);
    this.flushSync();
  }

  // --- kernel sync -------------------------------------------------------------------

  queueSync(name) {
    this.pending.add(name);
    this.root.dataset.syncPending = "1";
    if (this.syncTimer !== null) return;
    const wait = Math.max(0, SYNC_MS - (performance.now() - this.lastSync));
    this.syncTimer = setTimeout(() => this.flushSync(), wait);
  }

  flushSync() {
    if (this.syncTimer !== null) clearTimeout(this.syncTimer);
    this.syncTimer = null;
    if (!this.pending.size) return;
    for (const k of this.pending) this.model.set(k, Array.isArray(this.state[k]) ? [...this.state[k]] : this.state[k]);
    this.pending.clear();
    this.lastSync = performance.now();
    this.model.save_changes();
    this.root.dataset.syncPending = "0";
  }

  fromModel(name) {
    const value = this.model.get(name);
    const cur = this.state[name];
    const same = Array.isArray(value) ? value.every((v, i) => v === cur[i]) : value === cur;
    if (same || this.pending.has(name) || (name === "crop" && this.drag)) return;
    this.state[name] = Array.isArray(value) ? [...value] : value;
    this.syncControls();
    this.redraw();
  }

  checkKernelPlan() {
    // The kernel's plan is for the framing it last received; compare it with ours for
    // the model's current framing ("pending" while an update is still in flight).
    const kernel = this.model.get("plan");
    if (!kernel) return;
    const m = this.model;
    try {
      const ours = this.T.planForCrop(m.get("crop"), m.get("scale"), {
        rule: m.get("rule"), detail: m.get("detail"), rules: this.rulesByName(),
      }).plan;
      this.root.dataset.kernelPlan = JSON.stringify(ours) === JSON.stringify(kernel) ? "agrees" : "pending";
    } catch {
      this.root.dataset.kernelPlan = "pending";
    }
  }

  // --- drawing -----------------------------------------------------------------------

  redraw({ timed = false } = {}) {
    const t0 = performance.now();
    const { crop, scale } = this.state;
    const { framed, plan } = this.T.planForCrop(crop, scale, this.planOptions());
    const tiles = this.T.tileInfo(plan, this.rulesByName()[plan.rule], this.rulesByName());
    this.current = { framed, plan, tiles };
    this.drawCrop();
    this.drawTiles(plan, tiles, framed);
    this.drawSteps();
    this.drawModelView(plan, tiles);
    this.summarize();
    this.drawHint(plan);
    this.scaleOut.value = `${fmtPct(scale)} → ${fmtSize(framed)} px`;
    this.scaleIn.setAttribute("aria-valuetext", `${fmtPct(scale)}, ${fmtSize(framed)} px, ${fmtInt(plan.tokens)} tokens`);
    const ds = this.root.dataset;
    ds.tokens = String(plan.tokens);
    ds.grid = `${plan.grid[0]}x${plan.grid[1]}`;
    ds.crop = crop.join(",");
    ds.scale = String(scale);
    ds.framed = framed.join("x");
    if (timed) {
      const times = this.root.grokRedrawMs;
      times.push(performance.now() - t0);
      if (times.length > 2000) times.shift();
    }
  }

  drawCrop() {
    const [W, H] = this.size;
    const [x0, y0, x1, y1] = this.state.crop;
    const s = this.cropBox.style;
    s.left = `${(x0 / W) * 100}%`;
    s.top = `${(y0 / H) * 100}%`;
    s.width = `${((x1 - x0) / W) * 100}%`;
    s.height = `${((y1 - y0) / H) * 100}%`;
    this.cropBox.setAttribute("aria-label",
      `Crop from ${x0}, ${y0} to ${x1}, ${y1} (${fmtSize([x1 - x0, y1 - y0])} px of ${fmtSize(this.size)})`);
    this.cropText.textContent = `Crop ${x0},${y0} → ${x1},${y1} · ${fmtSize([x1 - x0, y1 - y0])} px`;
  }

  drawTiles(plan, tiles, framed) {
    // tile boxes are in framed-image pixels; map them into the original, then to %
    const [W, H] = this.size;
    const [x0, y0, x1, y1] = this.state.crop;
    const fx = (x1 - x0) / framed[0];
    const fy = (y1 - y0) / framed[1];
    const nodes = this.tilesLayer.children;
    while (nodes.length < tiles.length) {
      this.tilesLayer.append(h("div", { class: "gt-tile" }, h("span", { class: "gt-num" })));
    }
    for (let i = 0; i < nodes.length; i++) {
      const node = nodes[i];
      const t = tiles[i];
      if (!t) {
        node.hidden = true;
        continue;
      }
      node.hidden = false;
      const [l, tp, r, b] = t.box;
      const s = node.style;
      s.left = `${((x0 + l * fx) / W) * 100}%`;
      s.top = `${((y0 + tp * fy) / H) * 100}%`;
      s.width = `${(((r - l) * fx) / W) * 100}%`;
      s.height = `${(((b - tp) * fy) / H) * 100}%`;
      node.className = `gt-tile gt-${t.kind}`;
      node.title = `Tile ${t.index}: ${KIND_TEXT[t.kind]}, ${Math.round(t.fill * 100)}% image` +
        (t.upscaled ? ", upscaled" : "");
      node.firstChild.textContent = String(t.index);
    }
  }

  drawSteps() {
    const key = `${this.state.crop}|${this.state.rule}|${this.state.detail}`;
    if (key !== this.stepsKey) {
      this.stepsKey = key;
      this.steps = this.T.tokenSteps(this.state.crop, { ...this.planOptions(), min: 0.01, step: 0.005 });
      this.stepsBar.replaceChildren();
      const max = Math.max(...this.steps.map((s) => s.tokens));
      this.steps.forEach((s, i) => {
        const end = i + 1 < this.steps.length ? this.steps[i + 1].scale : 1;
        const seg = h("span", { class: "gt-step" });
        seg.style.left = `${((s.scale - 0.01) / 0.99) * 100}%`;
        seg.style.width = `${((end - s.scale) / 0.99) * 100}%`;
        seg.style.opacity = String(0.25 + 0.75 * (s.tokens / max));
        seg.title = `from ${fmtPct(s.scale)}: ${fmtInt(s.tokens)} tokens`;
        this.stepsBar.append(seg);
      });
    }
  }

  drawModelView(plan, tiles) {
    // the canvas the model receives: the framed image resized (stretched for the
    // aspect rules), the 448 px tile grid over it, empty tile area hatched
    const rule = this.rulesByName()[plan.rule] || this.T.RULES[plan.rule];
    const T = rule.tile_size;
    const space = [plan.grid[0] * T, plan.grid[1] * T];
    const k = Math.min(CANVAS_MAX[0] / space[0], CANVAS_MAX[1] / space[1]);
    const cw = Math.max(8, Math.round(space[0] * k));
    const ch = Math.max(8, Math.round(space[1] * k));
    const dpr = window.devicePixelRatio || 1;
    const c = this.canvas;
    if (c.width !== Math.round(cw * dpr) || c.height !== Math.round(ch * dpr)) {
      c.width = Math.round(cw * dpr);
      c.height = Math.round(ch * dpr);
      c.style.width = `${cw}px`;
      c.style.height = `${ch}px`;
    }
    const g = c.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    const css = getComputedStyle(this.root);
    g.fillStyle = css.getPropertyValue("--gt-pad").trim() || "#ddd";
    g.fillRect(0, 0, cw, ch);
    const [W, H] = this.size;
    const [x0, y0, x1, y1] = this.state.crop;
    const ready = this.img.complete && this.img.naturalWidth > 0;
    const pw = ready ? this.img.naturalWidth / W : 0;
    const ph = ready ? this.img.naturalHeight / H : 0;
    const src = [x0 * pw, y0 * ph, Math.max(1e-3, (x1 - x0) * pw), Math.max(1e-3, (y1 - y0) * ph)];
    const iw = plan.resized[0] * k;
    const ih = plan.resized[1] * k;
    if (ready) g.drawImage(this.img, ...src, 0, 0, iw, ih);
    g.font = "bold 11px sans-serif";
    g.textAlign = "center";
    g.textBaseline = "middle";
    g.lineJoin = "round";
    tiles.forEach((t, i) => {
      const x = (i % plan.grid[0]) * T * k;
      const y = Math.floor(i / plan.grid[0]) * T * k;
      g.strokeStyle = css.getPropertyValue("--gt-grid").trim() || "#e91e63";
      g.lineWidth = 1.5;
      g.strokeRect(x + 0.75, y + 0.75, T * k - 1.5, T * k - 1.5);
      g.lineWidth = 3; // a white halo keeps the number legible over any image
      g.strokeStyle = "#fff";
      g.strokeText(String(t.index), x + (T * k) / 2, y + (T * k) / 2);
      g.fillStyle = css.getPropertyValue("--gt-grid").trim() || "#e91e63";
      g.fillText(String(t.index), x + (T * k) / 2, y + (T * k) / 2);
    });
    const pads = tiles.filter((t) => t.kind === "padding").length;
    this.canvas.setAttribute("aria-label", `The model's view: ${fmtSize(plan.resized)} px on a ${plan.grid[0]}×${plan.grid[1]} grid`);
    this.canvasCap.textContent = `Model's view: ${fmtSize(plan.resized)} px` +
      (pads ? ` · ${pads} tile${pads > 1 ? "s" : ""} partly padding` : "");

    const e = this.extra.getContext("2d");
    e.fillStyle = g.fillStyle;
    e.clearRect(0, 0, EXTRA_PX, EXTRA_PX);
    if (ready) e.drawImage(this.img, ...src, 0, 0, EXTRA_PX, EXTRA_PX);
    this.extraFig.hidden = plan.extra_tiles === 0;
    this.extra.setAttribute("aria-label", "The extra tile: the whole framed image squeezed into one tile");
    this.extraCap.textContent = `+${plan.extra_tiles} extra tile (whole frame, ${T}×${T})`;
  }

  price() {
    const m = (this.model.get("models") || []).find((x) => x.name === this.state.model);
    return m ? m.image_per_million : null;
  }

  summarize() {
    if (!this.current) return;
    const { plan } = this.current;
    const cost = this.T.imageCost(plan.tokens, this.price());
    const tilesText = `${plan.tiles} tile${plan.tiles === 1 ? "" : "s"}` +
      (plan.extra_tiles ? ` + ${plan.extra_tiles} extra` : "");
    this.summary.replaceChildren(
      h("span", { class: "gt-grid", text: `${plan.grid[0]}×${plan.grid[1]} grid` }), " · ",
      h("span", { class: "gt-count", text: tilesText }), " · ",
      h("strong", { class: "gt-tokens", text: `${fmtInt(plan.tokens)} tokens` }), " · ",
      h("span", { class: "gt-cost", text: this.T.formatUsd(cost) }),
      h("span", { class: "gt-muted", text: ` on ${this.state.model}` }));
    const vis = this.T.visibleSize(plan);
    const frame = [plan.width, plan.height];
    const same = plan.resized[0] === plan.width && plan.resized[1] === plan.height;
    const up = plan.resized[0] > plan.width || plan.resized[1] > plan.height;
    const how = same ? "the frame as is" : `${up ? "upscaled" : "resized"} from the ${fmtSize(frame)} px frame`;
    this.resolution.textContent = `The model sees ${fmtSize(plan.resized)} px (${how};` +
      ` original ${fmtSize(this.size)} px); detail kept: ${fmtSize(vis)} px.`;
    this.assumption.textContent = plan.assumption ? `Assumption: ${plan.assumption}.` : "";
    this.root.dataset.cost = cost === null ? "" : String(cost);
  }

  drawHint(plan) {
    const best = this.T.cheapestPlan(this.state.crop, this.state.scale, this.planOptions());
    this.hintValue = best;
    this.applyBtn.hidden = best.current;
    if (best.current) {
      this.hintText.textContent = "Cheapest plan that keeps this much detail: this one.";
      return;
    }
    const what = `scale ${fmtPct(best.scale)}${best.detail !== this.state.detail ? `, detail=${best.detail}` : ""}`;
    if (best.savedTokens > 0) {
      const saved = this.T.imageCost(best.savedTokens, this.price());
      this.hintText.textContent = `Cheapest plan that keeps this much detail: ${what} → ` +
        `${fmtInt(best.plan.tokens)} tokens (saves ${fmtInt(best.savedTokens)} tokens, ${this.T.formatUsd(saved)}).`;
    } else {
      const ratio = (plan.width * plan.height) / (best.framed[0] * best.framed[1]);
      this.hintText.textContent = `Cheapest plan that keeps this much detail: ${what} → same ` +
        `${fmtInt(best.plan.tokens)} tokens, ${fmtSize(best.framed)} px (${ratio.toFixed(1)}× fewer pixels to send).`;
    }
  }

  destroy() {
    for (const [event, fn] of this.listeners) this.model.off(event, fn);
    this.themeWatch.disconnect();
    this.flushSync();
    if (this.imageUrl) URL.revokeObjectURL(this.imageUrl);
    this.root.remove();
  }
}

export default {
  async initialize({ model }) {
    await loadTiles(model.get("_tiles_js"));
  },
  async render({ model, el }) {
    const T = await loadTiles(model.get("_tiles_js"));
    const view = new ExplorerView(T, model, el);
    return () => view.destroy();
  },
};
