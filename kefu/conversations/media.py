"""Images the shop sends buyers: checked, stripped of metadata, stored, and given an address.

An image is accepted only when Pillow decodes it as JPEG, PNG, WebP or GIF within the size
limit; it is then re-encoded from its pixels, so EXIF (camera, GPS position, owner name),
comments and anything appended to the file are left behind. The file is served without a login
at ``/media/m/<token>.<ext>``: the token is random, so the address is the permission, the same
way a marketplace's own image links work (decisions §32).
"""

from __future__ import annotations

import hashlib
import io
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from PIL import Image, ImageOps, UnidentifiedImageError

from kefu.accounts.models import Shop, User
from kefu.conversations.models import MediaFile

log = logging.getLogger("kefu.media")

# Pillow format name -> (content type, file extension)
FORMATS = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
    "GIF": ("image/gif", "gif"),
}
# A small file can still expand to gigabytes of pixels; refuse those before decoding.
MAX_PIXELS = 40_000_000


class ImageRefused(ValidationError):
    """The upload is not an image Kefu sends; the message says why, for the person who sent it."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="image")


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    content_type: str
    extension: str
    width: int
    height: int
    source_sha256: str


def _limit_text() -> str:
    limit = settings.KEFU_MAX_IMAGE_BYTES
    if limit >= 1024 * 1024:
        return f"{limit / (1024 * 1024):g} MB"
    return f"{limit // 1024} KB"


def _read_limited(source: IO[bytes]) -> bytes:
    limit = settings.KEFU_MAX_IMAGE_BYTES
    data = source.read(limit + 1)
    if len(data) > limit:
        raise ImageRefused(f"the image is larger than {_limit_text()}")
    if not data:
        raise ImageRefused("the file is empty")
    return data


def _decode(data: bytes) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data))
            if probe.format not in FORMATS:
                raise ImageRefused("the image must be a JPEG, PNG, WebP or GIF file")
            if probe.width * probe.height > MAX_PIXELS:
                raise ImageRefused("the image has too many pixels")
            probe.verify()
            # verify() leaves the image unusable: open again to read the pixels.
            image = Image.open(io.BytesIO(data))
            image.load()
    except ImageRefused:
        raise
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        OSError,
        SyntaxError,
        ValueError,
    ) as exc:
        raise ImageRefused("the file is not an image Kefu can read") from exc
    return image


def _reencode(image: Image.Image, fmt: str) -> tuple[bytes, int, int]:
    out = io.BytesIO()
    if fmt == "GIF":
        frames = getattr(image, "n_frames", 1)
        # Frames and their timing are kept; comments and extensions are not copied.
        image.save(
            out,
            format="GIF",
            save_all=frames > 1,
            duration=image.info.get("duration", 100),
            loop=image.info.get("loop", 0),
        )
        return out.getvalue(), image.width, image.height
    # A phone photo is stored sideways with an "rotate me" EXIF tag: apply it before the tag
    # goes, or the buyer sees the shipping note on its side.
    upright = ImageOps.exif_transpose(image) or image
    if fmt == "JPEG":
        if upright.mode not in ("RGB", "L"):
            upright = upright.convert("RGB")
        upright.save(out, format="JPEG", quality=90, optimize=True)
    elif fmt == "PNG":
        upright.save(out, format="PNG", optimize=True)
    else:
        upright.save(out, format="WEBP", quality=90)
    return out.getvalue(), upright.width, upright.height


def _clean(data: bytes) -> CleanImage:
    image = _decode(data)
    fmt = str(image.format)
    content_type, extension = FORMATS[fmt]
    encoded, width, height = _reencode(image, fmt)
    return CleanImage(
        data=encoded,
        content_type=content_type,
        extension=extension,
        width=width,
        height=height,
        source_sha256=hashlib.sha256(data).hexdigest(),
    )


def clean_image(source: IO[bytes]) -> CleanImage:
    """Check and re-encode an uploaded image in memory; raises ``ImageRefused``. Stores nothing."""
    return _clean(_read_limited(source))


def media_dir() -> Path:
    return Path(settings.DATA_DIR) / "media" / "m"


def media_path(media: MediaFile) -> Path:
    return media_dir() / media.filename


def store_image(*, shop: Shop, image: CleanImage, uploaded_by: User | None) -> MediaFile:
    """The shop's stored copy of ``image``: the same upload twice is one file and one address.

    The file is written before the row commits; a rolled-back row leaves an unreferenced file,
    never a row without its file.
    """
    existing = MediaFile.objects.filter(shop=shop, source_sha256=image.source_sha256).first()
    if existing is not None and media_path(existing).exists():
        return existing
    media = existing or MediaFile(
        shop=shop,
        content_type=image.content_type,
        extension=image.extension,
        width=image.width,
        height=image.height,
        size=len(image.data),
        source_sha256=image.source_sha256,
        uploaded_by=uploaded_by,
    )
    directory = media_dir()
    directory.mkdir(parents=True, exist_ok=True)
    target = media_path(media)
    partial = target.with_suffix(".part")
    partial.write_bytes(image.data)
    partial.replace(target)
    if existing is not None:
        return existing  # its file had gone missing and is back now
    try:
        with transaction.atomic():
            media.save()
    except IntegrityError:
        # Another request stored the same image a moment ago: use that one.
        target.unlink(missing_ok=True)
        return MediaFile.objects.get(shop=shop, source_sha256=image.source_sha256)
    log.info("media_stored shop=%s token=%s bytes=%s", shop.pk, media.token, media.size)
    return media


def publish_image(*, shop: Shop, source: IO[bytes], uploaded_by: User | None) -> MediaFile:
    """The public copy of an image the shop keeps (a keyword rule's): cleaned once, then the
    same file and address every time it is sent. Raises ``ImageRefused``."""
    data = _read_limited(source)
    known = MediaFile.objects.filter(
        shop=shop, source_sha256=hashlib.sha256(data).hexdigest()
    ).first()
    if known is not None and media_path(known).exists():
        return known
    return store_image(shop=shop, image=_clean(data), uploaded_by=uploaded_by)


def image_payload(media: MediaFile) -> dict[str, Any]:
    """What a message carries about its image. ``path`` is on Kefu's own host (the widget and
    the workbench load it from there); channels get ``url``, made absolute when sent."""
    return {
        "path": reverse("media_file", args=[media.token, media.extension]),
        "width": media.width,
        "height": media.height,
        "content_type": media.content_type,
    }


def absolute_url(path: str) -> str:
    return f"{settings.KEFU_PUBLIC_URL}{path}"


def with_absolute_urls(payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` as a channel or an integration reads it: an image's ``url`` is absolute."""
    image = payload.get("image")
    if not isinstance(image, dict) or not image.get("path"):
        return payload
    return {**payload, "image": {**image, "url": absolute_url(str(image["path"]))}}


def served_file(*, token: str, extension: str) -> MediaFile | None:
    """The stored image behind a public address, or None."""
    return MediaFile.objects.filter(token=token, extension=extension).first()
