#pragma once
/// @file pack.hpp
/// Pack design from a chemistry and a nominal energy: series blocks of parallel cells, the cell made
/// from a parameter set's cell by scaling its electrode area, and order statistics for the weakest of
/// N cells. Choices and sources in docs/models.md, "Pack".
#include <string>
#include <vector>

#include "packlife/models/parameters.hpp"

namespace packlife {

struct PackDesign {
  std::string chemistry;       ///< nmc811 or lfp
  std::string parameter_set;   ///< the set the cell is scaled from (okane2022, prada2013)
  int series = 0;              ///< series blocks
  int parallel = 0;            ///< cells per block
  double area_scale = 1;       ///< electrode area of the pack cell / that of the set's cell
  double cell_capacity_Ah = 0; ///< nominal capacity of the pack cell (set's capacity x area_scale)
  double cell_nominal_V = 0;   ///< mean open-circuit voltage over the SOC window at 25 C
  double cell_max_V = 0, cell_min_V = 0;
  int cells() const { return series * parallel; }
  double nominal_V() const { return series * cell_nominal_V; }
  double max_V() const { return series * cell_max_V; }
  double min_V() const { return series * cell_min_V; }
  double capacity_Ah() const { return parallel * cell_capacity_Ah; }
  double energy_kWh() const { return nominal_V() * capacity_Ah() / 1000.0; }
};

/// The pack for `chemistry` (nmc811 -> okane2022, lfp -> prada2013) and a nominal energy [kWh]:
/// series count for a ~400 V class pack (series x upper cut-off nearest 403 V), then as few parallel
/// cells as keep each cell at or below 160 A h (large-format prismatic cells), then the electrode
/// area that gives the requested energy. InputError for an unknown chemistry or an energy outside
/// [10, 300] kWh.
PackDesign design_pack(const std::string& chemistry, double energy_kWh);
/// The parameter set a chemistry uses.
std::string chemistry_parameter_set(const std::string& chemistry);
/// The cell parameters of a chemistry's pack: its set (chemistry_parameter_set), and for nmc811 the
/// graphite's stress-driven LAM switched on with the law (rate beta_n and exponent m) calibrated on
/// fast-charge cycling at 3.6-7C (the graphite of set a123-apr18650, fitted by packlife fit on Severson
/// et al. 2019): O'Kane 2022's graphite LAM constants are an example, not fitted to any charge rate, and
/// the charge-rate dependence is what fast charging needs. Recorded as overrides naming their source.
ParameterSet pack_cell_parameters(const std::string& chemistry);
/// `p` with its electrode area (width), nominal capacity, cooling area and volume scaled by
/// `area_scale`; recorded as parameter overrides (source `why`, default "pack design") so the
/// resolved inputs show them.
ParameterSet scaled_cell(const ParameterSet& p, double area_scale, const std::string& why = "pack design");

/// `p` with the rate constants of every ageing mechanism it has (SEI solvent diffusivity and exchange
/// current, plating rate constant, negative and positive LAM rates) multiplied by `factor`: a cell that
/// ages `factor` times as fast, recorded as overrides with source `why`.
ParameterSet scaled_ageing_rates(const ParameterSet& p, double factor, const std::string& why);
/// Expected largest of n independent standard normal values, Blom's approximation
/// Phi^-1((n - 0.375) / (n + 0.25)) (G. Blom, Statistical Estimates and Transformed Beta-Variables,
/// Wiley 1958); 0 for n = 1. The weakest of n cells with relative spread cv sits about
/// cv x expected_max_standard_normal(n) below the median.
double expected_max_standard_normal(int n);
/// Inverse of the standard normal cumulative distribution (Acklam's rational approximation with
/// one Halley step; relative error below 1e-9 over (0, 1)).
double inverse_normal_cdf(double p);
/// The q-quantile of `v` (0 <= q <= 1), linear between order statistics (q = 0.5: the median); NaN
/// for an empty v.
double quantile(std::vector<double> v, double q);

}  // namespace packlife
