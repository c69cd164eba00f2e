"""Affine layers: ``Identity``, ``Linear``, ``LazyLinear``, ``Bilinear`` (initialised as PyTorch's)."""

from __future__ import annotations

import math
from typing import Any

from .. import factories
from ..tensor import Tensor
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter


def add_weight_and_bias(module: Module, weight_shape: tuple, bias: bool, dtype) -> None:
    """Give ``module`` an (uninitialised) ``weight`` and, if asked, a ``bias`` of its rows."""
    module.weight = Parameter(factories.empty(weight_shape, dtype=dtype))
    if bias:
        module.bias = Parameter(factories.empty(weight_shape[0], dtype=dtype))
    else:
        module.register_parameter("bias", None)


def reset_kaiming(weight: Tensor, bias: Tensor | None) -> None:
    """PyTorch's default init for Linear and Conv: Kaiming-uniform weight (a = sqrt(5)) and a
    bias uniform in +-1/sqrt(fan_in)."""
    init.kaiming_uniform_(weight, a=math.sqrt(5))
    fan_in = weight.numel() // weight.shape[0] if weight.shape[0] else 0
    if bias is not None and fan_in:
        bound = 1 / math.sqrt(fan_in)
        init.uniform_(bias, -bound, bound)


class Identity(Module):
    """Returns its input; accepts and ignores any constructor arguments."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return input


class Linear(Module):
    """``y = x W^T + b``; W and b drawn from U(-1/sqrt(in), 1/sqrt(in)) (Kaiming-uniform, a=sqrt(5))."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        add_weight_and_bias(self, (out_features, in_features), bias, dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        reset_kaiming(self.weight, self.bias)

    def forward(self, input: Tensor) -> Tensor:
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class LazyLinear(Linear):
    """A ``Linear`` whose ``in_features`` is read from the first input; it then becomes a ``Linear``."""

    def __init__(self, out_features: int, bias: bool = True, device=None, dtype=None) -> None:
        Module.__init__(self)
        self.in_features = 0
        self.out_features = out_features
        self._dtype = dtype
        self.weight = Parameter(factories.empty(0, dtype=dtype))
        if bias:
            self.bias = Parameter(factories.empty(0, dtype=dtype))
        else:
            self.register_parameter("bias", None)

    def reset_parameters(self) -> None:
        if self.in_features:
            super().reset_parameters()

    def forward(self, input: Tensor) -> Tensor:
        self.in_features = input.shape[-1]
        self.weight = Parameter(factories.empty((self.out_features, self.in_features), dtype=self._dtype))
        if self.bias is not None:
            self.bias = Parameter(factories.empty(self.out_features, dtype=self._dtype))
        del self._dtype
        self.reset_parameters()
        self.__class__ = Linear
        return self.forward(input)


class Bilinear(Module):
    """``y_k = x1^T A_k x2 + b_k``; A and b drawn from U(-1/sqrt(in1), 1/sqrt(in1))."""

    def __init__(self, in1_features: int, in2_features: int, out_features: int, bias: bool = True,
                 device=None, dtype=None) -> None:
        super().__init__()
        self.in1_features, self.in2_features, self.out_features = in1_features, in2_features, out_features
        add_weight_and_bias(self, (out_features, in1_features, in2_features), bias, dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1 / math.sqrt(self.weight.shape[1])
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1: Tensor, input2: Tensor) -> Tensor:
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")
