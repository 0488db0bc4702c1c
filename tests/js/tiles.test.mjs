// js/tiles.js against the shared vectors (tests/data/tile_vectors.json, generated
// from grok_nb.tiling), plus the explorer's interaction math. Run: node --test tests/js/
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import {
  ASPECT_CANDIDATES,
  DETAILS,
  RULES,
  TileError,
  cheapestPlan,
  clampCrop,
  dragCrop,
  framedSize,
  getRule,
  idiv,
  imageCost,
  keyCrop,
  plan,
  planForCrop,
  tileInfo,
  tokenSteps,
  viewToImage,
  visibleSize,
} from "../../grok_nb/notebook/js/tiles.js";

const VECTORS = JSON.parse(readFileSync(new URL("../data/tile_vectors.json", import.meta.url), "utf8"));

test("the vector file is substantial", () => {
  const sizes = new Set(VECTORS.vectors.map((v) => `${v.width}x${v.height}`));
  assert.ok(sizes.size >= 200, `${sizes.size} sizes`);
  for (const must of ["1x1", "448x448", "449x449", "447x448", "100000x1", "1x100000"]) {
    assert.ok(sizes.has(must), must);
  }
});

test("every vector matches js/tiles.js exactly", () => {
  let n = 0;
  for (const v of VECTORS.vectors) {
    const got = plan(v.width, v.height, { rule: v.rule, detail: v.detail });
    assert.deepEqual(got, v.plan, `${v.width}x${v.height} ${v.rule} ${v.detail} (${v.case})`);
    n++;
  }
  assert.equal(n, VECTORS.vectors.length);
});

test("error vectors give the same class and message as Python", () => {
  for (const e of VECTORS.errors) {
    assert.throws(
      () => plan(e.width, e.height, { rule: e.rule ?? null, detail: e.detail ?? "high" }),
      (err) => err instanceof TileError && err.name === e.error && err.message === e.message,
      JSON.stringify(e),
    );
  }
});

test("other bad sizes are refused", () => {
  for (const [w, h] of [[true, 10], [null, 10], [undefined, 3], [NaN, 2], [Infinity, 5], [2 ** 53, 1]]) {
    assert.throws(() => plan(w, h), TileError);
  }
});

test("constants mirror the Python module", () => {
  assert.deepEqual(ASPECT_CANDIDATES.map((c) => [...c]), VECTORS.aspect_candidates);
  assert.deepEqual([...DETAILS], VECTORS.details);
  for (const [name, r] of Object.entries(VECTORS.rules)) {
    const js = RULES[name];
    for (const key of Object.keys(r)) assert.equal(js[key], r[key], `${name}.${key}`);
  }
  assert.deepEqual(Object.keys(RULES).sort(), Object.keys(VECTORS.rules).sort());
  assert.equal(getRule(null).name, "xai-guide");
  assert.equal(getRule("").name, "xai-guide");
});

test("a rule object from Python (e.g. calibrated) plans like a built-in", () => {
  const custom = { name: "mine", layout: "ceil", extra_tile: "multi", max_tiles: 4 };
  const p = plan(2000, 1000, { rule: custom });
  assert.equal(p.rule, "mine");
  assert.ok(p.tiles <= 4);
  assert.equal(p.tokens, (p.tiles + (p.tiles > 1 ? 1 : 0)) * 256);
  assert.throws(() => plan(10, 10, { rule: { name: "bad", layout: "zig", extra_tile: "always" } }), TileError);
});

test("idiv is exact floor division", () => {
  assert.equal(idiv(7, 2), 3);
  assert.equal(idiv(8, 2), 4);
  assert.equal(idiv(0, 5), 0);
  // a quotient just below an integer, where a double division would round up
  const b = 2 ** 26 + 1;
  const a = 2 ** 26 * b - 1;
  assert.equal(idiv(a, b), 2 ** 26 - 1);
  for (let i = 0; i < 2000; i++) {
    const x = Math.floor(Math.random() * 2 ** 40);
    const y = 1 + Math.floor(Math.random() * 3000);
    assert.equal(idiv(x, y), Number(BigInt(x) / BigInt(y)));
  }
});

// --- interaction math ---------------------------------------------------------------

test("framedSize rounds half up and never goes below 1 px", () => {
  assert.deepEqual(framedSize([0, 0, 4000, 3000], 1), [4000, 3000]);
  assert.deepEqual(framedSize([0, 0, 4000, 3000], 0.5), [2000, 1500]);
  assert.deepEqual(framedSize([10, 20, 15, 23], 0.5), [3, 2]); // 2.5 -> 3, 1.5 -> 2
  assert.deepEqual(framedSize([0, 0, 3, 3], 0.01), [1, 1]);
  for (const bad of [0, -0.1, 1.01, NaN, Infinity, "0.5"]) {
    assert.throws(() => framedSize([0, 0, 10, 10], bad), TileError);
  }
});

