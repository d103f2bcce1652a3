#include "packlife/models/esoh.hpp"

#include <cmath>

#include "packlife/core/error.hpp"

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
  auto solve = [&](double V, const char* which) {
    double a = lo, b = hi;
    if (saturate && ocv(a) > V) return a;  // an electrode saturates before the lower limit
    if (saturate && ocv(b) < V) return b;  // ... or before the upper limit
    if ((ocv(a) - V) * (ocv(b) - V) > 0)
      throw InputError(p.origin, 0, 0, which,
                       fmt::format("the open-circuit voltage never reaches {} V within the electrodes' stoichiometry "
                                   "window ({:.4f} to {:.4f} V)", V, ocv(a), ocv(b)));
    for (int i = 0; i < 200 && b - a > 1e-15; ++i) {
      const double m = 0.5 * (a + b);
      if ((ocv(a) - V) * (ocv(m) - V) <= 0) b = m; else a = m;
    }
    return 0.5 * (a + b);
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
