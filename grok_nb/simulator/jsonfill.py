"""A small, deterministic JSON document valid against a JSON schema.

Used for ``response_format`` json_schema answers: every property is filled (so the
caller sees its whole shape), strings read ``"simulated <field>"`` so nobody
mistakes them for a model's output, numbers sit at their lower bound.
"""

from __future__ import annotations

from typing import Any

__all__ = ["instance_for"]

_MAX_DEPTH = 12


def _resolve(ref: str, root: dict[str, Any]) -> dict[str, Any]:
    if not ref.startswith("#/"):
        return {}
    node: Any = root
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        node = node.get(part, {}) if isinstance(node, dict) else {}
    return node if isinstance(node, dict) else {}


def _number(schema: dict[str, Any], integer: bool) -> int | float:
    low = schema.get("minimum")
    ex_low = schema.get("exclusiveMinimum")
    high = schema.get("maximum")
    value: float = 0
    if low is not None:
        value = low
    if ex_low is not None and not isinstance(ex_low, bool):
        value = max(value, ex_low + (1 if integer else 0.5))
    if high is not None and value > high:
        value = high
    step = schema.get("multipleOf")
    if step:
        value = -(-value // step) * step
    return int(value) if integer else float(value)


def _string(schema: dict[str, Any], name: str) -> str:
    fmt = schema.get("format")
    examples = {
        "date": "2026-01-01",
        "date-time": "2026-01-01T00:00:00Z",
        "time": "00:00:00",
        "email": "simulator@example.com",
        "uri": "https://example.com/",
        "uuid": "00000000-0000-4000-8000-000000000000",
    }
    if fmt in examples:
        return examples[fmt]
    text = f"simulated {name}".strip()
    text = text.ljust(int(schema.get("minLength", 0)), ".")
    return text[: schema["maxLength"]] if "maxLength" in schema else text


def instance_for(
    schema: Any, root: dict[str, Any] | None = None, name: str = "value", depth: int = 0
) -> Any:
    """A value valid against ``schema`` (refs resolved against ``root``)."""
    if not isinstance(schema, dict) or depth > _MAX_DEPTH:
        return None
    root = root if root is not None else schema
    if "$ref" in schema:
        target = dict(_resolve(schema["$ref"], root))
        target.update({k: v for k, v in schema.items() if k != "$ref"})
        return instance_for(target, root, name, depth + 1)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if options:
            non_null = [o for o in options if not (isinstance(o, dict) and o.get("type") == "null")]
            return instance_for((non_null or options)[0], root, name, depth + 1)
    if "default" in schema:
        return schema["default"]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "string"
    if kind == "object":
        props = schema.get("properties") or {}
        return {k: instance_for(v, root, k, depth + 1) for k, v in props.items()}
    if kind == "array":
        items = schema.get("items")
        prefix = schema.get("prefixItems") or []
        values = [instance_for(p, root, name, depth + 1) for p in prefix]
        count = max(int(schema.get("minItems", 1)), len(values))
        if schema.get("maxItems") is not None:
            count = min(count, int(schema["maxItems"]))
        while len(values) < count and isinstance(items, dict):
            values.append(instance_for(items, root, name, depth + 1))
        return values[:count] if count >= len(prefix) else values
    if kind == "integer":
        return _number(schema, True)
    if kind == "number":
        return _number(schema, False)
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return _string(schema, name)
