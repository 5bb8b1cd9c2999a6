"""Tesseract's C API (``libtesseract.so.5``), loaded once, so a line costs recognition only.

The command-line ``tesseract`` loads its three language models on every call (about 100 ms
before it reads a letter); through the library they load once per engine and each line of text
is recognised in tens of milliseconds. An engine is not thread-safe, so ``LibTesseract`` keeps a
small pool and lends one engine per call. Where the library cannot be loaded (another system, a
different soname), ``load()`` answers ``None`` and the reader falls back to the command line.

Only grey 8-bit arrays are passed in, contiguous and bounded in size by the caller, so the C side
never sees a shape it did not expect.

Tesseract's LSTM opens OpenMP teams of its own; on a small machine, with two engines reading side
by side and other native code busy, those teams wait on each other: a line took 260-450 ms
instead of 25-50 ms (2 cores). Each thread that recognises sets its own OpenMP team size to one
first (``omp_set_dynamic`` and ``omp_set_num_threads`` are per thread, so nothing else in the
process is touched); lines are read in parallel by the pool instead.
"""

from __future__ import annotations

import atexit
import ctypes
import ctypes.util
import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

PSM_SINGLE_LINE = 7  # the finder cuts the picture into lines: no layout analysis needed
_RIL_SYMBOL = 4  # the result iterator's level for one character
_SONAMES = ("libtesseract.so.5", "libtesseract.so")
_THREAD = threading.local()


def _one_openmp_thread() -> None:
    """Make OpenMP teams opened by this thread one thread wide (once per thread)."""
    if getattr(_THREAD, "set", False):
        return
    _THREAD.set = True
    try:
        gomp = ctypes.CDLL("libgomp.so.1")  # the runtime libtesseract links (already loaded)
    except OSError:
        return  # a build without OpenMP has no teams to size
    gomp.omp_set_dynamic(1)  # lets the runtime narrow the teams Tesseract asks a width for
    gomp.omp_set_num_threads(1)


Box = tuple[int, int, int, int]  # left, top, right, bottom in the image's pixels


@dataclass(frozen=True, slots=True)
class Recognised:
    text: str
    confidence: int  # Tesseract's mean word confidence, 0–100
    # Where each character asked about was read, in the order it appears in ``text``.
    boxes: tuple[tuple[str, Box], ...] = ()


def _bind(lib: ctypes.CDLL) -> None:
    p, c, i = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int
    lib.TessBaseAPICreate.restype = p
    lib.TessBaseAPIInit3.argtypes = [p, c, c]
    lib.TessBaseAPIInit3.restype = i
    lib.TessBaseAPISetPageSegMode.argtypes = [p, i]
    lib.TessBaseAPISetImage.argtypes = [p, p, i, i, i, i]
    lib.TessBaseAPISetSourceResolution.argtypes = [p, i]
    lib.TessBaseAPIGetUTF8Text.argtypes = [p]
    lib.TessBaseAPIGetUTF8Text.restype = p
    lib.TessBaseAPIMeanTextConf.argtypes = [p]
    lib.TessBaseAPIMeanTextConf.restype = i
    lib.TessBaseAPISetVariable.argtypes = [p, c, c]
    lib.TessBaseAPIClear.argtypes = [p]
    lib.TessBaseAPIEnd.argtypes = [p]
    lib.TessBaseAPIDelete.argtypes = [p]
    lib.TessDeleteText.argtypes = [p]
    lib.TessVersion.restype = c
    lib.TessBaseAPIGetIterator.argtypes = [p]
    lib.TessBaseAPIGetIterator.restype = p
    lib.TessResultIteratorGetPageIterator.argtypes = [p]
    lib.TessResultIteratorGetPageIterator.restype = p
    lib.TessResultIteratorGetUTF8Text.argtypes = [p, i]
    lib.TessResultIteratorGetUTF8Text.restype = p
    lib.TessResultIteratorNext.argtypes = [p, i]
    lib.TessResultIteratorNext.restype = i
    lib.TessResultIteratorDelete.argtypes = [p]
    box = ctypes.POINTER(ctypes.c_int)
    lib.TessPageIteratorBoundingBox.argtypes = [p, i, box, box, box, box]
    lib.TessPageIteratorBoundingBox.restype = i


