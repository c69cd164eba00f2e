"""``autodiff.autograd``: the engine and the tools around it, as ``torch.autograd``."""

from .anomaly import detect_anomaly, set_detect_anomaly
from .function import Function, FunctionCtx
from .functional_api import backward, grad
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .graph import Node
from . import tensor_methods  # noqa: F401  (installs Tensor.backward, register_hook)

__all__ = ["Function", "FunctionCtx", "GradcheckError", "Node", "backward", "detect_anomaly",
           "enable_grad", "grad", "gradcheck", "gradgradcheck", "is_grad_enabled", "no_grad",
           "set_detect_anomaly", "set_grad_enabled"]
