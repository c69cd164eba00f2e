"""Reading and writing files in torch.save's zip format (torch >= 1.6) without importing torch.

``archive`` holds the zip layout (records, storages, ``map_location``), ``unpickler`` the
restricted unpickler that rebuilds only tensors, storages and plain containers (what
``torch.load(weights_only=True)`` accepts), ``pickler`` the small protocol-2 writer, and
``names`` the torch type names a file refers to.
"""

from .archive import is_zip, load, save

__all__ = ["is_zip", "load", "save"]
