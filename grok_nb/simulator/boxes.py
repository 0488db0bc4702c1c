"""The simulator's answer to a box request: the solid-colour regions it can measure.

A request whose ``response_format`` names grok_nb's box schema (``grok_nb_boxes``) is
answered with real boxes, measured on the image the simulator received: each distinct
solid colour other than the background, split into separate blobs, boxed, and
normalised to 0–1000 over the received image (integers, as a model would give them).
So a test can check the whole path — resize, crop, scale, EXIF, the mapping back —
against rectangles it drew itself. Every box's note says it was measured, not seen.

Edges are measured below the pixel: across each edge, the received pixels are read as
a blend between the region's colour and the colour just outside, and the edge sits
where the blend's total says (for a step resampled by any normalised filter, the sum
of the blend weights over a window equals the distance from the edge to the window's
end). A resized image therefore still gives its regions' edges to a small fraction of
a received pixel.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import re
from typing import Any

from grok_nb.simulator.describe import colour_name
from grok_nb.simulator.validate import ChatInput

__all__ = ["SCHEMA_NAME", "box_answer", "find_regions", "is_box_request"]

SCHEMA_NAME = "grok_nb_boxes"  # grok_nb.grounding.SCHEMA_NAME, as it arrives on the wire
NORMALISED = 1000
TOLERANCE = 24  # per channel: a pixel this close to a region's colour belongs to it
WINDOW = 6  # received pixels either side of an edge read as the blend across it
MIN_SIDE = 6  # smaller blobs are edge blends or noise, not regions
MAX_BOXES = 24
_DATA_URL = re.compile(r"^data:[^;,]*;base64,(.*)$", re.DOTALL)


def is_box_request(response_format: dict[str, Any] | None) -> bool:
    fmt = response_format or {}
    spec = fmt.get("json_schema") if fmt.get("type") == "json_schema" else None
    return isinstance(spec, dict) and spec.get("name") == SCHEMA_NAME


def _pixels(url: str) -> Any:
    import numpy as np
    from PIL import Image

    m = _DATA_URL.match(url)
    if m is None:
        return None
    try:
        img = Image.open(io.BytesIO(base64.b64decode(m.group(1))))
        return np.asarray(img.convert("RGB"), dtype=np.float64)
    except (binascii.Error, OSError, ValueError):
        return None  # validated already; a URL the simulator cannot read gives no boxes


def _background(a: Any) -> Any:
    import numpy as np

    border = np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]]).astype(np.int64)
    keys = (border[:, 0] << 16) | (border[:, 1] << 8) | border[:, 2]
    values, counts = np.unique(keys, return_counts=True)
    k = int(values[counts.argmax()])
    return np.array([k >> 16, (k >> 8) & 255, k & 255], dtype=np.float64)


def _candidates(a: Any, background: Any) -> list[Any]:
    """Representative colours of the coarse colour bins big enough to be regions."""
    import numpy as np

    q = (a.astype(np.int64) >> 4).reshape(-1, 3)
    keys = (q[:, 0] << 8) | (q[:, 1] << 4) | q[:, 2]
    _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    flat = a.reshape(-1, 3)
    out: list[Any] = []
    for i in np.argsort(-counts):
        if counts[i] < MIN_SIDE * MIN_SIDE or len(out) >= 4 * MAX_BOXES:
            break
        colour = np.median(flat[inverse == i], axis=0)
        if np.abs(colour - background).max() > TOLERANCE:
            out.append(colour)
    return out


def _runs(profile: Any) -> list[tuple[int, int]]:
    import numpy as np

    on = np.concatenate([[False], profile > 0, [False]])
    edges = np.flatnonzero(on[1:] != on[:-1])
    return [(int(s), int(e)) for s, e in zip(edges[::2], edges[1::2], strict=True)]


def _blobs(mask: Any, top: int = 0, left: int = 0, depth: int = 0) -> list[tuple[int, ...]]:
    """Bounding boxes (r0, c0, r1, c1) of the mask's parts, split by empty rows and
    columns (an XY cut): separate rectangles of one colour are separate blobs."""
    rows = _runs(mask.any(axis=1))
    cols = _runs(mask.any(axis=0))
    if (len(rows) == 1 and len(cols) == 1) or depth > 6:
        (r0, r1), (c0, c1) = rows[0], cols[0]
        return [(top + r0, left + c0, top + r1, left + c1)]
    out: list[tuple[int, ...]] = []
    for r0, r1 in rows:
        for c0, c1 in cols:
            sub = mask[r0:r1, c0:c1]
            if sub.any():
                out += _blobs(sub, top + r0, left + c0, depth + 1)
    return out


def _edge(line: Any, inside: Any, start: int, rising: bool) -> float:
    """Sub-pixel edge in ``line`` (pixels x 3) near index ``start``: the first pixel
    inside (``rising``) or the first pixel past the region."""
    import numpy as np

    n = len(line)
    a, b = max(0, start - WINDOW), min(n, start + WINDOW)
    if rising and start == 0:
        return 0.0
    if not rising and start >= n:
        return float(n)
    outside = line[a] if rising else line[b - 1]
    span = inside - outside
    denom = float(span @ span) or 1.0
    alpha = np.clip(((line[a:b] - outside) @ span) / denom, 0.0, 1.0)
    return float(b - alpha.sum()) if rising else float(a + alpha.sum())


def _measure(a: Any, colour: Any, blob: tuple[int, ...]) -> tuple[float, ...]:
    """(x0, y0, x1, y1) of a blob in received pixels, edges measured below the pixel."""
    r0, c0, r1, c1 = blob
    rows = a[r0 + (r1 - r0) // 4 : r1 - (r1 - r0) // 4 or r1]  # the middle half: no corners
    cols = a[:, c0 + (c1 - c0) // 4 : c1 - (c1 - c0) // 4 or c1]
    row = rows.mean(axis=0)
    col = cols.mean(axis=1)
    return (
        _edge(row, colour, c0, True),
        _edge(col, colour, r0, True),
        _edge(row, colour, c1, False),
        _edge(col, colour, r1, False),
    )


def find_regions(a: Any) -> list[dict[str, Any]]:
    """Solid-colour regions of an RGB array: colour, box in pixels, filled share."""
    import numpy as np

    background = _background(a)
    found: list[dict[str, Any]] = []
    for colour in _candidates(a, background):
        mask = np.abs(a - colour).max(axis=2) <= TOLERANCE
        for blob in _blobs(mask):
            r0, c0, r1, c1 = blob
            if min(r1 - r0, c1 - c0) < MIN_SIDE:
                continue
            fill = float(mask[r0:r1, c0:c1].mean())
            if fill < 0.3 or any(_overlap(blob, f["blob"]) > 0.5 for f in found):
                continue
            rgb = tuple(round(float(v)) for v in colour)
            box = _measure(a, colour, blob)
            found.append({"rgb": rgb, "blob": blob, "box": box, "fill": fill})
    found.sort(key=lambda f: (f["blob"][0], f["blob"][1]))
    return found[:MAX_BOXES]


def _overlap(p: tuple[int, ...], q: tuple[int, ...]) -> float:
    ih = max(0, min(p[2], q[2]) - max(p[0], q[0]))
    iw = max(0, min(p[3], q[3]) - max(p[1], q[1]))
    smaller = min((p[2] - p[0]) * (p[3] - p[1]), (q[2] - q[0]) * (q[3] - q[1])) or 1
    return ih * iw / smaller


def _label_for(name: str, allowed: list[str] | None) -> str | None:
    if not allowed:
        return name
    return next((lab for lab in allowed if name in re.split(r"\W+", lab.lower())), None)


def _allowed_labels(chat: ChatInput) -> list[str] | None:
    schema = (chat.response_format or {}).get("json_schema", {}).get("schema", {})
    try:
        label = schema["properties"]["boxes"]["items"]["properties"]["label"]
    except (KeyError, TypeError):
        return None
    enum = label.get("enum") if isinstance(label, dict) else None
    return [str(v) for v in enum] if isinstance(enum, list) else None


def box_answer(chat: ChatInput) -> str:
    """The JSON reply: one entry per measured region in the last message's images."""
    allowed = _allowed_labels(chat)
    mine = [img for img in chat.images if img.message == chat.last_user]
    entries = []
    for n, img in enumerate(mine, 1):
        a = _pixels(img.url)
        if a is None:
            continue
        h, w = a.shape[:2]
        for region in find_regions(a):
            name = colour_name(region["rgb"])
            label = _label_for(name, allowed)
            if label is None:
                continue
            sides = (w, h, w, h)
            entry: dict[str, Any] = {
                "label": label,
                "box": [round(v * NORMALISED / s) for v, s in zip(region["box"], sides)],  # noqa: B905
                "score": round(region["fill"], 3),
                "note": "grok_nb simulator: a solid {} region (#{:02x}{:02x}{:02x}), measured, "
                "not seen by a model".format(name, *region["rgb"]),
            }
            if len(mine) > 1:
                entry["image"] = n
            entries.append(entry)
    return json.dumps({"boxes": entries})
