"""Bond-Peierls vs Holstein bipolarons by path-integral Monte Carlo (kernel ``bipolaron_qmc``).

Seed: J. Sous, "Bipolaronic high-temperature superconductivity from phonon-modulated
hopping: a perspective", Eqs. 2, 6, 8 and Sec. 5.2 (``docs/models/bipolaron.md``); the
method follows Kornilovitch, PRL 81, 5382 (1998) (twisted boundary conditions in imaginary
time) and the worldline formulation of Zhang, Prokof'ev and Svistunov, PRB 105, L020501
(2022), with phonons integrated out into lines. Same models, parameters, conventions and
output names as the VED kernel ``bipolaron`` (:mod:`.ved`), so a spec switches solver by
changing only the kernel name; every Monte Carlo output has a ``*_err`` companion.

Models (t = 1; energies in t and in Ω)
---------------------------------------
``bond_peierls`` (seed Eq. 6): H = Σ_<ij>σ (−t + α X_ij)(c†_iσ c_jσ + h.c.) + U Σ n↑n↓
+ Ω Σ b†b + ½ Σ V/|r_i − r_j| n_i n_j with X = b + b†, λ = α²/(2Ωt). ``holstein`` (seed
Eq. 2): e-ph term g Σ_i n_i X_i, λ = g²/(2dtΩ). ``coupling = "g_over_omega"`` reads ``lam``
as α/Ω or g/Ω.

Worldlines and weights
----------------------
Expand Tr e^{−βH} in the off-diagonal terms on the infinite hypercubic lattice. The ↑ and ↓
electrons are distinguishable (no spin flips), so a configuration is two worldlines r_σ(τ),
piecewise constant, with kinks: bare hops (weight t dτ), and, bond-Peierls, hops that are
e-ph vertices (−α X_b dτ on the bond b crossed), Holstein, diagonal vertices (−g X_i dτ at the
electron's site). The phonons are Gaussian and integrated out exactly: by Wick's theorem the
vertices on one bond (site) are paired by lines, each weighing c² D(τ₁ − τ₂), c = α or g,
with D the propagator of X (below). The diagonal terms give exp(−∫₀^β [U δ_{r↑r↓} +
V/|r↑ − r↓|] dτ). So

    W = t^{N_bare} Π_lines c² D(line) · exp(−∫ V_{↑↓} dτ)      (dτ per kink),

and every factor is positive for U, V of either sign: (−α)² and (−g)² pair up on every line,
and t > 0 enters −H dτ as +t (on the bipartite lattice the sign of t could be gauged away
anyway, and the electrons are distinguishable, so no exchange sign appears). The singlet
ground state is nodeless and is the ground state of this ↑↓ problem, so E_BP is the singlet
energy. The site-Peierls (SSH) model would have a sign problem; the bond model has none
(seed Sec. 5.2). ``tests/kernels/bipolaron/test_qmc.py`` asserts positivity and compares
with exact diagonalisation including the thermal averages that positivity makes exact.

Infinite lattice, total momentum K = 0
--------------------------------------
Twisted boundary conditions (Kornilovitch): the configuration at τ = β equals that at τ = 0
translated by Δ (the same Δ for both electrons), summed over Δ, which projects onto total
momentum K = 0: Z = Σ_Δ Tr[T_Δ e^{−βH}]. Integrating the phonons then leaves, for each orbit
of oscillators {s + nΔ}, one oscillator on an infinite time line driven by the continued path
r(τ + nβ) = r(τ) + nΔ: a line joins vertex k to the n-th image of vertex j when the bond
(site) of k equals that of j shifted by nΔ, with D = e^{−Ω|τ_k − τ_j − nβ|}. For Δ = 0 every
n qualifies and the sum of the images is the thermal propagator
D = [e^{−Ωu} + e^{−Ω(β−u)}]/(1 − e^{−Ωβ}), u = (τ_k − τ_j) mod β. The free phonons' own
partition function is left out (for Δ = 0 it would be an infinite constant): the
phonons are measured from their vacuum, so Z → e^{−βE_0} for large β. The one-electron
polaron is the same code with one worldline.

Estimators (⟨·⟩ over the chain; "lines" with their effective image-averaged length ℓ)
---------------------------------------------------------------------------------------
* E = −∂ ln Z/∂β = ⟨Ω Σ ℓ − N_bare − 2 N_lines + ∫V dτ⟩/β (each kink carries a factor of β
  under τ → βs; each line a β² and e^{−Ωβ|s₁ − s₂ − n|}), E_BP and E_P; Δ_BP = 2E_P − E_BP
  with both errors in quadrature.
* m* from the twist: Z(K)/Z(0) = ⟨cos K·Δ⟩ = e^{−β[E(K) − E(0)]}, so for large β
  m*_x = β/⟨Δ_x²⟩; reported m*/(2m_e) = β d t/⟨|Δ|²⟩ for the pair, m_P/m_e = 2 β d t/⟨|Δ|²⟩
  for the polaron (exact for free particles at every β: the hops are Poisson).
* m* from the bridge, independently of how Δ mixes: with R(τ) the centre of mass and
  R(τ + β) = R(τ) + Δ, Q(s) = ⟨|R(τ + s) − R(τ) − (s/β)Δ|²⟩ (64 origins τ). A composite
  that moves as a free particle of mass M at times longer than its internal ones (1/Δ_BP,
  1/Ω) is a Brownian bridge between its twisted ends whatever Δ is, so
  Q(s) = c + d s(β − s)/(βM) with c its internal fluctuation, and
  M = d (β/2 − s)²/(β[Q(β/2) − Q(s)]) (exact for free particles when Δ is summed; for a
  fixed Δ up to lattice corrections O(|Δ|²/N_hops)). The low lag s is the first of 64
  slices at or after max(β/8, 1.25/Ω), at most β/4 (``BRIDGE_SATURATION``; kernels before
  0.5.0 used β/4, whose signal is 2.25x smaller than β/8's: at t/Ω = 2, λ = 1.1 the error
  is 2.4x larger). The β/2 check chain applies the same rule at its own β, so its lag is
  never below 1.25/Ω unless that exceeds a quarter of its β. The bridge needs no update
  that changes Δ. ``mass_bp`` is the twist mass
  while the twist update changes Δ at least ``TWIST_CHANGES_MIN`` times a sweep (then the
  two must agree within 3σ + 2 %, else NOT_CONVERGED), the bridge mass below it (the
  message says so; E_BP is then mostly that of the Δ = 0 sector, high by about d/(2β) for a
  free centre of mass). ``mass_bp_bridge`` is always reported.
* R² = ⟨|r↑ − r↓|²⟩ averaged over the whole time line; the double occupancy ⟨δ_{r↑r↓}⟩ the
  same way; N_ph = ⟨Σ ℓ⟩/β (= −β⁻¹ ∂ ln Z/∂Ω at fixed c).
* T_c/Ω from seed Eq. 8 (d = 2) and its 3-D analogue (:mod:`.conventions`), its error
  propagated from those of m* and R²; Allen–Dynes as in ``bipolaron``.

Updates (:mod:`._qmc_chain`; each one satisfies detailed balance on its own)
--------------------------------------------------------------------------
insert/remove a pair of opposite bare hops on one worldline (a displaced segment); make two
bare hops on one bond the ends of a line or undo one (bond-Peierls; partner chosen by heat
bath); insert/remove a line of two diagonal vertices (Holstein); move a kink between its
neighbours; insert/remove one bare hop on each worldline in the same direction, which changes
Δ. The last is the one that makes the chain ergodic in Δ. Shifting the tails breaks every
phonon line that straddles the cut. The Holstein line chain (and bond-Peierls with
``twist_repair`` off, as in kernel 0.2) rejects such a twist, so its acceptance falls with
the number of phonons in the pair. Since 0.3.0 the bond-Peierls twist in 2-D and 3-D (1-D keeps the old one; see
:func:`make_params`) dissolves each broken line into two bare hops (a bond-Peierls vertex is
itself a hop, so this is a valid configuration) and re-pairs bare hops that match only after
the twist by a sequential heat bath; the inverse move replays the heat bath on the old side
to find the probability of re-creating the dissolved lines, which keeps detailed balance
exact (:func:`._qmc_chain._twist_repair`). A straddling line then costs a factor (measured
≈ e^{−0.5} per line in 2-D) instead of a rejection; at t/Ω = 2, λ = 0.9, 2-D, U = 8t,
β = 20/t: acceptance 0.03 instead of 0.0008 at a sweep 2–4× as long; at λ ≥ 1.1 still below
1 % (``docs/models/bipolaron.md``, "Reach and the dome"). Since 0.6.0 the repair also
dissolves every line that straddles the cuts (a straddling line that still met, as a line to
its other end's image, was kept with e^{−Ω(β−x)} for e^{−Ωx}, which held strongly coupled
pairs at Δ = 0 for thousands of sweeps), and applies the surviving lines' part of its ratio
as a stage of its own, before the heat baths, so that the proposals that fail it cost none.
Since 0.7.0 it dissolves exactly the lines that run through a cut, before or after the twist
(they straddle the cuts or cross τ = 0, not both), and re-creates lines spanning up to β:
0.6.0 kept lines across τ = 0 whose short span holds a cut, which stopped 40 % of the
proposals at t/Ω = 2, λ = 1.3 (``docs/models/bipolaron.md``, "Reach and the dome").
Its acceptance is reported as ``acceptance_delta``. A sweep is a fixed number of updates, set at the end of the
warm-up to the mean kink number (a configuration-dependent number would bias the averages).
A pair's chain starts with no phonons; the first half of its warm-up adds an attractive tail
−``LEASH``/|r| so that the electrons do not drift apart before the lines that bind them form.

Holstein: lines summed (since 0.4.0)
------------------------------------
A Holstein vertex does not hop, so for fixed worldlines the sum over all Holstein lines is
the Gaussian average exp(A), A = (g²/2) Σ_{σσ'} ∫∫ D dτ dτ' over times where σ and σ' sit on
the same oscillator (Kornilovitch's retarded action; same propagator and images as a line).
The chain of :mod:`._qmc_action` samples worldlines of bare hops only,
W = t^{N_kinks} exp(A − ∫V dτ); its estimators are the line ones with N_lines → (g²/2)I₀
and Σℓ → (g²/2)I₁ (that module derives them). Its twist is one hop per worldline re-weighed
exactly, with nothing to break, so a strongly bound Holstein pair tunnels at its physical
rate instead of freezing, and its phonon cloud is complete from the first sweep. Both
chains are exact (the tests compare them with each other and with exact diagonalisation);
the choice is speed. Where phonons are few the line chain does an update several times
faster, so the summed chain is the default on the small-polaron side only: λ = g²/(2dtΩ) ≥ 1,
or, for a pair, (4g²/Ω − U)/(4dt) ≥ 1 (the on-site pair's Lang-Firsov binding against its
band energy); ``make_params(..., summed=...)`` forces either.

Errors, β and convergence
-------------------------
Errors are binning plateaus (jackknife over 32 blocks for m*, Δ_BP, T_c); ``tau_int`` is the
largest integrated autocorrelation time (in sweeps) of E, ⟨Δ²⟩ and R². β: given (``beta``
> 0), or automatic: β₀ = ``beta_product`` · max(1/Ω, 1/t); a pilot run of the pair at β₀
estimates Δ_BP and β becomes max(β₀, ``beta_product``/Δ_BP) (at most ``beta_max``). The
pair is also run at β/2: where m* or R² differ between β/2 and β by more than 3σ + 2 %, the
point is NOT_CONVERGED ("estimates move with β"), and where the pair is not bound by more than
3σ of Δ_BP it is reported unbound, with NaN m*, R² and T_c (and whether R² grows with β).
The pilot's Δ_BP enters β with two standard errors added, so that its noise cannot send β to
``beta_max``.

The pair's relative position at τ = 0 is summed too, so the unbound continuum has infinite
weight at every β on the infinite lattice: a bound pair is a long-lived metastable state of
the chain (kept by the warm-up leash and β Δ_BP ≥ ``beta_product``); a chain that escapes
shows an R² of thousands, and the β/2 comparison then marks the point NOT_CONVERGED.

Stopping and determinism
------------------------
The chain stops when the relative errors of m* and R² (of E_P for the polaron) reach
``rel_error`` (checked at fixed sweep counts, so the decision is a function of the seed), at
``max_sweeps``, or at ``max_seconds`` (wall clock; only this last depends on the machine,
and the message says which stop was taken). Since 0.7.0 the time cap also cuts a warm-up
short, looked at every 50 sweeps (a pair at β ≈ 80/t warms up for about a minute), and a
time-capped chain measures in pieces of about a second. The random stream is seeded from ``seed``,
``chain`` and the point's own parameters, so a resumed sweep reproduces an uninterrupted one
bit for bit unless a time cap was hit. Independent ``chain`` values of one point are
independent estimates; :func:`merge_chains` combines them.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np

from .._api import Kernel, Output, Parameter, Status
from . import _qmc_action as action
from . import _qmc_chain as worldlines
from ._qmc_stats import Estimate, binning, jackknife
from .conventions import (COUPLING, D, LAM, MU_STAR, T_OVER_OMEGA, TC_PREFACTOR, U_OVER_T,
                          V_OVER_T, bipolaronic_tc, coupling_outputs)

__all__ = ["KERNELS", "ChainResult", "merge_chains", "run_chain", "solve_point"]

MODELS = {"bond_peierls": worldlines.MODEL_BOND_PEIERLS, "holstein": worldlines.MODEL_HOLSTEIN}

#: Sweeps of warm-up before measuring (the second half also sets the sweep length).
WARMUP_SWEEPS = 1000
#: Warm-up sweeps between two looks at a chain's deadline.
WARMUP_PIECE = 50
#: First check of the stopping rule, then every quarter of the sweeps done (≤ 25 % overshoot).
FIRST_CHECK = 2000
#: A stop on the error target needs this many sweeps per τ_int, so that the binning error
#: has reached its plateau (32 blocks of at least 8 τ_int).
SWEEPS_PER_TAU = 256
#: Shares of ``max_sweeps`` and ``max_seconds``: polaron, pilot, pair at β, pair at β/2.
SHARE_POLARON, SHARE_PILOT, SHARE_MAIN, SHARE_HALF = 0.2, 0.05, 0.55, 0.2
#: Window of the hop-pair update (1/t): long segments cost their potential and are rejected.
PAIR_WINDOW = 2.0
#: ``Params.twist_repair`` of a chain that decides after its warm-up (:func:`make_params`).
#: The repairing twist costs a heat bath over the bare hops per proposal: at t/Ω = 1,
#: λ = 0.7 (2-D, U = 8t) a sweep takes 4.5x (β = 40/t) and 9x (β = 80/t) as long as with the
#: plain twist, for an acceptance of 0.26 against 0.05-0.07. Where its acceptance is at least
#: ``REPAIR_UNTIL_ACCEPTANCE`` the plain twist changes Δ often enough, at a fraction of the
#: cost: 2-D, U = 8t, bond-Peierls (docs/models/bipolaron.md, "Reach and the dome"), the
#: repair paid off at t/Ω = 1, λ = 1.3 (repaired 0.022, plain 0.002) and t/Ω = 2, λ = 0.9
#: (0.03, 0.0005) and did not at t/Ω = 2, λ = 0.5 (0.094, 0.09) or t/Ω = 1, λ = 1.1
#: (0.052, 0.007: ≈5-7 core-minutes to 3 % plain, ≈9 repaired).
REPAIR_AUTO = 2
REPAIR_UNTIL_ACCEPTANCE = 0.05
#: Window of the twist update's second hop (1/t).
DELTA_WINDOW = 1.0
#: Attractive tail (units of t, as V/|r|) that holds a pair together during the first half of
#: its warm-up, while the phonon lines that bind it form.
LEASH = 4.0
#: Accepted twists per sweep below which ⟨Δ²⟩ is not trusted and m* comes from the bridge.
#: Counted per sweep, not per proposal, because the time ⟨Δ²⟩ takes to decorrelate is
#: counted in sweeps (2-D, U = 8t, t/Ω = 2, β = 20/t, kernel 0.6.0: 0.3-0.4 changes a sweep
#: at λ = 1.1 give τ_int(Δ²) ≈ 9 sweeps and a twist mass that agrees with the bridge's at a
#: smaller error; 0.06 at λ = 1.3 give τ_int ≈ 31). Kernels up to 0.5.0 asked for 1 % of the
#: proposals (about 0.8 a sweep there) and were right to: their chains stuck at Δ = 0.
TWIST_CHANGES_MIN = 0.2
#: Holstein λ = g²/(2dtΩ) (or its on-site pair analogue, :func:`_small_polarons`) from which
#: the chain with summed lines is the default: the small-polaron side of λ ≈ 1. Below it a
#: pair carries few phonons and the line chain gets a given error 6-12x sooner; above it
#: (tens of phonons) the line chain has not equilibrated when the summed one has, or is
#: tens of times less efficient (bench/bipolaron_qmc_summed.py: 2-D, U = 8t, t/Ω = 2,
#: λ = 0.7 / 0.9 / 1.1 / 1.5, and U = 0, t/Ω = 1, λ = 0.8).
SUMMED_FROM_LAMBDA = 1.0
#: Initial kink capacity of a configuration (doubled when full).
CAPACITY = 4096
#: The bridge's low lag is at least this many 1/Ω (and β/8, at most β/4): by then the centre
#: of mass's internal fluctuation has saturated (bench/bipolaron_qmc_bridge_lags.py: the
#: bridge mass stops moving from 0.6/Ω on at t/Ω = 1 and 2; 2-D, U = 8t, bond-Peierls).
BRIDGE_SATURATION = 1.25


@dataclass
class ChainResult:
    """Measurements of one chain: ``series[i, m]`` for sweep i and quantity ``MEASURED[m]``."""

    params: worldlines.Params
    series: np.ndarray
    acceptance: np.ndarray
    moves_per_sweep: int
    seconds: float
    stop: str
    #: sums over the measured sweeps' twist-repair proposals (``_qmc_chain.TWIST_SUMS``)
    twist_sums: np.ndarray | None = None
    #: accepted twist updates per measured sweep
    twist_changes: float = math.nan

    @property
    def sweeps(self) -> int:
        return len(self.series)

    def column(self, name: str) -> np.ndarray:
        return self.series[:, worldlines.MEASURED.index(name)]

    def mass(self) -> Estimate:
        """m*/(2m_e) (pair) or m*/m_e (one electron) from the twist, jackknifed."""
        p = self.params
        factor = (2.0 if p.n_electrons == 1 else 1.0) * p.beta * p.d
        return jackknife([self.column("delta2")], lambda d2: factor / d2 if d2 > 0 else math.inf)

    def bridge_mass(self) -> Estimate:
        """The same mass from the bridge of the centre of mass (:func:`._qmc_chain.bridge`):
        M = d (β/2 − s)²/(β [Q(β/2) − Q(s)]), s the bridge's low lag, independent of how
        well the twist update mixes Δ."""
        p = self.params
        s = bridge_low_lag(p)
        factor = (2.0 if p.n_electrons == 1 else 1.0) * p.d * (0.5 * p.beta - s) ** 2 / p.beta
        return jackknife([self.column("bridge_half"), self.column("bridge_low")],
                         lambda qh, ql: factor / (qh - ql) if qh > ql else math.inf)

    def twist_mixes(self) -> bool:
        """Whether the twist update changed Δ often enough for ⟨Δ²⟩ to be trusted: at least
        ``TWIST_CHANGES_MIN`` times a sweep."""
        return self.twist_changes >= TWIST_CHANGES_MIN

    def best_mass(self) -> tuple[Estimate, str]:
        """The twist mass where the twist mixes (smaller error), else the bridge mass."""
        return (self.mass(), "twist") if self.twist_mixes() else (self.bridge_mass(), "bridge")

    def tau_max(self) -> float:
        names = ["energy", "delta2", "bridge_half"] + (["r2"] if self.params.n_electrons == 2 else [])
        # the bridge mass's own series, whose τ grows as its low lag shortens
        bridge = self.column("bridge_half") - self.column("bridge_low")
        return max([binning(self.column(n)).tau for n in names] + [binning(bridge).tau])


def make_params(model: str, d: int, n_electrons: int, beta: float, omega: float,
                coupling: float, U: float = 0.0, V: float = 0.0,
                box: tuple[int, ...] | None = None,
                twist_repair: bool | None = None,
                summed: bool | None = None) -> worldlines.Params:
    """Chain settings; ``box`` switches to the finite open cluster of that shape.

    ``twist_repair``: whether the bond-Peierls twist dissolves and re-pairs the lines it
    breaks (:func:`._qmc_chain._twist_repair`) or rejects such a twist (kernel 0.2's
    update). Default: repair in 2-D and 3-D only, and there only where it is needed
    (``REPAIR_AUTO``, decided by :func:`measuring_params`; True or False force either).
    In 1-D a pair's lines sit on one or two
    bonds, the old side's heat bath then outweighs the new side's by far, and the measured
    gain does not pay for the 2-10x cost of a proposal (t/Ω = 0.5, λ = 0.8: acceptance
    0.03 → 0.07 at 2.3x the time per sweep; t/Ω = 2, λ = 1.3: 0 → 0.0001-0.0003).

    ``summed`` (Holstein only): sample worldlines with the phonon lines summed into an
    action (:mod:`._qmc_action`) instead of the lines themselves. Default: on the
    small-polaron side (:func:`_small_polarons`)."""
    if twist_repair is None:
        twist_repair = REPAIR_AUTO if d >= 2 else 0
    if summed is None:
        # both Holstein chains are exact; the choice is speed (module docstring)
        summed = model == "holstein" and _small_polarons(d, n_electrons, omega, coupling, U)
    if summed and model != "holstein":
        raise ValueError("summed: only the Holstein model's lines can be summed into an action")
    size = np.ones(3, np.int64)
    if box is not None:
        size[: len(box)] = box
    return worldlines.Params(
        model=MODELS[model], d=int(d), n_electrons=int(n_electrons), beta=float(beta),
        omega=float(omega), coupling2=float(coupling) ** 2, U=float(U), V=float(V),
        finite=int(box is not None), box=size, pair_window=float(min(beta, PAIR_WINDOW)),
        delta_window=float(min(0.5 * beta, DELTA_WINDOW)), twist_repair=int(twist_repair),
        summed=int(summed), bridge_lag=_bridge_lag_slices(beta, omega),
    )


def measuring_params(p: worldlines.Params, twists_tried: int,
                     twists_taken: int) -> worldlines.Params:
    """The settings a chain measures with, fixed after its warm-up like the sweep length
    (settings that followed the configuration would bias the averages): where
    ``twist_repair`` is ``REPAIR_AUTO``, the repairing twist only if the warm-up's second
    half accepted it less than ``REPAIR_UNTIL_ACCEPTANCE`` of the time."""
    if p.summed:
        return p
    if p.twist_repair == REPAIR_AUTO:
        rare = twists_taken < REPAIR_UNTIL_ACCEPTANCE * max(twists_tried, 1)
        p = p._replace(twist_repair=int(rare))
    return p


def _bridge_lag_slices(beta: float, omega: float) -> int:
    """The bridge's low lag in slices of β/``BRIDGE_SLICES``: the first whole slice at or
    after max(β/8, ``BRIDGE_SATURATION``/Ω), at most β/4. The shorter the lag, the larger
    Q(β/2) − Q(s) = d (β/2 − s)²/(βM) against the noise (at t/Ω = 2, λ = 1.1: 2.4x smaller
    error at β/8 than at β/4), as long as s is past the internal times."""
    n = worldlines.BRIDGE_SLICES
    want = max(beta / 8.0, BRIDGE_SATURATION / omega) * n / beta
    return int(min(math.ceil(want - 1e-9), n // 4))


def bridge_low_lag(p: worldlines.Params) -> float:
    """The bridge's low lag s (1/t)."""
    return p.bridge_lag * p.beta / worldlines.BRIDGE_SLICES


