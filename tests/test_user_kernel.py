"""docs/adding-a-kernel.md runs as written: its module and spec, extracted from the page,
sweep on a real LocalCluster, and the stored numbers are the BCS values."""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path

import numpy as np
import pytest

PAGE = Path(__file__).resolve().parents[1] / "docs" / "adding-a-kernel.md"
#: 2 e^γ / π: weak-coupling BCS T_c = 1.134 ω_D e^{−1/λ}; 2Δ/T_c → 2π/e^γ = 3.528.
BCS_TC_PREFACTOR = 2.0 * math.exp(0.5772156649015329) / math.pi


def _blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", PAGE.read_text(encoding="utf-8"), re.S | re.M)


@pytest.fixture
def user_kernel_dir(tmp_path, monkeypatch):
    """The page's module and spec written into an empty directory, as a user would save them,
    importable here and on the workers."""
    module, *_ = _blocks("python")
    (spec,) = _blocks("toml")
    (tmp_path / "mymodule.py").write_text(module, encoding="utf-8")
    (tmp_path / "my_sweep.toml").write_text(spec, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    sys.modules.pop("mymodule", None)


def test_the_page_has_one_module_one_spec_and_a_usage_snippet():
    python = _blocks("python")
    assert len(python) == 2, "the test runs the first python block as the module"
    assert "MY_KERNEL = Kernel(" in python[0]
    assert 'kernel = "mymodule:MY_KERNEL"' in _blocks("toml")[0]


def test_the_pages_spec_resolves_to_the_pages_kernel_by_the_name_workers_look_up(user_kernel_dir):
    from pairsweep.kernels import Status, get_kernel
    from pairsweep.sweeps import SpecError, load_spec, resolve

    rs = resolve(load_spec("my_sweep.toml"))
    assert rs.n_points == 4
    # workers resolve the kernel again from the name stored with the result
    assert get_kernel(rs.kernel.name) is rs.kernel
    point = rs.kernel.solve_point(lam=0.2, omega_d=1.0)
    assert point["status"] == Status.OK
    assert point["gap"] == pytest.approx(1.0 / math.sinh(5.0), rel=1e-14)
    assert point["tc"] == pytest.approx(BCS_TC_PREFACTOR * math.exp(-5.0), rel=1e-9)
    bad = Path("bad.toml")
    bad.write_text(Path("my_sweep.toml").read_text().replace("0.2,", "0.05,"))
    with pytest.raises(SpecError, match=r"axes\.lam.*0\.05.*\[0\.1, 2\]"):
        resolve(load_spec(bad))



def test_a_user_kernel_named_differently_from_its_import_path_is_refused(user_kernel_dir):
    from pairsweep.sweeps import SpecError, load_spec, resolve

    module = Path("mymodule.py")
    module.write_text(module.read_text().replace('name="mymodule:MY_KERNEL"', 'name="my_model"'))
    with pytest.raises(SpecError, match=r"kernel: 'mymodule:MY_KERNEL' declares name='my_model'"):
        resolve(load_spec("my_sweep.toml"))


@pytest.mark.slow
def test_the_pages_kernel_sweeps_on_a_local_cluster_and_stores_the_bcs_values(user_kernel_dir, client):
    from pairsweep.sweeps import open_result

    # the page's own usage lines, with the client fixture standing in for the user's client
    client.upload_file(str(user_kernel_dir / "mymodule.py"))
    namespace = {"client": client}
    usage = _blocks("python")[1]
    exec(compile(usage, str(PAGE), "exec"), namespace)  # noqa: S102 - the page's own snippet

    assert namespace["report"].complete
    ds = open_result(user_kernel_dir / "results" / "bcs.zarr")
    lam = ds["lam"].values
    np.testing.assert_array_equal(lam, [0.2, 0.3, 0.5, 1.0])
    assert ds.attrs["kernel"] == "mymodule:MY_KERNEL"
    np.testing.assert_array_equal(ds["status"].values, 0)
    # Δ = ω_D / sinh(1/λ) exactly; T_c from the numerical root agrees with the weak-coupling
    # formula at λ = 0.2 (corrections are exponentially small there) and is above it at λ = 1.
    np.testing.assert_allclose(ds["gap"].values, 1.0 / np.sinh(1.0 / lam), rtol=1e-14)
    tc = ds["tc"].values
    assert tc[0] == pytest.approx(BCS_TC_PREFACTOR * math.exp(-1.0 / 0.2), rel=1e-9)
    assert tc[3] > 1.05 * BCS_TC_PREFACTOR * math.exp(-1.0)
    ratio = ds["gap_ratio"].values
    assert ratio[0] == pytest.approx(2.0 * math.pi / math.exp(0.5772156649015329), rel=1e-3)
    assert np.all(np.diff(ratio) > 0)
