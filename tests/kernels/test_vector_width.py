"""autodiff's kernels compile for 512-bit vectors on Intel AVX-512 CPUs (``AUTODIFF_VECTOR_BITS``
overrides): the same results either way, a cache keeps both, and nobody else's ``@njit``
code changes."""

import json
import os
import re
import subprocess
import sys
import textwrap

import llvmlite.binding as llvm
import pytest

from kernels.cpu import vector_width

AVX512 = bool(llvm.get_host_cpu_features().get("avx512f"))

_USER = textwrap.dedent("""
    import numba, numpy as np
    @numba.njit
    def user(a, o):
        for i in range(a.shape[0]):
            o[i] = a[i] * np.float32(2) + np.float32(1)
    """)
_RUN = textwrap.dedent("""
    import json, numpy as np
    {imports}
    out = {{}}
    if "ad" in globals():
        from kernels import compile_watch
        from kernels.cpu import elementwise
        x = ad.tensor(np.linspace(-30, 30, 4099, dtype=np.float32), requires_grad=True)
        y = (ad.exp(x * 0.1) + ad.tanh(x) + ad.erf(x)).sum()
        y.backward()
        big = ad.tanh(ad.tensor(np.linspace(-1, 3, elementwise.PARALLEL_THRESHOLD, dtype=np.float32)))
        serial, parallel = elementwise.flat_kernels("tanh", np.dtype("float32"), "a")
        def zmm(kernel):
            return kernel.inspect_asm(kernel.signatures[0]).count("zmm") if compile_watch.compiled() else None
        out.update(y=y.item(), grad=x.grad.numpy().tolist(), big=float(big.sum()),
                   compiled=len(compile_watch.compiled()), parallel_zmm=zmm(parallel), serial_zmm=zmm(serial))
    if "user" in globals():
        a = np.ones(100, np.float32)
        user(a, np.empty_like(a))
        out["user_asm"] = user.inspect_asm(user.signatures[0])
    from numba.core import config
    out["features"] = config.CPU_FEATURES
    print(json.dumps(out))
    """)


def _run(cache, bits: str | None = None, autodiff: bool = True, user: bool = False) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("AUTODIFF_VECTOR_BITS", "NUMBA_CPU_FEATURES")}
    env.update(NUMBA_CACHE_DIR=str(cache), AUTODIFF_CACHE_DIR=str(cache / "autodiff"), AUTODIFF_COMPILE_NOTICE="0")
    if bits is not None:
        env["AUTODIFF_VECTOR_BITS"] = bits
    imports = ("import autodiff as ad\n" if autodiff else "") + (_USER if user else "")
    proc = subprocess.run([sys.executable, "-c", _RUN.format(imports=imports)], capture_output=True, text=True,
                          env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_either_width_gives_the_same_results_and_a_cache_keeps_both(tmp_path):
    narrow = _run(tmp_path, "256")
    wide = _run(tmp_path, "512")
    assert narrow["compiled"] and wide["compiled"]  # not the other width's code from the cache
    assert narrow["parallel_zmm"] == 0 and narrow["serial_zmm"] == 0
    assert (wide["parallel_zmm"] > 0) == AVX512
    assert wide["serial_zmm"] == 0  # the serial flat loops (small arrays) stay 256 bits wide
    assert wide["y"] == pytest.approx(narrow["y"], rel=1e-6)
    assert wide["big"] == pytest.approx(narrow["big"], rel=1e-5)
    assert wide["grad"] == pytest.approx(narrow["grad"], rel=1e-6, abs=1e-7)
    again = _run(tmp_path, "256")
    assert again["compiled"] == 0 and again["y"] == narrow["y"]  # this time it is loaded


def _instructions(asm: str) -> list[str]:
    """The instruction lines of ``asm``, symbol names (which differ between processes) masked."""
    lines = [line.strip() for line in asm.splitlines() if line.startswith("\t") and not line.startswith("\t.")]
    return [re.sub(r"[\w.$]*_Z\w+|cfunc\.\w+", "SYM", line) for line in lines]


def test_a_users_njit_function_compiles_as_it_does_without_autodiff(tmp_path):
    alone = _run(tmp_path / "alone", autodiff=False, user=True)
    beside = _run(tmp_path / "beside", "512", user=True)  # autodiff compiled wide kernels first
    assert beside["compiled"]
    assert _instructions(beside["user_asm"]) == _instructions(alone["user_asm"])
    assert beside["features"] is None and alone["features"] is None  # Numba's own settings stand


def test_the_default_is_512_on_intel_avx512_only_and_a_bad_value_is_an_error():
    assert vector_width.choose("", True, "sapphirerapids") == 512
    assert vector_width.choose("", True, "znver4") == 256  # Zen 4 splits 512-bit instructions
    assert vector_width.choose("", False, "skylake") == 256
    assert vector_width.choose("256", True, "icelake-server") == 256
    assert vector_width.choose("512", True, "znver4") == 512
    assert vector_width.choose("512", False, "znver3") == 256  # no AVX-512: nothing to widen
    with pytest.raises(ValueError, match="AUTODIFF_VECTOR_BITS must be 256 or 512, got '1024'"):
        vector_width.choose("1024", True, "icelake-server")
