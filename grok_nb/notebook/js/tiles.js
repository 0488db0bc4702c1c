// Tile rules and plans: the JS twin of grok_nb/tiling.py.
//
// The explorer widget redraws on every slider step and crop drag without a kernel
// round trip, so the tile arithmetic lives here too. Both implementations are held
// to tests/data/tile_vectors.json: keep every operation in step with the Python
// (integer floor divisions are exact here for sizes below 2**53 / 2688, and the
// aspect differences use the same IEEE double operations as Python's floats).
//
// Below the plan itself: pure helpers for the explorer (framing a crop at a scale,
// per-tile fill, the cheapest plan that keeps the visible detail, crop drag math).

export const DEFAULT_RULE = "xai-guide";
export const DETAILS = Object.freeze(["auto", "low", "high"]);

// InternVL's candidate grids (min_num=1, max_num=6) in the order its reference code
// visits them (a Python set sorted by cols*rows); the order decides ties.
export const ASPECT_CANDIDATES = Object.freeze(
  [
    [1, 1], [1, 2], [2, 1], [3, 1], [1, 3], [4, 1], [1, 4],
    [2, 2], [1, 5], [5, 1], [6, 1], [2, 3], [1, 6], [3, 2],
  ].map((c) => Object.freeze(c)),
);

const LOW_ASSUMPTION = "detail=low: assumed one tile; xAI does not publish its cost";
const AUTO_ASSUMPTION = "detail=auto: assumed to cost the same as high";

/** Thrown for bad sizes, rules or details; `kind` mirrors the Python class. */
export class TileError extends Error {
  constructor(message, kind) {
    super(message);
    this.name = kind === "image" ? "ImageError" : "ConfigError";
    this.kind = kind;
  }
}

function makeRule(name, layout, extraTile, description) {
  return Object.freeze({
    name,
    layout,
    extra_tile: extraTile,
    description,
    tile_size: 448,
    tokens_per_tile: 256,
    max_tiles: 6,
  });
}

export const RULES = Object.freeze({
  "xai-guide": makeRule(
    "xai-guide",
    "aspect",
    "always",
    "closest-aspect grid of <= 6 tiles (InternVL layout), plus one extra tile",
  ),
  internvl: makeRule(
    "internvl",
    "aspect",
    "multi",
    "closest-aspect grid of <= 6 tiles; extra tile only when more than one tile",
  ),
  ceil: makeRule(
    "ceil",
    "ceil",
    "always",
    "keep aspect, downscale until ceil(w/448)*ceil(h/448) <= 6, plus one extra tile",
  ),
});

/** Exact floor(a / b) for non-negative safe integers a and positive b. */
export function idiv(a, b) {
  let q = Math.floor(a / b);
  // The double quotient can round across an integer; correct it exactly.
  if (q * b > a) q -= 1;
  else if ((q + 1) * b <= a) q += 1;
  return q;
}

function pyRepr(value) {
  if (typeof value === "string") return `'${value}'`;
  if (value === null || value === undefined) return "None";
  return String(value);
}

function isRuleObject(rule) {
  return rule !== null && typeof rule === "object" && typeof rule.name === "string";
}

/** A rule by name (default: xai-guide), or a rule object (e.g. sent from Python). */
export function getRule(rule, rules = RULES) {
  if (isRuleObject(rule)) {
    if (!["aspect", "ceil"].includes(rule.layout) || !["always", "multi"].includes(rule.extra_tile)) {
      throw new TileError(`tile rule ${pyRepr(rule.name)}: unknown layout or extra-tile policy`, "config");
    }
    return { tile_size: 448, tokens_per_tile: 256, max_tiles: 6, ...rule };
  }
  const name = rule || DEFAULT_RULE;
  if (Object.prototype.hasOwnProperty.call(rules, name)) return rules[name];
  const known = Object.keys(rules).sort().join(", ");
  throw new TileError(`unknown tile rule ${pyRepr(name)}; known rules: ${known}`, "config");
}

function checkSize(width, height) {
  const ok = [width, height].every((v) => Number.isSafeInteger(v) && v > 0);
  if (!ok) {
    throw new TileError(`${width}x${height} image: width and height must be positive integers`, "image");
  }
}

function extraFor(rule, tiles) {
  if (rule.extra_tile === "always") return 1;
  return tiles > 1 ? 1 : 0;
}

