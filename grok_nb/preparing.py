"""The images of one call: every source -> ``PreparedImage`` under the rule in force.

A source may carry its own name, rule and detail (``Labelled``; an explorer gives its
framing through ``_grok_source_()``). Preparations are remembered in this kernel by the
source's content fingerprint, and on disk beside the response cache, so a re-run or a
fresh kernel replaying cached answers prepares nothing again.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import grok_nb.images as images
from grok_nb.boxes import Frame
from grok_nb.cache.paths import prepared_store_path
from grok_nb.cache.prepared import PreparedStore
from grok_nb.errors import ConfigError
from grok_nb.images import PreparedImage
from grok_nb.images.fingerprint import fingerprint
from grok_nb.images.sources import IMAGE_SUFFIXES, describe_source, looks_like_image
from grok_nb.rules import RuleChoice, rule_in_force

__all__ = [
    "Labelled",
    "Text",
    "as_source",
    "batch_item",
    "item_label",
    "prepare_parts",
    "prepare_sources",
    "prepared_store",
    "prompt_parts",
]


@dataclass(frozen=True)
class Labelled:
    """A source with the name the user gave it (the magic's token, e.g. ``fig``), and
    the rule and detail it carries (an explorer's framing sends what it shows).
    ``transform`` says where ``source`` sits in a larger original (an explorer's crop
    and scale), so boxes found in it can be mapped back (``grok_nb.grounding``)."""

    source: Any
    label: str | None = None
    rule: str | None = None
    detail: str | None = None
    transform: Frame | None = None


def _frames(obj: Any) -> bool:
    return callable(getattr(obj, "_grok_source_", None)) and not isinstance(obj, type)


def as_source(item: Any) -> Labelled:
    """Any image argument as a ``Labelled``. Objects that frame an image themselves
    (``TileExplorer``) give their framing, rule and detail through ``_grok_source_()``."""
    name = None
    if isinstance(item, Labelled):
        if not _frames(item.source):
            return item
        name, item = item.label, item.source
    if not _frames(item):
        return Labelled(item)
    framed = item._grok_source_()
    if not isinstance(framed, Labelled):
        raise ConfigError(f"{type(item).__name__}._grok_source_() must return a Labelled")
    return replace(framed, label=f"{name} (framed)") if name else framed


MEMO_SIZE = 64  # prepared images remembered per kernel, by source fingerprint
_memo: OrderedDict[tuple[Any, ...], PreparedImage] = OrderedDict()
_lock = threading.Lock()  # ask_many plans items on worker threads


def _prepare_one(
    item: Labelled, opts: dict[str, Any], choice: RuleChoice, detail: str
) -> list[PreparedImage]:
    """Prepare one source (a glob may give several) under ``choice``, reusing an earlier
    preparation: from this kernel's memory, else from the on-disk store beside the cache."""
    source, label = item.source, item.label
    settings = (choice.name, detail, opts["resize"], opts["fetch_urls"], label)
    fp = fingerprint(source)
    key = (fp, *settings)
    store = prepared_store(opts) if fp is not None else None
    store_key = hashlib.sha256(repr(key).encode()).hexdigest()
    with _lock:
        found = _memo.get(key) if fp is not None else None
    if found is None and store is not None:
        found = store.get(store_key)
    if found is not None:
        _remember(key, found)
        return [_with_rule_source(found, choice)]
    kwargs = dict(rule=choice.name, detail=detail, resize=opts["resize"])
    kwargs["fetch_urls"] = opts["fetch_urls"]
    if label is None:
        prepared = images.prepare_many([source], **kwargs)
    else:
        prepared = [images.prepare(source, label=label, **kwargs)]
    if fp is not None and len(prepared) == 1:
        _remember(key, prepared[0])
        if store is not None:
            store.put(store_key, prepared[0])
    return [_with_rule_source(p, choice) for p in prepared]


def _with_rule_source(prepared: PreparedImage, choice: RuleChoice) -> PreparedImage:
    if prepared.plan is None:
        return prepared
    return replace(prepared, plan=replace(prepared.plan, rule_source=choice.where))


def _remember(key: tuple[Any, ...], prepared: PreparedImage) -> None:
    with _lock:
        _memo[key] = prepared
        _memo.move_to_end(key)
        while len(_memo) > MEMO_SIZE:
            _memo.popitem(last=False)


_stores: dict[str, PreparedStore] = {}


def prepared_store(opts: dict[str, Any]) -> PreparedStore | None:
    """The prepared-image store paired with the cache file (none when caching is off)."""
    if opts["cache"] == "off":
        return None
    path = prepared_store_path(opts["cache_path"])
    with _lock:
        if str(path) not in _stores:
            _stores[str(path)] = PreparedStore(path)
        return _stores[str(path)]


def prepare_sources(
    images: Sequence[Any],
    opts: dict[str, Any],
    endpoint: str,
    overrides: dict[str, Any],
) -> list[PreparedImage]:
    """Prepare every source, each under the rule in force for it (an explicit rule or
    detail beats an explorer's own); already-prepared images pass through; order kept."""
    out: list[PreparedImage] = []
    for item in images:
        if isinstance(item, PreparedImage):
            out.append(item)
            continue
        source = as_source(item)
        choice = rule_in_force(
            model=opts["model"],
            endpoint=endpoint,
            explicit=overrides.get("tile_rule"),
            explorer=source.rule,
        )
        detail = overrides.get("detail") or source.detail or opts["detail"]
        out += _prepare_one(source, opts, choice, detail)
    return out


class Text(str):
    """Literal prompt text: never taken for an image reference (the magic's cell text)."""


def _is_image_reference(text: str) -> bool:
    """A string part of ``ask([...])`` that names an image: an http(s) or data URL, or an
    existing file with an image extension. Anything else is text."""
    if isinstance(text, Text) or not text or any(c.isspace() for c in text):
        return False
    if text.startswith(("http://", "https://", "data:image/")):
        return True
    return text.lower().endswith(IMAGE_SUFFIXES) and Path(text).expanduser().is_file()


def prompt_parts(prompt: str | Sequence[Any], images: Sequence[Any]) -> list[Any]:
    """The user message's parts in order: ``images`` (each an image, as ``ask(prompt,
    *images)`` always took them), then the prompt — a string, or a list of text and
    images that interleave exactly as written (``ask(["First:", a, "then:", b])``)."""
    if isinstance(prompt, str):
        return [*images, Text(prompt)]
    parts: list[Any] = list(images)
    for part in prompt:
        if isinstance(part, str) and not _is_image_reference(part):
            parts.append(Text(part))
        elif isinstance(part, str) or looks_like_image(part) or isinstance(part, Labelled):
            parts.append(part)
        else:
            raise ConfigError(
                f"prompt part {type(part).__name__}: not text and not an image grok_nb can "
                "send (text, a path, a URL, a PIL image, an array, a figure, an explorer)"
            )
    return parts


def prepare_parts(
    parts: Sequence[Any], opts: dict[str, Any], endpoint: str, overrides: dict[str, Any]
) -> list[Any]:
    """Text parts as they are, every other part prepared in place (a glob may give several)."""
    out: list[Any] = []
    for part in parts:
        out += (
            [str(part)]
            if isinstance(part, Text)
            else prepare_sources([part], opts, endpoint, overrides)
        )
    return out


def batch_item(item: Any, prompt: Any, caller: str) -> tuple[Any, Any]:
    """One item of a batch (``ask_many``, ``submit_batch``) as (image or None, prompt): an
    image, an (image, prompt) pair, or a list of text and images that is the whole prompt."""
    if isinstance(item, list):
        return None, item
    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], str):
        return item[0], item[1]
    if prompt is None:
        raise ConfigError(f"{caller}: give a prompt, or items as (image, prompt) pairs")
    return item, prompt


def item_label(image: Any) -> str:
    """A batch item's name in results and frames."""
    if image is None:
        return "prompt with its images"
    try:
        return describe_source(image)
    except Exception:  # a label is a courtesy; never fail a batch over it
        return type(image).__name__
