"""The spec error, in a module of its own so that every part of ``sweeps`` can raise it."""

from __future__ import annotations

__all__ = ["SpecError"]


class SpecError(ValueError):
    """An invalid sweep specification. The message starts with the field's dotted name."""
