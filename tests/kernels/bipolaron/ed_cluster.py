"""Exact diagonalisation of one or two electrons (↑, ↓) with phonons on a small open cluster.

The reference for the finite-cluster mode of the path-integral Monte Carlo: the same
Hamiltonians as the bipolaron kernels on a box of the hypercubic lattice (open boundaries),
phonons on the bonds (bond-Peierls) or sites (Holstein) with a cap on the total phonon number,
thermal averages at inverse temperature β over the whole space (t = 1).
"""
from __future__ import annotations

import itertools
import math

import numpy as np


def cluster(box):
    """Sites (tuples) of the box and its nearest-neighbour bonds (i, j, axis), i < j."""
    sites = list(itertools.product(*[range(n) for n in box]))
    index = {s: i for i, s in enumerate(sites)}
    bonds = []
    for s in sites:
        for a in range(len(box)):
            nb = list(s)
            nb[a] += 1
            if tuple(nb) in index:
                bonds.append((index[s], index[tuple(nb)], a))
    return sites, bonds


def hamiltonian(model, box, n_electrons, omega, coupling, U=0.0, V=0.0, nmax=6, t=1.0):
    """Dense H and the diagonals (double occupancy, phonon number) of its basis."""
    sites, bonds = cluster(box)
    ns = len(sites)
    modes = len(bonds) if model == "bond_peierls" else ns
    occ = [n for n in itertools.product(range(nmax + 1), repeat=modes) if sum(n) <= nmax]
    occ_index = {n: i for i, n in enumerate(occ)}
    elec = list(itertools.product(range(ns), repeat=n_electrons))
    el_index = {e: i for i, e in enumerate(elec)}
    nph_states = len(occ)
    dim = len(elec) * nph_states
    H = np.zeros((dim, dim))

    def idx(e, n):
        return el_index[e] * nph_states + occ_index[n]

    def x_apply(n, m):
        """(amplitude, new occupation) pairs of X_m = b_m + b_m† acting on n."""
        out = []
        if n[m] > 0:
            nn = list(n); nn[m] -= 1
            out.append((math.sqrt(n[m]), tuple(nn)))
        if sum(n) < nmax:
            nn = list(n); nn[m] += 1
            out.append((math.sqrt(n[m] + 1), tuple(nn)))
        return out

    for e in elec:
        for n in occ:
            i = idx(e, n)
            H[i, i] += omega * sum(n)
            if n_electrons == 2:
                ra = np.array(sites[e[0]]); rb = np.array(sites[e[1]])
                r = np.linalg.norm(ra - rb)
                H[i, i] += U if r == 0 else (V / r if V else 0.0)
            for s, site in enumerate(e):
                if model == "holstein":
                    for amp, nn in x_apply(n, site):
                        H[idx(e, nn), i] += coupling * amp
                for b, (p, q, _) in enumerate(bonds):
                    if site not in (p, q):
                        continue
                    other = q if site == p else p
                    e2 = list(e); e2[s] = other; e2 = tuple(e2)
                    H[idx(e2, n), i] += -t
                    if model == "bond_peierls":
                        for amp, nn in x_apply(n, b):
                            H[idx(e2, nn), i] += coupling * amp
    assert np.allclose(H, H.T)
    diag_docc = np.zeros(dim)
    diag_nph = np.zeros(dim)
    for e in elec:
        for n in occ:
            i = idx(e, n)
            diag_nph[i] = sum(n)
            if n_electrons == 2 and e[0] == e[1]:
                diag_docc[i] = 1.0
    return H, diag_docc, diag_nph


def thermal(model, box, n_electrons, beta, omega, coupling, U=0.0, V=0.0, nmax=6):
    """(⟨H⟩, Σ_i ⟨n_i↑ n_i↓⟩, ⟨N_ph⟩) at inverse temperature ``beta`` (t = 1)."""
    H, diag_docc, diag_nph = hamiltonian(model, box, n_electrons, omega, coupling, U, V, nmax)
    w, v = np.linalg.eigh(H)
    boltz = np.exp(-beta * (w - w[0]))
    z = boltz.sum()
    prob = (v * v)  # |<basis|eig>|²
    energy = float((w * boltz).sum() / z)
    docc = float((diag_docc @ prob) @ boltz / z)
    nph = float((diag_nph @ prob) @ boltz / z)
    return energy, docc, nph
