"""Tile rules and ``TilePlan``: how an image is cut into 448 px tiles, and what it costs.

Pure arithmetic on (width, height). The same arithmetic lives in ``js/tiles.js``;
both are held to ``tests/data/tile_vectors.json``.

xAI documents 448x448 tiles, 256 tokens each, at most 6 tiles, plus one extra tile.
It does not document how an image is laid onto the grid, so rules are named and
pluggable (SPEC section 5):

- ``xai-guide`` (default): InternVL's dynamic tiling layout (the grid whose aspect
  ratio is closest to the image's), plus one extra tile always.
- ``internvl``: the same layout; a 1x1 grid gets no extra tile (InternVL adds its
  thumbnail only when there is more than one tile).
- ``ceil``: keep the aspect ratio, downscale until ceil(w/448) * ceil(h/448) <= 6.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

from grok_nb.errors import ConfigError, ImageError
from grok_nb.pricing import price_for
from grok_nb.render import OVERLAY_METADATA, plan_mimebundle

__all__ = [
    "ASPECT_CANDIDATES",
    "DEFAULT_RULE",
    "DETAILS",
    "RULES",
    "TilePlan",
    "TileRule",
    "get_rule",
    "plan",
    "register_rule",
    "worst_case_tokens",
]

Box = tuple[int, int, int, int]
Detail = Literal["auto", "low", "high"]
DETAILS: tuple[str, ...] = ("auto", "low", "high")
DEFAULT_RULE = "xai-guide"

# The candidate grids of InternVL's dynamic_preprocess (min_num=1, max_num=6), in the
# order its reference code visits them: a Python set of (cols, rows) sorted by
# cols*rows. The order inside one product comes from CPython's set iteration and
# matters only for tie-breaking, so it is written out here (and in js/tiles.js)
# rather than rebuilt; tests/test_tiles.py checks it against the reference code.
ASPECT_CANDIDATES: tuple[tuple[int, int], ...] = (
    (1, 1), (1, 2), (2, 1), (3, 1), (1, 3), (4, 1), (1, 4),
    (2, 2), (1, 5), (5, 1), (6, 1), (2, 3), (1, 6), (3, 2),
)  # fmt: skip


@dataclass(frozen=True)
class TileRule:
    """A named way to lay an image onto tiles and count its tokens."""

    name: str
    layout: Literal["aspect", "ceil"]
    extra_tile: Literal["always", "multi"]  # "multi": only when more than one tile
    description: str
    tile_size: int = 448
    tokens_per_tile: int = 256
    max_tiles: int = 6

    def to_dict(self) -> dict[str, Any]:
        """The rule as the front ends (explorer, chat) receive it, for ``js/tiles.js``."""
        return {
            "name": self.name,
            "layout": self.layout,
            "extra_tile": self.extra_tile,
            "description": self.description,
            "tile_size": self.tile_size,
            "tokens_per_tile": self.tokens_per_tile,
            "max_tiles": self.max_tiles,
        }

    def extra_for(self, tiles: int) -> int:
        if self.extra_tile == "always":
            return 1
        return 1 if tiles > 1 else 0


RULES: dict[str, TileRule] = {
    r.name: r
    for r in (
        TileRule(
            "xai-guide",
            "aspect",
            "always",
            "closest-aspect grid of <= 6 tiles (InternVL layout), plus one extra tile",
        ),
        TileRule(
            "internvl",
            "aspect",
            "multi",
            "closest-aspect grid of <= 6 tiles; extra tile only when more than one tile",
        ),
        TileRule(
            "ceil",
            "ceil",
            "always",
            "keep aspect, downscale until ceil(w/448)*ceil(h/448) <= 6, plus one extra tile",
        ),
    )
}


def register_rule(rule: TileRule) -> None:
    """Add or replace a rule (e.g. one learned by ``calibrate``)."""
    if rule.layout not in ("aspect", "ceil") or rule.extra_tile not in ("always", "multi"):
        raise ConfigError(f"tile rule {rule.name!r}: unknown layout or extra-tile policy")
    RULES[rule.name] = rule


def get_rule(rule: str | TileRule | None) -> TileRule:
    if isinstance(rule, TileRule):
        return rule
    name = rule or DEFAULT_RULE
    try:
        return RULES[name]
    except KeyError:
        known = ", ".join(sorted(RULES))
        raise ConfigError(f"unknown tile rule {name!r}; known rules: {known}") from None


@dataclass(frozen=True)
class TilePlan:
    """How one image is cut into tiles under one rule, and its token count.

    ``boxes`` are each tile's rectangle (left, top, right, bottom) in original-image
    pixels; together they cover the image exactly. ``resized`` is the canvas the
    model sees. ``assumption`` is set when the count rests on something xAI does not
    publish (``detail="low"`` or ``"auto"``).
    """

    width: int
    height: int
    rule: str
    detail: str
    grid: tuple[int, int]
    tiles: int
    extra_tiles: int
    tokens: int
    resized: tuple[int, int]
    boxes: tuple[Box, ...]
    assumption: str | None = None
    label: str | None = field(default=None, compare=False)
    # where the rule came from ("default", "%config", "explorer", "calibrated for ..."):
    # set by the entry point that chose it (grok_nb.rules), shown in every caption
    rule_source: str | None = field(default=None, compare=False)
    preview: Any = field(default=None, compare=False, repr=False)  # PIL image, for display

    @property
    def tile_size(self) -> int:
        found = RULES.get(self.rule)
        return found.tile_size if found is not None else 448

    @property
    def padded(self) -> bool:
        """True when the model sees a padded canvas (``ceil``) rather than a stretched one."""
        found = RULES.get(self.rule)
        return found is not None and found.layout == "ceil" and self.detail != "low"

    def cost_usd(self, model: str | None = None) -> float | None:
        """Estimated USD for this image's tokens with ``model`` (``None``: price unknown)."""
        price = price_for(model)
        return None if price is None else price.image_cost(self.tokens)

    def to_dict(self) -> dict[str, Any]:
        return {
            "width": self.width,
            "height": self.height,
            "rule": self.rule,
            "detail": self.detail,
            "grid": list(self.grid),
            "tiles": self.tiles,
            "extra_tiles": self.extra_tiles,
            "tokens": self.tokens,
            "resized": list(self.resized),
            "boxes": [list(b) for b in self.boxes],
            "assumption": self.assumption,
        }

    def with_preview(self, preview: Any, label: str | None = None) -> TilePlan:
        return replace(self, preview=preview, label=label)

    def __str__(self) -> str:
        cols, rows = self.grid
        extra = f" + {self.extra_tiles} extra" if self.extra_tiles else ""
        what = f"{self.label}: " if self.label else ""
        return (
            f"{what}{self.width}x{self.height} -> {cols}x{rows} grid, "
            f"{self.tiles} tile{'s' if self.tiles != 1 else ''}{extra}, "
            f"{self.tokens} tokens ({self.rule}, detail={self.detail})"
        )

    def _repr_mimebundle_(
        self, include: Any = None, exclude: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        return plan_mimebundle(self), OVERLAY_METADATA


def _check_size(width: object, height: object) -> tuple[int, int]:
    ok = all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in (width, height))
    if not ok:
        raise ImageError(f"{width}x{height} image", "width and height must be positive integers")
    return int(width), int(height)  # type: ignore[call-overload]


