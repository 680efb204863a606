"""`pairsweep view`: the Bokeh document in-process against a real store that grows between two
update callbacks (blocks written by the engine's own compute_block), and the real server."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request

import numpy as np
import pytest
from bokeh.document import Document
from bokeh.models import HoverTool

from pairsweep.sweeps import Sweep
from pairsweep.sweeps.engine import prepare_store
from pairsweep.sweeps.execute import compute_block
from pairsweep.sweeps.view import ViewApp

# FLAKY: x < -5 raises (failed, message "cannot solve at x=..."), y > 5 not converged.
X = [-6.0, -1.0, 0.5, 1.0, 2.0, 3.0]  # blocks of 2 along x: 3 blocks
Y = np.geomspace(0.5, 8.0, 7).tolist()  # 0.5 ... 8: log-spaced; 5.04 and 8 not converged


@pytest.fixture
def empty_store(tmp_path):
    sweep = Sweep(kernel="engine_kernels:FLAKY", store=tmp_path / "v.zarr", axes={"x": X, "y": Y},
                  chunks={"x": 2, "y": 7})
    rs = prepare_store(sweep)
    return rs


def _land(rs, block_id):
    compute_block(str(rs.store), block_id, rs.spec_hash, "test-run", False)


def test_page_gains_points_as_blocks_land_reading_only_new_blocks(empty_store):
    rs = empty_store
    _land(rs, 0)
    app = ViewApp(Document(), rs.store, interval_ms=0)
    assert app.choice().var == "f" and (app.choice().x, app.choice().y) == ("x", "y")
    assert app.live.blocks_read == 1
    statuses = list(app.cells.data["status"])
    assert statuses.count("ok") == 5 and statuses.count("failed") == 7 and statuses.count("not computed") == 28
    assert "blocks 1/3 done" in app.counts.text

    assert app.update() == []  # nothing new: nothing read, nothing redrawn
    _land(rs, 1)
    _land(rs, 2)
    assert app.update() == [1, 2]
    assert app.live.blocks_read == 3  # the two new blocks, not the first again
    data = app.cells.data
    assert list(data["status"]).count("ok") == 25 and list(data["status"]).count("not converged") == 10
    ok = np.array([s == "ok" for s in data["status"]])
    expected = np.sin(data["x"][ok]) * np.exp(-data["y"][ok] ** 2)
    np.testing.assert_allclose(data["shown"][ok], expected, rtol=1e-12)
    assert np.all(np.isnan(np.asarray(data["shown"])[~ok]))  # non-ok cells are not coloured as data
    assert "blocks 3/3 done" in app.counts.text and "not converged 10" in app.counts.text


def test_non_ok_points_are_marked_and_hover_shows_status_and_message(empty_store):
    rs = empty_store
    for b in range(3):
        _land(rs, b)
    app = ViewApp(Document(), rs.store, interval_ms=0)
    assert len(app.failed.data["x"]) == 7 and set(app.failed.data["x"]) == {-6.0}
    assert len(app.not_converged.data["x"]) == 10 and set(app.not_converged.data["y"]) == {Y[5], Y[6]}
    failed_rows = [i for i, s in enumerate(app.cells.data["status"]) if s == "failed"]
    assert all("cannot solve at x=-6.0" in app.cells.data["message"][i] for i in failed_rows)
    nc_rows = [i for i, s in enumerate(app.cells.data["status"]) if s == "not converged"]
    assert all(app.cells.data["message"][i] == "iteration cap" for i in nc_rows)
    hover = next(t for t in app.figure.tools if isinstance(t, HoverTool))
    assert [name for name, _ in hover.tooltips] == ["x", "y", "f", "status", "message"]
    # y is log-spaced: log axis, cells bounded at geometric midpoints; x is not
    assert type(app.figure.y_scale).__name__ == "LogScale" and type(app.figure.x_scale).__name__ == "LinearScale"
    row = app.cells.data["y"].tolist().index(Y[1])
    assert app.cells.data["top"][row] == pytest.approx(np.sqrt(Y[1] * Y[2]))


def test_selectors_switch_variable_extra_index_and_line_reading_only_blocks_in_the_slice(empty_store):
    rs = empty_store
    for b in range(3):
        _land(rs, b)
    app = ViewApp(Document(), rs.store, interval_ms=0)
    app.var_select.value = "moments"
    assert list(app.fixed_selects) == ["k"]
    app.fixed_selects["k"].value = "2"
    ok = np.array([s == "ok" for s in app.cells.data["status"]])
    np.testing.assert_allclose(app.cells.data["shown"][ok], app.cells.data["x"][ok] ** 2)
    # a line along y at x = 0.5 (index 2): only block 1 holds it
    app.x_select.value = "y"
    app.y_select.value = "(line)"
    assert set(app.fixed_selects) == {"x", "k"}
    app.fixed_selects["x"].value = "2"
    assert app.live.blocks_read == 1
    assert type(app.figure.x_scale).__name__ == "LogScale"
    assert list(app.cells.data["x"]) == Y and list(app.cells.data["shown"][:3]) == [0.25, 0.25, 0.25]


def test_view_server_answers_on_localhost(empty_store, subprocess_env):
    rs = empty_store
    _land(rs, 0)
    proc = subprocess.Popen([sys.executable, "-m", "pairsweep.sweeps.cli", "view", str(rs.store)],
                            stderr=subprocess.PIPE, text=True, env=subprocess_env)
    try:
        line = proc.stderr.readline().strip()
        assert re.fullmatch(r"pairsweep: results view at http://127\.0\.0\.1:\d+/", line), line
        url = line.split(" at ")[1]
        page = urllib.request.urlopen(url, timeout=30).read().decode()
        assert "bokeh" in page.lower()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_view_of_a_missing_store_is_an_error(tmp_path, capsys):
    from pairsweep.sweeps.cli import main

    assert main(["view", str(tmp_path / "nope.zarr")]) == 2
    assert "not a pairsweep store" in capsys.readouterr().err


@pytest.mark.slow
def test_run_with_view_prints_both_links_and_stops_the_page(tmp_path, subprocess_env):
    spec = tmp_path / "s.toml"
    spec.write_text(textwrap.dedent(f"""
        kernel = "engine_kernels:SMOOTH"
        store = "{tmp_path / 's.zarr'}"
        [axes]
        x = {{ linspace = [0, 1, 4] }}
        [fixed]
        delay = 0.5
        [execution]
        chunks = {{ x = 1 }}
        """))
    proc = subprocess.Popen([sys.executable, "-m", "pairsweep.sweeps.cli", "run", str(spec), "--view", "--workers", "1"],
                            stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=subprocess_env)
    first = proc.stderr.readline()
    assert first.startswith("pairsweep: results view at http://127.0.0.1:")
    url = first.split(" at ")[1].strip()
    page = None
    for _ in range(60):  # the page comes up while the run goes on
        try:
            page = urllib.request.urlopen(url, timeout=5).read().decode()
            break
        except OSError:
            time.sleep(0.25)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert page is not None and "bokeh" in page.lower()
    assert "dashboard at http" in err and "complete" in out
    with pytest.raises(OSError):
        urllib.request.urlopen(url, timeout=5)  # stopped with the run


def test_a_large_map_is_one_image_patched_only_where_blocks_landed(tmp_path):
    # 250 x 200 = 50 000 cells (> IMAGE_CELLS): an image, not 50 000 quads
    x = np.linspace(-3, 3, 250).tolist()
    y = np.geomspace(0.01, 2.0, 200).tolist()
    rs = prepare_store(Sweep(kernel="engine_kernels:SMOOTH", store=tmp_path / "big.zarr", axes={"x": x, "y": y},
                             chunks={"x": 50, "y": 100}))  # 5 x 2 = 10 blocks
    _land(rs, 0)
    app = ViewApp(Document(), rs.store, interval_ms=0)
    assert app.image_mode and app.cells.data == {}
    image = app.image.data["image"][0]
    assert image.shape == (200, 250) and np.isfinite(image).sum() == 50 * 100
    assert app.image.data["x"][0] < -3 and app.image.data["y"][0] < 0.01  # outer cell edges
    _land(rs, 3)  # x 50..99, y 100..199
    assert app.update() == [3] and app.live.blocks_read == 2
    image = app.image.data["image"][0]
    assert np.isfinite(image).sum() == 2 * 50 * 100
    gy, gx = np.meshgrid(y[100:], x[50:100], indexing="ij")
    np.testing.assert_allclose(image[100:, 50:100], np.sin(gx) * np.exp(-gy**2), rtol=1e-6)  # float32 pixels


@pytest.mark.slow  # ~3 s: kills a parent process and waits for the page server to notice
def test_page_server_stops_when_its_parent_dies(empty_store, subprocess_env):
    """run --view's page must not outlive a run killed without cleanup (SIGKILL, SIGTERM)."""
    rs = empty_store
    view = f"{sys.executable} -m pairsweep.sweeps.view {rs.store} --parent-pid $$"
    shell = subprocess.Popen(["sh", "-c", f"{view} & echo $!; sleep 2"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=subprocess_env)
    view_pid = int(shell.stdout.readline())
    try:
        url = shell.stderr.readline().strip().split(" at ")[1]
        assert "bokeh" in urllib.request.urlopen(url, timeout=30).read().decode().lower()
        shell.wait(timeout=30)  # the parent ends without touching its child
        for _ in range(100):
            try:
                urllib.request.urlopen(url, timeout=2)
                time.sleep(0.1)
            except OSError:
                break
        else:
            pytest.fail("the page server outlived its parent")
    finally:
        try:
            os.kill(view_pid, signal.SIGTERM)
        except ProcessLookupError:
            pass


def test_an_axis_summarised_in_the_spec_still_gives_the_right_grid(tmp_path):
    # more than 1024 values: the spec keeps only {size, first, last, sha256} of the axis,
    # and the page must take the grid's shape from that, not from the summary's length
    x = np.linspace(-3, 3, 1025).tolist()
    rs = prepare_store(Sweep(kernel="engine_kernels:SMOOTH", store=tmp_path / "long.zarr",
                             axes={"x": x, "y": [0.0, 0.5]}, chunks={"x": 512, "y": 2}))
    _land(rs, 2)  # the last block: x[1024] alone
    app = ViewApp(Document(), rs.store, interval_ms=0)
    assert app.live.info.n_blocks == 3 and app.live.info.shape == (1025, 2)
    assert app.update() == [] and app.live.blocks_read == 1


def test_an_extended_store_is_shown_on_its_union_grid_reading_each_parts_new_blocks(empty_store):
    from pairsweep.storage.layout import read_root_attrs
    from pairsweep.storage.parts import part_stores
    from pairsweep.sweeps import open_result

    rs = empty_store
    for b in range(3):
        _land(rs, b)
    # new x values interleaved with the stored ones: one new part (x in {-0.5, 1.5, 4}) × Y
    extended = prepare_store(Sweep(kernel="engine_kernels:FLAKY", store=rs.store, axes={"x": [*X, -0.5, 1.5, 4.0], "y": Y},
                                   chunks={"x": 2, "y": 7}))
    part = part_stores(extended.store)[1]
    part_hash = read_root_attrs(part)["pairsweep"]["spec_hash"]
    app = ViewApp(Document(), rs.store, interval_ms=0)
    assert app.live.info.coords["x"].tolist() == sorted([*X, -0.5, 1.5, 4.0])  # sorted, as open_result
    assert "blocks 3/5 done" in app.counts.text
    assert list(app.cells.data["status"]).count("not computed") == 3 * len(Y)

    compute_block(str(part), 0, part_hash, "test-run", False)  # x = -0.5 and 1.5: not a range of the union
    assert app.update() == [3] and app.live.regions is None and app.live.blocks_read == 4
    ds = open_result(rs.store).load()
    shown = ds.f.where(ds.status == 0).transpose("x", "y").values
    np.testing.assert_array_equal(np.isnan(app.live.values) | (app.live.status != 0), np.isnan(shown))
    ok = app.live.status == 0
    np.testing.assert_array_equal(app.live.values[ok], shown[ok])  # the same numbers as open_result
    np.testing.assert_array_equal(app.live.status, ds.status.transpose("x", "y").values)
    assert "blocks 4/5 done" in app.counts.text
    # part 0's messages still find their cells on the union grid
    failed = [m for s, m in zip(app.cells.data["status"], app.cells.data["message"], strict=True) if s == "failed"]
    assert len(failed) == 7 and all("cannot solve at x=-6.0" in m for m in failed)

    # a line along y at x = 1.5, a value of the new part only: only that part's block is read
    app.x_select.value = "y"
    app.y_select.value = "(line)"
    app.fixed_selects["x"].value = str(app.live.info.coords["x"].tolist().index(1.5))
    assert app.live.blocks_read == 1
    np.testing.assert_allclose(app.cells.data["shown"][:5], np.sin(1.5) * np.exp(-np.asarray(Y[:5]) ** 2), rtol=1e-12)