def _small_polarons(d: int, n_electrons: int, omega: float, g: float, U: float) -> bool:
    """Whether a Holstein point is on the small-polaron side, where the phonon clouds hold
    tens of phonons: λ = g²/(2dtΩ) ≥ ``SUMMED_FROM_LAMBDA``, or, for a pair, the same test
    for the on-site pair, whose Lang-Firsov binding 4g²/Ω − U (against its two electrons'
    band energy 4dt) plays λ's role."""
    e_polaron = g * g / omega
    lam = e_polaron / (2 * d)
    pair_lam = (4 * e_polaron - U) / (4 * d) if n_electrons == 2 else 0.0
    return max(lam, pair_lam) >= SUMMED_FROM_LAMBDA


class _Walker:
    """A configuration with its work arrays, enlarged (and re-weighed) when it fills up."""

    def __init__(self, p: worldlines.Params, start: np.ndarray, check: bool = False):
        self.p = p
        self.cfg = worldlines.new_config(CAPACITY, p.d, p.n_electrons, start)
        self.scratch = worldlines.new_scratch(CAPACITY)
        self.check = check
        if not worldlines.initialise(p, self.cfg, self.scratch):
            raise ValueError("the initial configuration has weight zero")

    def release(self, p: worldlines.Params) -> None:
        """Go on with the settings ``p`` (the configuration is re-weighed under them)."""
        self.p = p
        if not worldlines.initialise(p, self.cfg, self.scratch):
            raise ValueError("the configuration has weight zero under the new settings")

    def _enlarge(self, moves: int = 0) -> None:
        # the line chain stops inside a sweep when it runs short of slots and doubles them;
        # ``moves`` matters only to the summed chain, which stops before a sweep
        old = self.cfg
        cap = len(old.tk)
        big = worldlines.new_config(2 * cap, self.p.d, 0, np.zeros((0, self.p.d), np.int64))
        for name in ("tk", "el", "code", "partner", "pb", "lline"):
            getattr(big, name)[:cap] = getattr(old, name)
        big.order[:, :cap] = old.order
        for name in ("count", "start", "delta", "lw", "nlines"):
            getattr(big, name)[:] = getattr(old, name)
        n_free = int(old.nfree[0])
        added = np.arange(2 * cap - 1, cap - 1, -1, dtype=np.int64)
        big.free[: len(added)] = added
        big.free[len(added): len(added) + n_free] = old.free[:n_free]
        big.nfree[0] = len(added) + n_free
        self.cfg = big
        sums = self.scratch.twist_sums
        self.scratch = worldlines.new_scratch(2 * cap)
        self.scratch.twist_sums[:] = sums
        worldlines.initialise(self.p, big, self.scratch)

    def _run(self, n: int, moves: int, out: np.ndarray, stats: np.ndarray) -> int:
        return worldlines.run_sweeps(self.p, self.cfg, self.scratch, n, moves, out, stats,
                                     self.check)

    def sweeps(self, n: int, moves: int, out: np.ndarray, stats: np.ndarray) -> None:
        """``n`` sweeps measured into ``out`` (enlarging the arrays when they fill up)."""
        done = 0
        while done < n:
            got = self._run(n - done, moves, out[done:], stats)
            if got < 0:
                raise AssertionError(f"running ln W disagrees with a full walk after sweep "
                                     f"{done - got - 1}")
            done += got
            if done < n:
                self._enlarge(moves)


