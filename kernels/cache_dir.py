"""Where generated kernel sources (and, beside them, Numba's compiled cache) live.

Generated modules must be real files for Numba's ``cache=True`` to work, so they are
written under a user cache directory, never into the installed package (which may be
read-only). Order of preference: ``$AUTODIFF_CACHE_DIR``, ``$NUMBA_CACHE_DIR/autodiff``,
``$XDG_CACHE_HOME/autodiff`` (``~/.cache/autodiff``), then the system temp directory.
"""

from __future__ import annotations

import os
import tempfile
from functools import lru_cache
from pathlib import Path


def _candidates() -> list[Path]:
    out = []
    if os.environ.get("AUTODIFF_CACHE_DIR"):
        out.append(Path(os.environ["AUTODIFF_CACHE_DIR"]))
    if os.environ.get("NUMBA_CACHE_DIR"):
        out.append(Path(os.environ["NUMBA_CACHE_DIR"]) / "autodiff")
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    out.append(Path(xdg) / "autodiff")
    out.append(Path(tempfile.gettempdir()) / f"autodiff-{os.getuid() if hasattr(os, 'getuid') else 'user'}")
    return out


@lru_cache(maxsize=None)
def cache_root() -> Path:
    """The first candidate directory that exists (or can be made) and is writable."""
    for path in _candidates():
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(path, os.W_OK | os.X_OK):
            return path
    raise RuntimeError(
        "autodiff found no writable directory for its kernel cache; tried "
        + ", ".join(str(p) for p in _candidates())
        + ". Set AUTODIFF_CACHE_DIR to a writable directory."
    )
