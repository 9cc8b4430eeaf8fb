"""A fixed-capacity numpy ring buffer: the resource monitor keeps each series of samples in one, so the graphs
draw the newest window of a long session without the memory growing."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt


class RingBuffer:
    """A fixed-capacity numpy ring buffer of scalars (or of rows, given `width`); the oldest value drops out."""

    def __init__(self, capacity: int, width: int | None = None, dtype: npt.DTypeLike = np.float64) -> None:
        if capacity < 1:
            raise ValueError("a ring buffer needs a capacity of at least 1")
        self._width = width
        shape = (capacity,) if width is None else (capacity, width)
        self._data: npt.NDArray[Any] = np.zeros(shape, dtype=dtype)
        self._next = 0
        self._size = 0

    @property
    def capacity(self) -> int:
        return int(self._data.shape[0])

    def __len__(self) -> int:
        return self._size

    def append(self, value: npt.ArrayLike) -> None:
        self._data[self._next] = value
        self._next = (self._next + 1) % self.capacity
        self._size = min(self._size + 1, self.capacity)

    def values(self) -> npt.NDArray[Any]:
        """A copy, oldest first."""
        first = (self._next - self._size) % self.capacity
        return self._data[(first + np.arange(self._size)) % self.capacity]

    def clear(self) -> None:
        self._next = self._size = 0

    def resize(self, capacity: int) -> None:
        """Change the capacity, keeping the newest values that fit."""
        if capacity < 1:
            raise ValueError("a ring buffer needs a capacity of at least 1")
        kept = self.values()[-capacity:]
        shape = (capacity,) if self._width is None else (capacity, self._width)
        self._data = np.zeros(shape, dtype=self._data.dtype)
        self._data[: len(kept)] = kept
        self._size = len(kept)
        self._next = len(kept) % capacity
