"""The GEMM kernels' BLAS library: SciPy's OpenBLAS by default, MKL with ``AUTODIFF_BLAS=mkl``;
both give the same products, and one kernel cache serves both."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from kernels.cpu import blas_provider

_PRODUCTS = textwrap.dedent("""
    import json, numpy as np, autodiff as ad
    from kernels.cpu.blas import ready_blas
    rng = np.random.default_rng(0)
    out = {}
    for dt in ("float32", "float64"):
        a, b = rng.standard_normal((70, 33)).astype(dt), rng.standard_normal((45, 33)).astype(dt)
        bias = rng.standard_normal(45).astype(dt)
        x = ad.tensor(a, requires_grad=True)
        y = ad.nn.functional.linear(x, ad.tensor(b), ad.tensor(bias))
        y.backward(ad.ones_like(y))
        out[dt] = {"linear": y.detach().numpy().tolist(), "grad": x.grad.numpy().tolist(),
                   "matmul_t": (ad.tensor(a).t() @ ad.tensor(a)).numpy().tolist()}
    print(json.dumps({"provider": ready_blas(), "out": out}))
    """)


def _run(blas: str | None, code: str = _PRODUCTS) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("AUTODIFF_BLAS", None)
    if blas is not None:
        env["AUTODIFF_BLAS"] = blas
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)


def _products(blas: str | None) -> dict:
    done = _run(blas)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def _mkl_installed() -> bool:
    return blas_provider.mkl_runtime_path() is not None


def _expected() -> dict:
    rng = np.random.default_rng(0)
    out = {}
    for dt in ("float32", "float64"):
        a, b = rng.standard_normal((70, 33)).astype(dt), rng.standard_normal((45, 33)).astype(dt)
        bias = rng.standard_normal(45).astype(dt)
        a64, b64 = a.astype(np.float64), b.astype(np.float64)
        out[dt] = {"linear": a64 @ b64.T + bias, "grad": np.ones((70, 45)) @ b64, "matmul_t": a64.T @ a64}
    return out


def _check_products(got: dict) -> None:
    expected = _expected()
    for dt, tol in (("float32", 1e-4), ("float64", 1e-12)):
        for name, want in expected[dt].items():
            np.testing.assert_allclose(np.array(got["out"][dt][name]), want, rtol=tol, atol=tol,
                                       err_msg=f"{got['provider']} {dt} {name}")


def test_default_is_openblas_and_its_products_are_right():
    for blas in (None, "openblas"):
        got = _products(blas)
        assert got["provider"] == "openblas"
        _check_products(got)


@pytest.mark.skipif(not _mkl_installed(), reason="MKL is not installed in this environment (the mkl extra)")
def test_mkl_on_request_gives_the_same_products():
    got = _products("mkl")
    assert got["provider"] == "mkl"
    _check_products(got)


@pytest.mark.skipif(_mkl_installed(), reason="MKL is installed here: the refusal needs an environment without it")
def test_mkl_requested_but_missing_says_how_to_install_it():
    done = _run("mkl", "import autodiff as ad\nad.ones(3, 3) @ ad.ones(3, 3)")
    assert done.returncode != 0 and "pip install autodiff[mkl]" in done.stderr


def test_an_unknown_library_name_is_a_clear_error():
    done = _run("atlas", "import autodiff as ad\nad.ones(3, 3) @ ad.ones(3, 3)")
    assert done.returncode != 0
    assert "AUTODIFF_BLAS must be 'mkl' or 'openblas', got 'atlas'" in done.stderr


def test_a_kernel_run_before_ready_blas_still_reaches_a_blas():
    code = textwrap.dedent("""
        import numpy as np
        from kernels.cpu import blas
        a = np.arange(12, dtype=np.float32).reshape(3, 4)
        out = np.empty((3, 3), np.float32)
        blas.gemm(a, a.T, out)
        print(np.abs(out - a @ a.T).max())
        """)
    done = _run(None, code)
    assert done.returncode == 0, done.stderr
    assert float(done.stdout.split()[-1]) == 0.0


def test_the_request_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("AUTODIFF_BLAS", "MKL")
    assert blas_provider.requested() == "mkl"
    monkeypatch.delenv("AUTODIFF_BLAS")
    assert blas_provider.requested() == "openblas"
    monkeypatch.setenv("AUTODIFF_BLAS", "atlas")
    with pytest.raises(ValueError, match="got 'atlas'"):
        blas_provider.requested()


@pytest.mark.skipif(not _mkl_installed(), reason="MKL is not installed in this environment (the mkl extra)")
def test_mkl_products_stay_right_after_garbage_collection():
    code = textwrap.dedent("""
        import gc, numpy as np, autodiff as ad
        a = ad.randn(64, 48)
        first = (a @ a.t()).numpy()
        gc.collect()
        again = (a @ a.t()).numpy()
        print(np.abs(again - first).max())
        """)
    done = _run("mkl", code)
    assert done.returncode == 0, done.stderr
    assert float(done.stdout.split()[-1]) == 0.0
