"""One row of a triangle's coordinates (``tril_indices``/``triu_indices``), in plain Python
compiled per target (``kernels.portable``).

Row ``r`` of a ``rows x cols`` matrix holds the columns ``c`` with ``c - r <= offset``
(lower) or ``c - r >= offset`` (upper): one contiguous run, so its length is closed-form
(``row_count``) and a row's place in the row-major output is the sum of the earlier rows'
lengths. The CPU kernel walks the rows in order; a device thread per row sums that prefix
itself.
"""

from __future__ import annotations


def row_span(cols, offset, lower, r):
    """(first, end) columns of row r's run (first == end: an empty row)."""
    if lower:
        return 0, max(0, min(cols, r + offset + 1))
    return min(cols, max(0, r + offset)), cols


def write_row(cols, offset, lower, r, out, k):
    """Write row r's (row, col) pairs into out[:, k:]; returns the index after them."""
    first, end = row_span(cols, offset, lower, r)
    for c in range(first, end):
        out[0, k] = r
        out[1, k] = c
        k += 1
    return k


FUNCTIONS = (row_span, write_row)  # for portable.compile_for
