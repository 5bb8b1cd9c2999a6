"""The symbol bank as the flows use it: the shipped drawings, plus each tenant's own emblems.

``SymbolBank.match(conn, tenant_id, image)`` answers with the hits of the shipped symbols and of
the emblems that tenant added, or a state when the bank cannot run (never an empty "clean" list
from a matcher that failed). A tenant's matcher is built when its emblems change (their version
is one cheap query) and kept for the next checks; the shipped drawings are prepared once.

``add_emblem`` checks an operator's drawing before it is stored: an image with a symbol on a
plain or transparent background, in one of the symbol categories. The drawing is kept in the
blob store (PNG) under its SHA-256; the row says what a hit means.
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

from PIL import Image

from service.blobs import BlobStore
from service.classify.symbols import SYMBOL_CATEGORIES, SymbolHit, SymbolMatcher, SymbolRef
from service.db import Conn
from service.errors import ConfigError, MalformedRequest
from service.symbols import store
from service.symbols.store import Emblem
from service.vocabulary import Category, SignalState

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "policies" / "symbols"
_TENANTS_KEPT = 256  # tenants whose matcher stays built
MIN_DRAWING_SIDE = 24


@dataclass(frozen=True, slots=True)
class SymbolResult:
    state: SignalState
    hits: tuple[SymbolHit, ...] = ()
    version: str = ""
    detail: str = ""

    def __bool__(self) -> bool:
        raise TypeError("SymbolResult has no truth value: read .state and .hits")


@dataclass(frozen=True, slots=True)
class BoundSymbols:
    """One tenant's symbol bank (or the state that keeps it from running)."""

    state: SignalState
    detail: str = ""
    matcher: SymbolMatcher | None = None

    @property
    def version(self) -> str:
        return self.matcher.version if self.matcher is not None else self.state.value

    def match(self, image: Image.Image) -> SymbolResult:
        if self.matcher is None:
            return SymbolResult(self.state, detail=self.detail)
        try:
            return SymbolResult(SignalState.OK, tuple(self.matcher.match(image)), self.matcher.version)
        except (ValueError, OSError) as exc:  # never a clean answer from a matcher that failed
            return SymbolResult(SignalState.UNAVAILABLE, version=self.matcher.version, detail=str(exc))


class SymbolBank:
    def __init__(self, *, blobs: BlobStore, path: Path = DEFAULT_DIR, enabled: bool = True) -> None:
        self._blobs = blobs
        self._path = path
        self._enabled = enabled
        self._shipped: SymbolMatcher | None = None
        self._error = ""
        self._tenants: OrderedDict[UUID, tuple[str, SymbolMatcher]] = OrderedDict()
        self._lock = threading.Lock()

    def status(self) -> tuple[SignalState, str]:
        if not self._enabled:
            return SignalState.NOT_CONFIGURED, "symbol matching is switched off (VIGIL_CHECK_SYMBOLS)"
        shipped = self.shipped()
        if shipped is None:
            return SignalState.UNAVAILABLE, self._error
        return SignalState.OK, f"{len(shipped.refs)} shipped symbols ({shipped.version})"

    def shipped(self) -> SymbolMatcher | None:
        """The shipped bank, loaded on first use (``None`` when its files cannot be read)."""
        with self._lock:
            if self._shipped is None and not self._error:
                try:
                    self._shipped = SymbolMatcher.from_dir(self._path)
                except (ConfigError, OSError, ValueError) as exc:
                    self._error = f"the symbol bank in {self._path} cannot be loaded: {exc}"
            return self._shipped

    def matcher(self, conn: Conn, tenant_id: UUID | None) -> SymbolMatcher | None:
        """The shipped bank with ``tenant_id``'s emblems added (rebuilt when they changed)."""
        shipped = self.shipped()
        if shipped is None or tenant_id is None:
            return shipped
        version = store.version(conn, tenant_id)
        with self._lock:
            cached = self._tenants.get(tenant_id)
            if cached is not None and cached[0] == version:
                self._tenants.move_to_end(tenant_id)
                return cached[1]
        emblems = store.listed(conn, tenant_id)
        built = shipped.with_refs([self._ref(e) for e in emblems]) if emblems else shipped
        with self._lock:
            self._tenants[tenant_id] = (version, built)
            while len(self._tenants) > _TENANTS_KEPT:
                self._tenants.popitem(last=False)
        return built

    def bind(self, conn: Conn, tenant_id: UUID | None) -> BoundSymbols:
        """The bank as ``tenant_id`` sees it, ready to match pictures after ``conn`` is closed."""
        state, detail = self.status()
        if state is not SignalState.OK:
            return BoundSymbols(state, detail)
        try:
            matcher = self.matcher(conn, tenant_id)
        except (ConfigError, OSError, ValueError) as exc:  # a stored emblem that no longer loads
            return BoundSymbols(SignalState.UNAVAILABLE, f"the tenant's symbol bank cannot be built: {exc}")
        if matcher is None:
            return BoundSymbols(SignalState.UNAVAILABLE, self._error)
        return BoundSymbols(SignalState.OK, detail, matcher)

    def _ref(self, emblem: Emblem) -> SymbolRef:
        with Image.open(io.BytesIO(self._blobs.read(emblem.image_sha256))) as img:
            img.load()
            return SymbolRef(
                id=emblem.id,
                label=emblem.label,
                category=Category(emblem.category),
                note=emblem.note,
                image=img,
            )

    def add_emblem(
        self,
        conn: Conn,
        *,
        tenant_id: UUID,
        id: str,
        label: str,
        category: str,
        note: str,
        image: Image.Image,
    ) -> Emblem:
        """Check and store an operator's drawing (see the module docstring)."""
        if category not in {c.value for c in SYMBOL_CATEGORIES}:
            allowed = ", ".join(c.value for c in SYMBOL_CATEGORIES)
            raise MalformedRequest(f"category must be one of {allowed}, not {category!r}")
        if min(image.size) < MIN_DRAWING_SIDE:
            raise MalformedRequest(
                f"the drawing is {image.width}×{image.height}; send one at least "
                f"{MIN_DRAWING_SIDE} pixels on each side"
            )
        shipped = self.shipped()
        if shipped is not None and id in {r.id for r in shipped.refs}:
            raise MalformedRequest(f"{id!r} is a shipped symbol's id; choose another")
        ref = SymbolRef(
            id=id, label=label, category=Category(category), note=note, image=image.convert("RGBA")
        )
        try:
            SymbolMatcher(refs=[ref])  # prepares it: refuses a drawing with nothing to match
        except ConfigError as exc:
            raise MalformedRequest(
                f"{exc.message}: draw the emblem on a plain or transparent background"
            ) from None
        buf = io.BytesIO()
        ref.image.save(buf, "PNG")
        sha = self._blobs.put_bytes(buf.getvalue())
        return store.add(
            conn, tenant_id=tenant_id, id=id, label=label, category=category, note=note, image_sha256=sha
        )

    def remove(self, conn: Conn, tenant_id: UUID, id: str) -> None:
        store.remove(conn, tenant_id, id)
