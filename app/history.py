"""Undo and redo of the settings a user tunes (the knobs and the strength).

A plain list of states with a cursor, no Qt: the window records a state once the user's
changes pause, and undo/redo hand back the state to apply.
"""

from __future__ import annotations

from typing import Generic, TypeVar

S = TypeVar("S")


class History(Generic[S]):
    """States in the order they were settled on, and where the user is among them.

    Recording after an undo drops the states that could have been redone, as editors do.
    Recording the state already current does nothing. At most ``limit`` states are kept.
    """

    def __init__(self, limit: int = 100) -> None:
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        self.limit = limit
        self._states: list[S] = []
        self._at = -1

    def reset(self, state: S) -> None:
        """Forget everything; ``state`` is the only one (nothing to undo or redo)."""
        self._states, self._at = [state], 0

    def record(self, state: S) -> None:
        if self._at >= 0 and self._states[self._at] == state:
            return
        del self._states[self._at + 1 :]
        self._states.append(state)
        del self._states[: max(0, len(self._states) - self.limit)]
        self._at = len(self._states) - 1

    def can_undo(self) -> bool:
        return self._at > 0

    def can_redo(self) -> bool:
        return 0 <= self._at < len(self._states) - 1

    def undo(self) -> S | None:
        """The state before the current one (``None``: nothing to undo)."""
        if not self.can_undo():
            return None
        self._at -= 1
        return self._states[self._at]

    def redo(self) -> S | None:
        """The state after the current one (``None``: nothing to redo)."""
        if not self.can_redo():
            return None
        self._at += 1
        return self._states[self._at]
