"""Images (.png .jpg .jpeg .tif .tiff .bmp .webp): their text read by OCR; a multi-page TIFF gives one
page per frame."""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from rag.ingest.extracted import Extracted, LoadError, ReadOptions, TextBuilder

if TYPE_CHECKING:
    from PIL import Image

# A frame with more pixels than this is refused before it is decoded: a small file can decode to
# gigabytes (a decompression bomb). 80 megapixels is an A3 page scanned at 600 dpi.
MAX_PIXELS = 80_000_000


def read_image(path: Path, data: bytes, options: ReadOptions) -> Extracted:
    if not options.ocr:
        raise LoadError(f"{path}: an image, and OCR is off (ingest.ocr)", reason="no text")
    from rag.ingest.ocr import ocr_image

    built = TextBuilder()
    for n, count, frame in _frames(path, data):
        built.add(ocr_image(frame), f"page {n}" if count > 1 else "image", page=count > 1)
    extracted = built.result()
    if not extracted.text.strip():
        raise LoadError(f"{path}: no text found by OCR", reason="no text")
    return extracted


def _frames(path: Path, data: bytes) -> Iterator[tuple[int, int, Image.Image]]:
    """(number from 1, frame count, frame upright) of each frame, decoded one at a time."""
    from PIL import Image, ImageOps

    try:
        with warnings.catch_warnings():
            # PIL only warns of a bomb up to twice its own limit: an error here
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                count = getattr(image, "n_frames", 1)
                for n in range(count):
                    image.seek(n)
                    if image.width * image.height > MAX_PIXELS:
                        raise LoadError(
                            f"{path}: image too large ({image.width} x {image.height} pixels, over "
                            f"{MAX_PIXELS // 1_000_000} megapixels)",
                            reason="too large",
                        )
                    image.load()
                    # a camera's photo is stored sideways with a tag saying which way up it goes
                    yield n + 1, count, ImageOps.exif_transpose(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise LoadError(f"{path}: image too large ({error})", reason="too large") from None
    except (OSError, ValueError, SyntaxError, EOFError) as error:
        # PIL reports a truncated or malformed file as any of these (UnidentifiedImageError is an OSError)
        raise LoadError(f"{path}: corrupt image ({str(error) or type(error).__name__})", reason="corrupt") from None
