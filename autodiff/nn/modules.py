"""``torch.nn.modules``: the layer classes under torch's submodule names
(``nn.modules.linear.Linear``, ``nn.modules.rnn.LSTM``...), which programs spell out, for
instance in the ``safe_globals`` list of a whole-model ``load``. Each submodule is an
importable module object holding the public names of the autodiff modules that define
those layers (``import autodiff.nn.modules.linear`` works too)."""

from __future__ import annotations

import sys
from types import ModuleType

from . import (activation, attention, containers, conv, dropout, flatten, linear, loss, module, normalization,
               pooling, rnn, sparse, transformer, upsampling)

_SOURCES = {
    "activation": (activation, attention), "container": (containers,), "conv": (conv,), "dropout": (dropout,),
    "flatten": (flatten,), "linear": (linear, attention), "loss": (loss,), "module": (module,),
    "normalization": (normalization,), "batchnorm": (normalization,), "instancenorm": (normalization,),
    "pooling": (pooling,), "rnn": (rnn,), "sparse": (sparse,), "transformer": (transformer,),
    "upsampling": (upsampling,), "pixelshuffle": (upsampling,),
}


def _submodule(name: str, sources: tuple) -> ModuleType:
    sub = ModuleType(f"{__name__}.{name}", f"torch.nn.modules.{name}'s names, from autodiff.nn")
    for source in sources:
        sub.__dict__.update({k: v for k, v in vars(source).items() if not k.startswith("_")
                             and isinstance(v, type)})
    sys.modules[sub.__name__] = sub
    return sub


globals().update({name: _submodule(name, sources) for name, sources in _SOURCES.items()})
