"""A Numba cache for autodiff's kernels that verifies what it loads.

Numba loads cached machine code without checking it, so one flipped bit in a ``.nbc``
file crashed every later run, and an unreadable ``.nbi`` index raised on every import
until the user deleted the cache by hand. ``CheckedCache`` stores each index and data
file as ``MAGIC + sha256(payload) + payload`` and verifies the digest before unpickling.
A file that fails the check (or cannot be read or unpickled) is reported once, with its
path, in a ``KernelCacheWarning`` and treated as a cache miss: the kernel is recompiled
and the entry rewritten, so the next run is clean again. Failures to write the cache
(a read-only or full disk) are reported the same way and never stop the computation.

The files get their own names (``<function>-<line>.pyXY.ck.nbi``), so a plain Numba
process sharing the cache directory never reads them, nor autodiff Numba's.
"""

from __future__ import annotations

import hashlib
import pickle
import warnings

from numba.core.caching import FunctionCache, IndexDataCacheFile

from .cpu.vector_width import kernel_bits

MAGIC = b"ADKC1\n"
_DIGEST = 32


class KernelCacheWarning(RuntimeWarning):
    """A kernel cache file was corrupt or could not be read or written; it was recompiled."""


class CorruptCacheFile(Exception):
    """A cache file whose checksum or format does not verify."""


def _warn(message: str) -> None:
    warnings.warn(message, KernelCacheWarning, stacklevel=3)


class _CheckedFile(IndexDataCacheFile):
    """Index and data files with an embedded sha256 of their payload."""

    def __init__(self, cache_path: str, filename_base: str, source_stamp) -> None:
        super().__init__(cache_path, filename_base + ".ck", source_stamp)

    # -- bytes with a checksum ------------------------------------------------------------
    def _write(self, path: str, payload: bytes) -> None:
        with self._open_for_write(path) as f:
            f.write(MAGIC + hashlib.sha256(payload).digest() + payload)

    @staticmethod
    def _read(path: str) -> bytes | None:
        """The verified payload of ``path``; None if it does not exist."""
        try:
            with open(path, "rb") as f:
                raw = f.read()
        except FileNotFoundError:
            return None
        head, digest = raw[:len(MAGIC)], raw[len(MAGIC):len(MAGIC) + _DIGEST]
        payload = raw[len(MAGIC) + _DIGEST:]
        if head != MAGIC or hashlib.sha256(payload).digest() != digest:
            raise CorruptCacheFile(f"checksum mismatch in {path}")
        return payload

    # -- Numba's four file operations -------------------------------------------------------
    def _save_index(self, overloads: dict) -> None:
        self._write(self._index_path, self._dump((self._version, self._source_stamp, overloads)))

    def _load_index(self) -> dict:
        try:
            payload = self._read(self._index_path)
            if payload is None:
                return {}
            version, stamp, overloads = pickle.loads(payload)
        except Exception as e:  # noqa: BLE001 - any unreadable index is a miss, rewritten on save
            _warn(f"autodiff kernel cache: the index {self._index_path} is unreadable ({e}); "
                  "recompiling and rewriting it")
            return {}
        if version != self._version or stamp != self._source_stamp:
            return {}
        return overloads

    def _save_data(self, name: str, data) -> None:
        self._write(self._data_path(name), self._dump(data))

    def _load_data(self, name: str):
        path = self._data_path(name)
        try:
            payload = self._read(path)
            if payload is None:
                raise FileNotFoundError(path)
            return pickle.loads(payload)
        except FileNotFoundError:
            raise
        except Exception as e:
            _warn(f"autodiff kernel cache: {path} is corrupt ({e}); recompiling and rewriting it")
            raise OSError(path) from e  # Numba's load() treats OSError as a miss


class CheckedCache(FunctionCache):
    """``FunctionCache`` over checksummed files; load and save errors never propagate."""

    def __init__(self, py_func) -> None:
        super().__init__(py_func)
        self._cache_file = _CheckedFile(self._cache_path, self._impl.filename_base,
                                        self._impl.locator.get_source_stamp())

    def _index_key(self, sig, codegen):
        # the kernels' vector width (``cpu/vector_width.py``) is not in Numba's key: code
        # compiled for one width is not loaded for the other
        return super()._index_key(sig, codegen) + (kernel_bits(self._py_func),)

    def load_overload(self, sig, target_context):
        try:
            return super().load_overload(sig, target_context)
        except Exception as e:  # noqa: BLE001 - a bad entry is recompiled, never fatal
            _warn(f"autodiff kernel cache: loading {self._name} from {self._cache_path} failed "
                  f"({type(e).__name__}: {e}); recompiling it")
            return None

    def save_overload(self, sig, data) -> None:
        try:
            super().save_overload(sig, data)
        except Exception as e:  # noqa: BLE001 - not caching is never fatal
            _warn(f"autodiff kernel cache: could not write {self._name} to {self._cache_path} "
                  f"({type(e).__name__}: {e}); it will be compiled again in the next process. "
                  "Set NUMBA_CACHE_DIR to a writable directory to keep compiled kernels.")
