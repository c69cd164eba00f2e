"""The op definitions (one per op) and the Tensor methods built from them."""

from . import conversion, copy_slices, elementwise, indexing, joining, reduction, views  # noqa: F401
from . import methods  # noqa: F401  (installs Tensor methods)
