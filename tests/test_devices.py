"""Devices, modes and module plumbing, and the small Tensor conveniences, against torch."""

import copy

import numpy as np
import pytest
import torch

import autodiff as ad
from autodiff import nn


# ---- Tensor.to and friends ----------------------------------------------------------------

@pytest.mark.parametrize("call", [
    lambda lib, x: x.to("cpu"),
    lambda lib, x: x.to(lib.device("cpu")),
    lambda lib, x: x.to(lib.float64),
    lambda lib, x: x.to("cpu", lib.float64),
    lambda lib, x: x.to(lib.device("cpu"), dtype=lib.int64),
    lambda lib, x: x.to(device="cpu", dtype=lib.float64, non_blocking=True),
    lambda lib, x: x.to(lib.zeros(1, dtype=lib.float64)),
    lambda lib, x: x.to("cpu", copy=True),
    lambda lib, x: x.to(lib.float32, False, True),
    lambda lib, x: x.cpu(),
    lambda lib, x: x.type(lib.float64),
    lambda lib, x: x.type("torch.LongTensor"),
])
def test_to_forms_match_torch(call):
    data = np.array([[1.5, -2.0], [3.25, 0.0]], np.float32)
    ours, theirs = ad.tensor(data), torch.tensor(data)
    a, b = call(ad, ours), call(torch, theirs)
    assert a.dtype.name == str(b.dtype).split(".")[1]
    assert (a is ours) == (b is theirs)
    np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_to_keeps_the_graph():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    y = x.to("cpu", ad.float64)
    y.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0] and x.grad.dtype is ad.float32


def test_to_cuda_says_why():
    x = ad.zeros(2)
    for call in (lambda: x.to("cuda"), lambda: x.to("cuda:0", ad.float64), lambda: x.cuda(),
                 lambda: x.to(0), lambda: nn.Linear(2, 2).to("cuda"), lambda: nn.Linear(2, 2).cuda()):
        with pytest.raises(RuntimeError, match="no cuda backend"):
            call()
    with pytest.raises(TypeError, match="unexpected keyword"):
        x.to("cpu", foo=1)


def test_device_flags_and_type_names():
    x, t = ad.zeros(2), torch.zeros(2)
    assert (x.is_cuda, x.is_xpu, x.is_mps, x.is_meta) == (t.is_cuda, t.is_xpu, t.is_mps, t.is_meta)
    assert x.type() == t.type().replace("torch", "autodiff")
    assert ad.zeros(1, dtype=ad.int64).type() == "autodiff.LongTensor"


def test_accelerator_cuda_backends_distributed():
    assert ad.accelerator.is_available() is False and ad.accelerator.current_accelerator() is None
    assert ad.accelerator.device_count() == 0
    assert ad.cuda.is_available() is False and ad.cuda.device_count() == 0
    assert ad.cuda.is_bf16_supported() is False and ad.cuda.is_initialized() is False
    ad.cuda.manual_seed(0), ad.cuda.manual_seed_all(0), ad.cuda.empty_cache()
    with pytest.raises(RuntimeError, match="no cuda backend"):
        ad.cuda.current_device()
    device = "cuda" if ad.cuda.is_available() else "cpu"
    assert ad.zeros(1, device=device).device == ad.device("cpu")
    ad.backends.cudnn.benchmark = True
    ad.backends.cudnn.deterministic = True
    ad.backends.cuda.matmul.allow_tf32 = True
    assert ad.backends.mps.is_available() is False and ad.backends.mps.is_built() is False
    assert ad.backends.cudnn.is_available() is False
    import autodiff.distributed as dist
    assert dist.is_available() is False and dist.is_initialized() is False
    with pytest.raises(ValueError, match="init_process_group"):
        dist.get_rank()


def test_data_parallel_calls_the_module():
    ad.manual_seed(0)
    inner = nn.Linear(3, 2)
    ours = nn.DataParallel(inner)
    theirs = torch.nn.DataParallel(torch.nn.Linear(3, 2))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(ours).replace("autodiff.", "") == repr(theirs)
    x = ad.randn(4, 3)
    np.testing.assert_array_equal(ours(x).detach().numpy(), inner(x).detach().numpy())
    assert ours.module is inner
    assert nn.parallel.data_parallel(inner, x).shape == (4, 2)
    with pytest.raises(ValueError, match="process group"):
        nn.parallel.DistributedDataParallel(inner)


# ---- re-assigning a registered child keeps its place --------------------------------------

def _reassigned(lib):
    N = lib.nn

    class Net(N.Module):
        def __init__(self):
            super().__init__()
            self.conv = N.Linear(4, 4)
            self.w = N.Parameter(lib.zeros(2))
            self.v = N.Parameter(lib.zeros(2))
            self.register_buffer("a", lib.zeros(1))
            self.register_buffer("b", lib.zeros(1))
            self.fc = N.Linear(4, 3)
            self.head = N.Linear(3, 1)

    m = Net()
    m.conv = N.Linear(4, 4)
    m.w = N.Parameter(lib.ones(2))
    m.a = lib.ones(1)
    return m


def test_reassignment_keeps_position_like_torch():
    ours, theirs = _reassigned(ad), _reassigned(torch)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()]
    assert ours.w.tolist() == [1.0, 1.0] and ours.a.tolist() == [1.0]
    trunk = nn.Sequential(*list(ours.children())[:-1])
    assert [type(c).__name__ for c in trunk] == ["Linear", "Linear"] and trunk[1].out_features == 3


