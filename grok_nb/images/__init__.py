"""Images in: every source a notebook user has, normalised, sent at the model's resolution.

- ``prepare(source)`` -> ``PreparedImage`` (encoded bytes, MIME type, tile plan, notes)
- ``prepare_many(sources)`` for several (globs expand, order kept)
- ``load_image(source)`` -> (upright RGB/RGBA PIL image, label, notes)
- ``describe_source`` / ``expand_sources`` for messages and argument handling;
  ``expand_path_source`` is the one path/glob expansion every entry point uses
- limits: ``MAX_FILE_MB`` (``max_file_mb=``), ``MAX_IMAGES_PER_REQUEST``
  (``max_images_per_request=``, ``TooManyImagesError``)

Modules, in the order data flows: ``sources`` (what was passed -> PIL image or
URL; with ``arrays``, ``figures``, ``fetch``, ``decode``), ``normalise``,
``resize``, ``encode``, ``prepared``.
"""

from __future__ import annotations

from grok_nb.images.encode import MAX_BYTES, mime_of
from grok_nb.images.expand import MAX_IMAGES_PER_REQUEST, TooManyImagesError, expand_path_source
from grok_nb.images.prepared import PreparedImage, load_image, prepare, prepare_many
from grok_nb.images.resize import model_size
from grok_nb.images.sources import (
    ACCEPTED,
    MAX_FILE_MB,
    describe_source,
    expand_sources,
    looks_like_image,
)

__all__ = [
    "ACCEPTED",
    "MAX_BYTES",
    "MAX_FILE_MB",
    "MAX_IMAGES_PER_REQUEST",
    "PreparedImage",
    "TooManyImagesError",
    "describe_source",
    "expand_path_source",
    "expand_sources",
    "load_image",
    "looks_like_image",
    "mime_of",
    "model_size",
    "prepare",
    "prepare_many",
]
