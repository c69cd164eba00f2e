"""The per-nonzero code of the sparse COO kernels, in plain Python compiled per target
(``kernels.portable``): ``kernels.cpu.sparse`` loops over the nonzeros, ``kernels.cuda.sparse``
runs a device thread per nonzero.
"""

from __future__ import annotations


def sampled_dot(rows, cols, a, b, out, k):
    """out[k] = sum_j a[rows[k], j] * b[cols[k], j], accumulated in out's dtype."""
    r, c = rows[k], cols[k]
    acc = type(out[k])(0)
    for j in range(a.shape[1]):
        acc += a[r, j] * b[c, j]
    out[k] = acc


def unravel_entry(flat_index, shape, out, k):
    """out[:, k] = the C-order coordinates of flat_index[k] in an array of ``shape``."""
    rest = flat_index[k]
    for d in range(shape.shape[0] - 1, -1, -1):
        out[d, k] = rest % shape[d]
        rest //= shape[d]


def ravel_entry(indices, shape, out, k):
    """out[k] = the C-order flat position of the coordinates indices[:, k]."""
    flat = 0
    for d in range(shape.shape[0]):
        flat = flat * shape[d] + indices[d, k]
    out[k] = flat


FUNCTIONS = (sampled_dot, unravel_entry, ravel_entry)  # for portable.compile_for
