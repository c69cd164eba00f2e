"""Kernels compile and cache where the installed package is read-only.

Permission bits do not stop root (CI runs as root), so when the test runs as root the
subprocess also makes Numba's writability probe fail inside the install directory, as
a read-only file system would.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

READ_ONLY_AS_ROOT = """
import os, numba.core.caching as caching
_probe = caching._CacheLocator.ensure_cache_path
def _read_only(self):
    if self.get_cache_path().startswith(os.environ["INSTALL_DIR"]):
        raise OSError(30, "Read-only file system", self.get_cache_path())
    _probe(self)
caching._CacheLocator.ensure_cache_path = _read_only
"""

SCRIPT = """
import autodiff as ad
x = ad.tensor([1.0, 2.0], requires_grad=True)
y = (x.tanh() * x).sum()
y.backward()
print(round(y.item(), 4), [round(v, 4) for v in x.grad.tolist()])
"""


def _make_read_only(path: Path) -> None:
    for p in [path, *path.rglob("*")]:
        mode = p.stat().st_mode
        p.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def test_compiles_with_read_only_package_and_fresh_user_cache(tmp_path):
    install = tmp_path / "site"
    for pkg in ("autodiff", "kernels"):
        shutil.copytree(ROOT / pkg, install / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    _make_read_only(install)
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("NUMBA_CACHE_DIR", "AUTODIFF_CACHE_DIR", "XDG_CACHE_HOME")}
    env.update(PYTHONPATH=str(install), HOME=str(home), PYTHONDONTWRITEBYTECODE="1",
               INSTALL_DIR=str(install))
    script = (READ_ONLY_AS_ROOT if os.geteuid() == 0 else "") + SCRIPT
    try:
        for _ in range(2):  # the second run loads what the first cached
            out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                                 text=True, timeout=600, cwd=tmp_path)
            assert out.returncode == 0, out.stderr
            assert out.stdout.strip() == "2.6896 [1.1816, 1.1053]"
        assert any((home / ".cache" / "autodiff").rglob("*.py")), "generated kernels go to the user cache"
        assert not any(install.rglob("*.nbi")), "nothing is written into the read-only package"
    finally:
        for p in [install, *install.rglob("*")]:
            p.chmod(p.stat().st_mode | stat.S_IWUSR)
