"""Figures of a stored result with matplotlib: ``pairsweep plot`` and ``slice -o x.png``.

One variable, a 1-D line (one line per value of a leftover extra index such as ``ell``) or a
2-D map over any two of its dimensions, optionally one panel per value of a ``facet``
dimension. Axes whose grid is log-spaced are drawn on a log scale, and map cells are bounded
at the geometric midpoints between grid values there, so a logspace fills the frame evenly.
Only ``ok`` points are drawn as values; not-converged and failed points are marked on top,
never coloured as if they were results; never-computed cells stay grey.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .selection import axis_label, is_log_spaced, select
from .spec import SpecError

if TYPE_CHECKING:
    import xarray as xr
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["FIGURE_SUFFIXES", "check_figure_path", "plot_variable", "save_figure"]

FIGURE_SUFFIXES = (".png", ".pdf", ".svg")
_MAX_PANELS = 16
_MAX_LINES = 12
_OK, _NOT_CONVERGED, _FAILED, _NOT_COMPUTED = 0, 1, 2, 255


def check_figure_path(path: str | Path, field: str = "--output") -> Path:
    """Reject an output path before anything is read: unknown suffix or missing directory."""
    out = Path(path)
    if out.suffix.lower() not in FIGURE_SUFFIXES:
        raise SpecError(f"{field}: unknown figure format {out.suffix or '(none)'!r}; allowed: {', '.join(FIGURE_SUFFIXES)}")
    if not out.parent.resolve().is_dir():
        raise SpecError(f"{field}: directory {out.parent} does not exist")
    return out


def _fmt(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float | np.floating) else str(value)


def _layout(
    dims: Sequence[str], x: str | None, y: str | None, facet: str | None, var: str
) -> tuple[str, str | None, str | None]:
    """Choose (x, y, hue) from the dimensions left after --sel; y None means a line plot."""
    for flag, dim in (("--x", x), ("--y", y), ("--facet", facet)):
        if dim is not None and dim not in dims:
            raise SpecError(f"{flag}: {dim!r} is not a free dimension of {var}; free dimensions: {', '.join(dims)}")
    chosen = [d for d in (x, y, facet) if d is not None]
    if len(set(chosen)) != len(chosen):
        raise SpecError(f"--x/--y/--facet: each must name a different dimension, got {', '.join(chosen)}")
    rest = [d for d in dims if d not in chosen]
    hue = None
    if x is None and y is None and len(rest) == 2:
        x, y = rest  # a map, axes in the spec's order: the first axis runs along x
        rest = []
    elif x is None and rest:
        x = rest.pop(0)
    if x is None:
        raise SpecError(f"--sel: nothing left to plot; {var} has no free dimension besides --facet")
    if y is None and len(rest) == 1:
        hue = rest.pop()  # a line per value, e.g. one per channel ell
    if rest:
        raise SpecError(
            f"--sel: {var} still has dimensions {', '.join(rest)} besides the plotted ones; "
            "fix them with --sel DIM=VALUE, or pick them with --x/--y/--facet"
        )
    return x, y, hue


def _edges(centres: np.ndarray, log: bool) -> np.ndarray:
    """Cell boundaries around sorted grid values: midpoints (geometric ones on a log axis)."""
    c = np.log(centres) if log else centres.astype(float)
    if c.size == 1:
        e = np.array([c[0] - 0.5, c[0] + 0.5]) if not log else np.array([c[0] - 0.1, c[0] + 0.1])
    else:
        mid = (c[1:] + c[:-1]) / 2
        e = np.concatenate([[c[0] - (mid[0] - c[0])], mid, [c[-1] + (c[-1] - mid[-1])]])
    return np.exp(e) if log else e


class _Axis:
    """How one dimension is drawn: numeric (linear or log) or categorical (positions)."""

    def __init__(self, coord: xr.DataArray) -> None:
        values = np.asarray(coord.values)
        self.name = str(coord.name)
        self.label = axis_label(self.name, coord.attrs)
        self.numeric = values.dtype.kind in "fiu"
        self.log = self.numeric and is_log_spaced(np.sort(values))
        self.values = values
        self.positions = values.astype(float) if self.numeric else np.arange(values.size, dtype=float)

    def apply(self, ax: Axes, which: str) -> None:
        getattr(ax, f"set_{which}label")(self.label)
        if self.log:
            getattr(ax, f"set_{which}scale")("log")
        if not self.numeric:
            getattr(ax, f"set_{which}ticks")(self.positions, [str(v) for v in self.values])


def _mark_not_ok(ax: Axes, xs: np.ndarray, ys: np.ndarray, status: np.ndarray, seen: set[str]) -> None:
    """Markers on not-converged and failed points; ``ys`` NaN puts the marker at the bottom."""
    import matplotlib.transforms as mtransforms

    bottom = mtransforms.blended_transform_factory(ax.transData, ax.transAxes)
    for code, label, style in (
        (_NOT_CONVERGED, "not converged", {"marker": "o", "facecolors": "none", "edgecolors": "tab:orange"}),
        (_FAILED, "failed", {"marker": "x", "color": "tab:red"}),
    ):
        hit = status == code
        if not hit.any():
            continue
        kwargs = {**style, "s": 28, "linewidths": 1.2, "zorder": 5}
        if label not in seen:
            kwargs["label"] = label
            seen.add(label)
        finite = hit & np.isfinite(ys)
        if finite.any():
            ax.scatter(xs[finite], ys[finite], **kwargs)
            kwargs.pop("label", None)
        if (hit & ~finite).any():
            ax.scatter(xs[hit & ~finite], np.full((hit & ~finite).sum(), 0.03), transform=bottom, clip_on=False, **kwargs)


def _draw_map(ax: Axes, values: np.ndarray, status: np.ndarray, xa: _Axis, ya: _Axis, norm: Any,
              contours: Sequence[float], seen: set[str]) -> Any:
    """values, status shaped (x, y)."""
    ax.set_facecolor("0.85")  # never-computed (and ok-but-NaN) cells show as grey
    shown = np.where(status == _OK, values, np.nan)
    xe = _edges(xa.positions, xa.log) if xa.numeric else np.arange(xa.values.size + 1) - 0.5
    ye = _edges(ya.positions, ya.log) if ya.numeric else np.arange(ya.values.size + 1) - 0.5
    mesh = ax.pcolormesh(xe, ye, np.ma.masked_invalid(shown.T), norm=norm, cmap="viridis", shading="flat")
    if contours and np.isfinite(shown).sum() >= 4:
        cs = ax.contour(xa.positions, ya.positions, np.ma.masked_invalid(shown.T), levels=sorted(contours),
                        colors="white", linewidths=1.4)
        ax.clabel(cs, fmt=lambda v: f"{v:g}", fontsize=8)
    gx, gy = np.meshgrid(xa.positions, ya.positions, indexing="ij")
    _mark_not_ok(ax, gx.ravel(), gy.ravel(), status.ravel(), seen)
    xa.apply(ax, "x")
    ya.apply(ax, "y")
    return mesh


def _draw_lines(ax: Axes, da: xr.DataArray, status: xr.DataArray, xa: _Axis, hue: str | None,
                contours: Sequence[float], seen: set[str]) -> None:
    groups = [(None, da, status)] if hue is None else [
        (v, da.isel({hue: i}), status.isel({hue: i})) for i, v in enumerate(da[hue].values)
    ]
    for value, line, st in groups:
        ys = np.asarray(line.values, dtype=float)
        codes = np.asarray(st.values)
        label = None if hue is None else f"{hue} = {_fmt(value)}"
        ax.plot(xa.positions, np.where(codes == _OK, ys, np.nan), marker="o", markersize=3, label=label)
        _mark_not_ok(ax, xa.positions, ys, codes, seen)
    for level in contours:
        ax.axhline(level, color="0.3", linestyle="--", linewidth=1)
    xa.apply(ax, "x")
    ax.set_ylabel(axis_label(str(da.name), da.attrs))
    if hue is not None or seen:
        ax.legend(fontsize=8)


def plot_variable(
    ds: xr.Dataset,
    var: str,
    *,
    x: str | None = None,
    y: str | None = None,
    sel: Mapping[str, Any] | None = None,
    nearest: bool = False,
    facet: str | None = None,
    contours: Sequence[float] = (),
    log_values: bool = False,
) -> tuple[Figure, list[str]]:
    """Draw ``var`` of a result (e.g. from :func:`open_result`) and return the figure.

    Parameters
    ----------
    ds
        The result; only the selected slice is loaded.
    var
        A data variable (kernel output or ``status``).
    x, y
        Dimensions along the horizontal and vertical axis. With ``y`` the plot is a map; without,
        a line (one per value of a single leftover dimension such as ``ell``). Default: the free
        dimensions in the store's order.
    sel
        ``{dim: value}`` fixing dimensions to grid values (exact unless ``nearest``).
    facet
        One panel per value of this dimension (at most 16), with a shared colour scale.
    contours
        Levels drawn as lines on a map (phase boundaries), or as horizontal lines on a line plot.
    log_values
        Logarithmic colour scale (map) or value axis (line).

    Returns
    -------
    (figure, notes)
        ``notes`` says which grid values ``nearest`` picked.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.colors as mcolors
    import matplotlib.pyplot as plt

    if var not in ds.data_vars:
        raise SpecError(f"variable: {var!r} is not in the store; variables: {', '.join(map(str, ds.data_vars))}")
    names = [var] if var == "status" else [var, "status"]
    sub, notes = select(ds[names], sel or {}, nearest=nearest)
    da = sub[var]
    free = [str(d) for d in da.dims]
    x, y, hue = _layout(free, x, y, facet, var)
    if facet is not None and sub.sizes[facet] > _MAX_PANELS:
        raise SpecError(f"--facet: {facet} has {sub.sizes[facet]} values; at most {_MAX_PANELS} panels (fix some with --sel)")
    if hue is not None and sub.sizes[hue] > _MAX_LINES:
        raise SpecError(f"--sel: {hue} has {sub.sizes[hue]} values, too many lines; fix it with --sel {hue}=VALUE or use --y {hue}")
    for dim in (x, y):
        if dim is not None and da[dim].dtype.kind in "fiu":
            sub = sub.sortby(dim)  # `values = [...]` axes may be unsorted; pcolormesh needs order
    sub = sub.load()
    da = sub[var]
    status = sub["status"].broadcast_like(da)
    order = [d for d in (facet, x, y, hue) if d is not None]
    da, status = da.transpose(*order), status.transpose(*order)

    panels = [(None, da, status)] if facet is None else [
        (v, da.isel({facet: i}), status.isel({facet: i})) for i, v in enumerate(da[facet].values)
    ]
    ncols = min(len(panels), 3)
    nrows = -(-len(panels) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.0 * ncols + (1.0 if y else 0), 3.9 * nrows),
                             squeeze=False, layout="constrained")
    xa = _Axis(da[x])
    ok_values = np.asarray(da.values, dtype=float)[np.asarray(status.values) == _OK]
    ok_values = ok_values[np.isfinite(ok_values)]
    if log_values and not (ok_values > 0).any():
        raise SpecError(f"--log-values: {var} has no positive ok value in this slice; a log scale cannot show it")
    seen: set[str] = set()
    if y is not None:
        ya = _Axis(da[y])
        positive = ok_values[ok_values > 0]
        if log_values and positive.size:
            norm = mcolors.LogNorm(positive.min(), positive.max())
        elif ok_values.size:
            norm = mcolors.Normalize(ok_values.min(), ok_values.max())
        else:
            norm = mcolors.Normalize(0, 1)
        mesh = None
        for ax, (value, pda, pst) in zip(axes.flat, panels, strict=False):
            mesh = _draw_map(ax, np.asarray(pda.values, float), np.asarray(pst.values), xa, ya, norm, contours, seen)
            if value is not None:
                ax.set_title(f"{facet} = {_fmt(value)}", fontsize=10)
        fig.colorbar(mesh, ax=axes, label=axis_label(var, da.attrs), shrink=0.9)
        if seen:
            axes.flat[0].legend(fontsize=8, loc="best", framealpha=0.8)
    else:
        for ax, (value, pda, pst) in zip(axes.flat, panels, strict=False):
            _draw_lines(ax, pda, pst, xa, hue, contours, seen)
            if log_values:
                ax.set_yscale("log")
            if value is not None:
                ax.set_title(f"{facet} = {_fmt(value)}", fontsize=10)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    fixed = [f"{d} = {_fmt(sub[d].item())}" for d in sub.coords if sub[d].ndim == 0]
    kernel = ds.attrs.get("kernel", "")
    title = ", ".join(filter(None, [kernel, ", ".join(fixed)]))
    if title:
        fig.suptitle(title, fontsize=10)
    return fig, notes


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Write ``fig`` in the format its suffix names, through a temporary file and a rename,
    so a killed process never leaves a torn image under the requested name."""
    out = Path(path)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.stem}-", suffix=out.suffix)
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=150, format=out.suffix.lower().lstrip("."))
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out
