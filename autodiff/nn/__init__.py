"""``autodiff.nn``: neural-network building blocks, as ``torch.nn``."""

from . import functional  # noqa: F401
from . import init, utils  # noqa: F401
from .containers import ModuleDict, ModuleList, Sequential
from .module import Module
from .parameter import Parameter
