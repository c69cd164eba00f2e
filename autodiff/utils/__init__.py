"""``autodiff.utils``: training utilities, as ``torch.utils`` (``data``, ``checkpoint``)."""

from . import checkpoint, data  # noqa: F401
