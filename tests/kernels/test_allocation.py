"""The opt-in malloc tuning that lets large outputs reuse freed memory."""

import platform

import pytest

from kernels.cpu.allocation import keep_freed_memory


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
                    reason="mallopt tuning applies to glibc only")
def test_tunes_glibc():
    assert keep_freed_memory() is True
