"""Random programs of views, copies, elementwise ops, reductions, in-place writes, no-grad
blocks, detach, hooks and ``retain_grad``, ending in ``backward`` or ``autograd.grad``.

The generator runs each drawn step in torch as it goes, so it knows every value's shape,
and whether it requires grad, to draw the next step from; a step torch refuses ends the
program now and then (both libraries must then raise the same class of exception there),
and is otherwise drawn again. Steps whose values grow beyond ``LIMIT`` are drawn again, so
that comparisons stay meaningful. Everything is decided by ``numpy.random`` from the seed.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from .interpret import Env, observed_step, run_values
from .program import Const, Leaf, Program, Ref, Step

LEAF_SHAPES = [(4,), (3, 4), (4, 4), (2, 3, 4)]
# A known, open difference (docs/robustness.md): an index write (advanced index or mask,
# masked_fill_) into a tensor whose elements overlap (expand, unfold with step < size) that
# cannot be written as one strided window goes
# through a temporary whose every element is copied back, so elements shared by several
# positions get an unwritten value; torch writes only the indexed positions. Off: such
# writes are not drawn.
INDEX_WRITES_INTO_EXPANDED = False
LIMIT = 1e3       # largest value kept in a program
GRAD_LIMIT = 1e6  # largest gradient kept
KEEP_REFUSED = 0.25  # how often a step torch refuses is kept (and ends the program)
NO_GRAD = 0.12


class Draw:
    """The program drawn so far, its torch values, and the random source."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.seed = seed
        rng = self.rng
        leaves = []
        for i in range(int(rng.integers(2, 5))):
            shape = LEAF_SHAPES[int(rng.integers(len(LEAF_SHAPES)))]
            data = rng.integers(1, 200, shape) * rng.choice([-1, 1], shape) / 100
            leaves.append(Leaf(i, data.astype(np.float64), bool(i == 0 or rng.random() < 0.65)))
        self.leaves = tuple(leaves)
        self.steps: list[Step] = []
        self.next_id = len(leaves)
        self.hooks = 0
        self.env = run_values(self.program())

    def program(self) -> Program:
        return Program(self.leaves, tuple(self.steps), self.seed)

    # ---- choosing operands ---------------------------------------------------------------
    def ids(self, pred=None) -> list[int]:
        return [i for i, t in self.env.values.items() if t is not None and (pred is None or _holds(pred, t))]

    def pick(self, pred=None) -> int | None:
        """An existing value satisfying ``pred``, most often a recent one."""
        ids = self.ids(pred)
        if not ids:
            return None
        if self.rng.random() < 0.7:
            ids = ids[-5:]
        return int(ids[int(self.rng.integers(len(ids)))])

    def t(self, i: int):
        return self.env.values[i]

    def int(self, lo: int, hi: int) -> int:
        """An integer in [lo, hi]."""
        return int(self.rng.integers(lo, hi + 1))

    def chance(self, p: float) -> bool:
        return bool(self.rng.random() < p)

    def scalar(self) -> float:
        return float(self.rng.choice([0.5, 2.0, -1.5, 3.0, 0.25, -2.0]))

    def weights(self, shape) -> Const:
        return Const((self.rng.integers(-4, 5, tuple(shape)) / 2).astype(np.float64))


def _holds(pred, t) -> bool:
    try:
        return bool(pred(t))
    except RuntimeError:  # an output of a multi-output view whose base was written
        return False


# ---- step makers: each returns a Step (outs left empty) or None -------------------------------
def _dim(d: Draw, t) -> int:
    return d.int(-t.dim(), t.dim() - 1)


def _slice(d: Draw, n: int) -> slice:
    start = d.int(0, max(n - 1, 0)) if d.chance(0.6) else None
    stop = d.int(start or 0, n) if d.chance(0.4) else None
    step = int(d.rng.choice([1, 2, 3])) if d.chance(0.6) else None
    return slice(start, stop, step)


def _basic_index(d: Draw, t) -> tuple:
    """An index of slices (with steps) and ints, maybe with None or Ellipsis."""
    index = []
    for n in t.shape[: d.int(1, t.dim())]:
        index.append(d.int(-n, n - 1) if n and d.chance(0.25) else _slice(d, n))
    if d.chance(0.1):
        index.insert(d.int(0, len(index)), None)
    if d.chance(0.1):
        index.insert(0, Ellipsis)
    return tuple(index)


