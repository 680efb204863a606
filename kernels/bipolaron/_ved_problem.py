"""What one VED problem is, as plain Python values and as the records the numba code reads.

Private to the VED solver (:mod:`pairsweep.kernels.bipolaron.ved`). No numba here: the
model codes, :class:`Problem`, and the two named tuples handed to every compiled routine of
:mod:`._ved_hamiltonian` are defined once, in this module. Numba passes a named tuple by
value and reads its fields as registers, so naming the settings costs nothing at run time
(``bench/ved_rebuild.py`` measures it against the former positional int/float arrays).

Units: energies in units of the hopping, t = 1; lengths in lattice spacings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

__all__ = [
    "MODEL_BP",
    "MODEL_BP_AA",
    "MODEL_H",
    "MODEL_H_AA",
    "Layout",
    "Problem",
    "Terms",
    "encode",
]

#: Model codes: bond-Peierls (seed Eq. 6), Holstein (Eq. 2) and their antiadiabatic
#: phonon-free limits (Eq. 4).
MODEL_BP, MODEL_H, MODEL_BP_AA, MODEL_H_AA = 0, 1, 2, 3


@dataclass
class Problem:
    """Physical model and caps of one VED problem (t = 1).

    ``coupling`` is α (bond-Peierls, seed Eq. 5) or g (Holstein, seed Eq. 2) in units of t;
    the antiadiabatic models use it only through α²/Ω or g²/Ω.
    """

    model: int
    d: int
    two_electrons: bool
    omega: float
    coupling: float
    U: float = 0.0
    V: float = 0.0
    nmax: int = 30
    rmax: int = 100
    lcloud: int = 100
    max_generations: int = 40

    def nb(self) -> int:
        if self.model == MODEL_BP:
            return self.d
        if self.model == MODEL_H:
            return 1
        return 1  # antiadiabatic: no phonons; keep a valid (unused) position code

    def has_phonons(self) -> bool:
        return self.model in (MODEL_BP, MODEL_H)


class Layout(NamedTuple):
    """Which configurations exist and how one is packed into ``words`` int64 words.

    Slot 0 holds the code of the ↑–↓ separation r, slots 1..nmax the phonon codes
    (1 + position index, 0 = empty), ``bits`` bits each, ``per_word`` slots per word.
    """

    d: int              # lattice dimension
    nb: int             # phonon positions per site: d bonds (bond-Peierls) or 1 (Holstein)
    box: int            # phonon coordinates relative to the ↑ electron lie in [-box, box]
    side: int           # 2 box + 1
    rmax: int           # cap on each component of r (0 for one electron)
    rside: int          # 2 rmax + 1
    nmax: int           # cap on the total phonon number (0 without phonons)
    lcloud: int         # cap on a phonon's Manhattan distance from the nearer electron
    use_cloud: bool     # the lcloud cap can bind (it cannot beyond the generation count)
    bits: int           # bits per slot
    per_word: int       # slots per int64 word
    words: int          # int64 words per configuration
    slots: int          # 1 + nmax


class Terms(NamedTuple):
    """Which terms the Hamiltonian has and their diagonal strengths (units of t).

    The off-diagonal strengths live in the value table (``_ved_hamiltonian.value_table``),
    indexed by its value codes.
    """

    model: int            # MODEL_*
    two_electrons: bool
    omega: float          # phonon energy Ω (0 without phonons)
    U: float              # on-site Hubbard repulsion
    V: float              # Coulomb tail V/|r|
    aa_shift: float       # antiadiabatic one-electron shift: −2dα²/Ω or −g²/Ω
    aa_onsite: float      # antiadiabatic Holstein on-site pair energy −2g²/Ω


def _bits_for(n: int) -> int:
    return max(1, int(n).bit_length())


def encode(p: Problem) -> tuple[Layout, Terms]:
    """The :class:`Layout` and :class:`Terms` of a problem."""
    gmax = p.max_generations + 1
    nmax = min(p.nmax, gmax) if p.has_phonons() else 0
    rmax = min(p.rmax, gmax) if p.two_electrons else 0
    lc = min(p.lcloud, gmax)
    # phonons relative to ↑ never go farther than the generation count nor than lc + rmax
    box = max(1, min(gmax, lc + rmax + 1))
    side = 2 * box + 1
    rside = 2 * rmax + 1
    npos = side**p.d * p.nb()
    bits = max(_bits_for(npos + 1), _bits_for(rside**p.d))
    per_word = 63 // bits
    slots = 1 + nmax
    words = -(-slots // per_word)
    layout = Layout(d=p.d, nb=p.nb(), box=box, side=side, rmax=rmax, rside=rside, nmax=nmax,
                    lcloud=lc, use_cloud=bool(p.has_phonons() and lc < gmax), bits=bits,
                    per_word=per_word, words=words, slots=slots)
    aa_shift = 0.0
    aa_onsite = 0.0
    if p.model == MODEL_BP_AA:
        aa_shift = -2.0 * p.d * p.coupling**2 / p.omega
    elif p.model == MODEL_H_AA:
        aa_shift = -p.coupling**2 / p.omega
        aa_onsite = -2.0 * p.coupling**2 / p.omega
    terms = Terms(model=int(p.model), two_electrons=bool(p.two_electrons),
                  omega=float(p.omega) if p.has_phonons() else 0.0, U=float(p.U),
                  V=float(p.V), aa_shift=float(aa_shift), aa_onsite=float(aa_onsite))
    return layout, terms

