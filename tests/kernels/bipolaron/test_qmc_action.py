"""The Holstein chain with summed phonon lines (``_qmc_action``) against closed forms,
quadrature, a brute-force recomputation and the line chain it replaces.

The line chain stays the default where phonons are few (``SUMMED_FROM_LAMBDA``); the
exact-diagonalisation cases of ``test_qmc.py`` check whichever chain a point defaults to,
those here the summed chain on every cluster.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import dblquad

from pairsweep.kernels.bipolaron import _qmc_action as action
from pairsweep.kernels.bipolaron import _qmc_chain as chain
from pairsweep.kernels.bipolaron._qmc_stats import binning
from pairsweep.kernels.bipolaron.qmc import _ActionWalker, make_params, run_chain
from test_qmc import _check_cluster


def _propagator(x, omega, beta, thermal):
    if thermal:
        u = x % beta
        return (math.exp(-omega * u) + math.exp(-omega * (beta - u))) / (1 - math.exp(-omega * beta))
    return math.exp(-omega * abs(x))


def _length(x, omega, beta, thermal):
    """Σ_n |x + nβ| e^{−Ω|x + nβ|} (thermal) or |x| e^{−Ω|x|}."""
    if not thermal:
        return abs(x) * math.exp(-omega * abs(x))
    return sum(abs(x + n * beta) * math.exp(-omega * abs(x + n * beta)) for n in range(-60, 61))


@pytest.mark.parametrize("thermal, intervals", [
    (True, ((0.3, 1.7), (0.9, 2.4), 0)), (True, ((0.1, 0.4), (2.5, 3.9), 0)),
    (False, ((0.3, 1.7), (0.9, 2.4), 0)), (False, ((0.1, 0.4), (2.5, 3.9), 0)),
    # the thermal propagator sums the images itself; the zero-temperature one takes one
    (False, ((3.0, 3.9), (0.05, 0.6), 1)),
])
def test_pair_integrals_match_quadrature(thermal, intervals):
    """I₀ = ∫∫ D and I₁ = ∫∫ |τ − τ'| D of two segments, closed form against quadrature,
    for the thermal propagator (Δ = 0) and the zero-temperature one with an image shift."""
    (a1, b1), (a2, b2), n = intervals
    beta, omega = 4.0, 1.3
    p = make_params("holstein", 1, 1, beta, omega, 1.0)
    delta = np.array([0 if thermal else 1, 0, 0])
    ra = np.array([n, 0, 0])
    rb = np.zeros(3, np.int64)
    i0, i1 = action._interval_pair(p, a1, b1, ra, a2, b2, rb, delta, thermal, True)
    shift = n * beta
    q0 = dblquad(lambda y, x: _propagator(x - y - shift, omega, beta, thermal), a1, b1, a2, b2,
                 epsabs=1e-12, epsrel=1e-10)[0]
    q1 = dblquad(lambda y, x: _length(x - y - shift, omega, beta, thermal), a1, b1, a2, b2,
                 epsabs=1e-12, epsrel=1e-10)[0]
    assert i0 == pytest.approx(q0, rel=1e-7, abs=1e-12)
    assert i1 == pytest.approx(q1, rel=1e-7, abs=1e-12)


@pytest.mark.parametrize("n_electrons", [1, 2])
def test_static_electrons_have_the_lang_firsov_energy_and_phonon_number(n_electrons):
    """Straight worldlines on one site (no kinks): the phonon part of the estimators is
    exactly Lang-Firsov's, E = −(n g)²/Ω and N_ph = (n g/Ω)² for n electrons on the site,
    at every β (the thermal propagator integrates to 2/Ω over one period)."""
    beta, omega, g = 3.0, 0.7, 1.1
    p = make_params("holstein", 2, n_electrons, beta, omega, g, U=0.0)
    cfg = action.new_config(16, 2, n_electrons, np.zeros((n_electrons, 2), np.int64))
    valid, log_w, delta, vint, dint, r2int, kinks, i0, i1 = action.walk(p, cfg)
    assert valid and kinks == 0 and not delta.any()
    half = 0.5 * g * g
    energy = -half * (2 * i0 - omega * i1) / beta
    assert energy == pytest.approx(-(n_electrons * g) ** 2 / omega, rel=1e-12)
    assert half * i1 / beta == pytest.approx((n_electrons * g / omega) ** 2, rel=1e-12)
    assert log_w == pytest.approx(beta * (n_electrons * g) ** 2 / omega, rel=1e-12)


@pytest.mark.parametrize("geometry", ["chain", "square", "cube", "plaquette", "polaron"])
def test_local_updates_keep_the_weight_of_a_full_recomputation(geometry):
    """The stretch and shift updates change ln W by the moved pieces' interactions alone;
    after every sweep the running ln W must equal ``walk``'s (``check=True`` raises)."""
    d, ne, box, U, V = {"chain": (1, 2, None, 8.0, 1.0), "square": (2, 2, None, 4.0, 0.5),
                        "cube": (3, 2, None, 2.0, 0.0), "plaquette": (2, 2, (2, 2), 8.0, 0.5),
                        "polaron": (2, 1, None, 0.0, 0.0)}[geometry]
    p = make_params("holstein", d, ne, 5.0, 1.0, 1.5, U=U, V=V, box=box, summed=True)
    res = run_chain(p, 23, 300, warmup=200, check=True)
    assert res.sweeps == 300 and res.acceptance[[0, 2]].min() > 0.05
    if box is None:
        assert res.acceptance[3] > 0.0


