"""The compile watcher: records autodiff's kernel compilations and says when they take long."""

import numba
import numpy as np

from kernels import compile_watch


def _kernel_in(module: str):
    def add_one(a):
        return a + 1.0
    add_one.__module__ = module
    return numba.njit(cache=False)(add_one)


def test_records_only_autodiff_kernels():
    before = len(compile_watch.compiled())
    ours, theirs = _kernel_in("kernels.test_fake"), _kernel_in("someone_else")
    assert ours(np.ones(3))[0] == 2.0 and theirs(np.ones(3))[0] == 2.0
    new = compile_watch.compiled()[before:]
    assert [c.name for c in new] == ["kernels.test_fake._kernel_in.<locals>.add_one"]
    assert new[0].args == "array(float64, 1d, C)" and new[0].seconds > 0


def test_notice_once_when_compiling_takes_long(monkeypatch, capsys):
    watch = compile_watch._Watch()
    watch.noticed = False
    monkeypatch.setattr(compile_watch._watch, "noticed", True)  # the process's own watcher stays quiet
    monkeypatch.setattr(compile_watch, "NOTICE_AFTER_S", 0.0)
    monkeypatch.setattr(compile_watch, "_watch", watch)
    monkeypatch.setattr(compile_watch, "_installed", False)
    try:
        compile_watch.install()
        for dtype in (np.float32, np.int64):  # two compilations, one notice
            _kernel_in("kernels.test_slow")(np.ones(3, dtype))
    finally:
        numba.core.event.unregister("numba:compile", watch)
    assert capsys.readouterr().err.count(compile_watch.NOTICE) == 1
    assert len(watch.compiled) == 2
