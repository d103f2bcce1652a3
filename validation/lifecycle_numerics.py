#!/usr/bin/env python3
"""Accuracy and cost of the lifecycle's numerics (docs/models.md, "Lifecycle", Numerics).

Runs `packlife lifecycle --json` on seven scenarios with a reference setting (cycle-jumping tolerance 1e-5,
integrator tolerance 1e-5, 12 landings a year, two resolved cycles per landing) and with candidate
settings, and prints a Markdown table: solver steps, resolved cycles, the largest difference of the yearly first-life fade from the reference
(percentage points), the fade after 12 years and the first- and second-life years.

    python3 validation/lifecycle_numerics.py [--packlife build/cli/packlife]

Takes ~12 minutes on one core (the reference runs resolve most cycles).
"""
import argparse
import json
import subprocess
import sys

SCENARIOS = {
    "default": [],
    "lfp": ["pack.chemistry=lfp"],
    "harbin owned, 50 % DC at 2C": ["climate.city=harbin", "usage.mode=owned", "usage.fast_charge_share=0.5",
                                    "usage.fast_charge_c_rate=2"],
    "harbin swap": ["climate.city=harbin"],
    "guangzhou, base_station": ["climate.city=guangzhou", "second_life.application=base_station"],
    "urumqi lfp owned, low_speed_ev": ["climate.city=urumqi", "pack.chemistry=lfp", "usage.mode=owned",
                                       "second_life.application=low_speed_ev"],
    "wuhan, solar_storage, cv 0.03": ["climate.city=wuhan", "second_life.application=solar_storage",
                                      "pack.cell_spread_cv=0.03"],
}

REFERENCE = ["simulation.accelerate_tol=1e-5", "simulation.rtol=1e-5", "simulation.landings_per_year=12",
             "simulation.resolved_per_landing=2"]

CANDIDATES = {
    "3 landings/year, linear (before)": ["simulation.landings_per_year=3", "simulation.seasonal_extrapolation=linear"],
    "3 landings/year, arrhenius (default)": ["simulation.landings_per_year=3",
                                             "simulation.seasonal_extrapolation=arrhenius"],
    "6 landings/year, linear": ["simulation.landings_per_year=6", "simulation.seasonal_extrapolation=linear"],
    "6 landings/year, arrhenius": ["simulation.landings_per_year=6", "simulation.seasonal_extrapolation=arrhenius"],
}


def run(packlife, sets):
    args = [packlife, "lifecycle", "--json"]
    for s in sets:
        args += ["--set", s]
    out = subprocess.run(args, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{' '.join(args)} failed ({out.returncode}): {out.stderr.strip()}")
    return json.loads(out.stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--packlife", default="build/cli/packlife")
    a = ap.parse_args()
    print("| scenario | setting | solver steps | resolved cycles | max fade diff [points] | fade 12 y [%] "
          "| first life [y] | second life [y] |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, sets in SCENARIOS.items():
        ref = run(a.packlife, sets + REFERENCE)
        rows = [("reference", ref, 0.0)]
        for label, cand in CANDIDATES.items():
            d = run(a.packlife, sets + cand)
            n = min(len(d["fade_by_year"]), len(ref["fade_by_year"]))
            diff = max((abs(d["fade_by_year"][i] - ref["fade_by_year"][i]) for i in range(n)), default=0.0)
            rows.append((label, d, 100 * diff))
        for label, d, diff in rows:
            f12 = "-" if d["fade_12y"] is None else f"{100 * d['fade_12y']:.3f}"
            print(f"| {name} | {label} | {d['solver_steps']} | {d['resolved_cycles']} | {diff:.3f} | {f12} "
                  f"| {d['first_life_years']:.2f} | {d['second_life_years']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