@pytest.mark.parametrize("d, lam", [(1, 0.8), (2, 0.6)])
def test_grouped_walk_equals_all_pairs_of_segments(d, lam):
    """``walk`` pairs only segments on one oscillator orbit; a brute force over all pairs of
    a sampled twisted configuration (through the same closed form) must agree."""
    g = math.sqrt(2 * d * lam)
    p = make_params("holstein", d, 2, 6.0, 1.0, g, U=2.0)
    chain.seed_stream(4)
    walker = _ActionWalker(p, np.zeros((2, d), np.int64))
    out = np.zeros((1, len(chain.MEASURED)))
    stats = np.zeros((4, 2), np.int64)
    seen_twist = False
    for _ in range(60):
        walker.sweeps(1, 40, out, stats)
        cfg = walker.cfg
        valid, log_w, delta, *_rest, i0, i1 = action.walk(p, cfg)
        if not delta.any():
            continue
        seen_twist = True
        nseg = action._segments(p, cfg)
        b0 = b1 = 0.0
        for k in range(nseg):
            for j in range(nseg):
                x0, x1 = action._interval_pair(p, cfg.seg_t[k, 0], cfg.seg_t[k, 1], cfg.seg_r[k],
                                               cfg.seg_t[j, 0], cfg.seg_t[j, 1], cfg.seg_r[j],
                                               delta, False, True)
                b0 += x0
                b1 += x1
        assert i0 == pytest.approx(b0, rel=1e-10)
        assert i1 == pytest.approx(b1, rel=1e-10)
    assert seen_twist


@pytest.mark.parametrize("case", [
    # box, electrons, β, Ω, g, U
    ((2,), 2, 5.0, 1.0, 1.5, 8.0),
    pytest.param(((2,), 2, 1.0, 1.0, 1.0, 8.0), marks=pytest.mark.slow),
    pytest.param(((2,), 1, 5.0, 1.0, 1.5, 0.0), marks=pytest.mark.slow),
    pytest.param(((4,), 2, 2.0, 3.0, 1.0, 8.0), marks=pytest.mark.slow),
    # the plaquette: a stretch displaced around other kinks is what reaches its loops
    pytest.param(((2, 2), 2, 2.0, 3.0, 1.2, 0.0), marks=pytest.mark.slow),
    pytest.param(((2, 2), 2, 5.0, 3.0, 1.5, 8.0), marks=pytest.mark.slow),
], ids=lambda c: f"{c[0]}-n{c[1]}-b{c[2]}-U{c[5]}")
def test_summed_chain_against_exact_diagonalisation(case):
    """⟨H⟩, double occupancy and ⟨N_ph⟩ of the summed chain within 3σ of exact
    diagonalisation (most of these points default to the line chain, so it is forced)."""
    box, ne, beta, omega, g, U = case
    _check_cluster("holstein", box, ne, beta, omega, g, U, sweeps=60_000, summed=True)


