#pragma once
/// @file roots.hpp
/// Bracketed scalar root finding for the electrode-balance solves (eSOH of every ledger row, the
/// split of extrapolated lithium between the electrodes), which run once per simulated cycle.
#include <cmath>

namespace packlife {

/// Root of f in [a, b], given fa = f(a) and fb = f(b) of opposite signs (or one of them zero), by the
/// Illinois variant of regula falsi (Dowell and Jarratt, BIT 11 (1971) 168): the secant point of the
/// bracket, and when the same end is kept twice running its function value is halved so that it
/// moves too. The bracket always holds the root, as bisection's does, but closes superlinearly
/// (order ~1.44): about 10 evaluations on the smooth open-circuit voltages where bisection to the
/// same width needs 50 or more. Stops when the bracket is narrower than x_tol or |f| < f_tol, or
/// after max_iter evaluations (returning the bracket's midpoint).
template <typename F>
double illinois_root(F&& f, double a, double b, double fa, double fb, double x_tol, double f_tol, int max_iter = 200) {
  if (fa == 0) return a;
  if (fb == 0) return b;
  int kept = 0;  // which end the last step kept: -1 a, +1 b
  for (int i = 0; i < max_iter && b - a > x_tol; ++i) {
    double m = (a * fb - b * fa) / (fb - fa);
    if (!(m > a && m < b)) m = 0.5 * (a + b);  // rounding at a bracket a few ulps wide
    const double fm = f(m);
    if (fm == 0 || std::abs(fm) < f_tol) return m;
    if ((fa < 0) == (fm < 0)) {
      a = m;
      fa = fm;
      if (kept == +1) fb *= 0.5;
      kept = +1;
    } else {
      b = m;
      fb = fm;
      if (kept == -1) fa *= 0.5;
      kept = -1;
    }
  }
  return 0.5 * (a + b);
}

}  // namespace packlife
