"""autodiff: PyTorch-style define-by-run automatic differentiation on Numba kernels.

``import autodiff as ad`` where you would ``import torch``.
"""

from . import autograd
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .device import device
from .dtypes import (bool, double, dtype, float, float32, float64, get_default_dtype, int64,  # noqa: A004
                     long, set_default_dtype)
from .dtypes import int, int8, int16, int32, promote_types, short, uint8  # noqa: A004
from .factories import (arange, as_tensor, empty, empty_like, eye, from_numpy, full, full_like,
                        linspace, ones, ones_like, rand, rand_like, randint, randint_like, randn,
                        randn_like, tensor, zeros, zeros_like)
from .random import Generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state
from .tensor import Tensor
from . import ops  # noqa: E402  (installs the Tensor methods)
from .ops.conversion import clone
from .ops.variants import EXPORTS as _EXPORTS
from .ops.elementwise import (add, bitwise_and, bitwise_not, bitwise_or, bitwise_xor,  # noqa: A004
                              broadcast_shapes, clamp, clip, nan_to_num, sub, where)
from .ops.reduction import (all, amax, amin, any, argmax, argmin, cumprod, cumsum,  # noqa: A004
                            log_softmax, logsumexp, max, mean, min, norm, prod, softmax, std, sum,
                            var)
from .ops.views import flatten, reshape, squeeze, unsqueeze
from .ops.matmul import addmm, bmm, dot, einsum, matmul, mm, mv, outer
from .ops.views import (as_strided, broadcast_to, chunk, diagonal, movedim, narrow, permute, select,
                        split, t, transpose, unbind, unflatten)
from .ops.indexing import (argwhere, count_nonzero, gather, index_add, index_copy, index_select, masked_fill, masked_select,
                           nonzero, scatter, scatter_add, take_along_dim)
from .ops.joining import cat, concat, concatenate, flip, hstack, roll, stack, tile, tril, triu, vstack
from .ops.sorting import argsort, kthvalue, median, msort, sort, topk
from .ops.sampling import bernoulli, multinomial, randperm
from .ops.diagonals import diag, diag_embed, trace, tril_indices, triu_indices

from . import nn  # noqa: E402
from . import optim, utils  # noqa: E402
from .serialization import load, save  # noqa: E402
from .dlpack import from_dlpack  # noqa: E402

from . import accelerator, cuda, distributed  # noqa: E402
from . import backends  # noqa: E402  (the device backends, with torch.backends' flags)
from . import distributions, linalg  # noqa: E402
from .ops.special import digamma, lgamma, polygamma  # noqa: E402
from .legacy import (BoolTensor, ByteTensor, CharTensor, DoubleTensor, FloatTensor,  # noqa: E402
                     IntTensor, LongTensor, ShortTensor)

__version__ = "0.1.0"
from . import profiler  # noqa: E402
from .threads import get_num_interop_threads, get_num_threads, set_num_interop_threads, set_num_threads  # noqa: E402
from . import viz  # noqa: E402

from . import sparse  # noqa: E402
from .sparse import sparse_coo, sparse_coo_tensor, spmm, strided  # noqa: E402
from .memory_format import channels_last, contiguous_format, memory_format, preserve_format  # noqa: E402
from . import amp  # noqa: E402  (GradScaler, autocast: no half precision yet)

globals().update(_EXPORTS)  # the function forms the ops declare (autodiff.exp, autodiff.mul, ...)