@pytest.mark.slow
def test_summed_and_line_chains_agree_on_a_bound_pair():
    """Two independent samplings of the same Holstein pair (1-D, t/Ω = 1, λ = 0.6, U = 2t,
    β = 10/t, where the line chain's twist still mixes): E, R² and m* within 3σ."""
    g = math.sqrt(2 * 0.6)
    runs = [run_chain(make_params("holstein", 1, 2, 10.0, 1.0, g, U=2.0, summed=s), 31, 20_000)
            for s in (True, False)]
    assert runs[1].twist_mixes()
    for name in ("energy", "r2"):
        a, b = (binning(r.column(name)) for r in runs)
        assert abs(a.mean - b.mean) <= 3 * math.hypot(a.err, b.err), name
    ma, mb = runs[0].mass(), runs[1].mass()
    assert abs(ma.mean - mb.mean) <= 3 * math.hypot(ma.err, mb.err)


@pytest.mark.slow
def test_strongly_bound_holstein_pair_converges_where_the_line_chain_lags():
    """2-D, U = 8t, t/Ω = 2, λ = 1.1 (on-site bipolaron, N_ph ≈ 30): the summed chain's
    energy is the same at β = 10/t and 20/t (binding ≈ 0.6t, so both are ground-state
    values), and its R² is that of an on-site pair (< 0.5 a²)."""
    omega = 0.5
    g = math.sqrt(2 * 2 * 1.1 * omega)
    runs = [run_chain(make_params("holstein", 2, 2, b, omega, g, U=8.0), 41 + i, 6000)
            for i, b in enumerate((10.0, 20.0))]
    e10, e20 = (binning(r.column("energy")) for r in runs)
    assert abs(e10.mean - e20.mean) <= 3 * math.hypot(e10.err, e20.err) + 0.01
    r2 = binning(runs[1].column("r2"))
    assert r2.mean + 3 * r2.err < 0.5


def test_summed_chain_is_a_function_of_its_seed():
    """The engine's resume guarantee: the same seed gives the same series, bit for bit."""
    p = make_params("holstein", 2, 2, 4.0, 1.0, 2.0, U=4.0, summed=True)
    a, b = (run_chain(p, 12, 300, warmup=100).series for _ in range(2))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, run_chain(p, 13, 300, warmup=100).series)


def test_only_holstein_lines_can_be_summed():
    with pytest.raises(ValueError, match="summed"):
        make_params("bond_peierls", 2, 2, 4.0, 1.0, 1.0, summed=True)


def test_a_full_configuration_grows_and_goes_on(monkeypatch):
    """From 8 kink slots per electron the walker must enlarge its arrays many times; the
    chain continues with the same weight (check mode) and the same seed-determined series
    as one that never filled up."""
    from pairsweep.kernels.bipolaron import qmc

    p = make_params("holstein", 2, 2, 6.0, 1.0, 2.0, U=2.0, summed=True)
    roomy = run_chain(p, 9, 200, warmup=100).series
    monkeypatch.setattr(qmc, "CAPACITY", 8)
    cramped = run_chain(p, 9, 200, warmup=100, check=True)
    assert cramped.column("kinks").max() > 8
    np.testing.assert_array_equal(cramped.series, roomy)