def test_sequential_item_reassignment_keeps_position():
    ours = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    theirs = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    ours[0], theirs[0] = nn.Linear(2, 3), torch.nn.Linear(2, 3)
    assert list(ours.state_dict()) == list(theirs.state_dict())


# ---- Tensor conveniences ------------------------------------------------------------------

def test_format_of_0d_and_others():
    for spec in (".4f", "", ">10.2e", "g"):
        assert f"{ad.tensor(1.234567):{spec}}" == f"{torch.tensor(1.234567):{spec}}"
    assert f"{ad.tensor(3):d}" == f"{torch.tensor(3):d}"
    with pytest.raises(TypeError):
        f"{ad.tensor([1.0, 2.0]):.2f}"
    assert f"{ad.tensor([1.0, 2.0])}" == str(ad.tensor([1.0, 2.0]))


@pytest.mark.parametrize("name, args", [
    ("new_zeros", ((2, 3),)), ("new_zeros", (2, 3)), ("new_ones", ((4,),)), ("new_full", ((2, 2), 7)),
    ("new_tensor", ([1, 2, 3],)), ("new_tensor", ([[1.5, 2.5]],)), ("new_empty", ((0, 3),)),
])
@pytest.mark.parametrize("dtype", ["float64", "int64"])
def test_new_factories_match_torch(name, args, dtype):
    a = getattr(ad.zeros(1, dtype=getattr(ad, dtype)), name)(*args)
    b = getattr(torch.zeros(1, dtype=getattr(torch, dtype)), name)(*args)
    assert a.shape == tuple(b.shape) and a.dtype.name == str(b.dtype).split(".")[1]
    if name != "new_empty":
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    c = ad.zeros(1).new_ones(2, dtype=ad.float64, requires_grad=True)
    assert c.requires_grad and c.dtype is ad.float64


@pytest.mark.parametrize("name", ["FloatTensor", "DoubleTensor", "LongTensor", "BoolTensor"])
def test_legacy_constructors(name):
    ours, theirs = getattr(ad, name), getattr(torch, name)
    assert ours(2, 3).shape == tuple(theirs(2, 3).shape)
    assert ours().shape == tuple(theirs().shape)
    a, b = ours([[1, 0], [3, 4]]), theirs([[1, 0], [3, 4]])
    assert a.dtype.name == str(b.dtype).split(".")[1]
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert isinstance(a, ours) and not isinstance(ad.zeros(1, dtype=ad.float64 if name != "DoubleTensor"
                                                           else ad.float32), ours)


def test_integer_legacy_types_match_torch():
    for name in ("IntTensor", "ShortTensor", "CharTensor", "ByteTensor"):
        ours, theirs = getattr(ad, name)([1, 2]), getattr(torch, name)([1, 2])
        assert str(ours.dtype).removeprefix("autodiff.") == str(theirs.dtype).removeprefix("torch.")
        assert isinstance(ours, getattr(ad, name)) and not isinstance(ours, ad.LongTensor)
        assert ours.tolist() == theirs.tolist()


def test_tensor_constructor_forms():
    for args in ((3,), (2, 3), ()):
        assert ad.Tensor(*args).shape == tuple(torch.Tensor(*args).shape)
    np.testing.assert_array_equal(ad.Tensor([1, 2]).numpy(), torch.Tensor([1, 2]).numpy())
    assert ad.Tensor((2, 3)).dtype is ad.float32 and ad.Tensor((2, 3)).tolist() == [2.0, 3.0]


def test_index_with_range():
    x = np.arange(24.0).reshape(4, 6)
    for key in (range(1, 3), (slice(None), range(0, 6, 2)), (range(3), range(3))):
        np.testing.assert_array_equal(ad.tensor(x)[key].numpy(), torch.tensor(x)[key].numpy())
    y = ad.tensor(x, requires_grad=True)
    y[range(1, 3)].sum().backward()
    assert y.grad.sum().item() == 12.0


def test_stack_of_memmap_slices(tmp_path):
    path = tmp_path / "data.bin"
    mm = np.memmap(path, dtype=np.float32, mode="w+", shape=(5, 3))
    mm[:] = np.arange(15, dtype=np.float32).reshape(5, 3)
    rows = [ad.from_numpy(mm[i]) for i in (0, 2, 4)]
    ours = ad.stack(rows)
    theirs = torch.stack([torch.from_numpy(np.asarray(mm[i])) for i in (0, 2, 4)])
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    rows[0][0] = 100.0  # still shares the mapped memory
    assert mm[0, 0] == 100.0


def test_from_numpy_of_small_integer_dtypes_shares_memory():
    for dt in (np.uint8, np.int8, np.int16, np.int32):
        a = np.arange(3, dtype=dt)
        t = ad.from_numpy(a)
        assert str(t.dtype).removeprefix("autodiff.") == str(torch.from_numpy(a).dtype).removeprefix("torch.")
        a[0] = 7
        assert t.tolist() == [7, 1, 2]


def test_tensor_deepcopy_matches_torch():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    x.grad = ad.tensor([0.5, 0.5])
    y = copy.deepcopy(x)
    assert y.requires_grad and y.is_leaf and y.grad.tolist() == [0.5, 0.5]
    y.data.add_(1)
    assert x.tolist() == [1.0, 2.0]
