"""Recurrent layers as torch's: ``RNN``, ``LSTM``, ``GRU`` (multi-layer, bidirectional,
``batch_first``, inter-layer dropout, ``bias``, LSTM ``proj_size``, initial states,
``PackedSequence`` inputs) and ``RNNCell``, ``LSTMCell``, ``GRUCell``.

Parameters carry torch's names and layout (``weight_ih_l{k}[_reverse]`` ``(G*H, in)``,
``weight_hh_l{k}[_reverse]``, ``bias_ih_l{k}``, ``bias_hh_l{k}``, ``weight_hr_l{k}``; gates
in torch's order: i, f, g, o for LSTM, r, z, n for GRU), all drawn from U(-1/sqrt(H),
1/sqrt(H)), so state dicts move between the two.

Each layer direction is one ``linear`` for the input projection of every step and one
fused ``recurrent_layer`` op for the recurrence (``autodiff/ops/rnn.py``). A packed batch
is unpacked to a padded one in the original order with per-row lengths, which the kernel
honours (rows stop at their length; the reverse direction reads each row backwards from
its own end), and the output is packed back with the input's batch sizes and order.
"""

from __future__ import annotations

import math

import numpy as np

from .. import factories
from ..ops import rnn as rops
from ..ops.joining import cat, stack
from ..tensor import Tensor
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter
from .utils_rnn import PackedSequence, pad_packed_sequence, repack_like


class RNNBase(Module):
    """The shared machinery of RNN, LSTM and GRU."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, device=None, dtype=None) -> None:
        super().__init__()
        if not isinstance(dropout, (int, float)) or not 0 <= dropout <= 1 or isinstance(dropout, bool):
            raise ValueError("dropout should be a number in range [0, 1] representing the probability of an "
                             "element being zeroed")
        if not isinstance(hidden_size, int) or hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero" if isinstance(hidden_size, int)
                             else f"hidden_size should be of type int, got: {type(hidden_size).__name__}")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if proj_size and mode != "LSTM":
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional, self.proj_size = float(dropout), bidirectional, proj_size
        gates = {"LSTM": 4, "GRU": 3}.get(mode, 1)
        real_hidden = proj_size if proj_size > 0 else hidden_size
        directions = 2 if bidirectional else 1
        self._flat_weights_names = []
        for layer in range(num_layers):
            layer_in = input_size if layer == 0 else real_hidden * directions
            for d in range(directions):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                shapes = [("weight_ih" + sfx, (gates * hidden_size, layer_in)),
                          ("weight_hh" + sfx, (gates * hidden_size, real_hidden))]
                if bias:
                    shapes += [("bias_ih" + sfx, (gates * hidden_size,)), ("bias_hh" + sfx, (gates * hidden_size,))]
                if proj_size:
                    shapes.append(("weight_hr" + sfx, (proj_size, hidden_size)))
                for name, shape in shapes:
                    setattr(self, name, Parameter(factories.empty(shape, dtype=dtype)))
                    self._flat_weights_names.append(name)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def flatten_parameters(self) -> None:
        """Accepted for compatibility: the weights are used where they are."""

    @property
    def all_weights(self) -> list:
        per = len(self._flat_weights_names) // (self.num_layers * (2 if self.bidirectional else 1))
        names = self._flat_weights_names
        return [[getattr(self, n) for n in names[i:i + per]] for i in range(0, len(names), per)]

    def _layer(self, x: Tensor, layer: int, d: int, h0: Tensor, c0: Tensor | None, lengths: np.ndarray) -> tuple:
        sfx = f"_l{layer}" + ("_reverse" if d else "")
        w_ih, w_hh = getattr(self, "weight_ih" + sfx), getattr(self, "weight_hh" + sfx)
        b_ih = getattr(self, "bias_ih" + sfx) if self.bias else None
        b_hh = getattr(self, "bias_hh" + sfx) if self.bias else None
        gi = F.linear(x, w_ih, b_ih)
        mode = rops.MODES[self.mode]
        w_hr = getattr(self, "weight_hr" + sfx) if self.proj_size else None
        return rops.recurrent_layer(mode, gi, w_hh, b_hh, h0, c0, lengths, bool(d), w_hr)

    def _check_input(self, x: Tensor) -> None:
        if x.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                               f"got {x.shape[-1]}")

    def _initial(self, hx, N: int, dtype, device, is_lstm: bool, unbatched: bool) -> tuple:
        directions = 2 if self.bidirectional else 1
        h_size = self.proj_size if self.proj_size else self.hidden_size
        shapes = [(self.num_layers * directions, N, h_size)]
        if is_lstm:
            shapes.append((self.num_layers * directions, N, self.hidden_size))
        if hx is None:
            return tuple(factories.zeros(s, dtype=dtype, device=device) for s in shapes)
        states = tuple(hx) if is_lstm else (hx,)
        if is_lstm and len(states) != 2:
            raise RuntimeError("LSTM expects hx to be a tuple (h_0, c_0)")
        if unbatched:
            states = tuple(s.unsqueeze(1) for s in states)
        for s, want in zip(states, shapes):
            if tuple(s.shape) != want:
                raise RuntimeError(f"Expected hidden size {want}, got {list(s.shape)}")
        return states

    def forward(self, input, hx=None):
        is_lstm = self.mode == "LSTM"
        packed = isinstance(input, PackedSequence)
        unbatched = False
        if packed:
            x, lengths_t = pad_packed_sequence(input)
            lengths = lengths_t._data.astype(np.int64)
        else:
            x = input
            if x.dim() not in (2, 3):
                raise ValueError(f"{type(self).__name__}: Expected input to be 2D or 3D, got {x.dim()}D instead")
            unbatched = x.dim() == 2
            x = x.unsqueeze(1) if unbatched else (x.transpose(0, 1) if self.batch_first else x)
            lengths = np.full(x.shape[1], x.shape[0], np.int64)
        self._check_input(x)
        T, N = x.shape[:2]
        states = self._initial(hx, N, x.dtype, x.device, is_lstm, unbatched)
        directions = 2 if self.bidirectional else 1
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            outs = []
            for d in range(directions):
                k = layer * directions + d
                res = self._layer(x, layer, d, states[0][k], states[1][k] if is_lstm else None, lengths)
                outs.append(res[0])
                h_n.append(res[1])
                if is_lstm:
                    c_n.append(res[2])
            x = outs[0] if directions == 1 else cat(outs, dim=2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True)
        hidden = (stack(h_n), stack(c_n)) if is_lstm else stack(h_n)
        if packed:
            return repack_like(x, input), hidden
        if unbatched:
            x = x.squeeze(1)
            hidden = tuple(h.squeeze(1) for h in hidden) if is_lstm else hidden.squeeze(1)
        elif self.batch_first:
            x = x.transpose(0, 1)
        return x, hidden

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


class RNN(RNNBase):
    """Elman RNN: h' = tanh (or relu) of (x W_ih^T + b_ih + h W_hh^T + b_hh)."""

    def __init__(self, *args, **kwargs) -> None:
        nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if len(args) > 3:
            nonlinearity = args[3]
            args = args[:3] + args[4:]
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", *args, **kwargs)
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """Long short-term memory; returns ``output, (h_n, c_n)``."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__("LSTM", *args, **kwargs)


class GRU(RNNBase):
    """Gated recurrent unit."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__("GRU", *args, **kwargs)