test("framing vectors match grok_nb.explorer.framed_size", () => {
  assert.ok(VECTORS.framing.length > 100);
  for (const f of VECTORS.framing) {
    assert.deepEqual(framedSize(f.crop, f.scale), f.framed, JSON.stringify(f));
  }
});

test("planForCrop plans the framed image", () => {
  const r = planForCrop([100, 100, 1100, 600], 0.5, { rule: "ceil" });
  assert.deepEqual(r.framed, [500, 250]);
  assert.deepEqual(r.plan, plan(500, 250, { rule: "ceil" }));
});

test("clampCrop keeps an integer crop inside the image", () => {
  assert.deepEqual(clampCrop([-10, -5, 50.4, 60.6], 40, 100), [0, 0, 40, 61]);
  assert.deepEqual(clampCrop([30, 30, 10, 10], 100, 100), [10, 10, 30, 30]);
  assert.deepEqual(clampCrop([100, 100, 100, 100], 100, 100), [99, 99, 100, 100]);
  assert.throws(() => clampCrop([0, 0, 1], 10, 10), TileError);
  assert.throws(() => clampCrop([0, 0, 1, NaN], 10, 10), TileError);
});

test("dragCrop moves, resizes and clamps", () => {
  const W = 1000;
  const H = 800;
  const c = [100, 100, 500, 400];
  assert.deepEqual(dragCrop(c, "move", 50, -20, W, H), [150, 80, 550, 380]);
  assert.deepEqual(dragCrop(c, "move", 900, 900, W, H), [600, 500, 1000, 800]); // size kept
  assert.deepEqual(dragCrop(c, "move", -900, -900, W, H), [0, 0, 400, 300]);
  assert.deepEqual(dragCrop(c, "se", 100, 50, W, H), [100, 100, 600, 450]);
  assert.deepEqual(dragCrop(c, "nw", -200, -200, W, H), [0, 0, 500, 400]);
  assert.deepEqual(dragCrop(c, "e", -1000, 0, W, H, 10), [100, 100, 110, 400]); // min size
  assert.deepEqual(dragCrop(c, "n", 0, 1000, W, H, 10), [100, 390, 500, 400]);
  assert.deepEqual(dragCrop(c, "w", 7.6, 0, W, H), [108, 100, 500, 400]); // rounded
  assert.deepEqual(dragCrop(c, "s", 0, 10000, W, H), [100, 100, 500, 800]);
  assert.throws(() => dragCrop(c, "x", 0, 0, W, H), TileError);
});

test("keyCrop: arrows move by 1 % (Alt: 1 px), Shift resizes", () => {
  const c = [100, 100, 500, 400];
  assert.deepEqual(keyCrop(c, "ArrowRight", {}, 1000, 800), [110, 100, 510, 400]);
  assert.deepEqual(keyCrop(c, "ArrowUp", {}, 1000, 800), [100, 92, 500, 392]);
  assert.deepEqual(keyCrop(c, "ArrowLeft", { altKey: true }, 1000, 800), [99, 100, 499, 400]);
  assert.deepEqual(keyCrop(c, "ArrowRight", { shiftKey: true }, 1000, 800), [100, 100, 510, 400]);
  assert.deepEqual(keyCrop(c, "ArrowUp", { shiftKey: true }, 1000, 800), [100, 100, 500, 392]);
  assert.equal(keyCrop(c, "Enter", {}, 1000, 800), null);
  // tiny images still move by at least 1 px
  assert.deepEqual(keyCrop([0, 0, 5, 5], "ArrowDown", {}, 10, 10), [0, 1, 5, 6]);
});

test("viewToImage maps display pixels to original pixels", () => {
  assert.deepEqual(viewToImage(0, 0, 500, 400, 4000, 3200), [0, 0]);
  assert.deepEqual(viewToImage(250, 100, 500, 400, 4000, 3200), [2000, 800]);
  assert.deepEqual(viewToImage(600, -5, 500, 400, 4000, 3200), [4000, 0]);
});

