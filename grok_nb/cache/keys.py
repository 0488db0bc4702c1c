"""The cache key: a hash of the canonical form of a request (Chat or Responses).

Two requests get the same key exactly when they ask the same question of the same
endpoint: the same model, messages and answer-changing options, and the same image
bytes however they were base64-encoded. A Responses body (``input``) and a chat body
(``messages``) never share a key: their fields differ. Delivery fields (streaming,
``user``, ``prompt_cache_key``) are left out, and no API key or Authorization header
can ever reach the canonical text.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit, urlunsplit

from grok_nb.errors import ConfigError

__all__ = ["KEY_VERSION", "canonical_request", "normalise_base_url", "request_key"]

# Bumped whenever canonical_request changes shape, so old keys can never collide.
KEY_VERSION = 1
# Request fields that change how the answer is delivered, not what it says. The
# prompt cache key is a conversation's random id (where xAI routes it for its prompt
# cache): a re-run notebook's conversation has a new one and must still hit.
VOLATILE_FIELDS = frozenset({"stream", "stream_options", "user", "prompt_cache_key"})
# Fields that must never reach the canonical text, whatever a caller puts in a body.
SECRET_FIELDS = frozenset({"api_key", "authorization", "headers", "extra_headers"})

_URLSAFE = str.maketrans("-_", "+/")
_DATA_URL = re.compile(r"data:([^,;]*)((?:;[^,;]*)*),(.*)", re.IGNORECASE | re.DOTALL)


def normalise_base_url(base_url: str) -> str:
    """The endpoint as the cache key holds it.

    Scheme and host are case-insensitive; credentials in the URL are never kept. A
    grok_nb simulator on loopback (``http://127.0.0.1:<any port>/grok_nb-simulator/v1``,
    the path ``grok_nb.simulator`` serves under) is ``"grok_nb-simulator"``: one identity
    whatever the port, so its recordings replay in a fresh kernel, and not a URL, so it
    can never equal a real endpoint and simulator answers never pass for real ones.
    """
    parts = urlsplit(str(base_url).strip())
    host = (parts.hostname or "").lower()
    loopback = host == "localhost" or host == "::1" or host.startswith("127.")
    route = parts.path.rstrip("/")
    if loopback and parts.scheme.lower() == "http" and not parts.query:
        # the marker is the simulator's own path segment (simulator/server.PATH_PREFIX;
        # the two packages share only the wire, so it is spelled here too)
        marker = "/grok_nb-simulator"
        if route == marker or route.startswith(marker + "/"):
            rest = route[len(marker) :]
            return "grok_nb-simulator" + ("" if rest in ("", "/v1") else rest)
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port: int | str | None
    try:
        port = parts.port
    except ValueError:  # not a port number: keep it as written, still a stable key
        port = parts.netloc.rpartition(":")[2]
    if port is not None:
        host = f"{host}:{port}"
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme.lower(), host, path, parts.query, "")).rstrip("/")


def _decode_base64(payload: str) -> bytes | None:
    # Fast path: the usual unwrapped standard base64 (images are megabytes; stay in C).
    with contextlib.suppress(binascii.Error, ValueError):
        return base64.b64decode(payload, validate=True)
    # Line wrapping, percent-escapes and the URL-safe alphabet must not change the key.
    text = "".join(payload.split())
    if "%" in text:
        text = unquote_to_bytes(text).decode("ascii", "replace")
    text = text.translate(_URLSAFE) + "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text.encode("ascii", "replace"), validate=True)
    except (binascii.Error, ValueError):
        return None


def _hash_data_url(url: str) -> str:
    match = _DATA_URL.fullmatch(url)
    if match is None:
        return url
    mime = match.group(1).strip().lower() or "text/plain"
    params = [p.strip().lower() for p in match.group(2).split(";") if p.strip()]
    payload = match.group(3)
    if "base64" in params:
        data = _decode_base64(payload)
        if data is None:  # undecodable: still a stable, distinct key
            digest = hashlib.sha256(payload.encode("utf-8", "replace")).hexdigest()
            return f"sha256:{digest}:{mime};undecodable"
    else:
        data = unquote_to_bytes(payload)
    return f"sha256:{hashlib.sha256(data).hexdigest()}:{mime}"


def _canonical_value(value: Any, where: str, image: bool = False) -> Any:
    # ``image``: inside an ``image_url`` part, whose ``url`` (or the part itself, when
    # given as a bare string) is the one place a data URL is an image to hash. Any other
    # string, a prompt that happens to begin with "data:" included, is kept verbatim.
    if isinstance(value, Mapping):
        return {
            str(k): _canonical_value(
                v, f"{where}.{k}", image=str(k) == "image_url" or (image and str(k) == "url")
            )
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_canonical_value(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, str):
        return _hash_data_url(value) if image and value[:5].lower() == "data:" else value
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        # temperature=1 and temperature=1.0 are the same request
        return int(value) if value.is_integer() else value
    raise ConfigError(f"request body {where}: {type(value).__name__} is not a JSON value")


def canonical_request(body: Mapping[str, Any], base_url: str) -> str:
    """The canonical JSON text of a request: what the cache key is the hash of.

    Sorted keys, compact separators; every image data URL (an ``image_url`` part's
    ``url``) replaced by ``sha256:<hex of the decoded bytes>:<mime>``, every other string
    kept as written; ``stream``, ``stream_options`` and
    ``user`` dropped; the base URL normalised (lower-case host, no trailing slash, no
    credentials). Never contains an API key or an Authorization header.
    """
    if not isinstance(body, Mapping):
        raise ConfigError(f"request body: expected a dict, got {type(body).__name__}")
    kept = {
        str(k): v
        for k, v in body.items()
        if str(k) not in VOLATILE_FIELDS and str(k).lower() not in SECRET_FIELDS
    }
    doc = {
        "base_url": normalise_base_url(base_url),
        "key_version": KEY_VERSION,
        "request": _canonical_value(kept, "body"),
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def request_key(body: Mapping[str, Any], base_url: str) -> str:
    """SHA-256 hex digest of ``canonical_request(body, base_url)``."""
    return hashlib.sha256(canonical_request(body, base_url).encode("utf-8")).hexdigest()
