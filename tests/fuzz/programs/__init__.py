"""The differential random-program fuzzer: programs of views, copies, in-place writes,
no-grad blocks, detach, hooks and ``retain_grad`` ending in ``backward`` or
``autograd.grad``, generated as plain data (``program``, ``generate``), run by one
interpreter under autodiff (in the fuzz worker process) and torch (``interpret``),
compared step by step (``compare``) and shrunk on failure (``shrink``, ``check``)."""
