"""``torch.onnx``'s name, so programs that import it (for an optional export flag) run.

autodiff has no ONNX exporter: ``export`` raises, saying so; the rest of a program that
only imports the module is unaffected.
"""

from __future__ import annotations


def export(model, args, f=None, *rest, **kwargs):
    """Not supported: autodiff cannot write ONNX graphs."""
    raise NotImplementedError("autodiff.onnx.export: ONNX export is not supported by autodiff; save the weights "
                              "with autodiff.save(model.state_dict(), path) instead")


def is_in_onnx_export() -> bool:
    return False
