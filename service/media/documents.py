"""Documents whose provenance Vigil reads (PDF, SVG): checked by their bytes, never parsed.

Nothing here renders, rasterises or parses a document: a PDF is checked for its header and its
end-of-file marker, an SVG was recognised by its root element (``sniff.xml_root``, bytes only).
c2pa is the only reader of either, for the manifest alone; an SVG's XML is read by c2pa-rs
(quick-xml), which resolves no external entity and expands no entity a DTD declares.
"""

from __future__ import annotations

from service.errors import MediaRejected
from service.media.model import MediaInfo

PDF_TAIL = 1024  # PDF 2.0 §7.5.5: readers look for %%EOF within the last 1024 bytes


def check_document(info: MediaInfo) -> MediaInfo:
    if info.type.name == "pdf":
        with info.path.open("rb") as fh:
            fh.seek(max(0, info.size - PDF_TAIL))
            tail = fh.read()
        if b"%%EOF" not in tail:
            raise MediaRejected(
                f"The PDF file has no end-of-file marker (%%EOF) in its last {PDF_TAIL} bytes: it is "
                "truncated, or not a PDF."
            )
    return info
