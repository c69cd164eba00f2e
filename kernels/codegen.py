"""Turn generated kernel source into an importable module that Numba can cache.

Numba's ``cache=True`` needs a function defined in a real source file: closures made
by a factory and ``exec``-ed code are recompiled in every process. So a generated
kernel module is written to the user cache directory under a name that includes a hash
of its source (and of the sources it imports), then imported from there. A changed
template or math library gives a new file name, so a stale cache is never used; an
existing file is compared byte for byte with the source before import, so a corrupt
one is rewritten. The module's kernels get autodiff's verified Numba cache (``guard``).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

from .cache_dir import cache_root
from .guard import guard_kernels

_loaded: dict[str, ModuleType] = {}


def source_hash(*paths: Path) -> str:
    """A short hash of the given files' contents (the sources a generated module imports)."""
    h = hashlib.sha1()
    for p in paths:
        h.update(Path(p).read_bytes())
    return h.hexdigest()[:10]


def load_module(family: str, stem: str, source: str) -> ModuleType:
    """Write ``source`` to ``<cache>/<family>/<stem>_<hash>.py`` (once) and import it."""
    digest = hashlib.sha1(source.encode()).hexdigest()[:12]
    modname = f"_autodiff_gen_{family}_{stem}_{digest}"
    mod = _loaded.get(modname)
    if mod is not None:
        return mod
    folder = cache_root() / family
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}_{digest}.py"
    expected = source.encode()
    try:
        if not path.exists() or path.read_bytes() != expected:  # missing, stale or corrupt
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(expected)
            os.replace(tmp, path)  # atomic: concurrent processes never see half a file
    except OSError as e:
        raise RuntimeError(f"autodiff could not write its generated kernel {path} ({e}); set "
                           "AUTODIFF_CACHE_DIR to a writable directory") from e
    spec = importlib.util.spec_from_file_location(modname, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[modname] = mod
    spec.loader.exec_module(mod)
    guard_kernels(vars(mod))
    _loaded[modname] = mod
    return mod