function aspectGrid(width, height, rule) {
  // find_closest_aspect_ratio in double precision, exactly as the Python.
  const aspect = width / height;
  const area = width * height;
  const size = rule.tile_size;
  let bestDiff = Infinity;
  let best = [1, 1];
  for (const [cols, rows] of ASPECT_CANDIDATES) {
    if (cols * rows > rule.max_tiles) continue;
    const diff = Math.abs(aspect - cols / rows);
    if (diff < bestDiff) {
      bestDiff = diff;
      best = [cols, rows];
    } else if (diff === bestDiff && area > 0.5 * size * size * cols * rows) {
      best = [cols, rows];
    }
  }
  return best;
}

function ceilCanvas(width, height, rule) {
  // Largest scale s <= 1 with ceil(w*s/T) * ceil(h*s/T) <= max_tiles, as exact fractions.
  const size = rule.tile_size;
  let bestNum = 0;
  let bestDen = 1;
  for (let cols = 1; cols <= rule.max_tiles; cols++) {
    const rows = idiv(rule.max_tiles, cols);
    let num = 1;
    let den = 1;
    for (const [n, d] of [
      [size * cols, width],
      [size * rows, height],
    ]) {
      if (n * den < num * d) {
        num = n;
        den = d;
      }
    }
    if (num * bestDen > bestNum * den) {
      bestNum = num;
      bestDen = den;
    }
  }
  return [Math.max(1, idiv(width * bestNum, bestDen)), Math.max(1, idiv(height * bestNum, bestDen))];
}

function edges(count, step, canvas, original) {
  const out = [];
  for (let k = 0; k <= count; k++) out.push(idiv(Math.min(k * step, canvas) * original, canvas));
  return out;
}

/**
 * The tile plan for a width x height image; the same fields and values as
 * TilePlan.to_dict() in Python.
 */
export function plan(width, height, { rule = null, detail = "high", rules = RULES } = {}) {
  checkSize(width, height);
  const r = getRule(rule, rules);
  detail = detail || "high";
  if (!DETAILS.includes(detail)) {
    throw new TileError(`detail must be one of ${DETAILS.join(", ")}, not ${pyRepr(detail)}`, "config");
  }
  const size = r.tile_size;
  let assumption = null;
  let grid;
  let resized;
  let xs;
  let ys;
  if (detail === "low") {
    const scale = Math.min(1.0, size / width, size / height);
    resized = [Math.max(1, Math.trunc(width * scale)), Math.max(1, Math.trunc(height * scale))];
    grid = [1, 1];
    xs = [0, width];
    ys = [0, height];
    assumption = LOW_ASSUMPTION;
  } else {
    if (detail === "auto") assumption = AUTO_ASSUMPTION;
    if (r.layout === "aspect") {
      grid = aspectGrid(width, height, r);
      resized = [grid[0] * size, grid[1] * size];
    } else {
      resized = ceilCanvas(width, height, r);
      grid = [idiv(resized[0] + size - 1, size), idiv(resized[1] + size - 1, size)];
    }
    xs = edges(grid[0], size, resized[0], width);
    ys = edges(grid[1], size, resized[1], height);
  }
  const tiles = grid[0] * grid[1];
  const extra = extraFor(r, tiles);
  const boxes = [];
  for (let row = 0; row < grid[1]; row++) {
    for (let c = 0; c < grid[0]; c++) boxes.push([xs[c], ys[row], xs[c + 1], ys[row + 1]]);
  }
  return {
    width,
    height,
    rule: r.name,
    detail,
    grid,
    tiles,
    extra_tiles: extra,
    tokens: (tiles + extra) * r.tokens_per_tile,
    resized,
    boxes,
    assumption,
  };
}

// ---------------------------------------------------------------------------
// Explorer helpers: framing, per-tile fill, the cheapest plan for a detail level,
// and crop drag/keyboard math. Pure functions; grok_nb/explorer.py frames the same way.

/** Check a scale: a finite number in (0, 1]. */
export function checkScale(scale) {
  if (typeof scale !== "number" || !Number.isFinite(scale) || scale <= 0 || scale > 1) {
    throw new TileError(`scale ${pyRepr(scale)}: must be a number in (0, 1]`, "config");
  }
  return scale;
}

