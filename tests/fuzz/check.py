"""``differential(worker, case, family)``: run a case under torch here and under autodiff in
the worker, and fail unless the outcomes agree (see ``cases.compare``)."""

from __future__ import annotations

import warnings

import torch

from hypothesis import given

from .budget import count, examples
from .cases import compare, run
from .ops import OPS

# torch's own limitations, where autodiff computes a (checked) answer instead of raising:
# scatter's backward when index is smaller than src ("returned an invalid gradient").
TORCH_LIMITATIONS = ("returned an invalid gradient",)
# ops whose out-of-range index is an IndexError or a RuntimeError in torch depending on its
# CPU kernel path (dim 0 or not, contiguity): autodiff always raises IndexError
INDEX_ERROR_OR_RUNTIME = ("index.index_select", "index.index_add")


def differential(worker, case, family: str, rtol: float = 1e-4, atol: float = 1e-5, known=None) -> None:
    """``known(ours, ref)``: true for a documented, deliberate difference (docs/robustness.md)."""
    count(family)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = run(torch, case, OPS)
    ours = worker.run(case)
    if ref[0] == "raise" and any(m in ref[2] for m in TORCH_LIMITATIONS):
        return
    if case.op in INDEX_ERROR_OR_RUNTIME and ours[0] == ref[0] == "raise" and \
            {ours[1], ref[1]} <= {"IndexError", "RuntimeError"}:
        return
    if known is not None and known(ours, ref):
        return
    problem = compare(ours, ref, rtol, atol)
    assert problem is None, f"{case!r}\n{problem}"


def install_family_tests(families: dict, namespace: dict) -> None:
    """``test_<family>_matches_torch`` in ``namespace`` for each ``family: (strategy, examples)``:
    every generated case run differentially (``differential``)."""
    def family_test(name: str):
        strategy, n = families[name]

        @examples(n)
        @given(case=strategy())
        def test(worker, case):
            differential(worker, case, name)

        test.__name__ = f"test_{name}_matches_torch"
        return test

    for name in families:
        namespace[f"test_{name}_matches_torch"] = family_test(name)
