"""Opening an image file within Pillow's pixel limit, wherever cnnrun reads one.

A PNG of a few kilobytes can declare 20000 x 20000 pixels (a decompression bomb): its
size is checked from the header, before any pixel is decoded, against Pillow's
``Image.MAX_IMAGE_PIXELS`` (89,478,485, set here explicitly).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

MAX_PIXELS = 89_478_485  # Pillow's default MAX_IMAGE_PIXELS: about 0.25 GB of RGBA


class TooManyPixels(ValueError):
    """An image declares more pixels than :data:`MAX_PIXELS`; the message says how many."""


def _over(width: int, height: int) -> TooManyPixels:
    return TooManyPixels(
        f"{width}x{height} = {width * height:,} pixels, over the limit of {MAX_PIXELS:,} "
        "(Pillow's MAX_IMAGE_PIXELS): not decoded"
    )


@contextmanager
def open_image(path: Path) -> Iterator[Any]:
    """``PIL.Image.open(path)``, refusing an image over :data:`MAX_PIXELS` before decoding.

    Raises:
        TooManyPixels: When the image declares too many pixels.
        FileNotFoundError, PIL.UnidentifiedImageError, OSError: As ``Image.open``.
    """
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    # The size is checked here; Pillow's own warning (over the limit, under twice it)
    # would only repeat it.
    warnings.simplefilter("ignore", Image.DecompressionBombWarning)
    try:
        im = Image.open(path)
    except Image.DecompressionBombError as exc:  # over twice the limit: Pillow refuses
        raise TooManyPixels(_bomb_text(str(exc))) from None
    with im:
        width, height = im.size
        if width * height > MAX_PIXELS:
            raise _over(width, height)
        yield im


def _bomb_text(message: str) -> str:
    """Pillow's refusal, in the words of :func:`_over` when its numbers can be read."""
    import re

    found = re.search(r"\((\d+) pixels\)", message)
    pixels = f"{int(found[1]):,} pixels" if found else "too many pixels"
    return f"{pixels}, over the limit of {MAX_PIXELS:,} (Pillow's MAX_IMAGE_PIXELS): not decoded"
