"""``pairsweep view STORE``: the results in a browser, served by Bokeh, live while a run writes.

The page shows one variable as a map over two dimensions or a line over one, the other
dimensions fixed by selectors; log-spaced axes on log scales (cells bounded at geometric
midpoints); only ``ok`` points coloured, not-converged (orange ring) and failed (red cross)
points marked, not-yet-computed cells grey. Hovering a cell shows its parameters, value,
status and failure message. Every second the page asks :class:`~.live.LiveSlice` for blocks
that landed since, which reads only those (see :mod:`.live`), and redraws.

An adaptive store's page shows its samples instead (:mod:`.view_points`); :func:`page_for`
chooses.

The server binds to 127.0.0.1 only: results are not published to the network (reach it from
elsewhere through ``ssh -L``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pairsweep.storage.layout import read_root_attrs
from pairsweep.storage.points import is_points_store

from .live import LiveSlice, SliceChoice, StoreInfo
from .plot import _edges
from .selection import axis_label, is_log_spaced
from .spec import SpecError

if TYPE_CHECKING:
    from bokeh.document import Document

__all__ = ["ViewApp", "main", "page_for", "serve"]

_LINE = "(line)"
_STATUS_NAMES = {0: "ok", 1: "not converged", 2: "failed", 255: "not computed"}
_NAMES = np.array([_STATUS_NAMES.get(code, str(code)) for code in range(256)], dtype=object)
_HOST = "127.0.0.1"
#: Above this many cells a map is one image (patched block by block) instead of one quad per
#: cell: a browser handles 10⁶ pixels, not 10⁶ glyphs with their hover fields.
IMAGE_CELLS = 40_000


def _evenly_spaced(values: np.ndarray) -> bool:
    """Increasing, with equal steps on a linear or on a log scale: drawable as image pixels."""
    v = np.asarray(values, dtype=float)
    if v.size < 2 or np.any(np.diff(v) <= 0):
        return False
    steps = np.diff(v)
    return bool(np.allclose(steps, steps[0], rtol=1e-6) or is_log_spaced(v))


def _fmt(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float | np.floating) else str(value)


class ViewApp:
    """The document of one browser page. Also usable in-process (tests, notebooks):
    ``app = ViewApp(Document(), store)``, then ``app.update()`` does what the periodic
    callback does."""

    def __init__(self, doc: Document, store: str | Path, *, interval_ms: int = 1000) -> None:
        from bokeh.layouts import column, row
        from bokeh.models import ColumnDataSource, Div, Select

        self.doc = doc
        self.info = StoreInfo.open(store)
        names = [v for v in self.info.variables if v != "status"] + ["status"]
        self.var_select = Select(title="variable", value=names[0], options=names, width=180)
        self.x_select = Select(title="x axis", width=140)
        self.y_select = Select(title="y axis", width=140)
        self.fixed_selects: dict[str, Select] = {}
        self.cells = ColumnDataSource(data={})
        self.image = ColumnDataSource(data={"image": [], "x": [], "y": [], "dw": [], "dh": []})
        self.image_mode = False
        self.not_converged = ColumnDataSource(data={"x": [], "y": [], "value": [], "message": []})
        self.failed = ColumnDataSource(data={"x": [], "y": [], "value": [], "message": []})
        self.counts = Div(text="", width=700)
        self.controls = column(width=200)
        self.plot_holder = column()
        self.layout = column(self.counts, row(self.controls, self.plot_holder))
        self._choose_defaults(names[0])
        self.var_select.on_change("value", self._on_var)
        self.x_select.on_change("value", self._on_axes)
        self.y_select.on_change("value", self._on_axes)
        self._rebuild()
        doc.add_root(self.layout)
        doc.title = f"pairsweep: {self.info.path.name}"
        self.callback = doc.add_periodic_callback(self.update, interval_ms) if interval_ms else None

    # -- choices --------------------------------------------------------------------------
    def _numeric_dims(self, var: str) -> list[str]:
        return [d for d in self.info.variables[var] if self.info.coords[d].dtype.kind in "fiu"]

    def _choose_defaults(self, var: str) -> None:
        dims = self._numeric_dims(var)
        axes = [d for d in dims if d in self.info.axes] or dims
        self.x_select.options = dims
        self.x_select.value = axes[0]
        self.y_select.options = [_LINE] + dims
        self.y_select.value = axes[1] if len(axes) > 1 else _LINE

    def _on_var(self, attr: str, old: Any, new: Any) -> None:
        self._choose_defaults(new)
        self._rebuild()

    def _on_axes(self, attr: str, old: Any, new: Any) -> None:
        if self.x_select.value == self.y_select.value:
            self.y_select.value = _LINE  # triggers _on_axes again
            return
        self._rebuild()

    def _on_fixed(self, attr: str, old: Any, new: Any) -> None:
        self._rebuild(keep_controls=True)

    def choice(self) -> SliceChoice:
        y = None if self.y_select.value == _LINE else self.y_select.value
        fixed = {d: int(s.value) for d, s in self.fixed_selects.items()}
        return SliceChoice(self.var_select.value, self.x_select.value, y, fixed)

    # -- building -------------------------------------------------------------------------
    def _rebuild(self, keep_controls: bool = False) -> None:
        from bokeh.models import Select

        var, x = self.var_select.value, self.x_select.value
        y = None if self.y_select.value == _LINE else self.y_select.value
        if not keep_controls:
            old = {d: s.value for d, s in self.fixed_selects.items()}
            self.fixed_selects = {}
            for d in self.info.variables[var]:
                if d in (x, y):
                    continue
                options = [(str(i), _fmt(v)) for i, v in enumerate(self.info.coords[d].tolist())]
                sel = Select(title=d, value=old.get(d, "0"), options=options, width=180)
                sel.on_change("value", self._on_fixed)
                self.fixed_selects[d] = sel
            self.controls.children = [self.var_select, self.x_select, self.y_select, *self.fixed_selects.values()]
        self.live = LiveSlice(self.info, self.choice())
        self.live.refresh()
        self.plot_holder.children = [self._figure()]
        self._push()

    def _figure(self) -> Any:
        from bokeh.models import ColorBar, HoverTool, LinearColorMapper
        from bokeh.palettes import Viridis256
        from bokeh.plotting import figure

        c = self.live.choice
        xlog = is_log_spaced(np.sort(self.info.coords[c.x]))
        ylog = c.y is not None and is_log_spaced(np.sort(self.info.coords[c.y]))
        fixed = ", ".join(f"{d} = {_fmt(self.info.coords[d][i].item())}" for d, i in c.fixed.items())
        title = f"{self.info.kernel}: {axis_label(c.var, self.info.attrs.get(c.var, {}))}" + (f" at {fixed}" if fixed else "")
        fig = figure(width=760, height=520, title=title, x_axis_type="log" if xlog else "linear",
                     y_axis_type="log" if ylog else "linear", tools="pan,wheel_zoom,box_zoom,reset,save")
        fig.xaxis.axis_label = axis_label(c.x, self.info.attrs.get(c.x, {}))
        value_label = axis_label(c.var, self.info.attrs.get(c.var, {}))
        tooltips = [(c.x, "@x{%.6g}")]
        formatters = {"@x": "printf", "@value": "printf"}
        if c.y is None:
            fig.yaxis.axis_label = value_label
            self.mapper = None
            renderer = fig.scatter("x", "shown", source=self.cells, size=6)
            fig.line("x", "shown", source=self.cells)
        else:
            fig.yaxis.axis_label = axis_label(c.y, self.info.attrs.get(c.y, {}))
            tooltips.append((c.y, "@y{%.6g}"))
            formatters["@y"] = "printf"
            self.mapper = LinearColorMapper(palette=Viridis256, nan_color="#d9d9d9")
            xs, ys = self.info.coords[c.x], self.info.coords[c.y]
            self.image_mode = (xs.size * ys.size > IMAGE_CELLS and _evenly_spaced(xs) and _evenly_spaced(ys))
            if self.image_mode:
                renderer = fig.image(image="image", x="x", y="y", dw="dw", dh="dh", source=self.image,
                                     color_mapper=self.mapper)
                tooltips = [(c.x, "$x{%.6g}"), (c.y, "$y{%.6g}"), (c.var, "@image{%.6g}")]
                formatters = {"$x": "printf", "$y": "printf", "@image": "printf"}
            else:
                renderer = fig.quad(left="left", right="right", bottom="bottom", top="top", source=self.cells,
                                    fill_color={"field": "shown", "transform": self.mapper}, line_color=None)
            fig.add_layout(ColorBar(color_mapper=self.mapper, title=value_label), "right")
        for d, i in c.fixed.items():
            tooltips.append((d, _fmt(self.info.coords[d][i].item())))
        if not self.image_mode:
            tooltips += [(c.var, "@value{%.6g}"), ("status", "@status"), ("message", "@message")]
        fig.add_tools(HoverTool(renderers=[renderer], tooltips=tooltips, formatters=formatters))
        marks = [
            fig.scatter("x", "y", source=self.not_converged, marker="circle", size=9, fill_color=None,
                        line_color="orange", line_width=2, legend_label="not converged"),
            fig.scatter("x", "y", source=self.failed, marker="x", size=10, line_color="red", line_width=2,
                        legend_label="failed"),
        ]
        # the marks carry their own hover: in image mode the only place a message shows
        mark_tips = [(c.x, "@x{%.6g}")] + ([(c.y, "@y{%.6g}")] if c.y else []) + [
            (c.var, "@value{%.6g}"), ("status", "@status"), ("message", "@message")]
        fig.add_tools(HoverTool(renderers=marks, tooltips=mark_tips,
                                formatters={"@x": "printf", "@y": "printf", "@value": "printf"}))
        fig.legend.location = "top_right"
        fig.legend.background_fill_alpha = 0.6
        self.figure = fig
        return fig

    # -- data -----------------------------------------------------------------------------
    def _push(self, regions: list[tuple[slice, slice]] | None = None) -> None:
        """Send the slice to the page: all of it, or (image mode) only ``regions``."""
        c, live = self.live.choice, self.live
        xs = self.info.coords[c.x].astype(float)
        ys = self.info.coords[c.y].astype(float) if c.y is not None else None
        values, status = live.values, live.status
        shown = np.where(status == 0, values, np.nan)
        finite = shown[np.isfinite(shown)]
        if self.mapper is not None and finite.size:
            self.mapper.low, self.mapper.high = float(finite.min()), float(finite.max())
        if self.image_mode:
            self._push_image(shown, xs, ys, regions)
        else:
            self._push_cells(values, status, shown, xs, ys)
        self._push_marks(values, status, xs, ys, finite)
        counts = live.counts()
        self.counts.text = (
            f"<b>{self.info.path.name}</b> ({self.info.kernel}): blocks {counts['blocks_done']}/{counts['n_blocks']} done"
            f" &middot; ok {counts['ok']} &middot; not converged {counts['not_converged']} &middot; "
            f"failed {counts['failed']} &middot; updated {datetime.now():%H:%M:%S}"
        )

    def _push_image(self, shown: np.ndarray, xs: np.ndarray, ys: np.ndarray, regions: Any) -> None:
        image = shown.T.astype(np.float32)  # rows are y
        if regions is None or not self.image.data["image"]:
            xe = _edges(xs, is_log_spaced(xs))
            ye = _edges(ys, is_log_spaced(ys))
            self.image.data = {"image": [image], "x": [xe[0]], "y": [ye[0]], "dw": [xe[-1] - xe[0]],
                               "dh": [ye[-1] - ye[0]]}
            return
        patches = [((0, sy, sx), image[sy, sx].ravel()) for sx, sy in regions]
        if patches:
            self.image.patch({"image": patches})

    def _push_cells(self, values: np.ndarray, status: np.ndarray, shown: np.ndarray, xs: np.ndarray,
                    ys: np.ndarray | None) -> None:
        nx, ny = values.shape
        ii, jj = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
        ii, jj = ii.ravel(), jj.ravel()
        codes = status.ravel()
        data: dict[str, Any] = {"x": xs[ii], "value": values.ravel(), "shown": shown.ravel(),
                                "status": _NAMES[codes], "message": self._messages(codes, ii, jj)}
        if ys is not None:
            xe = _edges(np.sort(xs), is_log_spaced(np.sort(xs)))
            ye = _edges(np.sort(ys), is_log_spaced(np.sort(ys)))
            xrank, yrank = np.argsort(np.argsort(xs)), np.argsort(np.argsort(ys))
            data.update(y=ys[jj], left=xe[xrank[ii]], right=xe[xrank[ii] + 1],
                        bottom=ye[yrank[jj]], top=ye[yrank[jj] + 1])
        else:
            data["y"] = self._line_y(values.ravel(), shown)
        self.cells.data = data

    def _messages(self, codes: np.ndarray, ii: np.ndarray, jj: np.ndarray) -> np.ndarray:
        messages = np.full(codes.size, "", dtype=object)
        for k in np.flatnonzero((codes == 1) | (codes == 2)).tolist():  # only non-ok cells have one
            messages[k] = self.live.messages.get(self.live.flat_index(int(ii[k]), int(jj[k])), "")
        return messages

    @staticmethod
    def _line_y(raw: np.ndarray, shown: np.ndarray) -> np.ndarray:
        finite = shown[np.isfinite(shown)]
        floor = float(finite.min()) if finite.size else 0.0
        return np.where(np.isfinite(raw), raw, floor)  # a NaN result is marked at the bottom

    def _push_marks(self, values: np.ndarray, status: np.ndarray, xs: np.ndarray, ys: np.ndarray | None,
                    finite: np.ndarray) -> None:
        for source, code in ((self.not_converged, 1), (self.failed, 2)):
            ii, jj = np.nonzero(status == code)
            raw = values[ii, jj]
            y = ys[jj] if ys is not None else self._line_y(raw, finite)
            source.data = {"x": xs[ii], "y": y, "value": raw, "status": [_STATUS_NAMES[code]] * ii.size,
                           "message": list(self._messages(np.full(ii.size, code), ii, jj))}

    def update(self) -> list[int]:
        """Read blocks that landed since the last call and redraw; returns their ids."""
        new = self.live.refresh()
        if new:
            self._push(self.live.regions)
        return new


def page_for(store: str | Path) -> type:
    """The page class for ``store``: a map of cells for a grid store, the samples for an
    adaptive one (:class:`.view_points.PointsViewApp`). SpecError if ``store`` is not a
    pairsweep store."""
    from .view_points import PointsViewApp  # it builds on this module

    info = StoreInfo.open(store)
    return PointsViewApp if is_points_store(read_root_attrs(info.path)["pairsweep"]) else ViewApp


def serve(
    store: str | Path, port: int = 0, *, interval_ms: int = 1000, announce: Any = None, parent_pid: int | None = None
) -> None:
    """Serve the page for ``store`` on http://127.0.0.1:PORT/ until interrupted.

    ``port`` 0 lets the OS pick a free one when binding (no window in which another process
    could take it). The link is printed to ``announce`` (default stderr) once the server listens.
    With ``parent_pid`` the server stops within a second of that process ending, however it
    ended (``run --view`` killed by SIGKILL leaves no page server behind).
    """
    from bokeh.application import Application
    from bokeh.application.handlers.function import FunctionHandler
    from bokeh.server.server import Server

    page = page_for(store)  # fails before a server starts
    app = Application(FunctionHandler(lambda doc: page(doc, store, interval_ms=interval_ms)))
    # hosts without a port get the bound port: right also when the OS picked it
    server = Server({"/": app}, port=port, address=_HOST, allow_websocket_origin=["127.0.0.1", "localhost"])
    server.start()
    if parent_pid is not None:
        import os

        from tornado.ioloop import PeriodicCallback

        def orphaned() -> None:
            if os.getppid() != parent_pid:  # re-parented: the run is gone
                server.io_loop.stop()

        PeriodicCallback(orphaned, 1000).start()
    print(f"pairsweep: results view at http://127.0.0.1:{server.port}/", file=announce or sys.stderr, flush=True)
    try:
        server.io_loop.start()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m pairsweep.sweeps.view STORE [--port N]`` (what ``run --view`` starts)."""
    parser = argparse.ArgumentParser(prog="pairsweep view")
    parser.add_argument("store")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--announce-stdout", action="store_true", help="print the link to stdout (for run --view)")
    parser.add_argument("--parent-pid", type=int, help="stop when this process (the parent) ends")
    args = parser.parse_args(argv)
    try:
        serve(args.store, args.port, announce=sys.stdout if args.announce_stdout else None,
              parent_pid=args.parent_pid)
    except SpecError as exc:
        print(f"pairsweep: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
