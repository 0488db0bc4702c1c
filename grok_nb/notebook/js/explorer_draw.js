// TileExplorer drawing: everything a redraw paints, as functions of the view.
// Split from explorer.js (which owns the DOM, events and syncing); loaded the same
// way as tiles.js, from source text in a trait. Dollars come from usd.js, through
// view.formatUsd (this module cannot import it: see explorer.js).

export const CANVAS_MAX = [260, 196]; // the model's-eye view
export const EXTRA_PX = 72;
const KIND_TEXT = { full: "full", stretched: "stretched", padding: "part padding" };

export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

export const fmtInt = (n) => n.toLocaleString("en-US");
export const fmtPct = (s) => `${(Math.round(s * 1000) / 10).toString()}%`;
export const fmtSize = ([w, hh]) => `${fmtInt(w)}×${fmtInt(hh)}`;

export function drawCrop(view) {
  const [W, H] = view.size;
  const [x0, y0, x1, y1] = view.state.crop;
  const s = view.cropBox.style;
  s.left = `${(x0 / W) * 100}%`;
  s.top = `${(y0 / H) * 100}%`;
  s.width = `${((x1 - x0) / W) * 100}%`;
  s.height = `${((y1 - y0) / H) * 100}%`;
  view.cropBox.setAttribute("aria-label",
    `Crop from ${x0}, ${y0} to ${x1}, ${y1} (${fmtSize([x1 - x0, y1 - y0])} px of ${fmtSize(view.size)})`);
  view.cropText.textContent = `Crop ${x0},${y0} → ${x1},${y1} · ${fmtSize([x1 - x0, y1 - y0])} px`;
}