/** Clamp a crop [x0, y0, x1, y1] to integers inside a width x height image, >= 1 px. */
export function clampCrop(crop, width, height) {
  checkSize(width, height);
  if (!Array.isArray(crop) || crop.length !== 4 || !crop.every((v) => Number.isFinite(v))) {
    throw new TileError(`crop ${JSON.stringify(crop)}: must be four numbers [x0, y0, x1, y1]`, "config");
  }
  let [x0, y0, x1, y1] = crop.map((v) => Math.round(v));
  if (x0 > x1) [x0, x1] = [x1, x0];
  if (y0 > y1) [y0, y1] = [y1, y0];
  x0 = Math.min(Math.max(x0, 0), width - 1);
  y0 = Math.min(Math.max(y0, 0), height - 1);
  x1 = Math.min(Math.max(x1, x0 + 1), width);
  y1 = Math.min(Math.max(y1, y0 + 1), height);
  return [x0, y0, x1, y1];
}

/**
 * The size of the framed image: the crop scaled by `scale`, each side rounded half up
 * and at least 1 px. explorer.image() produces exactly this size.
 */
export function framedSize(crop, scale) {
  checkScale(scale);
  const [x0, y0, x1, y1] = crop;
  return [Math.max(1, Math.floor((x1 - x0) * scale + 0.5)), Math.max(1, Math.floor((y1 - y0) * scale + 0.5))];
}

/** The plan for a crop of the original at a scale: {crop, scale, framed, plan}. */
export function planForCrop(crop, scale, options = {}) {
  const framed = framedSize(crop, scale);
  return { crop, scale, framed, plan: plan(framed[0], framed[1], options) };
}

/**
 * How many of the framed image's pixels reach the model along each axis: the
 * framed size, capped by the canvas it is resized to (upscaling adds no detail).
 */
export function visibleSize(p) {
  return [Math.min(p.width, p.resized[0]), Math.min(p.height, p.resized[1])];
}

/**
 * One entry per tile: where it lies on the model's canvas and in the framed image,
 * how much of its 448x448 area holds image (the rest is padding), and how the image
 * was stretched to get there. kind: "padding" (partly empty), "stretched" (aspect
 * distorted by more than 2 %) or "full".
 */
export function tileInfo(p, rule = null, rules = RULES) {
  const r = getRule(rule ?? p.rule, rules);
  const size = r.tile_size;
  const [rw, rh] = p.resized;
  const sx = rw / p.width;
  const sy = rh / p.height;
  const distortion = Math.max(sx, sy) / Math.min(sx, sy) - 1;
  const [cols] = p.grid;
  return p.boxes.map((box, i) => {
    const c = i % cols;
    const row = Math.floor(i / cols);
    const canvasBox = [Math.min(c * size, rw), Math.min(row * size, rh), Math.min((c + 1) * size, rw), Math.min((row + 1) * size, rh)];
    const fill = ((canvasBox[2] - canvasBox[0]) * (canvasBox[3] - canvasBox[1])) / (size * size);
    let kind = "full";
    if (fill < 1) kind = "padding";
    else if (distortion > 0.02) kind = "stretched";
    return { index: i + 1, box, canvasBox, fill, scaleX: sx, scaleY: sy, distortion, upscaled: sx > 1 || sy > 1, kind };
  });
}

/** USD for `tokens` image tokens at `perMillion` USD per million tokens (null: unknown). */
export function imageCost(tokens, perMillion) {
  if (perMillion === null || perMillion === undefined || !Number.isFinite(perMillion)) return null;
  return (tokens * perMillion) / 1_000_000;
}

function smallestScaleFor(crop, target) {
  // Smallest scale whose framed size reaches `target` on both axes (capped at 1).
  const cw = crop[2] - crop[0];
  const ch = crop[3] - crop[1];
  return Math.min(1, Math.max(target[0] / cw, target[1] / ch));
}

/**
 * The cheapest plan that keeps at least the detail the model sees now.
 *
 * "Detail" is visibleSize() of the current framing. Candidates: the current scale
 * and the smallest scales that still frame that many pixels (plus a few pixel
 * steps above, since rounding can shift the aspect grid), each at detail high and
 * low. Among those that keep the detail, the fewest tokens win, then the fewest
 * uploaded pixels. Returns {scale, detail, framed, plan, visible, savedTokens,
 * savedPixels, current} where `current` is true if nothing cheaper or smaller exists.
 */
