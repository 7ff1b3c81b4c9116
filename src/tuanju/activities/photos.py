"""Album photos: checked by content (not by name), bounded, re-encoded.

Every upload is decoded with Pillow, rotated upright, scaled to at most ``MAX_SIDE`` pixels and
saved again as JPEG, which drops all metadata (a phone photo's EXIF often holds a GPS position).
Decompression bombs are refused before decoding.
"""

from __future__ import annotations

import io

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_UPLOAD_BYTES = 12 * 1024 * 1024
MAX_PIXELS = 50_000_000
MAX_SIDE = 2048
ALLOWED_FORMATS = {"JPEG", "PNG", "WEBP"}


def clean_photo(uploaded) -> ContentFile:
    """The uploaded file as a clean JPEG ``ContentFile`` (with .width/.height), or ValidationError."""
    name = getattr(uploaded, "name", "photo")
    if uploaded.size > MAX_UPLOAD_BYTES:
        raise ValidationError(f"照片“{name}”超过 {MAX_UPLOAD_BYTES // 1048576} MB")
    try:
        uploaded.seek(0)
        with Image.open(uploaded) as probe:
            kind = probe.format
            width, height = probe.size
        if kind not in ALLOWED_FORMATS:
            raise ValidationError(f"照片“{name}”格式不支持（只支持 JPG、PNG、WEBP）")
        if width * height > MAX_PIXELS:
            raise ValidationError(f"照片“{name}”像素过大")
        uploaded.seek(0)
        with Image.open(uploaded) as image:
            image = ImageOps.exif_transpose(image).convert("RGB")
            image.thumbnail((MAX_SIDE, MAX_SIDE))
            buffer = io.BytesIO()
            image.save(buffer, format="JPEG", quality=85, optimize=True)
            size = image.size
    except ValidationError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ValidationError(f"文件“{name}”不是有效的照片") from exc
    content = ContentFile(buffer.getvalue(), name="photo.jpg")
    content.width, content.height = size
    return content