def _positions(d: Draw, n: int, unique: bool) -> Const:
    """1 to 4 indices into a dim of size ``n`` (negative ones too); ``unique`` for writes,
    where torch leaves the winner of repeated indices unspecified."""
    if unique:
        picked = d.rng.permutation(n)[: d.int(1, min(n, 4))] - n * d.rng.integers(0, 2)
    else:
        picked = d.rng.integers(-n, n, d.int(1, 4))
    return Const(np.asarray(picked, np.int64))


def _advanced_index(d: Draw, t, unique: bool = False):
    if d.chance(0.5):
        return Const(d.rng.random(tuple(t.shape)) < 0.5)  # a mask
    if t.dim() >= 2 and t.shape[1] and d.chance(0.3):
        return (slice(None), _positions(d, t.shape[1], unique))
    return _positions(d, t.shape[0], unique)


def _index(d: Draw, t):
    """The index of a write."""
    return _advanced_index(d, t, True) if t.dim() and t.shape[0] and d.chance(0.35) else _basic_index(d, t)


def _method(name, *args, **kwargs) -> Step:
    return Step("method", name, args, tuple(kwargs.items()))


def _nd(k):
    return lambda t: t.dim() >= k


def view_step(d: Draw) -> Step | None:
    i = d.pick(_nd(1))
    if i is None:
        return None
    t, r = d.t(i), Ref(i)
    n = t.dim()
    kind = d.rng.choice(["slice", "select", "int", "transpose", "t", "permute", "view", "reshape", "flatten",
                         "expand", "unsqueeze", "squeeze", "narrow", "diagonal", "split", "unbind", "chunk",
                         "unfold"])
    size = t.shape[0]
    if kind == "slice":
        return Step("getitem", args=(r, _basic_index(d, t)))
    if kind == "select" and size:
        dim = _dim(d, t)
        return _method("select", r, dim, d.int(-t.shape[dim], t.shape[dim] - 1)) if t.shape[dim] else None
    if kind == "int" and size:
        return Step("getitem", args=(r, d.int(-size, size - 1)))
    if kind == "transpose":
        return _method("transpose", r, _dim(d, t), _dim(d, t))
    if kind == "t" and n <= 2:
        return _method("t", r)
    if kind == "permute":
        return _method("permute", r, *(int(p) for p in d.rng.permutation(n)))
    if kind in ("view", "reshape"):
        return _method(kind, r, *_new_shape(d, t))
    if kind == "flatten":
        return _method("flatten", r, *((_dim(d, t),) if d.chance(0.3) else ()))
    if kind == "expand":
        shape = list(t.shape)
        ones = [k for k, s in enumerate(shape) if s == 1]
        if ones and d.chance(0.6):
            shape[int(d.rng.choice(ones))] = d.int(2, 3)
        else:
            shape = [d.int(2, 3)] + [-1 if d.chance(0.5) else s for s in shape]
        return _method("expand", r, *shape)
    if kind == "unsqueeze":
        return _method("unsqueeze", r, d.int(-n - 1, n))
    if kind == "squeeze":
        return _method("squeeze", r, *((_dim(d, t),) if d.chance(0.6) else ()))
    if kind == "narrow":
        dim = _dim(d, t)
        start = d.int(0, t.shape[dim])
        return _method("narrow", r, dim, start, d.int(0, t.shape[dim] - start))
    if kind == "diagonal" and n >= 2:
        return _method("diagonal", r, d.int(-1, 1), *([0, 1] if d.chance(0.6) else [n - 1, 0]))
    if kind == "split":
        return _method("split", r, d.int(1, 3), _dim(d, t))
    if kind == "unbind" and size and size <= 4:
        return _method("unbind", r, 0)
    if kind == "chunk":
        return _method("chunk", r, d.int(1, 3), _dim(d, t))
    if kind == "unfold":
        dim = _dim(d, t)
        return _method("unfold", r, dim, d.int(1, max(t.shape[dim], 1)), d.int(1, 2))
    return None


