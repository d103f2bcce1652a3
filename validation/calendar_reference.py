#!/usr/bin/env python3
"""Storage (calendar) fade reference curves for the two pack chemistries, as plain lab files.

packlife has no raw calendar-ageing measurements for its pack cells. What the literature does publish are
empirical laws fitted to large storage test matrices; this script evaluates them at a small grid of
storage conditions inside each test matrix and writes the result in packlife's plain cycle-level format
(docs/lab-data.md), one row per 30-day storage period, for `packlife fit --data` (docs/fitting.md,
"Storage (calendar) fits").

- LG M50 21700 (NMC811 / graphite-SiOx), the cell of okane2022: storage at 0, 25, 45 and 60 C and 13 SOCs
  from 0 to 100 %, three cells per condition (T. Truong Bui et al. 2021, IEEE Xplore document 9617644, as
  described by BLAST-Lite); the law fitted to those data by P. Gasper et al., NREL BLAST-Lite (2024), model
  nmc811_grSi_LGM50_5Ah_2021: q_loss = k(T, U_a, SOC) (t / 1e4 days)^0.6517, with U_a the graphite
  potential at that SOC from the graphite OCP of M. Safari, C. Delacourt, J. Electrochem. Soc. 158 (2011)
  A562 as BLAST-Lite evaluates it. Coefficients below are the published values.
- Sony/Murata US26650FTC1 (LiFePO4 / graphite, 3 Ah): a storage test matrix over temperature and SOC
  (M. Naumann et al., J. Energy Storage 17 (2018) 153, doi:10.1016/j.est.2018.01.019), their law q_loss = k_ref exp(-Ea/R (1/T - 1/298.15 K))
  (c (SOC - 0.5)^3 + d) sqrt(t [s]) with k_ref = 1.2571e-5 s^-0.5, Ea = 17126 J/mol, c = 2.8575,
  d = 0.60225. It stands in for the A123 cell of prada2013 (the same chemistry and format; no A123
  storage law is available here). Not fitted: plotted beside the fit by calendar_plot.py, to show how far
  apart LFP cell designs are.
- Large-format prismatic LFP / graphite (>250 Ah, an energy cell of a large manufacturer, the kind built
  into traction and storage packs): storage over temperature and SOC (P. Gasper, N. Sunderlin, N. Dunlap,
  P. Walker, D. P. Finegan, K. Smith, F. Thakkar, J. Energy Storage 73 (2023) 109042,
  doi:10.1016/j.est.2023.109042), their law as NREL BLAST-Lite (2024) implements it, model
  lfp_gr_250AhPrismatic_2019: q_loss = p1 exp(p2/T) exp(p3 U_a/T) t[days]^pcal with p1 = 8.37e4,
  p2 = -5.21e3 K, p3 = -3.56e3 K/V, pcal = 0.526 and U_a the Safari graphite potential as above. The
  storage fits of the lfp pack's cell use it (the A123 and Sony cells are small high-power cells).

Storage resistance growth (written beside, for validation/film_resistivity.py; packlife fit does not read
it), relative growth of the DC resistance:
- Sony/Murata US26650FTC1 LFP, Naumann et al. 2018 (as above), linear in time: r = k_ref exp(-Ea/R (1/T -
  1/298.15 K)) (C (SOC - 0.5)^3 + D) t [s], k_ref = 3.4194e-10 1/s, Ea = 71827 J/mol, C = -3.3903,
  D = 1.5604.
- NMC: no storage resistance law of the LG M50 is published that we know of. The NMC law used is that of
  the Sanyo UR18650E (NMC111 / graphite) of J. Schmalstieg, S. Kaebitz, M. Ecker, D. U. Sauer, J. Power
  Sources 257 (2014) 325: r = (5.270 V - 16.32) 1e5 exp(-5986 / T) t[days]^0.75, V the cell's open-circuit
  voltage at the storage SOC (their OCV curve: 3.697 V at SOC 0.5, 4.073 V at 0.9). Their matrix varied SOC
  at 50 C and temperature at SOC 0.5, so 25 C at SOC 0.9 combines the two. A stand-in for NMC811, whose
  high-nickel positive is known to grow resistance at high SOC faster than NMC111.

The grid stays inside the test matrices' temperatures and SOCs (25 and 45 C, SOC 0.5 and 0.9) and short
of long storage (270 days); the test durations are not restated here, see the sources. Usage: python3 validation/calendar_reference.py [outdir]  (default datasets/lab/calendar)
"""
import math
import os
import sys

DAYS_PER_PERIOD = 30
PERIODS = 9  # 270 days
CONDITIONS = [(25, 0.5), (25, 0.9), (45, 0.5), (45, 0.9)]


def graphite_potential_safari(soc):
    """Graphite potential [V] at a cell SOC, Safari & Delacourt (2011), lithiation 0.0085 + 0.7715 SOC."""
    x = 8.5e-3 + soc * (0.78 - 8.5e-3)
    return (0.6379 + 0.5416 * math.exp(-305.5309 * x) + 0.044 * math.tanh(-(x - 0.1958) / 0.1088)
            - 0.1978 * math.tanh((x - 1.0571) / 0.0854) - 0.6875 * math.tanh((x + 0.0117) / 0.0529)
            - 0.0175 * math.tanh((x - 0.5692) / 0.0875))


