"""URLs: ``data:`` URLs decoded locally, ``http(s)`` downloaded only when asked.

Downloads use httpx with a 10 s timeout and stop at 10 MiB, the same limits the
xAI server applies when it fetches a URL itself, so a URL that works here would
also have worked there. The API key is never sent to the image host.
"""

from __future__ import annotations

import base64
import binascii
import urllib.parse

from grok_nb.errors import ImageError

__all__ = [
    "FETCH_MAX_BYTES",
    "FETCH_TIMEOUT_S",
    "decode_data_url",
    "fetch_url",
    "is_data_url",
    "is_http_url",
]

FETCH_TIMEOUT_S = 10.0
FETCH_MAX_BYTES = 10 * 1024 * 1024


def is_http_url(value: str) -> bool:
    return value[:8].lower().startswith(("http://", "https://"))


def is_data_url(value: str) -> bool:
    return value[:5].lower() == "data:"


def decode_data_url(url: str, label: str) -> bytes:
    """The bytes of a ``data:[<type>][;base64],<payload>`` URL."""
    head, sep, payload = url.partition(",")
    if not sep:
        raise ImageError(label, "malformed data: URL (no comma before the payload)")
    if head.lower().endswith(";base64"):
        try:
            cleaned = "".join(payload.split())
            return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise ImageError(label, "the data: URL's base64 payload is invalid") from None
    return urllib.parse.unquote_to_bytes(payload)


def fetch_url(url: str, label: str, *, timeout: float = FETCH_TIMEOUT_S) -> bytes:
    """Download ``url``; any failure (unreachable, HTTP error, too large) is an ImageError."""
    import httpx

    limit = FETCH_MAX_BYTES
    try:
        with (
            httpx.Client(timeout=timeout, follow_redirects=True) as client,
            client.stream("GET", url, headers={"Accept": "image/*"}) as response,
        ):
            if response.status_code >= 400:
                reason = response.reason_phrase or "error"
                raise ImageError(label, f"download failed: HTTP {response.status_code} {reason}")
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > limit:
                raise ImageError(
                    label, f"download is {int(declared):,} bytes, over the 10 MiB limit"
                )
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limit:
                    raise ImageError(label, "download is over the 10 MiB limit")
                chunks.append(chunk)
    except httpx.TimeoutException:
        raise ImageError(label, f"download timed out after {timeout:g} s") from None
    except httpx.HTTPError as exc:
        raise ImageError(label, f"could not download ({type(exc).__name__}: {exc})") from None
    return b"".join(chunks)
