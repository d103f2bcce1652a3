#pragma once
/// @file parameters.hpp
/// Cell parameter sets, read from YAML files under datasets/parameters (chosen by name or path).
/// Every entry in a file carries its value, its unit and its source; the loader checks units,
/// ranges and references and names file, line and key in every error.
#include <map>
#include <set>
#include <string>
#include <vector>

#include "packlife/models/functions.hpp"

namespace packlife {

inline constexpr double kFaraday = 96485.33212;   ///< C/mol (CODATA 2018, exact)
inline constexpr double kGasConstant = 8.314462618;  ///< J/(mol K) (CODATA 2018, exact)

/// Arrhenius factor exp(E/R (1/T_ref - 1/T)).
inline double arrhenius(double E_J_mol, double T_ref_K, double T_K) {
  return E_J_mol == 0.0 ? 1.0 : std::exp(E_J_mol / kGasConstant * (1.0 / T_ref_K - 1.0 / T_K));
}

struct ElectrodeParameters {
  double thickness_m = 0;
  double particle_radius_m = 0;
  double active_material_fraction = 0;
  double porosity = 0;
  double bruggeman_electrolyte = 1.5;
  double bruggeman_electrode = 0;
  double conductivity_S_m = 0;
  double max_concentration_mol_m3 = 0;
  double initial_concentration_mol_m3 = 0;
  /// Particle diffusivity at the reference temperature: a constant, or a function of stoichiometry
  /// (the DFN only; the SPM family needs a constant).
  ScalarFunction diffusivity_m2_s;
  double diffusivity_activation_J_mol = 0;
  double exchange_current_coefficient = 0;  ///< k in j0 = k ce^0.5 cs^0.5 (cmax-cs)^0.5 [A m-2 (m3/mol)^1.5]
  double exchange_current_activation_J_mol = 0;
  double charge_transfer_coefficient = 0.5;
  ScalarFunction ocp_V;
  ScalarFunction entropic_V_K;
  double density_kg_m3 = 0;
  double specific_heat_J_kgK = 0;
  /// Specific interfacial area a = 3 eps_am / R [1/m].
  double surface_area_per_volume() const { return 3.0 * active_material_fraction / particle_radius_m; }
};

struct SeparatorParameters {
  double thickness_m = 0;
  double porosity = 0;
  double bruggeman_electrolyte = 1.5;
  double density_kg_m3 = 0;
  double specific_heat_J_kgK = 0;
};

struct ElectrolyteParameters {
  double initial_concentration_mol_m3 = 1000;
  double transference_number = 0;
  /// 1 + dln f/dln c: a constant or a function of concentration (and temperature; DFN only).
  ScalarFunction thermodynamic_factor{nullptr, nullptr, 1.0};
  ScalarFunction diffusivity_m2_s;
  double diffusivity_activation_J_mol = 0;
  ScalarFunction conductivity_S_m;
  double conductivity_activation_J_mol = 0;
};

struct CellParameters {
  double electrode_height_m = 0;
  double electrode_width_m = 0;
  double nominal_capacity_Ah = 0;
  double lower_voltage_cutoff_V = 0;
  double upper_voltage_cutoff_V = 0;
  double reference_temperature_K = 298.15;
  double heat_transfer_coefficient_W_m2K = 0;
  double cooling_area_m2 = 0;
  double volume_m3 = 0;
  double negative_collector_thickness_m = 0;
  double negative_collector_density_kg_m3 = 0;
  double negative_collector_specific_heat_J_kgK = 0;
  double positive_collector_thickness_m = 0;
  double positive_collector_density_kg_m3 = 0;
  double positive_collector_specific_heat_J_kgK = 0;
  double electrode_area_m2() const { return electrode_height_m * electrode_width_m; }
};

/// Degradation parameters (optional section of a set; a mechanism needs its own keys, see
/// required_ageing_keys). Sources: O'Kane et al. (2022) Phys. Chem. Chem. Phys. 24 7909 and the
/// references in docs/models.md.
struct LamParameters {
  double rate_s = 0;                   ///< beta: proportional term of the stress-driven LAM rate [1/s]
  double exponent = 2;                 ///< m: exponent on the normalised stress
  double critical_stress_Pa = 1;       ///< sigma_c
  double youngs_modulus_Pa = 0;        ///< E
  double poisson_ratio = 0.3;          ///< nu
  double partial_molar_volume_m3_mol = 0;  ///< Omega
};

struct AgeingParameters {
  double sei_initial_thickness_m = 0;
  double sei_partial_molar_volume_m3_mol = 0;
  double sei_lithium_per_sei = 1;           ///< z: mol of Li consumed per mol of SEI
  double sei_resistivity_ohm_m = 0;
  double sei_solvent_diffusivity_m2_s = 0;  ///< solvent-diffusion-limited form
  double sei_bulk_solvent_concentration_mol_m3 = 0;
  double sei_exchange_current_A_m2 = 0;     ///< reaction-limited form
  double sei_open_circuit_potential_V = 0;
  double sei_rate_constant_m_s = 0;         ///< reaction-diffusion form: solvent reduction rate constant k_sei
  double sei_interstitial_diffusivity_m2_s = 0;       ///< interstitial-diffusion form: D_li
  double sei_interstitial_concentration_mol_m3 = 0;   ///< ... c_li0 at 0 V against lithium
  double sei_interstitial_potential_share = 1;        ///< ... share of the electrode potential that sets c_li
  double sei_activation_J_mol = 0;
  std::string sei_form;  ///< the set's own form: solvent-diffusion, reaction, reaction-diffusion or interstitial-diffusion
  double plating_rate_constant_m_s = 0;
  double plating_transfer_coefficient = 0.5;  ///< cathodic (plating) transfer coefficient
  double plating_dead_decay_s = 0;             ///< gamma_0
  double plating_initial_mol_m3 = 0;
  LamParameters lam_negative, lam_positive;
  std::string default_mechanisms;  ///< the set's recommended list, e.g. "sei,plating,lam"
};

/// One entry as read from the file, kept for write-back and provenance.
struct ParameterRecord {
  std::string key, unit, source;
  std::string value;  ///< number as text, function name, or table path (absolute)
  bool is_table = false;
  bool is_text = false;
};

struct ParameterSet {
  std::string name;
  std::string title;
  std::string origin;  ///< file it was read from
  std::map<std::string, std::string> references;  ///< short name -> full citation
  CellParameters cell;
  ElectrodeParameters negative, positive;
  SeparatorParameters separator;
  ElectrolyteParameters electrolyte;
  AgeingParameters ageing;
  std::vector<ParameterRecord> records;
  std::set<std::string> present;  ///< keys given in the file (the ageing section is optional)
  std::vector<std::string> overrides;  ///< "key=value" assignments applied after loading (--set), in order