export function cheapestPlan(crop, scale, { rule = null, detail = "high", rules = RULES } = {}) {
  const now = planForCrop(crop, scale, { rule, detail, rules });
  const keep = visibleSize(now.plan);
  const scales = new Set([scale]);
  const base = smallestScaleFor(crop, keep);
  const longSide = Math.max(crop[2] - crop[0], crop[3] - crop[1]);
  for (let step = 0; step < 4; step++) {
    const s = Math.min(1, base + step / longSide);
    if (s > 0 && s <= scale) scales.add(s);
  }
  const details = detail === "low" ? ["low", "high"] : [detail, "low"];
  let best = null;
  for (const s of scales) {
    for (const d of details) {
      const cand = planForCrop(crop, s, { rule, detail: d, rules });
      const vis = visibleSize(cand.plan);
      if (vis[0] < keep[0] || vis[1] < keep[1]) continue;
      const pixels = cand.framed[0] * cand.framed[1];
      if (
        best === null ||
        cand.plan.tokens < best.plan.tokens ||
        (cand.plan.tokens === best.plan.tokens && pixels < best.pixels)
      ) {
        best = { ...cand, detail: d, pixels, visible: vis };
      }
    }
  }
  const nowPixels = now.framed[0] * now.framed[1];
  return {
    scale: best.scale,
    detail: best.detail,
    framed: best.framed,
    plan: best.plan,
    visible: best.visible,
    savedTokens: now.plan.tokens - best.plan.tokens,
    savedPixels: nowPixels - best.pixels,
    current: best.plan.tokens === now.plan.tokens && best.pixels === nowPixels,
  };
}

/**
 * Token count along the scale slider: [{scale, tokens}] at each position where the
 * count changes (the first position included), for positions min..1 by `step`.
 */
export function tokenSteps(crop, { rule = null, detail = "high", rules = RULES, min = 0.01, step = 0.005 } = {}) {
  const out = [];
  const n = Math.round((1 - min) / step);
  let last = null;
  for (let i = 0; i <= n; i++) {
    const s = i === n ? 1 : Math.round((min + i * step) * 1e6) / 1e6;
    const tokens = planForCrop(crop, s, { rule, detail, rules }).plan.tokens;
    if (tokens !== last) out.push({ scale: s, tokens });
    last = tokens;
  }
  return out;
}

export const HANDLES = Object.freeze(["move", "n", "s", "e", "w", "ne", "nw", "se", "sw"]);

/**
 * The crop after dragging `handle` by (dx, dy) original pixels from `start`.
 * "move" translates (kept inside the image, size unchanged); edge and corner
 * handles move those edges, clamped to the image and to at least `minSize` px.
 */
export function dragCrop(start, handle, dx, dy, width, height, minSize = 1) {
  if (!HANDLES.includes(handle)) throw new TileError(`unknown crop handle ${pyRepr(handle)}`, "config");
  let [x0, y0, x1, y1] = start;
  dx = Math.round(dx);
  dy = Math.round(dy);
  const minW = Math.min(Math.max(1, Math.round(minSize)), width);
  const minH = Math.min(Math.max(1, Math.round(minSize)), height);
  if (handle === "move") {
    const w = x1 - x0;
    const h = y1 - y0;
    x0 = Math.min(Math.max(x0 + dx, 0), width - w);
    y0 = Math.min(Math.max(y0 + dy, 0), height - h);
    return [x0, y0, x0 + w, y0 + h];
  }
  if (handle.includes("w")) x0 = Math.min(Math.max(x0 + dx, 0), x1 - minW);
  if (handle.includes("e")) x1 = Math.max(Math.min(x1 + dx, width), x0 + minW);
  if (handle.includes("n")) y0 = Math.min(Math.max(y0 + dy, 0), y1 - minH);
  if (handle.includes("s")) y1 = Math.max(Math.min(y1 + dy, height), y0 + minH);
  return [x0, y0, x1, y1];
}

const ARROWS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };

/**
 * Keyboard crop editing: arrows move the crop; with Shift they resize it (the right
 * and bottom edges). The step is 1 % of the image side, or 1 px with Alt.
 * Returns the new crop, or null when the key is not a crop key.
 */
export function keyCrop(crop, key, { shiftKey = false, altKey = false } = {}, width, height) {
  const dir = ARROWS[key];
  if (!dir) return null;
  const stepX = altKey ? 1 : Math.max(1, Math.round(width / 100));
  const stepY = altKey ? 1 : Math.max(1, Math.round(height / 100));
  const dx = dir[0] * stepX;
  const dy = dir[1] * stepY;
  const handle = shiftKey ? (dx !== 0 ? "e" : "s") : "move";
  return dragCrop(crop, handle, dx, dy, width, height);
}

/** A point in the displayed image (CSS px from its top-left) to original pixels. */
export function viewToImage(px, py, viewWidth, viewHeight, width, height) {
  const x = Math.round((px * width) / viewWidth);
  const y = Math.round((py * height) / viewHeight);
  return [Math.min(Math.max(x, 0), width), Math.min(Math.max(y, 0), height)];
}
