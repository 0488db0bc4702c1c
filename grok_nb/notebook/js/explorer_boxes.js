// TileExplorer boxes layer: the `boxes` trait (label, box [x0, y0, x1, y1] in original
// pixels, colour, score, note, flags) drawn over the image, toggled by `show_boxes`,
// and described on hover. Loaded like explorer_draw.js, from source text in a trait.
//
// Styles are inline (the stylesheet is shared with other parts of the explorer): a
// border in the label's colour with a dark and a light hairline, so a box reads on any
// background, and the label on an opaque chip above it.
//
// The layer takes no pointer events (the crop rectangle keeps its drags); hover is
// found from the pointer's image position, the smallest box under it winning.

export function boxPercent(box, size) {
  // a box in original pixels as CSS percentages of the stage
  const [W, H] = size;
  const [x0, y0, x1, y1] = box;
  return {
    left: `${(x0 / W) * 100}%`,
    top: `${(y0 / H) * 100}%`,
    width: `${((x1 - x0) / W) * 100}%`,
    height: `${((y1 - y0) / H) * 100}%`,
  };
}

export function inkFor(hex) {
  // black or white text on a chip of this colour (the rule grok_nb.render uses)
  const n = parseInt(hex.slice(1), 16);
  const [r, g, b] = [(n >> 16) & 255, (n >> 8) & 255, n & 255];
  return 0.299 * r + 0.587 * g + 0.114 * b > 140 ? "#000000" : "#ffffff";
}

export function boxAt(boxes, x, y) {
  // index of the smallest box containing (x, y) in original pixels, or -1
  let best = -1;
  let area = Infinity;
  boxes.forEach((b, i) => {
    const [x0, y0, x1, y1] = b.box;
    const a = (x1 - x0) * (y1 - y0);
    if (x >= x0 && x <= x1 && y >= y0 && y <= y1 && a < area) {
      best = i;
      area = a;
    }
  });
  return best;
}

const round = (v) => Math.round(v * 10) / 10;

export function describeBox(b) {
  const [x0, y0, x1, y1] = b.box;
  const parts = [b.label, `${round(x0)},${round(y0)} → ${round(x1)},${round(y1)} px`];
  if (b.score !== null && b.score !== undefined) parts.push(`score ${b.score.toFixed(2)}`);
  if (b.flags && b.flags.length) parts.push(b.flags.join(", "));
  if (b.note) parts.push(b.note);
  return parts.join(" · ");
}

const LAYER = { position: "absolute", inset: "0", pointerEvents: "none" };
const BOX = {
  position: "absolute",
  boxSizing: "border-box",
  borderWidth: "2px",
  borderStyle: "solid",
  boxShadow: "0 0 0 1px rgba(0,0,0,0.55), inset 0 0 0 1px rgba(255,255,255,0.55)",
};
const CHIP = {
  position: "absolute",
  left: "-2px",
  bottom: "100%",
  padding: "0 3px",
  font: "bold 11px/15px sans-serif",
  whiteSpace: "nowrap",
  borderRadius: "2px 2px 0 0",
};

export function drawBoxes(view, h) {
  const boxes = view.model.get("boxes") || [];
  const show = view.model.get("show_boxes");
  view.boxesToggle.checked = show;
  view.boxesCount.textContent = `Boxes (${boxes.length})`;
  view.boxesControl.hidden = boxes.length === 0;
  view.boxesLayer.hidden = !show || boxes.length === 0;
  Object.assign(view.boxesLayer.style, LAYER);
  view.boxesLayer.replaceChildren();
  boxes.forEach((b, i) => {
    const chip = h("span", { class: "gt-box-label", text: b.label });
    Object.assign(chip.style, CHIP);
    if (b.box[1] / view.size[1] < 0.04) Object.assign(chip.style, { bottom: "auto", top: "0" });
    chip.style.background = b.colour;
    chip.style.color = inkFor(b.colour);
    const node = h("div", { class: "gt-box", "data-index": String(i), title: describeBox(b) }, chip);
    Object.assign(node.style, BOX, boxPercent(b.box, view.size));
    node.style.borderColor = b.colour;
    view.boxesLayer.append(node);
  });
  view.root.dataset.boxes = String(show ? boxes.length : 0);
  hover(view, view.hovered ?? -1);
}

export function hover(view, index) {
  const boxes = view.model.get("boxes") || [];
  const show = view.model.get("show_boxes") && boxes.length > 0;
  view.hovered = show && index >= 0 && index < boxes.length ? index : -1;
  for (const node of view.boxesLayer.children) {
    const on = Number(node.dataset.index) === view.hovered;
    node.classList.toggle("gt-hover", on);
    node.style.borderWidth = on ? "4px" : "2px";
    node.style.zIndex = on ? "1" : "";
  }
  view.boxInfo.textContent = view.hovered >= 0 ? describeBox(boxes[view.hovered]) : "";
  view.root.dataset.hoveredBox = String(view.hovered);
}

export function hoverAt(view, imageXY) {
  const boxes = view.model.get("boxes") || [];
  const index = view.model.get("show_boxes") ? boxAt(boxes, ...imageXY) : -1;
  if (index !== view.hovered) hover(view, index);
}