class _ActionWalker(_Walker):
    """The same for the Holstein chain with summed lines (:mod:`._qmc_action`)."""

    def __init__(self, p: worldlines.Params, start: np.ndarray, check: bool = False):
        self.p = p
        self.cfg = action.new_config(CAPACITY, p.d, p.n_electrons, start)
        # no twist repair here; kept so that ChainResult looks the same for both chains
        self.scratch = SimpleNamespace(twist_sums=np.zeros(len(worldlines.TWIST_SUMS)))
        self.check = check
        if not action.initialise(p, self.cfg):
            raise ValueError("the initial configuration has weight zero")

    def release(self, p: worldlines.Params) -> None:
        self.p = p
        if not action.initialise(p, self.cfg):
            raise ValueError("the configuration has weight zero under the new settings")

    def _enlarge(self, moves: int = 0) -> None:
        old = self.cfg
        cap = old.tk.shape[1]
        # room for a whole sweep beyond the current kinks (run_sweeps stops before a sweep)
        new_cap = max(2 * cap, int(old.count.max()) + 2 * moves + 8)
        big = action.new_config(new_cap, self.p.d, 0, np.zeros((0, self.p.d), np.int64))
        big.tk[:, :cap] = old.tk
        big.code[:, :cap] = old.code
        for name in ("count", "start", "delta", "lw"):
            getattr(big, name)[:] = getattr(old, name)
        self.cfg = big
        action.initialise(self.p, big)

    def _run(self, n: int, moves: int, out: np.ndarray, stats: np.ndarray) -> int:
        return action.run_sweeps(self.p, self.cfg, n, moves, out, stats, self.check)


