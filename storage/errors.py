"""Errors of the storage layer. Each message leads with the field (``store:``) it concerns."""

from __future__ import annotations

__all__ = ["StoreError", "StoreLockedError"]


class StoreError(Exception):
    """A store cannot be used as asked (damaged, half-created, not a pairsweep store)."""


class StoreLockedError(StoreError):
    """Another live process holds the store's lock."""
