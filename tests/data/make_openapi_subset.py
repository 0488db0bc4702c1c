"""Cut tests/data/xai-openapi-subset.json out of xAI's full OpenAPI document.

The tests validate our request bodies and the simulator's replies against xAI's
published schemas. Vendoring only the part they use keeps the repository
self-contained (no sibling checkout of the full document) and small.

Run from the repository root with the full document as argument:

    python tests/data/make_openapi_subset.py path/to/xai-openapi.json [--taken YYYY-MM-DD]

The subset keeps the path items of the endpoints grok_nb talks to (and the
Responses API, which comes next), every schema reachable from them or from
``EXTRA_SCHEMAS`` through ``$ref`` (transitively, so every ``$ref`` in the output
resolves inside it), and the security schemes those paths name. Nothing else is
changed: schemas are copied verbatim. ``info["x-grok-nb-subset"]`` records where
the document came from, when it was taken and the SHA-256 of the full file.
tests/test_openapi.py checks that the committed subset is closed under ``$ref``
and is a fixed point of ``build_subset``.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).with_name("xai-openapi-subset.json")

PATHS = (
    "/v1/chat/completions",
    "/v1/models",
    "/v1/models/{model_id}",
    "/v1/language-models",
    "/v1/language-models/{model_id}",
    "/v1/responses",
    "/v1/responses/{response_id}",
)
# Schemas no path item names: the Chat Completions stream chunk (the document does
# not describe text/event-stream bodies) and the Responses request/response pair
# (reachable from /v1/responses anyway; listed so that dropping a path keeps them).
EXTRA_SCHEMAS = ("ChatResponseChunk", "ModelRequest", "ModelResponse")
SOURCE = (
    "xAI's published OpenAPI document (title \"xAI's REST API\"). The document names no "
    "URL of its own; the project's notes describe it as a public copy of the file served "
    "at https://api.x.ai/api-docs/openapi.json"
)
REF_PREFIX = "#/components/schemas/"


def _refs(node: Any) -> set[str]:
    """Names of the component schemas that ``node`` refers to directly."""
    found: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            ref = item.get("$ref")
            if isinstance(ref, str):
                if not ref.startswith(REF_PREFIX):
                    raise ValueError(f"unsupported $ref {ref!r}: only {REF_PREFIX}<name>")
                found.add(ref[len(REF_PREFIX) :])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _security_schemes(paths: dict[str, Any]) -> set[str]:
    names: set[str] = set()
    for item in paths.values():
        for operation in item.values():
            for requirement in operation.get("security", ()) if isinstance(operation, dict) else ():
                names.update(requirement)
    return names


def build_subset(doc: dict[str, Any], meta: dict[str, Any]) -> dict[str, Any]:
    """The subset of ``doc``; ``meta`` goes to ``info["x-grok-nb-subset"]``."""
    all_paths = doc["paths"]
    all_schemas = doc["components"]["schemas"]
    missing = [p for p in PATHS if p not in all_paths]
    missing += [s for s in EXTRA_SCHEMAS if s not in all_schemas]
    if missing:
        raise ValueError(f"the document lacks {', '.join(missing)}")
    paths = {p: copy.deepcopy(all_paths[p]) for p in PATHS}
    keep: set[str] = set()
    todo = _refs(paths) | set(EXTRA_SCHEMAS)
    while todo:
        name = todo.pop()
        if name in keep:
            continue
        if name not in all_schemas:
            raise ValueError(f"$ref to a schema the document does not define: {name}")
        keep.add(name)
        todo |= _refs(all_schemas[name]) - keep
    schemes = doc["components"].get("securitySchemes", {})
    info = {k: v for k, v in doc["info"].items() if k != "x-grok-nb-subset"}
    info["x-grok-nb-subset"] = meta
    components: dict[str, Any] = {"schemas": {n: all_schemas[n] for n in sorted(keep)}}
    used = sorted(_security_schemes(paths))
    if used:
        components["securitySchemes"] = {n: schemes[n] for n in used}
    return {"openapi": doc["openapi"], "info": info, "paths": paths, "components": components}


def dump(subset: dict[str, Any]) -> str:
    return json.dumps(subset, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("full", type=Path, help="xAI's full OpenAPI document (JSON)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument(
        "--taken", default=datetime.date.today().isoformat(), help="date the document was taken"
    )
    args = parser.parse_args(argv)
    raw = args.full.read_bytes()
    meta = {
        "source": SOURCE,
        "taken": args.taken,
        "full_document_sha256": hashlib.sha256(raw).hexdigest(),
        "paths": list(PATHS),
        "extra_schemas": list(EXTRA_SCHEMAS),
        "generator": "tests/data/make_openapi_subset.py",
    }
    subset = build_subset(json.loads(raw), meta)
    args.out.write_text(dump(subset), encoding="utf-8")
    kept = len(subset["components"]["schemas"])
    total = len(json.loads(raw)["components"]["schemas"])
    print(f"wrote {args.out}: {kept} of {total} schemas, {len(PATHS)} paths")
    return 0


if __name__ == "__main__":
    sys.exit(main())
