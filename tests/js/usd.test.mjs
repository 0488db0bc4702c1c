// js/usd.js against the shared vectors (tests/data/usd_vectors.json, generated from
// grok_nb.pricing.format_usd). Run: node --test tests/js/
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { formatUsd } from "../../grok_nb/notebook/js/usd.js";

const { vectors: VECTORS } = JSON.parse(readFileSync(new URL("../data/usd_vectors.json", import.meta.url), "utf8"));
// JSON has no NaN or infinities: the generator writes them as strings Number() reads.
const valueOf = (v) => (typeof v.value === "string" ? Number(v.value) : v.value);

test("the vector file is substantial", () => {
  assert.ok(VECTORS.length >= 300, `${VECTORS.length} vectors`);
  const cases = new Set(VECTORS.map((v) => v.case));
  for (const must of ["special", "boundary", "tie", "tiny", "huge", "negative", "random double"]) {
    assert.ok(cases.has(must), must);
  }
  assert.ok(VECTORS.some((v) => Number.isNaN(valueOf(v))));
  assert.ok(VECTORS.some((v) => Object.is(valueOf(v), -0)));
});

test("every vector matches js/usd.js exactly", () => {
  const mismatches = VECTORS.filter((v) => formatUsd(valueOf(v)) !== v.text)
    .map((v) => `${v.value}: ${formatUsd(valueOf(v))} != ${v.text}`);
  assert.deepEqual(mismatches, []);
});

test("what is not a number has no price", () => {
  for (const v of [undefined, null, NaN, Infinity, -Infinity, "1.25"]) assert.equal(formatUsd(v), "price unknown");
});

test("the rule, by example", () => {
  assert.equal(formatUsd(0.0003584), "$0.000358");
  assert.equal(formatUsd(1.254), "$1.25");
  assert.equal(formatUsd(1234.5), "$1,234.50");
  assert.equal(formatUsd(0.9996), "$1.00");
  assert.equal(formatUsd(1.005), "$1.01"); // (1.005).toFixed(2) is "1.00"
  assert.equal(formatUsd(0.125), "$0.125");
  assert.equal(formatUsd(4e-7), "$0.0000004"); // String(4e-7) is "4e-7"
  assert.equal(formatUsd(-0.0012), "-$0.0012");
  assert.equal(formatUsd(9.99e-11), "< $0.0000000001");
});
