"""The child process that runs cases under autodiff, so that a crash is a reported case,
not a dead test session.

Protocol over the inherited pipe: length-prefixed pickles; the parent sends a ``Case``,
the worker answers with its outcome (see ``cases.run``). Started by ``guard.Worker``.
"""

from __future__ import annotations

import os
import pickle
import struct
import sys

_LEN = struct.Struct("<Q")


def send(f, obj) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    f.write(_LEN.pack(len(data)) + data)
    f.flush()


def receive(f):
    head = f.read(_LEN.size)
    if len(head) < _LEN.size:
        return None
    (n,) = _LEN.unpack(head)
    return pickle.loads(f.read(n))


def main() -> None:
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    sys.stdout = sys.stderr  # anything printed by the code under test stays off the protocol
    inp = os.fdopen(os.dup(sys.stdin.fileno()), "rb")
    import warnings

    warnings.simplefilter("ignore")
    import autodiff
    from fuzz.cases import run
    from fuzz.ops import OPS

    while True:
        case = receive(inp)
        if case is None:
            return
        run_under = getattr(case, "run_under", None)  # a random program (fuzz.programs)
        send(out, run_under(autodiff) if run_under else run(autodiff, case, OPS))


if __name__ == "__main__":
    main()