export function drawTiles(view, plan, tiles, framed) {
  // tile boxes are in framed-image pixels; map them into the original, then to %
  const [W, H] = view.size;
  const [x0, y0, x1, y1] = view.state.crop;
  const fx = (x1 - x0) / framed[0];
  const fy = (y1 - y0) / framed[1];
  const nodes = view.tilesLayer.children;
  while (nodes.length < tiles.length) {
    view.tilesLayer.append(h("div", { class: "gt-tile" }, h("span", { class: "gt-num" })));
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

export function drawSteps(view) {
  const key = `${view.state.crop}|${view.state.rule}|${view.state.detail}`;
  if (key !== view.stepsKey) {
    view.stepsKey = key;
    view.steps = view.T.tokenSteps(view.state.crop, { ...view.planOptions(), min: 0.01, step: 0.005 });
    view.stepsBar.replaceChildren();
    const max = Math.max(...view.steps.map((s) => s.tokens));
    view.steps.forEach((s, i) => {
      const end = i + 1 < view.steps.length ? view.steps[i + 1].scale : 1;
      const seg = h("span", { class: "gt-step" });
      seg.style.left = `${((s.scale - 0.01) / 0.99) * 100}%`;
      seg.style.width = `${((end - s.scale) / 0.99) * 100}%`;
      seg.style.opacity = String(0.25 + 0.75 * (s.tokens / max));
      seg.title = `from ${fmtPct(s.scale)}: ${fmtInt(s.tokens)} tokens`;
      view.stepsBar.append(seg);
    });
  }
}

export function drawModelView(view, plan, tiles) {
  // the canvas the model receives: the framed image resized (stretched for the
  // aspect rules), the 448 px tile grid over it, empty tile area hatched
  const rule = view.rulesByName()[plan.rule] || view.T.RULES[plan.rule];
  const T = rule.tile_size;
  const space = [plan.grid[0] * T, plan.grid[1] * T];
  const k = Math.min(CANVAS_MAX[0] / space[0], CANVAS_MAX[1] / space[1]);
  const cw = Math.max(8, Math.round(space[0] * k));
  const ch = Math.max(8, Math.round(space[1] * k));
  const dpr = window.devicePixelRatio || 1;
  const c = view.canvas;
  if (c.width !== Math.round(cw * dpr) || c.height !== Math.round(ch * dpr)) {
    c.width = Math.round(cw * dpr);
    c.height = Math.round(ch * dpr);
    c.style.width = `${cw}px`;
    c.style.height = `${ch}px`;
  }
  const g = c.getContext("2d");
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  const css = getComputedStyle(view.root);
  g.fillStyle = css.getPropertyValue("--gt-pad").trim() || "#ddd";
  g.fillRect(0, 0, cw, ch);
  const [W, H] = view.size;
  const [x0, y0, x1, y1] = view.state.crop;
  const ready = view.img.complete && view.img.naturalWidth > 0;
  const pw = ready ? view.img.naturalWidth / W : 0;
  const ph = ready ? view.img.naturalHeight / H : 0;
  const src = [x0 * pw, y0 * ph, Math.max(1e-3, (x1 - x0) * pw), Math.max(1e-3, (y1 - y0) * ph)];
  const iw = plan.resized[0] * k;
  const ih = plan.resized[1] * k;
  if (ready) g.drawImage(view.img, ...src, 0, 0, iw, ih);
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
  view.canvas.setAttribute("aria-label", `The model's view: ${fmtSize(plan.resized)} px on a ${plan.grid[0]}×${plan.grid[1]} grid`);
  view.canvasCap.textContent = `Model's view: ${fmtSize(plan.resized)} px` +
    (pads ? ` · ${pads} tile${pads > 1 ? "s" : ""} partly padding` : "");

  const e = view.extra.getContext("2d");
  e.fillStyle = g.fillStyle;
  e.clearRect(0, 0, EXTRA_PX, EXTRA_PX);
  if (ready) e.drawImage(view.img, ...src, 0, 0, EXTRA_PX, EXTRA_PX);
  view.extraFig.hidden = plan.extra_tiles === 0;
  view.extra.setAttribute("aria-label", "The extra tile: the whole framed image squeezed into one tile");
  view.extraCap.textContent = `+${plan.extra_tiles} extra tile (whole frame, ${T}×${T})`;
}

export function price(view) {
  const m = (view.model.get("models") || []).find((x) => x.name === view.state.model);
  return m ? m.image_per_million : null;
}

export function summarize(view) {
  if (!view.current) return;
  const { plan } = view.current;
  const cost = view.T.imageCost(plan.tokens, price(view));
  const tilesText = `${plan.tiles} tile${plan.tiles === 1 ? "" : "s"}` +
    (plan.extra_tiles ? ` + ${plan.extra_tiles} extra` : "");
  view.summary.replaceChildren(
    h("span", { class: "gt-grid", text: `${plan.grid[0]}×${plan.grid[1]} grid` }), " · ",
    h("span", { class: "gt-count", text: tilesText }), " · ",
    h("strong", { class: "gt-tokens", text: `${fmtInt(plan.tokens)} tokens` }), " · ",
    h("span", { class: "gt-cost", text: view.formatUsd(cost) }),
    h("span", { class: "gt-muted", text: ` on ${view.state.model}` }));
  const vis = view.T.visibleSize(plan);
  const frame = [plan.width, plan.height];
  const same = plan.resized[0] === plan.width && plan.resized[1] === plan.height;
  const up = plan.resized[0] > plan.width || plan.resized[1] > plan.height;
  const how = same ? "the frame as is" : `${up ? "upscaled" : "resized"} from the ${fmtSize(frame)} px frame`;
  view.resolution.textContent = `The model sees ${fmtSize(plan.resized)} px (${how};` +
    ` original ${fmtSize(view.size)} px); detail kept: ${fmtSize(vis)} px.`;
  view.assumption.textContent = plan.assumption ? `Assumption: ${plan.assumption}.` : "";
  view.root.dataset.cost = cost === null ? "" : String(cost);
}

export function drawHint(view, plan) {
  const best = view.T.cheapestPlan(view.state.crop, view.state.scale, view.planOptions());
  view.hintValue = best;
  view.applyBtn.hidden = best.current;
  if (best.current) {
    view.hintText.textContent = "Cheapest plan that keeps this much detail: this one.";
    return;
  }
  const what = `scale ${fmtPct(best.scale)}${best.detail !== view.state.detail ? `, detail=${best.detail}` : ""}`;
  if (best.savedTokens > 0) {
    const saved = view.T.imageCost(best.savedTokens, price(view));
    view.hintText.textContent = `Cheapest plan that keeps this much detail: ${what} → ` +
      `${fmtInt(best.plan.tokens)} tokens (saves ${fmtInt(best.savedTokens)} tokens, ${view.formatUsd(saved)}).`;
  } else {
    const ratio = (plan.width * plan.height) / (best.framed[0] * best.framed[1]);
    view.hintText.textContent = `Cheapest plan that keeps this much detail: ${what} → same ` +
      `${fmtInt(best.plan.tokens)} tokens, ${fmtSize(best.framed)} px (${ratio.toFixed(1)}× fewer pixels to send).`;
  }
}