class RNNCellBase(Module):
    """One step of a recurrent layer, with torch's ``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh``."""

    _mode = "RNN_TANH"
    _gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        g = self._gates
        self.weight_ih = Parameter(factories.empty((g * hidden_size, input_size), dtype=dtype))
        self.weight_hh = Parameter(factories.empty((g * hidden_size, hidden_size), dtype=dtype))
        if bias:
            self.bias_ih = Parameter(factories.empty(g * hidden_size, dtype=dtype))
            self.bias_hh = Parameter(factories.empty(g * hidden_size, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def _step(self, input: Tensor, hx, is_lstm: bool):
        if input.dim() not in (1, 2):
            raise ValueError(f"{type(self).__name__}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        unbatched = input.dim() == 1
        x = input.unsqueeze(0) if unbatched else input
        N = x.shape[0]
        if hx is None:
            z = factories.zeros((N, self.hidden_size), dtype=x.dtype, device=x.device)
            h, c = z, z
        elif is_lstm:
            h, c = hx
            h, c = (h.unsqueeze(0), c.unsqueeze(0)) if unbatched else (h, c)
        else:
            h, c = (hx.unsqueeze(0) if unbatched else hx), None
        gi = F.linear(x, self.weight_ih, self.bias_ih).unsqueeze(0)
        res = rops.recurrent_layer(rops.MODES[self._mode_name()], gi, self.weight_hh, self.bias_hh, h,
                                   c if is_lstm else None, np.ones(N, np.int64), False)
        if is_lstm:
            h, c = res[1], res[2]
            return (h.squeeze(0), c.squeeze(0)) if unbatched else (h, c)
        return res[1].squeeze(0) if unbatched else res[1]

    def _mode_name(self) -> str:
        return self._mode

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        return s


class RNNCell(RNNCellBase):
    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 device=None, dtype=None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity}")
        super().__init__(input_size, hidden_size, bias, device, dtype)
        self.nonlinearity = nonlinearity

    def _mode_name(self) -> str:
        return "RNN_TANH" if self.nonlinearity == "tanh" else "RNN_RELU"

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._step(input, hx, False)


class LSTMCell(RNNCellBase):
    _mode, _gates = "LSTM", 4

    def forward(self, input: Tensor, hx=None) -> tuple:
        return self._step(input, hx, True)


class GRUCell(RNNCellBase):
    _mode, _gates = "GRU", 3

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._step(input, hx, False)