def _new_shape(d: Draw, t) -> tuple:
    numel = t.numel()
    choices = [(-1,), (numel,)]
    for a in range(2, numel + 1):
        if numel % a == 0:
            choices += [(a, -1), (a, numel // a)]
    if numel == 24:
        choices += [(2, 3, 4), (4, 6), (6, -1, 2)]
    return choices[int(d.rng.integers(len(choices)))]


def copy_step(d: Draw) -> Step | None:
    kind = d.rng.choice(["clone", "contiguous", "repeat", "tile", "advanced", "matmul", "matmul", "cat", "detach"])
    if kind == "matmul":
        return _matmul(d)
    i = d.pick(_nd(1) if kind == "advanced" else None)
    if i is None:
        return None
    t, r = d.t(i), Ref(i)
    if kind in ("clone", "contiguous", "detach"):
        return _method(kind, r)
    if kind in ("repeat", "tile"):
        reps = [d.int(1, 2) for _ in range(max(t.dim(), 1) + (d.int(0, 1) if kind == "repeat" else d.int(-1, 1)))]
        return _method(kind, r, *reps) if kind == "repeat" else _method(kind, r, tuple(reps))
    if kind == "advanced" and t.shape[0]:
        return Step("getitem", args=(r, _advanced_index(d, t)))
    if kind == "cat":
        j = d.pick(lambda u: u.shape == t.shape)
        return Step("func", "cat", ([r, Ref(j)], d.int(-t.dim(), max(t.dim() - 1, 0)) if t.dim() else 0))
    return None


def _matmul(d: Draw) -> Step | None:
    i = d.pick(lambda t: 1 <= t.dim() <= 3)
    if i is None:
        return None
    k = d.t(i).shape[-1]
    j = d.pick(lambda u: 1 <= u.dim() <= 2 and u.shape[0] == k)
    if j is None:
        return None
    return Step("binop", "@", (Ref(i), Ref(j)))


UNARY = ["exp", "tanh", "sigmoid", "relu", "sin", "neg", "abs", "square"]
REDUCE = ["sum", "mean", "cumsum", "softmax", "logsumexp", "sum_all", "mean_all"]


def _broadcast_to(d: Draw, shape) -> int | None:
    """A value that broadcasts to ``shape`` exactly."""
    shape = tuple(shape)

    def fits(u) -> bool:
        s = tuple(u.shape)
        return len(s) <= len(shape) and all(a in (1, b) for a, b in zip(s[::-1], shape[::-1]))
    return d.pick(fits)


def compute_step(d: Draw) -> Step | None:
    i = d.pick()
    if i is None:
        return None
    t, r = d.t(i), Ref(i)
    kind = d.rng.choice(["unary", "unary", "scalar", "binary", "binary", "reduce", "reduce"])
    if kind == "unary":
        return _method(str(d.rng.choice(UNARY)), r)
    if kind == "scalar":
        op = str(d.rng.choice(["+", "-", "*", "/", "**", "rdiv", "rsub"]))
        if op == "**":
            return Step("binop", "**", (r, 2))
        if op in ("rdiv", "rsub"):
            return Step("binop", op[1:].replace("div", "/").replace("sub", "-"), (d.scalar(), r))
        return Step("binop", op, (r, d.scalar()))
    if kind == "binary":
        j = d.pick(lambda u: _broadcasts(u.shape, t.shape))
        if j is None:
            return None
        return Step("binop", str(d.rng.choice(["+", "-", "*", "/"])), (r, Ref(j)))
    op = str(d.rng.choice(REDUCE))
    if op.endswith("_all"):
        return _method(op[:-4], r)
    if not t.dim():
        return None
    if op in ("sum", "mean", "logsumexp"):
        return _method(op, r, _dim(d, t), keepdim=d.chance(0.5))
    return _method(op, r, _dim(d, t))


def _broadcasts(a, b) -> bool:
    return all(x == y or 1 in (x, y) for x, y in zip(tuple(a)[::-1], tuple(b)[::-1]))


INPLACE_UNARY = ["tanh_", "exp_", "sigmoid_", "relu_", "zero_"]


def _overlapping(t) -> bool:
    """Whether elements of ``t`` share memory (an expand or overlapping unfold result)."""
    offsets = np.zeros(1, np.int64)
    for n, s in zip(t.shape, t.stride()):
        offsets = (offsets[:, None] + np.arange(n) * s).reshape(-1)
    return len(np.unique(offsets)) < offsets.size


def write_step(d: Draw) -> Step | None:
    i = d.pick()
    if i is None:
        return None
    t, r = d.t(i), Ref(i)
    kind = d.rng.choice(["arith", "arith", "arith", "copy_", "fill_", "unary", "clamp_", "setitem", "setitem",
                         "setitem", "index_add_", "masked_fill_"])
    if kind == "arith":
        op = str(d.rng.choice(["add_", "sub_", "mul_", "div_"]))
        j = _broadcast_to(d, t.shape) if d.chance(0.6) else None
        return _method(op, r, Ref(j) if j is not None else d.scalar())
    if kind == "copy_":
        j = _broadcast_to(d, t.shape)
        return None if j is None else _method("copy_", r, Ref(j))
    if kind == "fill_":
        return _method("fill_", r, d.scalar())
    if kind == "unary":
        return _method(str(d.rng.choice(INPLACE_UNARY)), r)
    if kind == "clamp_":
        return _method("clamp_", r, -0.5, 0.8)
    if kind in ("masked_fill_", "setitem") and not INDEX_WRITES_INTO_EXPANDED and _overlapping(t):
        kind = "setitem_basic"
    if kind == "masked_fill_":
        return _method("masked_fill_", r, Const(d.rng.random(tuple(t.shape)) < 0.5), d.scalar())
    if kind == "index_add_" and t.dim():
        dim = _dim(d, t)
        src = d.pick(lambda u: u.dim() == t.dim() and all(a == b for k, (a, b) in enumerate(zip(u.shape, t.shape))
                                                          if k != dim % t.dim()))
        if src is None or not t.shape[dim]:
            return None
        index = Const(d.rng.integers(0, t.shape[dim], d.t(src).shape[dim]).astype(np.int64))
        return _method("index_add_", r, dim, index, Ref(src), **({"alpha": 2.0} if d.chance(0.3) else {}))
    if kind in ("setitem", "setitem_basic") and t.dim():
        index = _index(d, t) if kind == "setitem" else _basic_index(d, t)
        try:
            shape = d.env.resolve(r)[d.env.resolve(index)].shape
        except Exception:  # noqa: BLE001 - an index torch refuses: draw another step
            return None
        j = _broadcast_to(d, shape) if d.chance(0.7) else None
        return Step("setitem", args=(r, index, Ref(j) if j is not None else d.scalar()))
    return None


def autograd_step(d: Draw) -> Step | None:
    kind = d.rng.choice(["hook", "hook", "retain_grad", "detach_", "requires_grad_", "backward"])
    if kind == "backward":
        return _loss(d)
    i = d.pick()
    if i is None:
        return None
    if kind == "hook":
        d.hooks += 1
        return Step("hook", args=(Ref(i), d.hooks - 1, d.chance(0.4)))
    if kind == "requires_grad_":
        j = d.pick(lambda u: u.is_leaf and not u.requires_grad)
        return None if j is None else _method("requires_grad_", Ref(j))
    return _method(str(kind), Ref(i))


def _needs_grad(t) -> bool:
    return t.requires_grad


def _loss(d: Draw, among: list[int] | None = None) -> Step | None:
    """A weighted sum of a few values that require grad."""
    ids = among if among is not None else d.ids(_needs_grad)
    ids = [i for i in ids if d.t(i) is not None and _holds(_needs_grad, d.t(i))]
    if not ids:
        return None
    recent = ids[-4:] if d.chance(0.7) else ids
    chosen = sorted(set(int(d.rng.choice(recent)) for _ in range(d.int(1, 3))))
    return Step("loss", args=tuple((Ref(i), d.weights(d.t(i).shape)) for i in chosen))


def _gradient(d: Draw, loss: int, final: bool) -> Step:
    """``backward`` or ``autograd.grad`` of the loss value ``loss``."""
    retain = d.chance(0.3) or not final
    if d.chance(0.5):
        kwargs = {"retain_graph": True} if retain else {}
        if d.chance(0.3):
            pool = d.ids(_needs_grad) if d.chance(0.9) else d.ids()
            kwargs["inputs"] = [Ref(int(d.rng.choice(pool))) for _ in range(d.int(1, 2))]
        return Step("backward", args=(Ref(loss),), kwargs=tuple(kwargs.items()))
    pool = d.ids(_needs_grad)
    inputs = sorted(set(int(d.rng.choice(pool)) for _ in range(d.int(1, 3))))
    kwargs = {"create_graph": True} if d.chance(0.4) else {}
    if retain:
        kwargs["retain_graph"] = True
    return Step("grad", args=(Ref(loss), [Ref(i) for i in inputs]), kwargs=tuple(kwargs.items()))


MAKERS = [(view_step, 0.33), (copy_step, 0.1), (compute_step, 0.22), (write_step, 0.25), (autograd_step, 0.1)]


def _within(seen: dict) -> bool:
    """Whether the values and gradients just looked at stay within the limits."""
    for (what, _), a in seen.items():
        if what in ("value", "grad") and isinstance(a, np.ndarray) and a.size:
            if not np.abs(a).max() <= (LIMIT if what == "value" else GRAD_LIMIT):
                return False
    return True


class Refused(Exception):
    """The drawn step raised in torch and is kept: the program ends with it."""


def _aliased(d: Draw, step: Step) -> bool:
    """Whether an in-place step reads memory it writes other than element for element (an
    operand sharing the target's storage in another layout, or a target whose elements
    overlap): torch then either refuses it or computes in its own iteration order, which no
    other library need follow."""
    if not (step.kind == "setitem" or (step.kind == "method" and step.name.endswith("_"))):
        return False
    target = d.t(step.args[0].id)
    if _overlapping(target):  # elements written several times: torch's order again
        return True
    ptr = target.untyped_storage().data_ptr()
    for a in step.args[1:]:
        if isinstance(a, Ref) and d.t(a.id) is not None:
            u = d.t(a.id)
            if u.untyped_storage().data_ptr() == ptr and (step.kind == "setitem" or (
                    u.data_ptr(), u.stride(), u.shape) != (target.data_ptr(), target.stride(), target.shape)):
                return True
    return False


def _try(d: Draw, step: Step, keep_refused: float) -> bool:
    """Run ``step`` in torch; append it if torch accepts it and its values stay within
    limits (or, with probability ``keep_refused``, if torch refuses it)."""
    step = Step(step.kind, step.name, step.args, step.kwargs, step.outs,
                step.no_grad or (step.kind not in ("loss", "backward", "grad") and d.chance(NO_GRAD)))
    multi = step.multi
    outs = () if step.kind in ("setitem", "hook", "backward") or step.name.endswith("_") or \
        step.name == "retain_grad" else (d.next_id,)
    trial = Step(step.kind, step.name, step.args, step.kwargs, outs, step.no_grad)
    aliased = _aliased(d, trial)
    try:
        if trial.kind == "grad":
            outs = tuple(range(d.next_id, d.next_id + len(step.args[1])))
            trial = Step(step.kind, step.name, step.args, step.kwargs, outs, step.no_grad)
        elif multi:  # how many outputs: ask torch first
            out = _call(d.env, trial)
            outs = tuple(range(d.next_id, d.next_id + len(out)))
            trial = Step(step.kind, step.name, step.args, step.kwargs, outs, step.no_grad)
        seen = observed_step(d.env, trial, last=False)
    except Exception:  # noqa: BLE001 - torch refuses the step
        if d.chance(keep_refused):
            d.steps.append(trial)
            raise Refused() from None
        if trial.writes or multi:
            d.env = run_values(d.program())
        return False
    if aliased or not _within(seen):  # (an aliased write is kept only where torch refuses it)
        d.env = run_values(d.program())
        return False
    d.steps.append(trial)
    d.next_id += len(outs)
    return True


def _call(env: Env, step: Step):
    """The results of a multi-output view step, without binding them."""
    a = env.resolve(step.args)
    return getattr(a[0], step.name)(*a[1:], **dict(step.kwargs))


def generate(seed: int, size: int) -> Program:
    """A program of about ``size`` steps (more when its closing gradient steps are added)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _generate(seed, size)


def _generate(seed: int, size: int) -> Program:
    d = Draw(seed)
    weights = np.array([w for _, w in MAKERS])
    try:
        tries = 0
        while len(d.steps) < size and tries < size * 20:
            tries += 1
            maker = MAKERS[int(d.rng.choice(len(MAKERS), p=weights / weights.sum()))][0]
            step = maker(d)
            if step is None:
                continue
            if step.kind == "loss":  # a gradient step in the middle of the program
                if _try(d, step, 0.0):
                    _try(d, _gradient(d, d.next_id - 1, final=False), KEEP_REFUSED)
                continue
            _try(d, step, KEEP_REFUSED)
        _close(d)
    except Refused:
        pass
    return d.program()


def _close(d: Draw) -> None:
    """The closing gradient steps: a loss and its backward or grad; after a grad with
    ``create_graph=True``, maybe a second-order backward of a loss of those gradients."""
    for _ in range(5):
        step = _loss(d)
        if step is None:
            return
        if _try(d, step, 0.0):
            break
    else:
        return
    loss = d.next_id - 1
    for _ in range(5):
        grad = _gradient(d, loss, final=True)
        if _try(d, grad, 1.0):
            break
    last = d.steps[-1]
    if last.kind == "grad" and dict(last.kwargs).get("create_graph") and d.chance(0.7):
        step = _loss(d, list(last.outs))
        if step is not None and _try(d, step, 0.0):
            _try(d, _gradient(d, d.next_id - 1, final=True), 1.0)


def sizes(rng: np.random.Generator, n: int, largest: int) -> list[int]:
    """``n`` program sizes from 5 to ``largest``, smaller ones more often."""
    return [int(5 + (largest - 5) * math.pow(float(rng.random()), 1.5)) for _ in range(n)]
