#!/usr/bin/env python3
"""Storage fade of the storage-fitted sets against the published storage laws they were fitted to.

Left: the fitted window (270 days, 25 and 45 C, SOC 0.5 and 0.9). Right: 12 years at 25 C, SOC 0.5 and
0.9, beyond the data (the M50 law grows as t^0.65, the large-format LFP law as t^0.53). The LFP panels also
show the Sony/Murata LFP law (not fitted), a small high-power cell that loses about three times as much.
Usage: python3 validation/calendar_plot.py build/cli/packlife [docs/validation/calendar_storage.png]
Needs matplotlib (/usr/bin/python3 on Debian). Prints the numbers it plots.
"""
import csv
import json
import os
import subprocess
import sys
import tempfile

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from calendar_reference import CONDITIONS, lfp_250ah_loss, lgm50_loss, sony_lfp_loss  # noqa: E402

SETS = [("okane2022-storage", "NMC811 LG M50", lgm50_loss, "okane2022", None),
        ("prada2013-storage", "LFP large-format", lfp_250ah_loss, "prada2013", sony_lfp_loss)]


def storage_fade(exe, params, T, soc, period_days, periods, tmp):
    """Relative electrode-balance capacity loss after each storage period, packlife simulate."""
    out = os.path.join(tmp, "summary.csv")
    subprocess.run([exe, "simulate", "--model", "spme", "--params", params, "--ageing", "default", "--experiment",
                    f"Rest for {period_days} days", "--cycles", str(periods), "--initial-soc", str(soc),
                    "--ambient-C", str(T), "--no-time-series", "--summary-csv", out, "--quiet"], check=True)
    fresh = subprocess.run([exe, "simulate", "--params", params, "--experiment", "Rest for 1 second", "--json",
                            "--quiet"], check=True, capture_output=True, text=True).stdout
    c0 = json.loads(fresh)["balance_capacity_Ah"]
    with open(out) as f:
        rows = list(csv.DictReader(f))
    return [0.0] + [1 - float(r["esoh_capacity_Ah"]) / c0 for r in rows]


def main():
    exe = sys.argv[1]
    png = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "..", "docs", "validation",
                                                             "calendar_storage.png")
    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    with tempfile.TemporaryDirectory() as tmp:
        for row, (params, title, law, base, other) in enumerate(SETS):
            ax = axes[row][0]
            for (T, soc), colour in zip(CONDITIONS, ["C0", "C1", "C3", "C2"]):
                days = [30 * k for k in range(10)]
                sim = storage_fade(exe, params, T, soc, 30, 9, tmp)
                ax.plot(days, [100 * law(T, soc, d) for d in days], "o", color=colour, mfc="none")
                ax.plot(days, [100 * s for s in sim], "-", color=colour, label=f"{T} C, SOC {soc}")
                print(f"{params} {T} C SOC {soc}: 270 d law {100 * law(T, soc, 270):.2f} %, "
                      f"packlife {100 * sim[-1]:.2f} %")
            ax.set_title(f"{title}, {params}: fitted window", fontsize=10)
            ax.set_xlabel("days in storage")
            ax.set_ylabel("capacity loss [%]")
            ax.legend(fontsize=8, title="circles: published law", title_fontsize=8)
            ax = axes[row][1]
            years = list(range(13))
            for soc, colour in [(0.5, "C0"), (0.9, "C1")]:
                sim = storage_fade(exe, params, 25, soc, 365, 12, tmp)
                base_sim = storage_fade(exe, base, 25, soc, 365, 12, tmp)
                ax.plot(years, [100 * law(25, soc, 365 * y) for y in years], "o", color=colour, mfc="none",
                        label=f"published law, SOC {soc}")
                ax.plot(years, [100 * s for s in sim], "-", color=colour, label=f"{params}, SOC {soc}")
                ax.plot(years, [100 * s for s in base_sim], ":", color=colour, label=f"{base} as shipped, SOC {soc}")
                if other:
                    ax.plot(years, [100 * other(25, soc, 365 * y) for y in years], "x", color=colour, ms=4,
                            label=f"Sony LFP law (not fitted), SOC {soc}")
                print(f"{params} 25 C SOC {soc}: 12 y law {100 * law(25, soc, 4380):.2f} %, packlife "
                      f"{100 * sim[-1]:.2f} %, {base} {100 * base_sim[-1]:.2f} %")
            ax.axvspan(0, 270 / 365, color="0.9")
            ax.set_title(f"{title}: 25 C for 12 years (grey: fitted window)", fontsize=10)
            ax.set_xlabel("years in storage")
            ax.set_ylabel("capacity loss [%]")
            ax.legend(fontsize=7)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(png)), exist_ok=True)
    fig.savefig(png + ".tmp.png", dpi=90)
    os.replace(png + ".tmp.png", png)
    print(f"wrote {png}")


if __name__ == "__main__":
    main()
