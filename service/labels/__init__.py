"""Disclosure: visible AI labels for images, video and audio, XMP/IPTC/AIGC metadata, and market profiles."""
