"""Opening an image someone sent, within a pixel budget: the header is read, the pixels only if small enough.

A PNG of 300 KB can declare 20,000 × 20,000 pixels and decode into gigabytes; Pillow's own guard
(`Image.MAX_IMAGE_PIXELS`) only warns below twice its limit. Every image IAZE opens (tickets.media.store: telling
a raster image from a file that claims to be one, thumbnails, an agent's attachment) goes through
`open_image`, which sets Pillow's limit from MEDIA_MAX_IMAGE_PIXELS (so any other opening in the process
is guarded too) and refuses, from the header alone, an image whose width × height is over it, before
anything is decoded (`load`, `thumbnail`, `convert`). A refused image is kept as a plain document.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

from django.conf import settings

log = logging.getLogger(__name__)

DEFAULT_MAX_PIXELS = 40_000_000


class ImageOverBudget(ValueError):
    """The image declares more pixels than MEDIA_MAX_IMAGE_PIXELS: it is never decoded."""


def max_pixels() -> int:
    return int(getattr(settings, "MEDIA_MAX_IMAGE_PIXELS", DEFAULT_MAX_PIXELS) or DEFAULT_MAX_PIXELS)


@contextmanager
def open_image(fh: IO[bytes]) -> Iterator[Any]:
    """`PIL.Image.open` (which reads only the header) and the pixel budget checked on its size.

    Raises ImageOverBudget over the budget, and whatever Pillow raises for a file it cannot read."""
    from PIL import Image

    budget = max_pixels()
    Image.MAX_IMAGE_PIXELS = budget  # Pillow itself refuses past twice this, wherever an image is opened
    try:
        img = Image.open(fh)
    except Image.DecompressionBombError as exc:
        log.info("image refused before decoding: %s", exc)
        raise ImageOverBudget(str(exc)) from exc
    with img:
        width, height = img.size
        if width * height > budget:
            log.info("image refused before decoding: %d × %d pixels, budget %d", width, height, budget)
            raise ImageOverBudget(f"{width} x {height} pixels is over the budget of {budget}")
        yield img
