#!/usr/bin/env python3
"""DFN mesh convergence study: prints the markdown table of docs/models.md ("DFN", "Mesh").

Usage: python3 validation/dfn_mesh.py [path/to/packlife]   (default build/cli/packlife; about a minute)

For each mesh (cells per electrolyte region, cells per particle): the voltage RMSE against the COMSOL
reference at the five rates (`packlife validate comsol --mesh M`), the voltage RMSE and capacity error
of Chen2020 1C and 2C discharges to 2.5 V against a converged packlife solution (mesh 60,80, rtol 1e-7),
and the median wall time of the Chen2020 1C discharge (5 runs, 1 s output). Standard library only.
"""
import csv
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXE = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "cli", "packlife")
MESHES = ["10,10", "20,10", "20,15", "20,20", "20,30", "30,30", "40,60", "80,100"]
DEFAULT = "20,20"


def discharge(rate, mesh, rtol=None):
    """(time [s] -> voltage [V], capacity [A h]) of a Chen2020 discharge to 2.5 V."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "run.csv")
        args = [EXE, "simulate", "--model", "dfn", "--params", "chen2020", "--mesh", mesh,
                "--experiment", f"Discharge at {rate} until 2.5 V", "--csv", path, "--quiet"]
        if rtol:
            args += ["--rtol", str(rtol)]
        subprocess.run(args, check=True, capture_output=True, text=True)
        rows = list(csv.DictReader(open(path)))
    v = {round(float(r["time_s"]), 6): float(r["voltage_V"]) for r in rows}
    return v, float(rows[-1]["discharge_capacity_Ah"])


def wall_ms(mesh):
    times = []
    for _ in range(5):
        out = subprocess.run([EXE, "simulate", "--model", "dfn", "--params", "chen2020", "--mesh", mesh,
                              "--experiment", "Discharge at 1C until 2.5 V", "--json"],
                             check=True, capture_output=True, text=True).stdout
        times.append(json.loads(out)["wall_ms"])
    return statistics.median(times)


def rms(a, b):
    common = [t for t in a if t in b and abs(t - round(t)) < 1e-9]
    return math.sqrt(sum((a[t] - b[t]) ** 2 for t in common) / len(common)) * 1e3


def main():
    ref = {r: discharge(r, "60,80", 1e-7) for r in ("1C", "2C")}
    print("| mesh (E,P) | unknowns | COMSOL 0.1C / 0.5C / 1C / 2C / 3C [mV] | Chen2020 1C: V [mV], Q [%] "
          "| Chen2020 2C: V [mV], Q [%] | 1C solve [ms] |")
    print("|---|---|---|---|---|---|")
    for m in MESHES:
        e, p = (int(x) for x in m.split(","))
        res = subprocess.run([EXE, "validate", "comsol", "--mesh", m, "--json", "--quiet"], check=True,
                             capture_output=True, text=True)
        curves = json.loads(res.stdout)["curves"]
        comsol = " / ".join(f"{c['rmse']:.2f}" for c in curves if c["name"].endswith("voltage"))
        cells = []
        for rate in ("1C", "2C"):
            v, q = discharge(rate, m)
            cells.append(f"{rms(v, ref[rate][0]):.2f}, {100 * (q / ref[rate][1] - 1):+.3f}")
        n = 2 * e * p + 10 * e + 2  # particles, c_e and phi_e (3E each), phi_s and j (2E each), q, I
        name = f"**{m}** (default)" if m == DEFAULT else m
        print(f"| {name} | {n} | {comsol} | {cells[0]} | {cells[1]} | {wall_ms(m):.1f} |")


if __name__ == "__main__":
    main()
