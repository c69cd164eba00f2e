"""``AUTODIFF_VECTOR_BITS=512``: Numba's CPU code generator stops preferring 256-bit vectors
on AVX-512 CPUs; kernels give the same results; without it nothing changes; too late warns."""

import json
import os
import subprocess
import sys
import textwrap

import llvmlite.binding as llvm
import pytest

from kernels.cpu import vector_width

_RUN = textwrap.dedent("""
    import json, warnings, numpy as np
    {before}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        import autodiff as ad
    from numba.core import config
    x = ad.tensor(np.linspace(-30, 30, 4099, dtype=np.float32), requires_grad=True)
    y = (ad.exp(x * 0.1) + ad.tanh(x) + ad.erf(x)).sum()
    y.backward()
    print(json.dumps({{"features": config.CPU_FEATURES, "y": y.item(), "grad": x.grad.numpy().tolist(),
                      "warnings": [str(w.message) for w in caught if "VECTOR_BITS" in str(w.message)]}}))
    """)
AVX512 = llvm.get_host_cpu_features().get("avx512f", False)


def _run(bits: str | None, before: str = "") -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("AUTODIFF_VECTOR_BITS", "NUMBA_CPU_FEATURES")}
    if bits is not None:
        env["AUTODIFF_VECTOR_BITS"] = bits
    proc = subprocess.run([sys.executable, "-c", _RUN.format(before=before)], capture_output=True, text=True,
                          env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_wide_vectors_change_the_code_generator_only_and_not_the_results():
    default, wide = _run(None), _run("512")
    assert default["features"] is None  # not asked: Numba's own choice stands
    if AVX512:
        assert wide["features"].endswith(",-prefer-256-bit")
    else:
        assert wide["features"] is None  # nothing to widen on this CPU
    assert wide["y"] == pytest.approx(default["y"], rel=1e-6)
    assert wide["grad"] == pytest.approx(default["grad"], rel=1e-6, abs=1e-7)
    assert not default["warnings"] and not wide["warnings"]


@pytest.mark.skipif(not AVX512, reason="the setting applies to AVX-512 CPUs only")
def test_asking_after_numba_compiled_warns_and_changes_nothing():
    late = _run("512", before="import numba; numba.njit(lambda: 1)()")
    assert late["features"] is None
    assert late["warnings"] and "came too late" in late["warnings"][0]


def test_a_bad_value_is_an_error(monkeypatch):
    monkeypatch.setenv("AUTODIFF_VECTOR_BITS", "1024")
    with pytest.raises(ValueError, match="AUTODIFF_VECTOR_BITS must be 256 or 512, got '1024'"):
        vector_width.wide_vectors_requested()
    monkeypatch.setenv("AUTODIFF_VECTOR_BITS", "256")
    assert not vector_width.wide_vectors_requested()
