"""Photos attached to appeals: checked by content (not by name), bounded, re-encoded.

A phone photo carries EXIF metadata, often with the GPS position of the person's home. Every
upload is decoded with Pillow, rotated upright, scaled to at most ``MAX_SIDE`` pixels and saved
again as JPEG, which drops all metadata. Decompression bombs are refused before decoding.
"""

from __future__ import annotations

import io

from django.core.files.base import ContentFile
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_PHOTOS = 4
MAX_UPLOAD_BYTES = 8 * 1024 * 1024
MAX_PIXELS = 40_000_000
MAX_SIDE = 1920
ALLOWED_FORMATS = {"JPEG", "PNG", "WEBP"}


class PhotoRejected(ValueError):
    """``str(exc)`` is the Chinese reason shown on the form."""


def clean_photo(uploaded) -> ContentFile:
    """The uploaded file as a clean JPEG ``ContentFile`` (with .width/.height set), or PhotoRejected."""
    name = getattr(uploaded, "name", "photo")
    if uploaded.size > MAX_UPLOAD_BYTES:
        raise PhotoRejected(f"照片“{name}”超过 {MAX_UPLOAD_BYTES // 1048576} MB")
    try:
        uploaded.seek(0)
        with Image.open(uploaded) as probe:
            kind = probe.format
            width, height = probe.size
        if kind not in ALLOWED_FORMATS:
            raise PhotoRejected(f"照片“{name}”格式不支持（只支持 JPG、PNG、WEBP）")
        if width * height > MAX_PIXELS:
            raise PhotoRejected(f"照片“{name}”像素过大")
        uploaded.seek(0)
        with Image.open(uploaded) as image:
            image = ImageOps.exif_transpose(image)
            image = image.convert("RGB")
            image.thumbnail((MAX_SIDE, MAX_SIDE))
            buffer = io.BytesIO()
            image.save(buffer, format="JPEG", quality=85, optimize=True)
            size = image.size
    except PhotoRejected:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise PhotoRejected(f"文件“{name}”不是有效的照片") from exc
    content = ContentFile(buffer.getvalue(), name="photo.jpg")
    content.width, content.height = size
    return content