def warm_up(p: worldlines.Params, seed: int, warmup: int = WARMUP_SWEEPS,
            check: bool = False,
            deadline: float | None = None) -> tuple[_Walker, int, np.ndarray]:
    """Seed the random stream, start a chain where its pair lives and warm it up.

    A ``deadline`` (``time.perf_counter()`` value) cuts the warm-up short: it is looked at
    after every ``WARMUP_PIECE`` sweeps, so that ``max_seconds`` also bounds a chain whose
    warm-up alone would outlast it (a pair at β ≈ 80/t: about a minute). Without one the
    warm-up is a function of ``seed`` alone (the pieces continue one random stream).

    Returns the walker (its ``p`` the settings it measures with, :func:`measuring_params`),
    the sweep length (the second half's mean kink number) and the zeroed update counters;
    :func:`run_chain` measures from there, and so do the benchmarks that record more than
    it does on the kernel's own chain.
    """
    worldlines.seed_stream(seed & 0xFFFFFFFF)
    start = np.zeros((p.n_electrons, p.d), np.int64)
    # start where the pair lives: a Holstein pair on one site once the phonon-mediated
    # attraction 2g²/Ω beats U, else (and for bond-Peierls) on neighbouring sites
    onsite = p.model == worldlines.MODEL_HOLSTEIN and 2.0 * p.coupling2 / p.omega > p.U
    if p.n_electrons == 2 and not p.finite and not onsite:
        start[1, 0] = 1
    pair = p.n_electrons == 2 and not p.finite
    # The chain starts without phonons, so a pair bound only by them is not bound yet: on the
    # infinite lattice the electrons would drift apart before the lines form, and two walkers
    # in 2-D take very long to meet again. The first half of the warm-up therefore adds an
    # attractive tail −LEASH/|r| (no effect on any measurement, which all follow the second
    # half); an unbound pair drifts apart again once it is released.
    walker_type = _ActionWalker if p.summed else _Walker
    walker = walker_type(p._replace(V=p.V - LEASH) if pair else p, start, check)
    stats = np.zeros((len(worldlines.UPDATES), 2), np.int64)
    moves = max(20, int(2 * p.d * p.beta * p.n_electrons))
    warm = np.zeros((warmup, len(worldlines.MEASURED)))

    def warm_sweeps(first: int, count: int) -> int:
        done = 0
        while done < count:
            piece = min(count - done, WARMUP_PIECE)
            walker.sweeps(piece, moves, warm[first + done:first + done + piece], stats)
            done += piece
            if deadline is not None and time.perf_counter() > deadline:
                break
        return done

    half = warmup // 2
    released = warm_sweeps(0, half) == half
    walker.release(p)
    first_half = stats.copy()
    if released:
        done = warm_sweeps(half, warmup - half)
        if done:
            moves = max(20, int(round(warm[half:half + done, worldlines.M_KINKS].mean())))
    twist = worldlines.UPDATES.index("delta")
    walker.p = measuring_params(p, *(stats[twist] - first_half[twist]))
    stats[:] = 0
    walker.scratch.twist_sums[:] = 0.0
    return walker, moves, stats


