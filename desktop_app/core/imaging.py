"""Checks that a downloaded file really is a whole, sane wallpaper picture."""

from __future__ import annotations

import warnings
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from desktop_app.core.errors import BadResponseError
from desktop_app.core.models import MIN_DIMENSIONS

# Far above any real wallpaper (Bing's largest UHD seen is ~30 MP); refused before decoding.
MAX_PIXELS = 80_000_000
FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}


def verify_picture(path: Path, resolution: str | None = None) -> tuple[int, int, str]:
    """Decode ``path`` fully; return (width, height, file extension) or raise ``BadResponseError``.

    Refuses what is not a picture, a format other than JPEG/PNG/WebP, a decompression
    bomb (checked from the header, before decoding), a truncated file, and a placeholder
    far smaller than the rendition asked for.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise BadResponseError(
                        f"refused a picture of {width}x{height} pixels: far larger than any "
                        "wallpaper (a decompression bomb?)"
                    )
                kind = image.format or ""
                if kind not in FORMATS:
                    raise BadResponseError(
                        f"a {kind or 'unknown'} file, not a JPEG, PNG or WebP picture"
                    )
                image.load()
    except Image.DecompressionBombError:
        raise BadResponseError(
            "refused a picture that decodes to far more pixels than any wallpaper "
            "(a decompression bomb?)"
        ) from None
    except UnidentifiedImageError:
        raise BadResponseError("the file is not a picture (a web page or an error?)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise BadResponseError(f"the picture is damaged or cut off ({exc})") from None
    need_w, need_h = MIN_DIMENSIONS.get(resolution or "", (1, 1))
    if width < need_w * 0.9 or height < need_h * 0.9:
        raise BadResponseError(
            f"Bing sent a {width}x{height} placeholder instead of the {resolution} picture"
        )
    return width, height, FORMATS[kind]