class LibTesseract:
    """A pool of initialised engines for ``langs`` (created on first use, ended at exit)."""

    def __init__(self, lib: ctypes.CDLL, langs: Sequence[str], *, size: int = 2) -> None:
        self._lib = lib
        self._langs = "+".join(langs).encode()
        self._size = size
        self._made = 0
        self._idle: queue.Queue[int] = queue.Queue()
        self._lock = threading.Lock()
        self._all: list[int] = []
        self._closed = False
        atexit.register(self.close)

    @classmethod
    def load(cls, langs: Sequence[str], *, size: int = 2) -> LibTesseract | None:
        """The pool, or ``None`` when the library is missing or cannot load ``langs``."""
        for name in (*_SONAMES, ctypes.util.find_library("tesseract")):
            if not name:
                continue
            try:
                lib = ctypes.CDLL(name)
                _bind(lib)
            except (OSError, AttributeError):
                continue
            pool = cls(lib, langs, size=size)
            try:
                pool._release(pool._acquire())  # fails here, not on the first picture
            except RuntimeError:
                return None
            return pool
        return None

    def version(self) -> str:
        raw = self._lib.TessVersion()
        return raw.decode() if isinstance(raw, bytes) else "unknown"

    def _acquire(self) -> int:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            if self._closed:
                raise RuntimeError("the tesseract pool is closed")
            if self._made < self._size:
                self._made += 1
                handle = self._lib.TessBaseAPICreate()
                if not handle or self._lib.TessBaseAPIInit3(handle, None, self._langs) != 0:
                    self._made -= 1
                    raise RuntimeError(f"tesseract could not load {self._langs.decode()}")
                self._lib.TessBaseAPISetVariable(handle, b"debug_file", b"/dev/null")
                self._all.append(handle)
                return int(handle)
        return self._idle.get()

    def _release(self, handle: int) -> None:
        self._idle.put(handle)

    def recognise(self, grey: np.ndarray, *, psm: int = PSM_SINGLE_LINE, boxes_of: str = "") -> Recognised:
        """Text and mean confidence of one grey 8-bit image (a line or a small block), with the
        boxes of the characters in ``boxes_of`` where the text has any."""
        arr = np.ascontiguousarray(grey, dtype=np.uint8)
        if self._closed or arr.ndim != 2 or min(arr.shape) < 1:
            return Recognised("", 0)
        _one_openmp_thread()
        try:
            handle = self._acquire()
        except RuntimeError:  # closed at exit while a request was finishing
            return Recognised("", 0)
        try:
            lib = self._lib
            lib.TessBaseAPISetPageSegMode(handle, psm)
            lib.TessBaseAPISetImage(handle, arr.ctypes.data, arr.shape[1], arr.shape[0], 1, arr.strides[0])
            lib.TessBaseAPISetSourceResolution(handle, 300)
            raw = lib.TessBaseAPIGetUTF8Text(handle)
            text = ""
            if raw:
                text = ctypes.string_at(raw).decode("utf-8", "replace")
                lib.TessDeleteText(raw)
            confidence = int(lib.TessBaseAPIMeanTextConf(handle))
            boxes = self._boxes(handle, boxes_of) if any(ch in text for ch in boxes_of) else ()
            lib.TessBaseAPIClear(handle)
        finally:
            self._release(handle)
        return Recognised(" ".join(text.split()), confidence, boxes)

    def _boxes(self, handle: int, chars: str) -> tuple[tuple[str, Box], ...]:
        """The boxes of the recognised characters that are in ``chars``, in reading order."""
        lib = self._lib
        found: list[tuple[str, Box]] = []
        it = lib.TessBaseAPIGetIterator(handle)
        if not it:
            return ()
        try:
            page = lib.TessResultIteratorGetPageIterator(it)
            edges = [ctypes.c_int() for _ in range(4)]
            while True:
                raw = lib.TessResultIteratorGetUTF8Text(it, _RIL_SYMBOL)
                if raw:
                    char = ctypes.string_at(raw).decode("utf-8", "replace")
                    lib.TessDeleteText(raw)
                    if char in chars and lib.TessPageIteratorBoundingBox(
                        page, _RIL_SYMBOL, *(ctypes.byref(e) for e in edges)
                    ):
                        left, top, right, bottom = (e.value for e in edges)
                        found.append((char, (left, top, right, bottom)))
                if not lib.TessResultIteratorNext(it, _RIL_SYMBOL):
                    break
        finally:
            lib.TessResultIteratorDelete(it)
        return tuple(found)

    def close(self) -> None:
        """End every engine (at exit: Tesseract otherwise reports its caches as leaks)."""
        with self._lock:
            self._closed = True
            for handle in self._all:
                self._lib.TessBaseAPIEnd(handle)
                self._lib.TessBaseAPIDelete(handle)
            self._all.clear()
