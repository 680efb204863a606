"""Registry of kernels by name.

Built-in kernels live in one subpackage per model (``kernels/<model>/``) whose ``__init__``
defines a ``KERNELS`` tuple; they are found by listing the package, so adding a model is
adding one subpackage.
Third-party packages register kernels under the ``pairsweep.kernels`` entry-point group
(each entry point loads a :class:`~pairsweep.kernels.Kernel` or an iterable of them).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable
from functools import cache
from importlib.metadata import entry_points

from ._api import Kernel

__all__ = ["available_kernels", "get_kernel"]

_ENTRY_POINT_GROUP = "pairsweep.kernels"


def _as_kernels(obj: object, origin: str) -> list[Kernel]:
    items = [obj] if isinstance(obj, Kernel) else list(obj)  # type: ignore[call-overload]
    for item in items:
        if not isinstance(item, Kernel):
            raise TypeError(f"{origin} provides {item!r}, which is not a pairsweep Kernel")
    return items


@cache
def _registry() -> dict[str, Kernel]:
    found: dict[str, Kernel] = {}

    def add(kernels: Iterable[Kernel], origin: str) -> None:
        for kernel in kernels:
            if kernel.name in found:
                raise ValueError(f"kernel name {kernel.name!r} from {origin} is already registered")
            found[kernel.name] = kernel

    package = importlib.import_module(__package__)
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name.startswith("_") or info.name == "registry":
            continue
        module = importlib.import_module(f"{__package__}.{info.name}")
        if hasattr(module, "KERNELS"):
            add(_as_kernels(module.KERNELS, module.__name__), module.__name__)
    for ep in entry_points(group=_ENTRY_POINT_GROUP):
        add(_as_kernels(ep.load(), f"entry point {ep.name!r}"), f"entry point {ep.name!r}")
    return found


def available_kernels() -> dict[str, Kernel]:
    """All registered kernels, by name, in alphabetical order."""
    return dict(sorted(_registry().items()))


def _import_reference(reference: str) -> Kernel:
    module_name, _, attribute = reference.partition(":")
    try:
        obj = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise KeyError(f"kernel: cannot import {reference!r} ({type(exc).__name__}: {exc})") from None
    if not isinstance(obj, Kernel):
        raise KeyError(f"kernel: {reference!r} is {type(obj).__name__}, not a pairsweep Kernel")
    if obj.name != reference:
        # the store records kernel.name and workers import the kernel again by it
        raise KeyError(f"kernel: {reference!r} declares name={obj.name!r}; a kernel used as "
                       f"'module:ATTRIBUTE' must be named exactly that ({reference!r})")
    return obj


def get_kernel(name: str) -> Kernel:
    """The kernel registered as ``name``; the error lists the known names.

    ``"package.module:ATTRIBUTE"`` imports an unregistered kernel instead, for models kept
    in a user's own module (it must be importable on every worker too).
    """
    if ":" in name:
        return _import_reference(name)
    kernels = _registry()
    try:
        return kernels[name]
    except KeyError:
        known = ", ".join(sorted(kernels)) or "(none)"
        raise KeyError(f"kernel: unknown kernel {name!r}; available: {known}") from None
