#!/usr/bin/env bash
# Mesh and tolerance convergence of SPM/SPMe on Chen2020 (constant-current discharges to 2.5 V from
# SOC 1, 25 C, isothermal). For each setting it reports the voltage RMS and maximum difference on the
# 1 s grid, and the relative difference in delivered capacity, against a reference solved with
# 200 particle shells, 80 electrolyte cells per region and rtol 1e-9. Output: a Markdown table.
# Usage: validation/convergence.sh [path/to/packlife]   (used to regenerate docs/accuracy.md)
set -euo pipefail
P="${1:-$(dirname "$0")/../build/cli/packlife}"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
compare() {  # compare <candidate.csv> <reference.csv>
  awk -F, 'NR==FNR { if (FNR > 1 && $1 == int($1)) ref[$1] = $3; if (FNR > 1) qr = $5; next }
           FNR > 1 && ($1 in ref) { d = $3 - ref[$1]; s += d * d; n++; if (d < 0) d = -d; if (d > m) m = d }
           FNR > 1 { q = $5 }
           END { printf "%.3f | %.3f | %.1e", 1000 * sqrt(s / n), 1000 * m, (q - qr) / qr }' "$2" "$1"
}
echo "| model | rate | particle cells | stretch | electrolyte cells/region | rtol | V RMS [mV] | V max [mV] | capacity rel. diff |"
echo "|---|---|---|---|---|---|---|---|---|"
for model in spm spme; do
  for rate in 0.5C 1C 2C; do
    "$P" simulate --model "$model" --experiment "Discharge at $rate until 2.5 V" --particle-cells 200 \
      --electrolyte-cells 80 --rtol 1e-9 --csv "$W/ref.csv" --quiet
    while read -r pc st ec rt; do
      "$P" simulate --model "$model" --experiment "Discharge at $rate until 2.5 V" --particle-cells "$pc" \
        --particle-stretch "$st" --electrolyte-cells "$ec" --rtol "$rt" --csv "$W/c.csv" --quiet
      [ "$model" = spm ] && [ "$ec" != 20 ] && continue  # SPM has no electrolyte mesh
      ecs=$ec; [ "$model" = spm ] && ecs="-"
      echo "| $model | $rate | $pc | $st | $ecs | $rt | $(compare "$W/c.csv" "$W/ref.csv") |"
    done <<'CASES'
10 2 20 1e-4
20 2 20 1e-4
30 1 20 1e-4
30 2 20 1e-4
30 2 10 1e-4
30 2 40 1e-4
60 2 40 1e-4
30 2 20 1e-3
30 2 20 1e-5
30 2 20 1e-7
CASES
  done
done
