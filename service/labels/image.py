"""Label a still image: burn the mark top-right, then write it with its XMP packet.

EXIF orientation is applied first, so "top-right" is where a viewer sees it. The output keeps
the input's format (JPEG, PNG, WebP) and colour profile; XMP goes in the format's own place.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageOps, PngImagePlugin

from service.errors import MediaRejected, UnsupportedMediaType, public_detail
from service.labels.model import Mark, MarketProfile
from service.labels.render import burn_image

FORMATS = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}
JPEG_QUALITY = 92
WEBP_QUALITY = 90


def label_image(
    src: Path, dst: Path, profile: MarketProfile, *, media: str, text: str, xmp: bytes
) -> tuple[Mark, str]:
    """Write the labelled image to ``dst``; returns the mark and the output MIME type."""
    fmt = FORMATS.get(media)
    if fmt is None:
        raise UnsupportedMediaType(f"Labels are burned into JPEG, PNG and WebP images, not {media}.")
    try:
        with Image.open(src) as opened:
            icc = opened.info.get("icc_profile")
            lossless = bool(opened.info.get("lossless")) if fmt == "WEBP" else False
            image = ImageOps.exif_transpose(opened)
            image.load()
    except (OSError, Image.DecompressionBombError) as exc:
        raise MediaRejected(f"The image cannot be decoded: {public_detail(exc)}.") from exc
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in image.getbands() or "transparency" in image.info else "RGB")
    if fmt == "JPEG" and image.mode == "RGBA":
        image = image.convert("RGB")
    labelled, mark = burn_image(image, profile.image, text)
    options: dict[str, object] = {}
    if icc:
        options["icc_profile"] = icc
    if fmt == "JPEG":
        options.update(quality=JPEG_QUALITY, xmp=xmp)
    elif fmt == "WEBP":
        options.update(quality=WEBP_QUALITY, lossless=lossless, xmp=xmp)
    else:
        info = PngImagePlugin.PngInfo()
        info.add_itxt("XML:com.adobe.xmp", xmp.decode("utf-8"), zip=False)
        options["pnginfo"] = info
    labelled.save(dst, format=fmt, **options)
    return mark, Image.MIME[fmt]
