"""``pairsweep view`` of an adaptive store: the learners' samples as points, live.

A grid store is a map of cells (:mod:`.view`); an adaptive store is a cloud of samples along
``point`` (:mod:`pairsweep.storage.points`), so its page shows what the learners chose:
every sample at its sampled parameters, coloured by the chosen variable (a line over the
parameter when one is sampled), not-converged samples ringed orange and failed ones crossed
red, with the parameters, value, status and failure message on hover. With two or more
sampled parameters any two of them make the plane; the samples of one point of the learner
grid (e.g. one ``U`` of a ``U`` × (``lam``, ``t``) sweep) are shown at a time, chosen by a
selector, as are the extra indices of outputs such as ``Tc(ell)``.

Live as the grid page is: every second :class:`LivePoints` scans the ledger and reads the
blocks that landed since (their parameters, status and the shown variable), nothing else.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import zarr

from pairsweep.storage import ledger
from pairsweep.storage.layout import read_root_attrs
from pairsweep.storage.points import POINT, is_points_store

from .live import EntryTally, StoreInfo
from .selection import axis_label
from .view import _LINE, _STATUS_NAMES, _fmt

if TYPE_CHECKING:
    from bokeh.document import Document

__all__ = ["LivePoints", "PointsViewApp"]

class LivePoints:
    """The samples of an adaptive store, block by block as they land: the parameters, the
    status and one variable (``var``) of every point of a done block.

    Attributes
    ----------
    params
        Parameter name -> values (learner-grid axes first, then the sampled parameters).
    values
        The variable at each point, its extra dimensions kept.
    status
        Status code of each point (0 ok, 1 not converged, 2 failed).
    messages
        Failure message by the point's index along ``point``.
    blocks_read
        Blocks whose data this object has read: the test that refreshes stay incremental.
    """

    def __init__(self, path: str | Path, var: str) -> None:
        self.path = Path(path)
        meta = read_root_attrs(self.path)["pairsweep"]
        if not is_points_store(meta):
            raise ValueError(f"{self.path} is a grid store, not an adaptive one")
        spec = meta["spec"]
        adaptive = spec["adaptive"]
        self.kernel = str(spec["kernel"])
        self.output = str(adaptive["output"])  # the output that drives the learners
        self.output_index = dict(adaptive.get("index", {}))  # ... at these extra coordinates
        self.block = int(spec["chunks"][POINT])
        self.learner_axes = {name: list(values) for name, values in adaptive["learner_axes"].items()}
        self.sampled = list(adaptive["bounds"])
        self.bounds = {name: tuple(b) for name, b in adaptive["bounds"].items()}
        self.log = set(adaptive.get("log", []))
        root = zarr.open_group(str(self.path), mode="r", use_consolidated=False)
        self.capacity = int(root["status"].shape[0])
        self.n_blocks = self.capacity // self.block
        names = [*self.learner_axes, *self.sampled]
        self._params = {name: root[name] for name in names}
        self._status = root["status"]
        self._var = root[var]
        self.var = var
        self.params: dict[str, np.ndarray] = {name: np.empty(0) for name in names}
        self.values = np.empty((0, *self._var.shape[1:]))
        self.status = np.empty(0, dtype=np.uint8)
        self.index = np.empty(0, dtype=np.int64)
        self.messages: dict[int, str] = {}
        self.seen = np.zeros(self.n_blocks, dtype=bool)
        self.blocks_read = 0
        self._tally = EntryTally()

    def counts(self) -> dict[str, int]:
        """Blocks done and per-status point counts (from the ledger entries read)."""
        return {"blocks_done": int(self.seen.sum()), "n_blocks": self.n_blocks, "points": int(self.status.size),
                "capacity": self.capacity, **self._tally.totals}

    def refresh(self) -> list[int]:
        """Read the blocks that became done since the last call; return their ids."""
        done = ledger.done_blocks(self.path, self.n_blocks)
        new = np.flatnonzero(done & ~self.seen).tolist()
        if not new:
            return []
        parts: dict[str, list[np.ndarray]] = {name: [self.params[name]] for name in self.params}
        values, status, index = [self.values], [self.status], [self.index]
        for block_id in new:
            # a block is read only once its ledger entry exists, which the worker writes
            # after the block's chunks: a half-written block is never read
            self.messages.update(self._tally.read(self.path, block_id))
            region = slice(block_id * self.block, (block_id + 1) * self.block)
            for name, arr in self._params.items():
                parts[name].append(np.asarray(arr[region], dtype=float))
            values.append(np.asarray(self._var[region], dtype=float))
            status.append(np.asarray(self._status[region], dtype=np.uint8))
            index.append(np.arange(region.start, region.stop))
            self.seen[block_id] = True
            self.blocks_read += 1
        self.params = {name: np.concatenate(p) for name, p in parts.items()}
        self.values = np.concatenate(values)
        self.status = np.concatenate(status)
        self.index = np.concatenate(index)
        return new


class PointsViewApp:
    """The document of one browser page for an adaptive store (the counterpart of
    :class:`~.view.ViewApp`, usable in-process the same way: ``app.update()`` does what the
    periodic callback does)."""

    def __init__(self, doc: Document, store: str | Path, *, interval_ms: int = 1000) -> None:
        from bokeh.layouts import column, row
        from bokeh.models import ColumnDataSource, Div, Select

        self.doc = doc
        self.path = Path(store)
        probe = LivePoints(self.path, "status")
        self.kernel, self.sampled, self.learner_axes, self.log = probe.kernel, probe.sampled, probe.learner_axes, probe.log
        self.output, self.output_index = probe.output, probe.output_index
        info = StoreInfo.open(self.path)
        self.attrs = info.attrs
        self.extra = {d: v for d, v in info.coords.items() if d != POINT}
        params = set(probe.learner_axes) | set(probe.sampled)
        # the outputs and their extra dimensions (every output lies along point first)
        self.dims = {name: dims[1:] for name, dims in info.variables.items() if name not in params | {"status"}}
        names = [probe.output, *sorted(set(self.dims) - {probe.output})]
        self.var_select = Select(title="variable", value=names[0], options=names, width=180)
        self.x_select = Select(title="x axis", value=self.sampled[0], options=self.sampled, width=140)
        y_default = self.sampled[1] if len(self.sampled) > 1 else _LINE
        self.y_select = Select(title="y axis", value=y_default, options=[_LINE, *self.sampled], width=140)
        self.learner_selects = {
            name: Select(title=name, value="0", options=[(str(i), _fmt(v)) for i, v in enumerate(values)], width=180)
            for name, values in self.learner_axes.items()
        }
        self.extra_selects: dict[str, Select] = {}
        self.samples = ColumnDataSource(data={})
        self.not_converged = ColumnDataSource(data={})
        self.failed = ColumnDataSource(data={})
        self.counts = Div(text="", width=700)
        self.controls = column(width=200)
        self.plot_holder = column()
        self.layout = column(self.counts, row(self.controls, self.plot_holder))
        self.var_select.on_change("value", lambda attr, old, new: self._rebuild())
        for select in (self.x_select, self.y_select, *self.learner_selects.values()):
            select.on_change("value", lambda attr, old, new: self._rebuild(same_variable=True))
        self._rebuild()
        doc.add_root(self.layout)
        doc.title = f"pairsweep: {self.path.name}"
        self.callback = doc.add_periodic_callback(self.update, interval_ms) if interval_ms else None

    # -- building -------------------------------------------------------------------------
    def _rebuild(self, same_variable: bool = False) -> None:
        from bokeh.models import Select

        var = self.var_select.value
        if self.x_select.value == self.y_select.value:
            self.y_select.value = _LINE  # calls back into _rebuild
            return
        if not same_variable:
            old = {d: s.value for d, s in self.extra_selects.items()}
            self.extra_selects = {}
            for d in self.dims[var]:
                values = self.extra[d].tolist()
                options = [(str(i), _fmt(v)) for i, v in enumerate(values)]
                # the driving output opens at the index that drives the learners
                drives = var == self.output and self.output_index.get(d) in values
                start = str(values.index(self.output_index[d])) if drives else old.get(d, "0")
                select = Select(title=d, value=start, options=options, width=180)
                select.on_change("value", lambda attr, o, n: self._rebuild(same_variable=True))
                self.extra_selects[d] = select
            self.controls.children = [self.var_select, self.x_select, self.y_select,
                                      *self.learner_selects.values(), *self.extra_selects.values()]
            # another variable is another array to read; axes and learner only redraw
            self.live = LivePoints(self.path, var)
            self.live.refresh()
        self.plot_holder.children = [self._figure()]
        self._push()

    def _figure(self) -> Any:
        from bokeh.models import ColorBar, HoverTool, LinearColorMapper
        from bokeh.palettes import Viridis256
        from bokeh.plotting import figure

        var, x = self.var_select.value, self.x_select.value
        y = None if self.y_select.value == _LINE else self.y_select.value
        at = ", ".join([f"{name} = {_fmt(self.learner_axes[name][int(s.value)])}"
                        for name, s in self.learner_selects.items()]
                       + [f"{d} = {_fmt(self.extra[d][int(s.value)].item())}" for d, s in self.extra_selects.items()])
        title = f"{self.kernel} (adaptive samples): {axis_label(var, self.attrs.get(var, {}))}" + (f" at {at}" if at else "")
        fig = figure(width=760, height=520, title=title, x_axis_type="log" if x in self.log else "linear",
                     y_axis_type="log" if y in self.log else "linear", tools="pan,wheel_zoom,box_zoom,reset,save")
        fig.xaxis.axis_label = axis_label(x, self.attrs.get(x, {}))
        value_label = axis_label(var, self.attrs.get(var, {}))
        names = [*self.learner_axes, *self.sampled]
        tooltips = [(name, f"@{{{name}}}{{%.6g}}") for name in names]
        formatters = {f"@{{{name}}}": "printf" for name in names} | {"@_value": "printf"}
        tooltips += [(var, "@_value{%.6g}"), ("status", "@_status"), ("message", "@_message")]
        self.mapper = None
        if y is None:
            fig.yaxis.axis_label = value_label
            renderer = fig.scatter("_x", "_y", source=self.samples, size=6)
            fig.line("_x", "_y", source=self.samples)
        else:
            fig.yaxis.axis_label = axis_label(y, self.attrs.get(y, {}))
            self.mapper = LinearColorMapper(palette=Viridis256, nan_color="#d9d9d9")
            renderer = fig.scatter("_x", "_y", source=self.samples, size=7, line_color=None,
                                   fill_color={"field": "_value", "transform": self.mapper})
            fig.add_layout(ColorBar(color_mapper=self.mapper, title=value_label), "right")
        fig.add_tools(HoverTool(renderers=[renderer], tooltips=tooltips, formatters=formatters))
        marks = [
            fig.scatter("_x", "_y", source=self.not_converged, marker="circle", size=10, fill_color=None,
                        line_color="orange", line_width=2, legend_label="not converged"),
            fig.scatter("_x", "_y", source=self.failed, marker="x", size=10, line_color="red", line_width=2,
                        legend_label="failed"),
        ]
        fig.add_tools(HoverTool(renderers=marks, tooltips=tooltips, formatters=formatters))
        fig.legend.location = "top_right"
        fig.legend.background_fill_alpha = 0.6
        self.figure = fig
        return fig

    # -- data -----------------------------------------------------------------------------
    def _selected(self) -> tuple[np.ndarray, np.ndarray]:
        """Which read points belong to the chosen learner, and their values at the chosen
        extra indices."""
        live = self.live
        mine = np.ones(live.status.size, dtype=bool)
        for name, select in self.learner_selects.items():
            mine &= live.params[name] == float(self.learner_axes[name][int(select.value)])
        index = tuple(int(self.extra_selects[d].value) for d in self.dims[self.var_select.value])
        values = live.values[(slice(None), *index)] if index else live.values
        return mine, values

    def _columns(self, keep: np.ndarray, values: np.ndarray, y: str | None, floor: float) -> dict[str, Any]:
        """The columns of the points ``keep`` (a mask or indices) for a source: every
        parameter under its own name, and the plotted ``_x``, ``_y`` with ``_value``,
        ``_status``, ``_message`` (underscored: a parameter may be called ``x`` or ``value``)."""
        live = self.live
        codes = live.status[keep]
        raw = values[keep]
        data: dict[str, Any] = {name: live.params[name][keep] for name in live.params}
        data.update({
            "_x": live.params[self.x_select.value][keep],
            # a line's non-ok points (NaN outputs) are marked at the bottom of the plot
            "_y": live.params[y][keep] if y is not None else np.where(np.isfinite(raw), raw, floor),
            # a map colours ok points only
            "_value": np.where(codes == 0, raw, np.nan) if y is not None else raw,
            "_status": [_STATUS_NAMES.get(int(c), str(int(c))) for c in codes],
            "_message": [live.messages.get(int(i), "") for i in live.index[keep]],
        })
        return data

    def _push(self) -> None:
        mine, values = self._selected()
        y = None if self.y_select.value == _LINE else self.y_select.value
        ok = mine & (self.live.status == 0)
        finite = values[ok][np.isfinite(values[ok])]
        floor = float(finite.min()) if finite.size else 0.0
        if self.mapper is not None and finite.size:
            self.mapper.low, self.mapper.high = float(finite.min()), float(finite.max())
        if y is None:  # a line through the ok samples in the order of x
            order = np.argsort(self.live.params[self.x_select.value], kind="stable")
            data = self._columns(order[ok[order]], values, y, floor)
        else:
            data = self._columns(ok, values, y, floor)
        self.samples.data = data
        self.not_converged.data = self._columns(mine & (self.live.status == 1), values, y, floor)
        self.failed.data = self._columns(mine & (self.live.status == 2), values, y, floor)
        counts = self.live.counts()
        self.counts.text = (
            f"<b>{self.path.name}</b> ({self.kernel}, adaptive): {counts['points']}/{counts['capacity']} points, "
            f"blocks {counts['blocks_done']}/{counts['n_blocks']} done &middot; ok {counts['ok']} &middot; "
            f"not converged {counts['not_converged']} &middot; failed {counts['failed']} &middot; "
            f"updated {datetime.now():%H:%M:%S}"
        )

    def update(self) -> list[int]:
        """Read blocks that landed since the last call and redraw; returns their ids."""
        new = self.live.refresh()
        if new:
            self._push()
        return new
