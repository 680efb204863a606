"""`pairsweep view` of an adaptive store: the page's document in-process against a real
adaptive store whose blocks land (written by the engine's own compute_points_block) between
two update callbacks, and the real server."""

from __future__ import annotations

import re
import subprocess
import sys
import urllib.request

import numpy as np
import pytest
from bokeh.document import Document
from bokeh.models import HoverTool

from pairsweep.sweeps.adaptive import compute_points_block, prepare_adaptive_store
from pairsweep.sweeps.adaptive_spec import AdaptiveSweep
from pairsweep.sweeps.view import ViewApp, page_for
from pairsweep.sweeps.view_points import PointsViewApp

# FLAKY: x < -5 raises (failed, "cannot solve at x=..."), y > 5 is not converged.
# Two learners (delay = 0 and 0.001), each sampling x and log-scaled y.
BLOCKS = {
    0: {"delay": [0.0] * 4, "x": [-6.0, 1.0, 2.0, 3.0], "y": [1.0, 1.0, 6.0, 2.0]},
    1: {"delay": [0.001] * 4, "x": [0.5, -1.0, 1.5, 4.0], "y": [0.7, 1.2, 3.0, 7.0]},
    2: {"delay": [0.0] * 4, "x": [-2.0, 0.0, 2.5, -1.0], "y": [0.6, 4.0, 1.5, 2.5]},
}


@pytest.fixture
def adaptive_store(tmp_path):
    sweep = AdaptiveSweep(kernel="engine_kernels:FLAKY", store=tmp_path / "a.zarr", axes={"delay": [0.0, 0.001]},
                          adaptive={"output": "f", "bounds": {"x": [-8.0, 8.0], "y": [0.5, 8.0]}, "log": ["y"],
                                    "npoints": 32, "block_points": 4})
    return prepare_adaptive_store(sweep)


def _land(ra, block_id):
    compute_points_block(str(ra.store), block_id, ra.spec_hash, "test-run", BLOCKS[block_id], False)


def surface(x, y):
    return np.sin(x) * np.exp(-np.asarray(y) ** 2)


def test_page_shows_a_learners_samples_marks_non_ok_ones_and_reads_only_new_blocks(adaptive_store):
    ra = adaptive_store
    _land(ra, 0)
    assert page_for(ra.store) is PointsViewApp
    app = PointsViewApp(Document(), ra.store, interval_ms=0)
    assert (app.var_select.value, app.x_select.value, app.y_select.value) == ("f", "x", "y")
    assert list(app.learner_selects) == ["delay"] and app.live.blocks_read == 1
    # the ok samples of learner delay = 0, coloured by their values
    data = app.samples.data
    assert sorted(zip(data["x"], data["y"], strict=True)) == [(1.0, 1.0), (3.0, 2.0)]
    np.testing.assert_allclose(data["_value"], surface(data["x"], data["y"]), rtol=1e-12)
    assert app.failed.data["x"].tolist() == [-6.0] and "cannot solve at x=-6.0" in app.failed.data["_message"][0]
    assert app.not_converged.data["y"].tolist() == [6.0] and app.not_converged.data["_message"] == ["iteration cap"]
    assert np.isnan(app.not_converged.data["_value"]).all()  # a not-converged value is never coloured as data
    assert "4/32 points" in app.counts.text and "blocks 1/8 done" in app.counts.text and "failed 1" in app.counts.text
    # y is sampled in log space: a log axis; hover names every parameter, the value, status, message
    assert type(app.figure.y_scale).__name__ == "LogScale" and type(app.figure.x_scale).__name__ == "LinearScale"
    hover = next(t for t in app.figure.tools if isinstance(t, HoverTool))
    assert [name for name, _ in hover.tooltips] == ["delay", "x", "y", "f", "status", "message"]

    assert app.update() == []  # nothing new: nothing read
    _land(ra, 1)
    _land(ra, 2)
    assert app.update() == [1, 2] and app.live.blocks_read == 3  # the new blocks only
    assert len(app.samples.data["x"]) == 2 + 4  # block 2 is learner 0's too, all ok
    app.learner_selects["delay"].value = "1"  # the other learner: block 1's samples, nothing read again
    assert sorted(app.samples.data["x"]) == [-1.0, 0.5, 1.5] and app.not_converged.data["x"].tolist() == [4.0]
    assert app.live.blocks_read == 3


def test_extra_index_and_a_line_over_one_parameter(adaptive_store):
    ra = adaptive_store
    for b in BLOCKS:
        _land(ra, b)
    app = PointsViewApp(Document(), ra.store, interval_ms=0)
    app.var_select.value = "moments"
    assert list(app.extra_selects) == ["k"]
    app.extra_selects["k"].value = "2"
    np.testing.assert_allclose(app.samples.data["_value"], np.asarray(app.samples.data["x"]) ** 2)
    # a line: the ok samples of the learner along x, in the order of x, value on y
    app.y_select.value = "(line)"
    app.var_select.value = "f"
    xs = np.asarray(app.samples.data["x"])
    assert xs.tolist() == sorted([1.0, 3.0, -2.0, 0.0, 2.5, -1.0])
    np.testing.assert_allclose(app.samples.data["_y"], surface(xs, app.samples.data["y"]), rtol=1e-12)
    np.testing.assert_array_equal(app.samples.data["_x"], xs)
    assert type(app.figure.x_scale).__name__ == "LinearScale"
    # x and y cannot be the same parameter: y falls back to the line
    app.y_select.value = "x"
    assert app.y_select.value == "(line)"


def test_a_grid_store_still_gets_the_map(tmp_path):
    from pairsweep.sweeps import Sweep
    from pairsweep.sweeps.engine import prepare_store

    rs = prepare_store(Sweep(kernel="engine_kernels:SMOOTH", store=tmp_path / "g.zarr", axes={"x": [0.0, 1.0]}))
    assert page_for(rs.store) is ViewApp


def test_view_server_answers_for_an_adaptive_store(adaptive_store, subprocess_env):
    ra = adaptive_store
    _land(ra, 0)
    proc = subprocess.Popen([sys.executable, "-m", "pairsweep.sweeps.cli", "view", str(ra.store)],
                            stderr=subprocess.PIPE, text=True, env=subprocess_env)
    try:
        line = proc.stderr.readline().strip()
        assert re.fullmatch(r"pairsweep: results view at http://127\.0\.0\.1:\d+/", line), line
        # the server builds the page's document on this request: an error there is a 500
        page = urllib.request.urlopen(line.split(" at ")[1], timeout=30).read().decode()
        assert "bokeh" in page.lower()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_the_driving_output_opens_at_the_index_that_drives_the_learners(tmp_path):
    sweep = AdaptiveSweep(kernel="engine_kernels:FLAKY", store=tmp_path / "m.zarr",
                          adaptive={"output": "moments", "index": {"k": 2}, "bounds": {"x": [-4.0, 4.0], "y": [0.5, 4.0]},
                                    "npoints": 16, "block_points": 4})
    ra = prepare_adaptive_store(sweep)
    compute_points_block(str(ra.store), 0, ra.spec_hash, "test-run",
                         {"x": [-1.0, 0.5, 2.0, 3.0], "y": [1.0, 1.0, 2.0, 3.0]}, False)
    app = PointsViewApp(Document(), ra.store, interval_ms=0)
    assert app.var_select.value == "moments" and app.extra_selects["k"].value == "2"
    np.testing.assert_allclose(app.samples.data["_value"], np.asarray(app.samples.data["x"]) ** 2)
    assert "k = 2" in app.figure.title.text
