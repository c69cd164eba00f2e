"""The op table on the ``meta`` device: every op runs its metadata rule only, and the
shapes and dtypes it gives match what the CPU computes. Ops whose output shape depends on
the values (boolean masks) cannot run without data, as in PyTorch; they must say so."""

from __future__ import annotations

import numpy as np
import pytest

import autodiff as ad
from op_table import COMPARISONS, OPS
from test_ops import _cases, _operands

# ops whose result shape depends on the operands' values
DATA_DEPENDENT = {"getitem_mask", "masked_select"}


def _outputs(result) -> list:
    return list(result) if isinstance(result, (tuple, list)) else [result]


@pytest.mark.parametrize("op, index", _cases(OPS + COMPARISONS))
def test_op_table_on_meta_matches_cpu_metadata(op, index):
    ours, _ = _operands(op, index, np.float32, requires_grad=False)
    metas = [t.to("meta") if isinstance(t, ad.Tensor) else t for t in ours]
    if op.name in DATA_DEPENDENT:
        with ad.device("meta"), pytest.raises(NotImplementedError, match="meta"):
            op.fn(*metas)
        return
    expected = _outputs(op.fn(*ours))
    with ad.device("meta"):
        got = _outputs(op.fn(*metas))
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert g.device == ad.device("meta")
        assert (g.shape, g.dtype) == (e.shape, e.dtype)


def test_meta_tensors_have_no_data_and_record_graphs():
    x = ad.ones(2, 3, device="meta", requires_grad=True)
    assert x.device.type == "meta" and x.is_meta and x.stride() == (3, 1)
    y = (x * 2).t().sum(1)
    assert y.shape == (3,) and y.grad_fn.name() == "SumBackward0"
    with pytest.raises(NotImplementedError, match="no data"):
        x.tolist()
    with pytest.raises(NotImplementedError, match="no data"):
        x.to("cpu")


def test_fill_and_copy_into_meta_tensors_check_shapes_only():
    x = ad.zeros(2, 3, device="meta")
    assert x.fill_(2) is x and x.copy_(ad.ones(3, device="meta")) is x and x._version == 2
    with pytest.raises(RuntimeError, match="The size of tensor a \\(2\\) must match the size of tensor b \\(4\\)"):
        x.copy_(ad.ones(4, 3, device="meta"))


def test_mixing_devices_is_torchs_error():
    with pytest.raises(RuntimeError, match=r"Expected all tensors to be on the same device, but found "
                                           r"at least two devices, cpu and meta!"):
        ad.ones(2) + ad.ones(2, device="meta")