def _aspect_grid(width: int, height: int, rule: TileRule) -> tuple[int, int]:
    # InternVL's find_closest_aspect_ratio, in double precision as its reference code.
    aspect = width / height
    area = width * height
    best_diff = float("inf")
    best = (1, 1)
    size = rule.tile_size
    for cols, rows in ASPECT_CANDIDATES:
        if cols * rows > rule.max_tiles:
            continue
        diff = abs(aspect - cols / rows)
        if diff < best_diff:
            best_diff, best = diff, (cols, rows)
        elif diff == best_diff and area > 0.5 * size * size * cols * rows:
            best = (cols, rows)
    return best


def _ceil_canvas(width: int, height: int, rule: TileRule) -> tuple[int, int]:
    # Largest scale s <= 1 with ceil(w*s/T) * ceil(h*s/T) <= max_tiles, as exact
    # fractions: s = min(1, T*c/w, T*r/h) maximised over grids c*r <= max_tiles.
    size = rule.tile_size
    best_num, best_den = 0, 1
    for cols in range(1, rule.max_tiles + 1):
        rows = rule.max_tiles // cols
        num, den = 1, 1
        for n, d in ((size * cols, width), (size * rows, height)):
            if n * den < num * d:
                num, den = n, d
        if num * best_den > best_num * den:
            best_num, best_den = num, den
    return max(1, width * best_num // best_den), max(1, height * best_num // best_den)


def _edges(count: int, step: int, canvas: int, original: int) -> list[int]:
    """Tile boundaries on one axis, mapped from canvas pixels to original pixels."""
    return [min(k * step, canvas) * original // canvas for k in range(count + 1)]


def worst_case_tokens(rule: str | TileRule | None = None, detail: str | None = "high") -> int:
    """The most tokens one image can cost under ``rule`` at ``detail``: what an image
    that was not measured (a URL passed through) is estimated at."""
    r = get_rule(rule)
    if (detail or "high") == "low":
        return plan(r.tile_size, r.tile_size, r, "low").tokens
    return (r.max_tiles + r.extra_for(r.max_tiles)) * r.tokens_per_tile


def plan(
    width: int,
    height: int,
    rule: str | TileRule | None = None,
    detail: str | None = "high",
) -> TilePlan:
    """The tile plan for a ``width`` x ``height`` image."""
    width, height = _check_size(width, height)
    r = get_rule(rule)
    detail = detail or "high"
    if detail not in DETAILS:
        raise ConfigError(f"detail must be one of {', '.join(DETAILS)}, not {detail!r}")
    size = r.tile_size
    assumption = None
    if detail == "low":
        scale = min(1.0, size / width, size / height)
        resized = (max(1, int(width * scale)), max(1, int(height * scale)))
        grid = (1, 1)
        xs, ys = [0, width], [0, height]
        assumption = "detail=low: assumed one tile; xAI does not publish its cost"
    else:
        if detail == "auto":
            assumption = "detail=auto: assumed to cost the same as high"
        if r.layout == "aspect":
            grid = _aspect_grid(width, height, r)
            resized = (grid[0] * size, grid[1] * size)
        else:
            resized = _ceil_canvas(width, height, r)
            grid = (-(-resized[0] // size), -(-resized[1] // size))
        xs = _edges(grid[0], size, resized[0], width)
        ys = _edges(grid[1], size, resized[1], height)
    tiles = grid[0] * grid[1]
    extra = r.extra_for(tiles)
    boxes = tuple(
        (xs[c], ys[row], xs[c + 1], ys[row + 1]) for row in range(grid[1]) for c in range(grid[0])
    )
    return TilePlan(
        width=width,
        height=height,
        rule=r.name,
        detail=detail,
        grid=grid,
        tiles=tiles,
        extra_tiles=extra,
        tokens=(tiles + extra) * r.tokens_per_tile,
        resized=resized,
        boxes=boxes,
        assumption=assumption,
    )