def lgm50_loss(T_C, soc, days):
    """Relative capacity lost in storage, LG M50 (Truong Bui et al. 2021 data, Gasper et al. law)."""
    b0, b1, b2, b3, b4, p = (-2.39156628786525, 2.44205317834185, -4.45998246136905, 0.448140062203916,
                             -0.185337797906876, 0.651697743905278)
    tn = (T_C + 273.15) / (273.15 + 35)
    un = graphite_potential_safari(soc) / 0.123
    k = (b0 + b1 * math.exp(tn ** 3 / un ** (1 / 3)) + b2 * tn ** 3 / un ** 0.5
         + b3 * math.exp(soc ** 0.5 / tn ** 2) + b4 * math.exp(soc ** 3))
    return k * (days / 1e4) ** p


def sony_lfp_loss(T_C, soc, days):
    """Relative capacity lost in storage, Sony US26650FTC1 LFP (Naumann et al. 2018)."""
    T = T_C + 273.15
    k = 1.2571e-5 * math.exp(-17126.0 / 8.3144598 * (1 / T - 1 / 298.15)) * (2.8575 * (soc - 0.5) ** 3 + 0.60225)
    return k * math.sqrt(days * 86400.0)


def lfp_250ah_loss(T_C, soc, days):
    """Relative capacity lost in storage, large-format LFP (Gasper et al. 2023 data and law)."""
    T = T_C + 273.15
    return 8.37e4 * math.exp(-5.21e3 / T) * math.exp(-3.56e3 * graphite_potential_safari(soc) / T) * days ** 0.526


def sony_lfp_resistance(T_C, soc, days):
    """Relative DC resistance growth in storage, Sony US26650FTC1 LFP (Naumann et al. 2018)."""
    T = T_C + 273.15
    k = 3.4194e-10 * math.exp(-71827.0 / 8.3144598 * (1 / T - 1 / 298.15)) * (-3.3903 * (soc - 0.5) ** 3 + 1.5604)
    return k * days * 86400.0


SANYO_OCV_V = {0.5: 3.697, 0.9: 4.073}  # Schmalstieg et al. 2014, Fig. 1 (open-circuit voltage at the SOC)


def sanyo_nmc_resistance(T_C, soc, days):
    """Relative DC resistance growth in storage, Sanyo UR18650E NMC111 (Schmalstieg et al. 2014)."""
    a = (5.270 * SANYO_OCV_V[soc] - 16.32) * 1e5 * math.exp(-5986.0 / (T_C + 273.15))
    return a * days ** 0.75


RESISTANCE = {
    "sony_lfp_storage_resistance.csv": ("Sony/Murata US26650FTC1 (LiFePO4/graphite)", sony_lfp_resistance,
                                        "Naumann et al., J. Energy Storage 17 (2018) 153"),
    "sanyo_nmc_storage_resistance.csv": ("Sanyo UR18650E (NMC111/graphite)", sanyo_nmc_resistance,
                                         "Schmalstieg et al., J. Power Sources 257 (2014) 325"),
}

CELLS = {
    "lgm50_storage.csv": ("LG M50 (NMC811/graphite-SiOx) 5 Ah", 5.0, lgm50_loss,
                          "Truong Bui et al. 2021 (data); Gasper et al., NREL BLAST-Lite 2024 (law)"),
    "sony_lfp_storage.csv": ("Sony/Murata US26650FTC1 (LiFePO4/graphite) 3 Ah", 3.0, sony_lfp_loss,
                             "Naumann et al., J. Energy Storage 17 (2018) 153 (data and law)"),
    "lfp_250ah_storage.csv": ("Large-format prismatic LFP/graphite 250 Ah", 250.0, lfp_250ah_loss,
                              "Gasper et al., J. Energy Storage 73 (2023) 109042 (data and law; BLAST-Lite 2024)"),
}


def write_grid(path, header, column, value):
    """One row per storage period and condition: cell,cycle,<column>,temperature_C,initial_soc,days, where
    value(T, soc, days) gives the column (written to a temporary file, then renamed into place)."""
    lines = header + [f"cell,cycle,{column},temperature_C,initial_soc,days"]
    for T, soc in CONDITIONS:
        cell = f"T{T}_soc{int(round(soc * 100))}"
        for n in range(PERIODS + 1):
            d = n * DAYS_PER_PERIOD
            lines.append(f"{cell},{n},{value(T, soc, d)},{T},{soc},{d}")
    with open(path + ".tmp", "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(path + ".tmp", path)
    print(f"wrote {path}")


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "datasets", "lab",
                                                                 "calendar")
    os.makedirs(outdir, exist_ok=True)
    for name, (title, cap, law, source) in CELLS.items():
        header = [f"# {title}: capacity after each {DAYS_PER_PERIOD}-day storage period (cycle = periods stored)",
                  f"# from the published storage-fade law of {source};",
                  "# written by validation/calendar_reference.py (see its header); plain format, docs/lab-data.md"]
        write_grid(os.path.join(outdir, name), header, "capacity_Ah",
                   lambda T, soc, d, cap=cap, law=law: f"{cap * (1 - law(T, soc, d)):.5f}")
    for name, (title, law, source) in RESISTANCE.items():
        header = [f"# {title}: relative DC resistance growth after each {DAYS_PER_PERIOD}-day storage period",
                  f"# from the published storage law of {source};",
                  "# written by validation/calendar_reference.py (see its header); read by validation/film_resistivity.py"]
        write_grid(os.path.join(outdir, name), header, "resistance_growth",
                   lambda T, soc, d, law=law: f"{law(T, soc, d):.6f}")


if __name__ == "__main__":
    main()
