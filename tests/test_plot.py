"""`pairsweep plot` and `slice -o FIG`: figures of a real store with ok, failed and
not-converged points, on a log-spaced and a linear axis."""

from __future__ import annotations

import numpy as np
import pytest

from pairsweep.sweeps import Sweep, open_result, run_sweep
from pairsweep.sweeps.cli import main
from pairsweep.sweeps.plot import plot_variable
from pairsweep.sweeps.selection import is_log_spaced

# FLAKY: f = sin(x) exp(-y²); x > 5 gives NaN (failed), y > 5 is not converged.
X = np.geomspace(0.1, 8.0, 7)
Y = [-1.0, -0.5, 0.0, 0.5, 6.0]


@pytest.fixture(scope="module")
def store(tmp_path_factory, client):
    path = tmp_path_factory.mktemp("plot") / "r.zarr"
    run_sweep(Sweep(kernel="engine_kernels:FLAKY", store=path, axes={"x": X.tolist(), "y": Y},
                    chunks={"x": 4, "y": 5}), client=client, progress=False)
    return path


def _pixel_std(path) -> float:
    import matplotlib.image as mimage

    return float(np.std(mimage.imread(path)[..., :3]))


def test_log_spacing_is_recognised_only_for_geometric_grids():
    assert is_log_spaced(np.geomspace(1e-5, 1e-1, 41))
    assert not is_log_spaced(np.linspace(0.25, 2.0, 8))
    assert not is_log_spaced(np.array([1.0, 2.0, 3.0]))
    assert not is_log_spaced(np.array([-1.0, -10.0, -100.0]))


def test_map_png_shows_data_on_a_log_axis_and_marks_failures(store, tmp_path, capsys):
    out = tmp_path / "map.png"
    assert main(["plot", str(store), "f", "-o", str(out)]) == 0
    assert out.stat().st_size > 10_000 and _pixel_std(out) > 0.1  # not a blank or one-colour frame
    fig, _ = plot_variable(open_result(store), "f")
    ax = fig.axes[0]
    assert (ax.get_xscale(), ax.get_yscale()) == ("log", "linear")
    assert ax.get_xlabel() == "x" and ax.get_ylabel() == "y"
    labels = {t.get_text() for t in ax.get_legend().get_texts()}
    assert labels == {"failed", "not converged"}
    # the colour scale spans ok points only: not-converged values (y = 6) and NaNs are not data
    ds = open_result(store).load()
    ok_f = ds.f.where(ds.status == 0).values
    mesh = ax.collections[0]
    assert mesh.norm.vmin == pytest.approx(np.nanmin(ok_f)) and mesh.norm.vmax == pytest.approx(np.nanmax(ok_f))


def test_sel_off_grid_is_an_error_naming_the_field_unless_nearest(store, tmp_path, capsys):
    out = tmp_path / "line.png"
    assert main(["plot", str(store), "f", "--sel", "y=0.3", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "--sel y: 0.3 is not a grid value of y; nearest: 0, 0.5" in err and "Traceback" not in err
    assert not out.exists()
    assert main(["plot", str(store), "f", "--sel", "y=0.3", "--nearest", "-o", str(out)]) == 0
    assert "took the nearest value y = 0.5" in capsys.readouterr().err
    # a grid value as printed to 6 digits is that value (0.430887 for 0.43088693...); 0.43 is not
    assert main(["plot", str(store), "f", "--sel", f"x={X[2]:.6g}", "-o", str(out)]) == 0
    assert "nearest" not in capsys.readouterr().err
    assert main(["plot", str(store), "f", "--sel", "x=0.43", "-o", str(out)]) == 2


def test_format_follows_the_suffix_and_unknown_ones_are_refused(store, tmp_path, capsys):
    pdf, svg = tmp_path / "f.pdf", tmp_path / "f.svg"
    assert main(["plot", str(store), "f", "--x", "y", "--sel", "x=0.1", "-o", str(pdf)]) == 0
    assert main(["plot", str(store), "f", "--x", "y", "--sel", "x=0.1", "-o", str(svg)]) == 0
    assert pdf.read_bytes()[:4] == b"%PDF" and "<svg" in svg.read_text()[:500]
    assert main(["plot", str(store), "f", "-o", str(tmp_path / "f.jpg")]) == 2
    assert "allowed: .png, .pdf, .svg" in capsys.readouterr().err
    assert not (tmp_path / "f.jpg").exists()


def test_line_per_extra_index_facets_and_contours(store):
    ds = open_result(store)
    fig, _ = plot_variable(ds, "moments", x="x", sel={"y": 0})
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and len(ax.get_lines()) == 3  # one line per k
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert [t for t in labels if t.startswith("k")] == ["k = 0", "k = 1", "k = 2"] and "failed" in labels
    fig, _ = plot_variable(ds, "moments", x="x", y="y", facet="k", contours=[0.5])
    panels = [a for a in fig.axes if a.get_visible() and a.get_label() != "<colorbar>"]
    assert [a.get_title() for a in panels] == ["k = 0", "k = 1", "k = 2"]
    # k = 1 is x itself: its 0.5 contour crosses the x axis at x = 0.5
    from matplotlib.contour import ContourSet

    contour_paths = [p for c in panels[1].collections if isinstance(c, ContourSet) for p in c.get_paths()]
    xs = np.concatenate([p.vertices[:, 0] for p in contour_paths if len(p.vertices)])
    assert np.allclose(xs, 0.5, atol=0.05)


def test_too_many_free_dimensions_and_bad_choices_are_rejected(store, tmp_path, capsys):
    out = tmp_path / "m.png"
    assert main(["plot", str(store), "moments", "-o", str(out)]) == 2
    assert "fix them with --sel" in capsys.readouterr().err
    assert main(["plot", str(store), "f", "--x", "y", "--y", "y", "-o", str(out)]) == 2
    assert "different dimension" in capsys.readouterr().err
    assert main(["plot", str(store), "f", "--facet", "z", "-o", str(out)]) == 2
    assert "--facet: 'z' is not a free dimension" in capsys.readouterr().err
    assert not out.exists()


def test_slice_figure_uses_the_plot_code(store, tmp_path):
    out = tmp_path / "slice.png"
    assert main(["slice", str(store), "moments", "--sel", "k=2", "-o", str(out)]) == 0
    assert _pixel_std(out) > 0.1
