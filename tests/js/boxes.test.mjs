// js/explorer_boxes.js: the boxes layer's arithmetic. Run: node --test tests/js/
import assert from "node:assert/strict";
import { test } from "node:test";

import { boxAt, boxPercent, describeBox, inkFor } from "../../grok_nb/notebook/js/explorer_boxes.js";

test("a box in original pixels becomes percentages of the stage", () => {
  assert.deepEqual(boxPercent([50, 100, 300, 250], [1000, 500]), {
    left: "5%",
    top: "20%",
    width: "25%",
    height: "30%",
  });
});

test("chip text is black on light colours and white on dark ones", () => {
  assert.equal(inkFor("#ffffff"), "#000000");
  assert.equal(inkFor("#ff7f0e"), "#000000");
  assert.equal(inkFor("#1f77b4"), "#ffffff");
  assert.equal(inkFor("#000000"), "#ffffff");
});

test("hover picks the smallest box under the pointer", () => {
  const boxes = [{ box: [0, 0, 100, 100] }, { box: [40, 40, 60, 60] }, { box: [200, 0, 300, 10] }];
  assert.equal(boxAt(boxes, 50, 50), 1);
  assert.equal(boxAt(boxes, 10, 10), 0);
  assert.equal(boxAt(boxes, 150, 50), -1);
});

test("a hovered box is described with its label, pixels, score and flags", () => {
  const text = describeBox({ label: "red", box: [1.25, 2, 30, 40.04], score: 0.5, flags: ["clipped to the image"], note: "" });
  assert.equal(text, "red · 1.3,2 → 30,40 px · score 0.50 · clipped to the image");
});
