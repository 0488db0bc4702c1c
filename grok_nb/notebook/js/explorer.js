// TileExplorer front end (anywidget). Every redraw is computed here with tiles.js;
// the kernel only hears about the framing (crop, scale, rule, detail, model) and
// recomputes the authoritative plan in Python.
//
// tiles.js, explorer_draw.js and usd.js arrive as source text in the `_tiles_js`,
// `_draw_js` and `_usd_js` traits and are imported from Blob URLs: anywidget itself
// loads this file from a Blob URL, so a relative import ("./tiles.js") has nothing to
// resolve against.

const modules = new Map(); // module source -> Promise<module>, shared by all views

function loadModule(source) {
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
const MIN_CROP_CSS = 8; // smallest crop side while dragging, in CSS px

let uid = 0;
// filled from explorer_draw.js, explorer_boxes.js and usd.js when the first view loads
let D, B, h, fmtInt, fmtPct, fmtSize, EXTRA_PX, formatUsd;


class ExplorerView {
  constructor(T, model, el) {
    this.T = T;
    this.formatUsd = formatUsd; // every dollar on screen, the twin of Python's format_usd
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
    this.onModel("change:boxes", () => B.drawBoxes(this, h));
    this.onModel("change:show_boxes", () => B.drawBoxes(this, h));
    // canvases read theme colours when drawn: redraw when JupyterLab switches theme
    this.themeWatch = new MutationObserver(() => this.redraw());
    this.themeWatch.observe(document.body, { attributes: true, attributeFilter: ["data-jp-theme-name", "data-jp-theme-light"] });
    this.redraw();
    B.drawBoxes(this, h);
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
    this.boxesToggle = h("input", { id: `${id}-boxes`, class: "gt-boxes-toggle", type: "checkbox" });
    this.boxesCount = h("span", { text: "Boxes" });
    this.boxesControl = h("label", { class: "gt-boxes-control", for: `${id}-boxes` }, this.boxesToggle, this.boxesCount);
    const controls = h("div", { class: "gt-controls" },
      h("label", { for: `${id}-rule`, text: "Rule" }), this.ruleSel,
      h("label", { for: `${id}-detail`, text: "Detail" }), this.detailSel,
      h("label", { for: `${id}-model`, text: "Model" }), this.modelSel,
      this.resetBtn, this.boxesControl);

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
    this.boxesLayer = h("div", { class: "gt-boxes", "aria-hidden": "true" });
    this.boxInfo = h("div", { class: "gt-box-info", "aria-live": "polite" });
    this.stage = h("div", { class: "gt-stage" }, this.img, this.tilesLayer, this.cropBox, this.boxesLayer);
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
      this.boxInfo, this.summary, this.resolution, this.cropText, this.hint, this.assumption, cropHelp);
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
      const price = m.image_per_million == null ? formatUsd(null) : `${formatUsd(m.image_per_million)}/M image tokens`;
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
    this.stage.addEventListener("pointerleave", () => B.hover(this, -1));
    this.boxesToggle.addEventListener("change", () => {
      this.model.set("show_boxes", this.boxesToggle.checked);
      this.model.save_changes();
    });
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
    if (!d) {
      B.hoverAt(this, this.toImage(e));
      return;
    }
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
    return D.drawCrop(this);
  }

  drawTiles(plan, tiles, framed) {
    return D.drawTiles(this, plan, tiles, framed);
  }

  drawSteps() {
    return D.drawSteps(this);
  }

  drawModelView(plan, tiles) {
    return D.drawModelView(this, plan, tiles);
  }

  price() {
    return D.price(this);
  }

  summarize() {
    return D.summarize(this);
  }

  drawHint(plan) {
    return D.drawHint(this, plan);
  }

  destroy() {
    for (const [event, fn] of this.listeners) this.model.off(event, fn);
    this.themeWatch.disconnect();
    this.flushSync();
    if (this.imageUrl) URL.revokeObjectURL(this.imageUrl);
    this.root.remove();
  }
}

async function loadAll(model) {
  const [T, draw, usd, boxes] = await Promise.all(
    ["_tiles_js", "_draw_js", "_usd_js", "_boxes_js"].map((name) => loadModule(model.get(name))));
  ({ h, fmtInt, fmtPct, fmtSize, EXTRA_PX } = draw);
  ({ formatUsd } = usd);
  D = draw;
  B = boxes;
  return T;
}

export default {
  async initialize({ model }) {
    await loadAll(model);
  },
  async render({ model, el }) {
    const T = await loadAll(model);
    const view = new ExplorerView(T, model, el);
    return () => view.destroy();
  },
};
