#!/usr/bin/env python3
"""SEI film resistivity of a pack chemistry's storage set, from a published storage resistance law.

packlife's pack resistance (docs/models.md, "Lifecycle") is the small-signal DC resistance of a cell:
charge transfer + SEI film + electrolyte. In storage only the film changes (and the electrode balance a
little), R_film = rho_sei L / (a L_n A), so the relative resistance growth at a time t is
    g(t) = (L(t)/L_0 - 1) phi,   phi = R_film,0 / R_0 = f phi_0 / (1 - phi_0 + f phi_0),
with f = rho_new / rho_set and phi_0 the film's share of the fresh resistance at the set's resistivity.
L(t) comes from `packlife simulate` of the storage grid (it does not depend on rho: at rest no current
crosses the film); phi_0 from `packlife lifecycle` (the pack's fresh resistance and its median cell's film).
phi is the least-squares fit of g to the reference curves; f follows in closed form.

The film resistivity found is an effective one: it carries all of the cell's storage resistance growth,
including what the positive electrode contributes, on the SEI film the capacity fit grew.
Usage: python3 validation/film_resistivity.py build/cli/packlife nmc811|lfp [--write]
  --write puts the value into the chemistry's storage set (datasets/parameters/<set>.yaml).
"""
import csv
import json
import os
import re
import subprocess
import sys
import tempfile

import h5py

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "datasets")
CHEMISTRY = {"nmc811": ("okane2022-storage", "sanyo_nmc_storage_resistance.csv"),
             "lfp": ("prada2013-storage", "sony_lfp_storage_resistance.csv")}


def read_reference(name):
    rows = {}
    with open(os.path.join(DATA, "lab", "calendar", name)) as f:
        for r in csv.DictReader(line for line in f if not line.startswith("#")):
            key = (float(r["temperature_C"]), float(r["initial_soc"]))
            rows.setdefault(key, []).append((int(r["cycle"]), float(r["resistance_growth"])))
    return rows


def film_growth(exe, params, T, soc, periods, tmp):
    """Summary rows (one per 30-day storage period: sei_thickness_m, ...) of packlife simulate, the set's own
    mechanisms."""
    out = os.path.join(tmp, "summary.csv")
    subprocess.run([exe, "simulate", "--model", "spme", "--params", params, "--ageing", "default", "--experiment",
                    "Rest for 30 days", "--cycles", str(periods), "--initial-soc", str(soc), "--ambient-C", str(T),
                    "--no-time-series", "--summary-csv", out, "--quiet"], check=True)
    with open(out) as f:
        rows = list(csv.DictReader(f))
    return rows


def main():
    if len(sys.argv) < 3 or sys.argv[2] not in CHEMISTRY:
        sys.exit(f"usage: {sys.argv[0]} PACKLIFE nmc811|lfp [--write]")
    exe, chem = sys.argv[1], sys.argv[2]
    params, ref_name = CHEMISTRY[chem]
    set_path = os.path.join(DATA, "parameters", params + ".yaml")
    with open(set_path) as f:
        text = f.read()
    m = re.search(r"ageing\.sei\.resistivity_ohm_m: \{value: ([0-9.eE+-]+)", text)
    rho_set = float(m.group(1))
    m = re.search(r"ageing\.sei\.initial_thickness_m: \{value: ([0-9.eE+-]+)", text)
    L0 = float(m.group(1))
    with tempfile.TemporaryDirectory() as tmp:
        h5 = os.path.join(tmp, "pack.h5")
        out = subprocess.run([exe, "lifecycle", "--set", f"pack.chemistry={chem}", "--set",
                              "retire.max_first_life_years=0.1", "--set", "retire.max_second_life_years=0", "--out", h5,
                              "--json"], check=True, capture_output=True, text=True).stdout
        pack = json.loads(out)["pack"]
        with h5py.File(h5) as f:
            film0 = float(f["trajectory/film_resistance_mohm"][0])
        r0_cell = pack["resistance_mohm"] * pack["parallel"] / pack["series"]
        phi0 = film0 / r0_cell
        ref = read_reference(ref_name)
        us, gs, last = [], [], {}
        for (T, soc), pts in sorted(ref.items()):
            rows = film_growth(exe, params, T, soc, max(n for n, _ in pts), tmp)
            for n, g in pts:
                if n == 0:
                    continue
                us.append(float(rows[n - 1]["sei_thickness_m"]) / L0 - 1)
                gs.append(g)
            last[(T, soc)] = us[-1]
    phi = sum(u * g for u, g in zip(us, gs)) / sum(u * u for u in us)
    f = phi * (1 - phi0) / (phi0 * (1 - phi))
    rho = f * rho_set
    res = [u * phi - g for u, g in zip(us, gs)]
    rms = (sum(r * r for r in res) / len(res)) ** 0.5
    print(f"{params}: film share of the fresh resistance {phi0:.4g} at rho {rho_set:g} ohm m; fitted share {phi:.4g}")
    print(f"  rho_sei = {rho:.4g} ohm m; rms growth residual {100 * rms:.2f} points over {len(res)} points "
          f"(reference {ref_name})")
    for (T, soc), pts in sorted(ref.items()):
        print(f"  {T:g} C SOC {soc:g}, {pts[-1][0] * 30} days: reference {100 * pts[-1][1]:.2f} %, "
              f"packlife {100 * phi * last[(T, soc)]:.2f} %")
    if "--write" in sys.argv:
        new = re.sub(r"(ageing\.sei\.resistivity_ohm_m: \{value: )[0-9.eE+-]+(, unit: [^,]+, source: )[A-Za-z0-9-]+",
                     lambda mm: f"{mm.group(1)}{rho:.4g}{mm.group(2)}FilmFit", text)
        if "  FilmFit:" not in new:
            new = new.replace("references:\n", "references:\n  FilmFit: \"SEI film resistivity fitted to the storage "
                              f"resistance growth of datasets/lab/calendar/{ref_name} by validation/film_resistivity.py "
                              "(an effective value: it carries the whole cell's storage resistance growth)\"\n", 1)
        with open(set_path + ".tmp", "w") as fo:
            fo.write(new)
        os.replace(set_path + ".tmp", set_path)
        print(f"  wrote {set_path}")


if __name__ == "__main__":
    main()