def run_chain(p: worldlines.Params, seed: int, max_sweeps: int,
              converged: Callable[[ChainResult], bool] | None = None,
              deadline: float | None = None, warmup: int = WARMUP_SWEEPS,
              check: bool = False) -> ChainResult:
    """Warm up, then measure until ``converged(result)``, ``max_sweeps`` or ``deadline``.

    ``converged`` is asked at fixed sweep counts (2000, then every quarter more), so with no
    deadline the whole chain is a function of ``seed``. ``check`` compares the local updates'
    running ln W with a full recomputation after every sweep (for tests).
    """
    started = time.perf_counter()
    walker, moves, stats = warm_up(p, seed, warmup, check, deadline)
    p = walker.p
    n_meas = len(worldlines.MEASURED)
    measuring = time.perf_counter()
    out = np.zeros((max(FIRST_CHECK, 1024), n_meas))
    done = 0
    stop = "max_sweeps"
    target = min(FIRST_CHECK, max_sweeps)
    while True:
        if target > len(out):
            out = np.concatenate([out, np.zeros((max(target, 2 * len(out)) - len(out), n_meas))])
        # in pieces, so that the deadline is looked at about every second of work (the
        # pieces continue one random stream: without a deadline they change nothing)
        while done < target:
            piece = min(target - done, _piece(done, time.perf_counter() - measuring)
                        if deadline is not None else 200)
            walker.sweeps(piece, moves, out[done:done + piece], stats)
            done += piece
            if deadline is not None and time.perf_counter() > deadline:
                break
        result = ChainResult(p, out[:done], stats[:, 1] / np.maximum(stats[:, 0], 1), moves,
                             time.perf_counter() - started, stop,
                             walker.scratch.twist_sums.copy(),
                             stats[worldlines.UPDATES.index("delta"), 1] / max(done, 1))
        if deadline is not None and time.perf_counter() > deadline:
            result.stop = "time cap"
            return result
        if converged is not None and converged(result):
            result.stop = "target reached"
            return result
        if done >= max_sweeps:
            return result
        target = min(max_sweeps, done + max(FIRST_CHECK // 2, done // 4))


def _piece(done: int, seconds: float) -> int:
    """Sweeps to run before looking at the deadline again: about one second's worth at the
    rate so far, between 20 (a first piece, or sweeps of a second each at large β) and 200."""
    if done == 0 or seconds <= 0.0:
        return 20
    return int(min(200, max(20, done / seconds)))


def _stream_seed(seed: int, chain_index: int, params: Mapping[str, Any], stage: str) -> int:
    """A 32-bit seed from the user's seed, the chain index, the point and the stage."""
    text = repr((int(seed), int(chain_index), stage, sorted(params.items())))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")


def _target_reached(rel_error: float, names: tuple[str, ...],
                    unbound_below: Estimate | None = None) -> Callable[[ChainResult], bool]:
    """The stopping rule: every named estimate (``"mass"`` or a measured column) within
    ``rel_error``, on a chain long enough for its errors to have plateaued. With
    ``unbound_below`` (2E_P), also a pair clearly unbound: E_BP above 2E_P by 3σ."""
    def check(res: ChainResult) -> bool:
        if unbound_below is not None:
            # judged on the energy alone: an unbound pair's R² drifts and never plateaus
            e = binning(res.column("energy"))
            if (res.sweeps >= SWEEPS_PER_TAU * e.tau
                    and e.mean - 3.0 * math.hypot(e.err, unbound_below.err) > unbound_below.mean):
                return True
        if res.sweeps < SWEEPS_PER_TAU * res.tau_max():
            return False
        for name in names:
            est = res.best_mass()[0] if name == "mass" else binning(res.column(name))
            if not est.rel_err <= rel_error:
                return False
        return True
    return check


_NAN_OUT: dict[str, Any] = {
    name: math.nan for name in (
        "e_bp", "e_bp_err", "e_p", "e_p_err", "delta_bp", "delta_bp_err", "delta_bp_over_omega",
        "delta_bp_over_omega_err", "mass_bp", "mass_bp_err", "r2_bp", "r2_bp_err", "nph_bp",
        "nph_bp_err", "double_occupancy", "double_occupancy_err", "mass_p", "mass_p_err",
        "tc_over_omega", "tc_over_omega_err", "tc_me_over_omega", "beta_pair", "r2_bp_half_beta",
        "mass_bp_half_beta", "mass_bp_bridge", "mass_bp_bridge_err", "tau_int",
        "acceptance_delta", "lambda_eff", "coupling_over_omega")
}
_NAN_OUT.update(bound=False, tc_above_binding=False, sweeps=0, sweeps_polaron=0)


def solve_point(model: str = "bond_peierls", lam: float = 0.5, coupling: str = "lambda",
                t_over_omega: float = 1.0, U_over_t: float = 8.0, V_over_t: float = 0.0,
                d: int = 2, beta: float = 0.0, beta_product: float = 10.0,
                beta_max: float = 200.0, rel_error: float = 0.03, max_sweeps: int = 400_000,
                max_seconds: float = 0.0, seed: int = 0, chain: int = 0,
                binding_tol: float = 1e-3, tc_prefactor: float = 0.5,
                mu_star: float = 0.1) -> dict[str, Any]:
    """One parameter point; see the module docstring. Never raises for a physics failure."""
    started = time.perf_counter()
    out: dict[str, Any] = dict(_NAN_OUT)
    d = int(d)
    omega, c, shared = coupling_outputs(model, lam, t_over_omega, d, coupling, mu_star)
    out.update(shared)
    point = dict(model=model, lam=float(lam), coupling=coupling, t_over_omega=float(t_over_omega),
                 U_over_t=float(U_over_t), V_over_t=float(V_over_t), d=d, beta=float(beta),
                 beta_product=float(beta_product), beta_max=float(beta_max))
    seconds = float(max_seconds)

    def deadline(fraction: float) -> float | None:
        return started + fraction * seconds if seconds > 0 else None

    def params(n_electrons: int, b: float) -> Any:
        return make_params(model, d, n_electrons, b, omega, c, U_over_t, V_over_t)

    messages: list[str] = []
    beta0 = float(beta) if beta > 0 else float(beta_product) * max(1.0 / omega, 1.0)
    beta0 = min(beta0, float(beta_max))
    sweeps = int(max_sweeps)

    # the polaron: E_P to a tenth of the pair's relative error (it enters Δ_BP twice, and
    # Δ_BP is a small difference of large energies); m_P comes as a by-product
    pol = run_chain(params(1, beta0), _stream_seed(seed, chain, point, "polaron"),
                    max(FIRST_CHECK, int(SHARE_POLARON * sweeps)),
                    _target_reached(0.1 * rel_error, ("energy",)),
                    deadline(SHARE_POLARON))
    e_p = binning(pol.column("energy"))
    out["e_p"], out["e_p_err"] = e_p.mean, e_p.err
    m_p = pol.mass()
    out["mass_p"], out["mass_p_err"] = m_p.mean, m_p.err
    out["sweeps_polaron"] = pol.sweeps
    if pol.stop == "time cap":
        messages.append(f"polaron stopped by the time cap after {pol.sweeps} sweeps")

    # β for the pair: from the pilot's binding energy unless given
    beta_pair = beta0
    if beta <= 0:
        pilot = run_chain(params(2, beta0), _stream_seed(seed, chain, point, "pilot"),
                          max(FIRST_CHECK, int(SHARE_PILOT * sweeps)), None,
                          deadline(SHARE_POLARON + SHARE_PILOT))
        e_pilot = binning(pilot.column("energy"))
        # two standard errors above the pilot's estimate: a short pilot's noise must not
        # send β (and the cost, ∝ β²) to beta_max for a pair that is bound after all
        delta_pilot = 2.0 * e_p.mean - e_pilot.mean + 2.0 * math.hypot(2.0 * e_p.err,
                                                                        e_pilot.err)
        if delta_pilot > 0:
            beta_pair = min(max(beta0, float(beta_product) / delta_pilot), float(beta_max))
    out["beta_pair"] = beta_pair
    target = _target_reached(rel_error, ("mass", "r2"),
                             Estimate(2.0 * e_p.mean, 2.0 * e_p.err))
    main = run_chain(params(2, beta_pair), _stream_seed(seed, chain, point, "pair"),
                     max(FIRST_CHECK, int(SHARE_MAIN * sweeps)), target,
                     deadline(SHARE_POLARON + SHARE_PILOT + SHARE_MAIN))
    half = run_chain(params(2, 0.5 * beta_pair), _stream_seed(seed, chain, point, "half"),
                     max(FIRST_CHECK, int(SHARE_HALF * sweeps)), target, deadline(1.0))
    out["sweeps"] = main.sweeps
    out["acceptance_delta"] = float(main.acceptance[worldlines.UPDATES.index("delta")])
    # timings are not outputs (a resumed store would then differ from an uninterrupted one);
    # the engine ignores this key, the benchmark reads it
    out["diagnostics"] = {"updates_per_second": main.moves_per_sweep
                          * (main.sweeps + WARMUP_SWEEPS) / max(main.seconds, 1e-9)}
    out["tau_int"] = max(main.tau_max(), pol.tau_max())
    for res, what in ((main, "pair"), (half, "pair at β/2")):
        if res.stop != "target reached":
            messages.append(f"{what}: {res.stop} after {res.sweeps} sweeps")

    e_bp = binning(main.column("energy"))
    out["e_bp"], out["e_bp_err"] = e_bp.mean, e_bp.err
    delta_err = math.hypot(2.0 * e_p.err, e_bp.err)  # independent chains
    delta = 2.0 * e_p.mean - e_bp.mean
    out["delta_bp"], out["delta_bp_err"] = delta, delta_err
    out["delta_bp_over_omega"], out["delta_bp_over_omega_err"] = delta / omega, delta_err / omega
    nph = binning(main.column("phonons"))
    out["nph_bp"], out["nph_bp_err"] = nph.mean, nph.err
    docc = binning(main.column("double_occupancy"))
    out["double_occupancy"], out["double_occupancy_err"] = docc.mean, docc.err
    r2, r2_half = binning(main.column("r2")), binning(half.column("r2"))
    twist, bridge = main.mass(), main.bridge_mass()
    # for the benchmark: the twist mass also where the bridge is reported
    out["diagnostics"].update(mass_twist=twist.mean, mass_twist_err=twist.err,
                              tau_delta2=binning(main.column("delta2")).tau)
    mass, source = (twist, "twist") if main.twist_mixes() else (bridge, "bridge")
    mass_half = half.best_mass()[0]
    out["r2_bp_half_beta"], out["mass_bp_half_beta"] = r2_half.mean, mass_half.mean

    def moved(a: Estimate, b: Estimate) -> bool:
        return abs(a.mean - b.mean) > 3.0 * math.hypot(a.err, b.err) + 0.02 * abs(a.mean)

    # bound when the binding energy says so; an R² that still grows with β then means β is
    # too small (NOT_CONVERGED below), not that the pair is unbound
    bound = delta - 3.0 * delta_err > binding_tol
    out["bound"] = bool(bound)
    status = Status.OK
    if not bound:
        grows = r2.mean > r2_half.mean and moved(r2, r2_half)
        messages.append(f"unbound: Δ_BP = {delta:.3g} ± {delta_err:.2g} t" + (
            f", R² grows with β ({r2_half.mean:.3g} at β/2, {r2.mean:.3g} at β)"
            if grows else ""))
    else:
        out["r2_bp"], out["r2_bp_err"] = r2.mean, r2.err
        out["mass_bp"], out["mass_bp_err"] = mass.mean, mass.err
        out["mass_bp_bridge"], out["mass_bp_bridge_err"] = bridge.mean, bridge.err
        if source == "bridge":
            # the summed Holstein chain has no lines to freeze: a rare twist there means a
            # pair so heavy that Δ ≠ 0 is rare at this β, not a stuck chain
            why = "rare: a heavy pair" if main.params.summed else "rare"
            messages.append(f"twist {why} ({main.twist_changes:.2g} changes of Δ a sweep, "
                            f"acceptance {out['acceptance_delta']:.2g}): m* from the bridge, "
                            f"E_BP mostly of the Δ = 0 sector (≈ +d/(2β) high)")
        elif moved(twist, bridge):
            status = Status.NOT_CONVERGED
            messages.append(f"m* from the twist ({twist.mean:.4g} ± {twist.err:.2g}) and the "
                            f"bridge ({bridge.mean:.4g} ± {bridge.err:.2g}) disagree")
        if moved(mass, mass_half) or moved(r2, r2_half):
            status = Status.NOT_CONVERGED
            messages.append(f"estimates move with β: m* {mass_half.mean:.4g} → {mass.mean:.4g},"
                            f" R² {r2_half.mean:.4g} → {r2.mean:.4g} from β/2 to β = "
                            f"{beta_pair:.3g}/t")
        if beta_pair * delta < 0.5 * float(beta_product):
            status = Status.NOT_CONVERGED
            messages.append(f"β Δ_BP = {beta_pair * delta:.2g}: β too small for the binding")
        tc = bipolaronic_tc(mass.mean, r2.mean, d, float(tc_prefactor))
        if math.isfinite(tc):
            # relative errors add in quadrature (independent enough at 3 %; R² < 1 is clamped)
            rel = math.hypot(mass.rel_err, r2.rel_err if r2.mean >= 1.0 else 0.0)
            out["tc_over_omega"], out["tc_over_omega_err"] = tc / omega, rel * tc / omega
            out["tc_above_binding"] = bool(tc > delta)
    if main.stop != "target reached" and status == Status.OK and bound:
        status = Status.NOT_CONVERGED
    if pol.stop == "time cap":
        status = Status.NOT_CONVERGED
    out["diagnostics"]["seconds"] = time.perf_counter() - started
    out["status"] = status
    if messages:
        out["message"] = "; ".join(messages)
    return out


def merge_chains(ds: Any, dim: str = "chain") -> Any:
    """One estimate per point from a result with independent chains along ``dim``.

    ``ds`` is the Dataset of a ``bipolaron_qmc`` sweep with a ``chain`` axis (from
    ``open_result``). Every output ``x`` with an ``x_err`` companion becomes the mean over the
    ok chains with the larger of the propagated error and the chains' spread (see
    :func:`._qmc_stats.merge_chains`); sweep counts add up; ``bound`` holds when it holds in
    every chain; ``status`` is the worst chain's. Works on any xarray-like object (it uses
    only DataArray methods), so this module imports no xarray.
    """
    ok = ds["status"] == int(Status.OK)
    merged = {}
    for name in ds.data_vars:
        if name.endswith("_err") or name == "status":
            continue
        var = ds[name]
        if dim not in var.dims:
            merged[name] = var
            continue
        if f"{name}_err" in ds.data_vars:
            err = ds[f"{name}_err"]
            good = ok & var.notnull() & err.notnull()
            n = good.sum(dim)
            mean = var.where(good).sum(dim) / n
            propagated = np.sqrt((err.where(good) ** 2).sum(dim)) / n
            spread = np.sqrt(((var - mean) ** 2).where(good).sum(dim) / (n - 1).clip(min=1) / n)
            merged[name] = mean
            merged[f"{name}_err"] = np.maximum(propagated, spread.where(n > 1, 0.0))
        elif name in ("sweeps", "sweeps_polaron"):
            merged[name] = var.sum(dim)
        elif var.dtype == bool:
            merged[name] = var.all(dim)
        else:
            merged[name] = var.mean(dim)
    merged["status"] = ds["status"].where(ds["status"] != int(Status.NOT_COMPUTED), 0).max(dim)
    merged["chains_ok"] = ok.sum(dim)
    return type(ds)(merged, attrs=dict(ds.attrs))


_E = "t"
OUTPUTS = (
    Output("e_bp", _E, "bipolaron ground-state energy E_BP (K = 0)"),
    Output("e_bp_err", _E, "standard error of E_BP"),
    Output("e_p", _E, "polaron energy E_P (K = 0, the band minimum: all weights are positive)"),
    Output("e_p_err", _E, "standard error of E_P"),
    Output("delta_bp", _E, "binding energy Δ_BP = 2E_P − E_BP"),
    Output("delta_bp_err", _E, "standard error of Δ_BP"),
    Output("delta_bp_over_omega", "1", "binding energy Δ_BP/Ω"),
    Output("delta_bp_over_omega_err", "1", "standard error of Δ_BP/Ω"),
    Output("mass_bp", "2 m_e", "bipolaron mass m*_BP/(2m_e) = β d t/⟨|Δ|²⟩ (NaN if unbound)",
           allow_nan=True),
    Output("mass_bp_err", "2 m_e", "standard error of m*_BP/(2m_e)", allow_nan=True),
    Output("mass_bp_bridge", "2 m_e", "m*_BP/(2m_e) from the centre of mass's bridge "
           "d (β/2 − s)²/(β[Q(β/2) − Q(s)]), s ≥ max(β/8, 1.25/Ω) (independent check; NaN "
           "if unbound)", allow_nan=True),
    Output("mass_bp_bridge_err", "2 m_e", "standard error of the bridge mass", allow_nan=True),
    Output("r2_bp", "a²", "mean squared ↑–↓ separation R²_BP (NaN if unbound)", allow_nan=True),
    Output("r2_bp_err", "a²", "standard error of R²_BP", allow_nan=True),
    Output("nph_bp", "1", "mean phonon number in the bipolaron"),
    Output("nph_bp_err", "1", "standard error of the phonon number"),
    Output("double_occupancy", "1", "probability that ↑ and ↓ share a site"),
    Output("double_occupancy_err", "1", "standard error of the double occupancy"),
    Output("mass_p", "m_e", "polaron mass m*_P/m_e = 2 β d t/⟨|Δ|²⟩"),
    Output("mass_p_err", "m_e", "standard error of m*_P/m_e"),
    Output("tc_over_omega", "1", "bipolaronic T_c/Ω (seed Eq. 8; d = 3: 1.2/(m*R²); NaN in "
           "d = 1 or when unbound)", allow_nan=True),
    Output("tc_over_omega_err", "1", "standard error of T_c/Ω", allow_nan=True),
    Output("tc_above_binding", "1", "T_c exceeds Δ_BP (Eq. 8 not self-consistent)",
           dtype="bool"),
    Output("tc_me_over_omega", "1", "Migdal–Eliashberg (Allen–Dynes) T_c/Ω estimate"),
    Output("bound", "1", "Δ_BP > binding_tol + 3σ", dtype="bool"),
    Output("beta_pair", "1/t", "inverse temperature of the pair's chain (given or automatic)"),
    Output("r2_bp_half_beta", "a²", "R² of the check chain at β/2"),
    Output("mass_bp_half_beta", "2 m_e", "m*/(2m_e) of the check chain at β/2"),
    Output("sweeps", "1", "measured sweeps of the pair's chain at β", dtype="int64"),
    Output("sweeps_polaron", "1", "measured sweeps of the polaron's chain", dtype="int64"),
    Output("tau_int", "sweeps", "largest integrated autocorrelation time of E, ⟨Δ²⟩, R², "
           "Q(β/2)"),
    Output("acceptance_delta", "1", "acceptance of the twist (Δ-changing) update in the pair"),
    Output("lambda_eff", "1", "λ in the model's convention"),
    Output("coupling_over_omega", "1", "α/Ω (bond-Peierls) or g/Ω (Holstein)"),
)

PARAMETERS = (
    Parameter("model", "1", "Hamiltonian: bond-Peierls (seed Eq. 6) or Holstein (Eq. 2)",
              default="bond_peierls", choices=tuple(MODELS)),
    LAM, COUPLING, T_OVER_OMEGA, U_OVER_T, V_OVER_T, D,
    Parameter("beta", "1/t", "inverse temperature of the pair's chain; 0 = automatic: β·t, "
              "β·Ω and β·Δ_BP at least beta_product", default=0.0, bounds=(0.0, 1000.0)),
    Parameter("beta_product", "1", "automatic β: the smallest β·t, β·Ω and β·Δ_BP",
              default=10.0, bounds=(1.0, 100.0)),
    Parameter("beta_max", "1/t", "largest automatic β", default=200.0, bounds=(1.0, 1000.0)),
    Parameter("rel_error", "1", "target relative error of m*_BP and R²_BP (0.1× of it for "
              "E_P)", default=0.03, bounds=(1e-4, 1.0)),
    Parameter("max_sweeps", "1", "sweep budget of the point (shared: polaron 20 %, pilot 5 %,"
              " pair 55 %, pair at β/2 20 %)", default=400_000, bounds=(4000, 10**9),
              integer=True),
    Parameter("max_seconds", "s", "wall-clock budget of the point, shared like max_sweeps; "
              "0 = none (a point stopped by it depends on the machine's speed)", default=0.0,
              bounds=(0.0, 1e7)),
    Parameter("seed", "1", "seed of the random stream (with chain and the point's parameters)",
              default=0, bounds=(0, 2**31 - 1), integer=True),
    Parameter("chain", "1", "index of an independent chain of the same point (sweep it to "
              "spend many cores on one point; merge with merge_chains)", default=0,
              bounds=(0, 10**6), integer=True),
    Parameter("binding_tol", "t", "Δ_BP − 3σ above which the pair counts as bound",
              default=1e-3, bounds=(0.0, 1.0)),
    TC_PREFACTOR, MU_STAR,
)

KERNELS = (
    Kernel(
        name="bipolaron_qmc",
        version="0.7.0",
        summary="bond-Peierls vs Holstein bipolarons by path-integral QMC: E, m*, R², T_c "
                "with error bars",
        reference="Sous, bipolaron perspective, Eqs. 2, 6, 8, Sec. 5.2 "
                  "(docs/models/bipolaron.md); Kornilovitch PRL 81, 5382 (1998)",
        parameters=PARAMETERS,
        outputs=OUTPUTS,
        solve_point=solve_point,
        seconds_per_point=600.0,
        doc=__doc__ or "",
    ),
)
