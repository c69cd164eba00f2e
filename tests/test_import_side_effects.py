"""Importing and running autodiff leaves the process as it found it for other libraries.

Each check runs in a fresh interpreter, since what matters is what happens before another
library (torch) starts its own runtime in the same process.
"""

import json
import os
import subprocess
import sys
import textwrap

_SNAPSHOT = """
import ctypes, json, os
libc = ctypes.CDLL(None)
libc.getenv.restype = ctypes.c_char_p
def snapshot():
    return {"environ": dict(os.environ), "c_omp_wait_policy": libc.getenv(b"OMP_WAIT_POLICY") and
            libc.getenv(b"OMP_WAIT_POLICY").decode()}
"""


def _run(body: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "AUTODIFF_KEEP_FREED_MEMORY")}
    code = _SNAPSHOT + body
    out = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


_TORCH_INFO = """
import torch
info = {"threads": torch.get_num_threads(), "interop": torch.get_num_interop_threads(),
        "parallel_info": [l for l in torch.__config__.parallel_info().splitlines() if "OMP" in l or "omp" in l]}
"""


def test_import_and_run_leave_environment_and_torch_alone():
    after = _run(textwrap.dedent("""
        before = snapshot()
        import autodiff
        x = autodiff.randn(1 << 20, requires_grad=True)
        (x * 2).tanh().sum().backward()  # large enough to run Numba's parallel kernels
        m = autodiff.randn(256, 256)
        (m @ m).sum()  # loads the GEMM kernels' BLAS library (MKL where installed)
        after = snapshot()
        """) + _TORCH_INFO + 'print(json.dumps({"before": before, "after": after, "torch": info}))')
    alone = _run(_TORCH_INFO + "\nprint(json.dumps(info))\n")
    assert after["after"] == after["before"]
    assert after["after"]["c_omp_wait_policy"] is None
    assert after["torch"] == alone


def test_malloc_tuning_is_opt_in(monkeypatch):
    from kernels.cpu.allocation import keep_freed_memory_requested

    monkeypatch.delenv("AUTODIFF_KEEP_FREED_MEMORY", raising=False)
    assert keep_freed_memory_requested() is False
    monkeypatch.setenv("AUTODIFF_KEEP_FREED_MEMORY", "1")
    assert keep_freed_memory_requested() is True
