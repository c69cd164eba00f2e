"""The malloc tuning that lets large outputs reuse freed memory."""

import platform

import pytest

from kernels.cpu.allocation import keep_freed_memory


def test_opt_out(monkeypatch):
    monkeypatch.setenv("AUTODIFF_KEEP_FREED_MEMORY", "0")
    assert keep_freed_memory() is False


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
                    reason="mallopt tuning applies to glibc only")
def test_tunes_glibc(monkeypatch):
    monkeypatch.delenv("AUTODIFF_KEEP_FREED_MEMORY", raising=False)
    assert keep_freed_memory() is True
