#!/usr/bin/env bash
# Cycle jumping against the fully resolved run: 12 years of the issue-4 cycle once a day (okane2022, SPMe,
# lumped thermal), resolved and accelerated at three tolerances. Prints, per year, the capacity difference
# in percentage points of cycle 1's capacity (discharge and eSOH) and LLI.
# Usage: validation/accelerate.sh [path/to/packlife] [extra simulate options...]
#   validation/accelerate.sh                       the set's default mechanisms (SEI + plating; ~1.5 min)
#   validation/accelerate.sh build/cli/packlife --ageing sei,plating,lam --set ageing.positive.lam_rate_s=2.7778e-10
#                                                  SEI + plating + LAM with a late knee (docs/models.md; ~3 min)
set -euo pipefail
bin=${1:-build/cli/packlife}
shift || true
extra=("$@")
[[ " ${extra[*]} " == *" --ageing "* ]] || extra=(--ageing default "${extra[@]}")
out=$(mktemp -d)
exp="Discharge at 1C until 2.5 V; Rest for 10 minutes; Charge at C/3 until 4.2 V; Hold at 4.2 V until C/50; Rest to fill 24 hours"
common=(simulate --model spme --params okane2022 --thermal lumped --experiment "$exp" --cycles 4383 --no-time-series --quiet "${extra[@]}")
echo "resolved run..." >&2
/usr/bin/time -f "resolved: %e s" "$bin" "${common[@]}" --summary-csv "$out/resolved.csv"
for tol in 5e-5 2e-4 8e-4; do
  echo "== --accelerate-tol $tol: $("$bin" "${common[@]}" --accelerate --accelerate-tol "$tol" --json \
        --summary-csv "$out/acc_$tol.csv" | tr -d ' \n' |
        grep -o '"jumps":[0-9]*\|"rejected_jumps":[0-9]*\|"resolved_cycles":[0-9]*\|"wall_ms":[0-9.]*' | tr '\n' ' ')"
  awk -F, '
    FNR == 1 { next }
    NR == FNR { ref[$1] = $3; refe[$1] = $16; refl[$1] = $4; if ($1 == 1) { r1 = $3; e1 = $16 } next }
    { acc[$1] = $3; acce[$1] = $16; accl[$1] = $4 }
    END {
      for (y = 1; y <= 12; y++) {
        c = int(y * 365.25); if (!(c in acc)) continue
        d = 100 * (acc[c] - ref[c]) / r1; de = 100 * (acce[c] - refe[c]) / e1
        printf "year %2d cycle %4d capacity %.4f vs %.4f Ah: %+.3f points, eSOH %+.3f points, LLI %.3f vs %.3f %%\n",
               y, c, acc[c], ref[c], d, de, accl[c], refl[c]
        if (d < 0) d = -d; if (d > m) m = d
      }
      printf "max |capacity difference| %.3f points\n", m
    }' "$out/resolved.csv" "$out/acc_$tol.csv"
done
rm -rf "$out"
