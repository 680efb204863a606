"""Storage: the Zarr layout of a result, the completion ledger, and loading results."""

from . import ledger
from .results import StoreStatus, failures, open_result, store_status

__all__ = ["StoreStatus", "failures", "ledger", "open_result", "store_status"]
