"""Random number generation: a global ``Generator`` seeded by ``manual_seed``.

Streams come from NumPy's PCG64 bit generator: reproducible for a seed within autodiff
(they are not PyTorch's streams). ``get_rng_state``/``set_rng_state`` save and restore
the global generator (checkpointing replays dropout masks with them).
"""

from __future__ import annotations

import numpy as np


class Generator:
    """A source of random numbers, as ``torch.Generator``."""

    def __init__(self, device: str = "cpu") -> None:
        self._rng = np.random.Generator(np.random.PCG64())
        self._seed: int | None = None

    def manual_seed(self, seed: int) -> "Generator":
        self._seed = int(seed)
        self._rng = np.random.Generator(np.random.PCG64(self._seed))
        return self

    def seed(self) -> int:
        seed = int(np.random.SeedSequence().entropy % (1 << 63))
        self.manual_seed(seed)
        return seed

    def initial_seed(self) -> int:
        return self._seed if self._seed is not None else 0

    def get_state(self) -> dict:
        return self._rng.bit_generator.state

    def set_state(self, state: dict) -> None:
        self._rng.bit_generator.state = state


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed the global generator so later random factories repeat."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state() -> dict:
    return default_generator.get_state()


def set_rng_state(state: dict) -> None:
    default_generator.set_state(state)


def rng(generator: Generator | None) -> np.random.Generator:
    """The NumPy generator behind ``generator`` (the global one when None)."""
    return (generator or default_generator)._rng