test("tileInfo: stretched aspect tiles, padded ceil and low tiles", () => {
  // 1000x800 under xai-guide: 3x2 grid, canvas 1344x896, stretched (1.344 vs 1.12)
  const a = tileInfo(plan(1000, 800));
  assert.equal(a.length, 6);
  assert.ok(a.every((t) => t.kind === "stretched" && t.fill === 1 && t.upscaled));
  assert.deepEqual(a[5].canvasBox, [896, 448, 1344, 896]);
  assert.deepEqual(a.map((t) => t.index), [1, 2, 3, 4, 5, 6]);
  // 896x896 exactly: 2x2, no stretch, no padding
  assert.ok(tileInfo(plan(896, 896)).every((t) => t.kind === "full" && !t.upscaled));
  // ceil 1000x500 -> canvas 1000x500, grid 3x2; last column and row are partial
  const c = tileInfo(plan(1000, 500, { rule: "ceil" }));
  assert.deepEqual(c[0].canvasBox, [0, 0, 448, 448]);
  assert.equal(c[0].kind, "full");
  assert.equal(c[0].fill, 1);
  const last = c[c.length - 1];
  assert.deepEqual(last.canvasBox, [896, 448, 1000, 500]);
  assert.equal(last.kind, "padding");
  assert.ok(Math.abs(last.fill - (104 * 52) / (448 * 448)) < 1e-12);
  // low detail: one tile, fitted into 448x448 and padded
  const low = tileInfo(plan(800, 400, { detail: "low" }));
  assert.equal(low.length, 1);
  assert.equal(low[0].kind, "padding");
  assert.equal(low[0].fill, 0.5);
});

test("visibleSize caps the framed size by the model's canvas", () => {
  assert.deepEqual(visibleSize(plan(4000, 3000)), [1344, 896]);
  assert.deepEqual(visibleSize(plan(500, 300)), [500, 300]);
  assert.deepEqual(visibleSize(plan(4000, 3000, { detail: "low" })), [448, 336]);
});

test("imageCost", () => {
  // same operations as ModelPrice.image_cost in Python: tokens * rate / 1e6
  assert.equal(imageCost(1792, 0.2), (1792 * 0.2) / 1_000_000);
  assert.ok(Math.abs(imageCost(1792, 0.2) - 0.0003584) < 1e-15);
  assert.equal(imageCost(1000, null), null);
});

test("cheapestPlan: same detail for fewer pixels on a large photo", () => {
  const h = cheapestPlan([0, 0, 4000, 3000], 1);
  assert.equal(h.detail, "high");
  assert.equal(h.savedTokens, 0);
  assert.ok(h.savedPixels > 0);
  assert.deepEqual(h.framed, [1344, 1008]);
  assert.deepEqual(h.visible, [1344, 896]);
  assert.equal(h.current, false);
});

test("cheapestPlan: a small crop that fits one tile is cheaper at detail=low", () => {
  // 400x300 under xai-guide: 3x2 grid (1792 tokens) upscaled; low keeps all 400x300 px
  const h = cheapestPlan([0, 0, 400, 300], 1);
  assert.equal(h.detail, "low");
  assert.equal(h.plan.tokens, 512);
  assert.equal(h.savedTokens, 1792 - 512);
  assert.deepEqual(h.visible, [400, 300]);
});

test("cheapestPlan never loses detail and is never dearer than now", () => {
  let rng = 7;
  const rand = () => ((rng = (rng * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let i = 0; i < 300; i++) {
    const w = 1 + Math.floor(rand() * 6000);
    const h = 1 + Math.floor(rand() * 6000);
    const scale = Math.max(0.01, Math.round(rand() * 1000) / 1000);
    const rule = ["xai-guide", "internvl", "ceil"][i % 3];
    const detail = ["high", "low", "auto"][Math.floor(i / 3) % 3];
    const crop = [0, 0, w, h];
    const now = planForCrop(crop, scale, { rule, detail });
    const best = cheapestPlan(crop, scale, { rule, detail });
    const keep = visibleSize(now.plan);
    assert.ok(best.visible[0] >= keep[0] && best.visible[1] >= keep[1], `${w}x${h}@${scale}`);
    assert.ok(best.plan.tokens <= now.plan.tokens);
    assert.ok(best.scale <= scale);
    assert.deepEqual(best.plan, planForCrop(crop, best.scale, { rule, detail: best.detail }).plan);
  }
});

test("tokenSteps lists where the token count changes along the slider", () => {
  const steps = tokenSteps([0, 0, 4000, 3000], { rule: "ceil" });
  assert.equal(steps[0].scale, 0.01);
  for (let i = 1; i < steps.length; i++) assert.notEqual(steps[i].tokens, steps[i - 1].tokens);
  for (const s of steps) {
    assert.equal(s.tokens, planForCrop([0, 0, 4000, 3000], s.scale, { rule: "ceil" }).plan.tokens);
  }
  assert.equal(steps.at(-1).tokens, 1792);
  // xai-guide on a 4:3 photo: the grid depends on the aspect only, so one step
  assert.equal(tokenSteps([0, 0, 4000, 3000]).length, 1);
});
