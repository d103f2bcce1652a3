#pragma once
/// @file esoh.hpp
/// Electrode balance ("electrode state of health", Mohtat et al. 2019, J. Electrochem. Soc. 166 A4326):
/// the stoichiometry windows of both electrodes between the cell's voltage limits for a given
/// cyclable lithium inventory. SOC is defined on this window: at SOC 1 the open-circuit voltage equals
/// the upper voltage limit, at SOC 0 the lower limit.
#include "packlife/models/parameters.hpp"

namespace packlife {

struct ElectrodeBalance {
  double x0, x100;  ///< negative electrode stoichiometry at SOC 0 and 1
  double y0, y100;  ///< positive electrode stoichiometry at SOC 0 and 1
  double capacity_Ah;           ///< cell capacity between the voltage limits
  double negative_capacity_Ah;  ///< Q_n = eps_am,n L_n A c_max,n F
  double positive_capacity_Ah;
  double lithium_inventory_mol; ///< cyclable lithium in both electrodes

  double x_at(double soc) const { return x0 + soc * (x100 - x0); }
  double y_at(double soc) const { return y0 - soc * (y0 - y100); }
};

/// Balance for the lithium inventory implied by the set's initial concentrations, at temperature T.
ElectrodeBalance electrode_balance(const ParameterSet& p, double T_K);
/// Balance for a given lithium inventory [mol] and electrode capacities [A h]. With
/// `saturate` (aged cells), a voltage limit the open-circuit voltage cannot reach before an
/// electrode is full or empty is replaced by that end of the window: after heavy positive LAM the
/// positive fills before the cell's OCV falls to the lower limit, and that ends the discharge.
/// Without it (the fresh cell, where the window defines SOC) that is an input error.
ElectrodeBalance electrode_balance(const ParameterSet& p, double T_K, double lithium_mol,
                                   double Qn_Ah, double Qp_Ah, bool saturate = false);

/// Open-circuit potential of an electrode at stoichiometry and temperature (entropic correction).
double electrode_ocp(const ElectrodeParameters& e, double sto, double T_K, double T_ref_K);

}  // namespace packlife
