"""``label_file``: the one call that labels an output before it is signed.

Steps (the signer runs right after step 4, on ``dst``; writing anything after signing would
break the manifest's hard binding):
1. sniff the type from the bytes;
2. choose the text for the locale (the profile's default locale when it has none for it);
3. burn the visible mark (image, video) or prepend the audible notice (audio);
4. write the machine-readable layers the profile lists, in the container's own XMP place.
"""

from __future__ import annotations

import os
from pathlib import Path

from service.errors import UnsupportedMediaType
from service.labels import audio, image, video, xmp
from service.labels.model import AudioNoticeKind, Disclosure, LabelResult, Mark, MarketProfile
from service.media.sniff import HEAD_BYTES, sniff
from service.vocabulary import MediaKind

VIDEO_TYPES = {"mp4", "mov", "webm"}
AUDIO_MIME = {"wav": "audio/wav", "mp3": "audio/mpeg"}


def _locale(profile: MarketProfile, locale: str) -> str:
    spec = profile.image
    if locale in spec.texts:
        return locale
    base = locale.split("-")[0].split("_")[0].lower()
    return base if base in spec.texts else spec.default_locale


def label_file(
    src: Path, dst: Path, profile: MarketProfile, *, locale: str, disclosure: Disclosure
) -> LabelResult:
    """Label ``src`` for ``profile`` into ``dst`` (a new file); never emits an unlabelled output.

    Raises ``LabelRefused`` when the picture is too small for a legible label,
    ``UnsupportedMediaType`` for types that cannot carry a label, ``MediaRejected`` for
    undecodable input. ``dst`` is removed again if any step fails.
    """
    # 1. sniff
    with src.open("rb") as fh:
        kind = sniff(fh.read(HEAD_BYTES))
    if isinstance(kind, str):
        raise UnsupportedMediaType(f"Cannot label a file of type {kind}.")
    # 2. text
    used_locale = _locale(profile, locale)
    text = profile.image.texts[used_locale]
    packet = xmp.build_xmp(disclosure, profile.layers)
    marks: tuple[Mark, ...] = ()
    notice_s = 0.0
    notes: tuple[str, ...] = ()
    try:
        # 3. visible or audible mark, and 4. metadata
        if kind.kind is MediaKind.IMAGE:
            mark, mime = image.label_image(src, dst, profile, media=kind.name, text=text, xmp=packet)
            marks = (mark,)
        elif kind.kind is MediaKind.VIDEO and kind.name in VIDEO_TYPES:
            marks, notice_s, notes = video.label_video(src, dst, profile, text=text, locale=used_locale)
            xmp.append_mp4_uuid(dst, packet)
            mime = "video/mp4"
        elif kind.kind is MediaKind.AUDIO and kind.name in AUDIO_MIME:
            notice_s = audio.label_audio(src, dst, profile.audio, media=kind.name, locale=used_locale)
            if kind.name == "wav":
                xmp.append_wav_chunk(dst, packet)
            else:
                xmp.prepend_id3_xmp(dst, packet)
            mime = AUDIO_MIME[kind.name]
        else:
            raise UnsupportedMediaType(
                f"Cannot label {kind.name} yet; labels are written to JPEG, PNG, WebP, MP4/MOV/WebM "
                "(out: MP4), WAV and MP3."
            )
    except BaseException:
        dst.unlink(missing_ok=True)
        raise
    os.chmod(dst, 0o644)
    return LabelResult(
        path=dst,
        mime=mime,
        profile=profile.name,
        locale=used_locale,
        text=text,
        marks=marks,
        audio_notice=profile.audio.kind if notice_s > 0 else AudioNoticeKind.NONE,
        audio_notice_s=round(notice_s, 3),
        layers=profile.layers,
        notes=notes,
    )