  /// The set's name, followed by its overrides if any: what a checkpoint must match.
  std::string identity() const;

  /// Total stack thickness including current collectors [m].
  double stack_thickness_m() const;
  /// Volume-averaged heat capacity of the stack rho*c_p [J m-3 K-1].
  double volumetric_heat_capacity() const;
  /// The resolved set as a YAML document in the same format as the input files (re-loadable).
  std::string to_yaml() const;
};

/// Keys a degradation mechanism needs ("sei-solvent-diffusion", "sei-reaction", "plating", "lam").
std::vector<std::string> required_ageing_keys(const std::string& mechanism);

/// Loads a set by built-in name (e.g. "chen2020", looked up in the data folder) or by file path.
ParameterSet load_parameter_set(const std::string& name_or_path);
/// Parses a set from YAML text; `origin` is the file name used in messages.
ParameterSet parse_parameter_set(const std::string& yaml_text, const std::string& origin);
/// Applies "key=value" (a number for a numeric parameter, a text for a text one) to a loaded set,
/// with the file's checks (range, cross-checks); the record's source becomes "command-line".
/// Errors name the assignment and say what was expected.
void apply_parameter_override(ParameterSet& p, const std::string& assignment);
/// Several assignments at once (one re-read of the set); `source` names where they come from in the
/// records and messages ("command-line" for --set, or e.g. the pack design that scales a cell).
void apply_parameter_overrides(ParameterSet& p, const std::vector<std::string>& assignments,
                               const std::string& source = "command-line");
/// Names of the sets shipped in the data folder.
std::vector<std::string> builtin_parameter_sets();
/// Data folder: $PACKLIFE_DATA_DIR if set, else the source tree's datasets/.
std::string data_dir();

}  // namespace packlife
