#include "packlife/models/esoh.hpp"

#include <cmath>

#include "packlife/core/error.hpp"
#include "packlife/core/roots.hpp"

namespace packlife {

double electrode_ocp(const ElectrodeParameters& e, double sto, double T_K, double T_ref_K) {
  return e.ocp_V(sto) + (T_K - T_ref_K) * e.entropic_V_K(sto);
}

namespace {
double capacity_Ah(const ParameterSet& p, const ElectrodeParameters& e) {
  return e.active_material_fraction * e.thickness_m * p.cell.electrode_area_m2() *
         e.max_concentration_mol_m3 * kFaraday / 3600.0;
}
}  // namespace

ElectrodeBalance electrode_balance(const ParameterSet& p, double T_K) {
  const double A = p.cell.electrode_area_m2();
  const double n_li = A * (p.negative.active_material_fraction * p.negative.thickness_m *
                               p.negative.initial_concentration_mol_m3 +
                           p.positive.active_material_fraction * p.positive.thickness_m *
                               p.positive.initial_concentration_mol_m3);
  return electrode_balance(p, T_K, n_li, capacity_Ah(p, p.negative), capacity_Ah(p, p.positive));
}

ElectrodeBalance electrode_balance(const ParameterSet& p, double T_K, double n_li, double Qn, double Qp,
                                   bool saturate) {
  // Lithium conservation: x Qn + y Qp = n_Li F / 3600  =>  y(x) = (Q_Li - x Qn) / Qp.
  const double QLi = n_li * kFaraday / 3600.0;
  const double Tref = p.cell.reference_temperature_K;
  auto y_of = [&](double x) { return (QLi - x * Qn) / Qp; };
  auto ocv = [&](double x) {
    return electrode_ocp(p.positive, y_of(x), T_K, Tref) - electrode_ocp(p.negative, x, T_K, Tref);
  };
  // Admissible x keeps both stoichiometries inside (0, 1).
  const double eps = 1e-9;
  double lo = std::max(eps, (QLi - (1.0 - eps) * Qp) / Qn);
  double hi = std::min(1.0 - eps, (QLi - eps * Qp) / Qn);
  if (!(lo < hi))
    throw InputError(p.origin, 0, 0, "", "electrode balance impossible: the lithium inventory does not fit both electrodes");
  // OCV rises with x along the constraint (negative lithiates, positive delithiates).
  // The root by regula falsi (Illinois): ~10 OCV evaluations where bisection took ~100; the eSOH of
  // every ledger row of a lifecycle runs this.
  auto solve = [&](double V, const char* which) {
    const double fa = ocv(lo) - V, fb = ocv(hi) - V;
    if (saturate && fa > 0) return lo;  // an electrode saturates before the lower limit
    if (saturate && fb < 0) return hi;  // ... or before the upper limit
    if (fa * fb > 0)
      throw InputError(p.origin, 0, 0, which,
                       fmt::format("the open-circuit voltage never reaches {} V within the electrodes' stoichiometry "
                                   "window ({:.4f} to {:.4f} V)", V, fa + V, fb + V));
    // Stops at a bracket of 1e-15 in x or 0.1 pV off the limit: far below any use of the window.
    return illinois_root([&](double x) { return ocv(x) - V; }, lo, hi, fa, fb, 1e-15, 1e-13);
  };
  ElectrodeBalance eb{};
  eb.x100 = solve(p.cell.upper_voltage_cutoff_V, "cell.upper_voltage_cutoff_V");
  eb.x0 = solve(p.cell.lower_voltage_cutoff_V, "cell.lower_voltage_cutoff_V");
  eb.y100 = y_of(eb.x100);
  eb.y0 = y_of(eb.x0);
  eb.negative_capacity_Ah = Qn;
  eb.positive_capacity_Ah = Qp;
  eb.capacity_Ah = Qn * (eb.x100 - eb.x0);
  eb.lithium_inventory_mol = n_li;
  return eb;
}

}  // namespace packlife
