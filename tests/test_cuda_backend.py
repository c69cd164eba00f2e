"""The CUDA backend: the CPU install stays free of numba.cuda; the backend runs in a child process.

``cuda_backend_checks.py`` holds the tests that need a device; here they run in a child
process under Numba's CUDA simulator (which must be switched on before ``numba.cuda`` is
first imported, so it cannot share this process). On a GPU machine
``benchmarks/gpu_check.sh`` runs them on the GPU as well.
"""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

import autodiff as ad

ROOT = Path(__file__).parents[1]
HAVE_NUMBA_CUDA = __import__("importlib.util").util.find_spec("numba_cuda") is not None


def _python(code: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          cwd=ROOT, env=dict(os.environ, **env))


def test_only_the_cuda_backend_imports_cuda_kernels_and_numba_cuda():
    allowed = {"autodiff/backends/gpu.py", "autodiff/backends/gpu_memory.py", "autodiff/cuda.py"}
    offenders = {}
    for path in (ROOT / "autodiff").rglob("*.py"):
        names = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                names.update([node.module] + [f"{node.module}.{a.name}" for a in node.names])
        bad = sorted(n for n in names if n.startswith(("kernels.cuda", "numba.cuda", "numba_cuda")))
        rel = str(path.relative_to(ROOT))
        if bad and rel not in allowed:
            offenders[rel] = bad
    assert not offenders, f"modules importing the CUDA kernels or numba.cuda outside the backend: {offenders}"


def test_the_cpu_install_never_imports_numba_cuda():
    proc = _python("import sys, autodiff as ad\n"
                   "x = ad.ones(3, requires_grad=True); (x * 2).sum().backward()\n"
                   "ad.cuda.manual_seed(0); ad.cuda.empty_cache(); ad.cuda.memory_allocated()\n"
                   "print(sorted(m for m in sys.modules if m.startswith(('numba.cuda', 'numba_cuda'))))")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


@pytest.mark.skipif(not HAVE_NUMBA_CUDA, reason="numba-cuda is not installed (pip install 'autodiff[cuda]')")
def test_no_gpu_is_a_clear_error():
    if ad.cuda.is_available():
        pytest.skip("a GPU (or the simulator) is present here")
    for call in (lambda: ad.zeros(2, device="cuda"), lambda: ad.ones(2).cuda(), lambda: ad.cuda.synchronize()):
        with pytest.raises(RuntimeError, match="no cuda backend on this machine.*finds no CUDA GPU"):
            call()
    assert ad.cuda.device_count() == 0 and ad.cuda.memory_allocated() == 0


def test_without_numba_cuda_the_error_says_what_to_install():
    proc = _python("import importlib.util, autodiff as ad\n"
                   "real = importlib.util.find_spec\n"
                   "importlib.util.find_spec = lambda n, *a: None if n == 'numba_cuda' else real(n, *a)\n"
                   "assert ad.cuda.is_available() is False\n"
                   "try:\n    ad.zeros(1, device='cuda')\nexcept RuntimeError as e:\n    print(e)")
    assert proc.returncode == 0, proc.stderr
    assert "pip install autodiff[cuda]" in proc.stdout


@pytest.mark.skipif(not HAVE_NUMBA_CUDA, reason="numba-cuda is not installed (pip install 'autodiff[cuda]')")
def test_cuda_backend_under_the_simulator():
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        pytest.skip("the simulator is on in this process: run tests/cuda_backend_checks.py directly")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-W", "ignore::RuntimeWarning", str(ROOT / "tests" / "cuda_backend_checks.py")],
                          capture_output=True, text=True, cwd=ROOT, timeout=600,
                          env=dict(os.environ, NUMBA_ENABLE_CUDASIM="1"))
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
