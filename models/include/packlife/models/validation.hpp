#pragma once
/// @file validation.hpp
/// Validation cases: packlife's predictions beside independent measurements (lab cycling data)
/// with error figures per curve, run by `packlife validate NAME|all` (docs/validation.md).
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "packlife/models/cell_model.hpp"

namespace packlife {

struct ParameterSet;
struct Experiment;

/// Error figures of one compared curve (simulated against measured), in the curve's own unit.
struct ValidationCurve {
  std::string name;
  std::string unit;
  double rmse = 0;
  double max_error = 0;
  size_t points = 0;
};

/// A table written by --out-dir: simulated beside measured.
struct ValidationTable {
  std::string file;  ///< file name (no directory)
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
};

struct ValidationResult {
  std::string name, description, parameter_set;
  std::vector<ValidationCurve> curves;
  nlohmann::json metrics = nlohmann::json::object();  ///< case figures (predicted_cycle_life, ...)
  std::vector<ValidationTable> tables;
  std::vector<std::string> notes;  ///< assumptions and caveats shown with the result
  double wall_s = 0;
};

struct ValidationOptions {
  std::string params;                ///< parameter set (empty: the case's default)
  std::vector<std::string> set;      ///< parameter overrides KEY=VALUE
  std::string policy;                ///< severson2019: one charging policy instead of the training set
  std::function<void(const std::string&)> progress;  ///< one line per finished item (may be empty)
  ModelOptions model_options;        ///< mesh and tolerance of the DFN cases (comsol)
};

/// Names of the cases, in the order `validate all` runs them.
std::vector<std::string> validation_case_names();
/// InputError naming the known cases unless `name` is one of them.
void check_validation_case(const std::string& name);
/// Runs one case; InputError for an unknown name or bad options.
ValidationResult run_validation(const std::string& name, const ValidationOptions& o);

/// A Severson et al. (2019) fast-charging policy "C1(Q1%)-C2".
struct ChargePolicy {
  double c1 = 0, q1 = 0, c2 = 0;  ///< C-rates and switch SOC (fraction)
  std::string text;
};
/// Parses "5.6C(36%)-4.3C"; InputError naming the text and the expected form.
ChargePolicy parse_charge_policy(const std::string& text);

/// Per-cycle capacities of a cycling run (SPMe, lumped thermal, cycle jumping on).
struct CycleRun {
  std::vector<double> capacity_Ah;  ///< delivered by each cycle's discharge, index 0 = cycle 1
  std::vector<double> esoh_Ah;      ///< electrode-balance capacity (25 C, between the voltage limits)
  double fresh_esoh_Ah = 0;
  std::string stopped;              ///< why the run ended early (the cell could not continue)
};
/// Repeats experiment `e` at `ambient_C` from `initial_soc` in chunks of 250 cycles until `done`
/// (checked after each chunk, may be empty) or `max_cycles`. `ageing`: the --ageing list.
CycleRun run_cycles(const ParameterSet& p, const Experiment& e, double ambient_C, int max_cycles,
                    const std::function<bool(const CycleRun&)>& done, double initial_soc,
                    const std::string& ageing);

/// One training cell of Severson et al. (2019).
struct SeversonCell {
  std::string barcode, batch;
  ChargePolicy policy;
  double cycle_life = 0;  ///< measured cycles to 0.88 A h
};
std::vector<SeversonCell> severson_training_cells();
/// The case's cell: `params` (empty: a123-apr18650) with overrides, scaled to 1.1 A h.
ParameterSet severson_cell(const std::string& params, const std::vector<std::string>& set);
/// Simulated cycle life of one policy.
struct SeversonLife {
  double cycles = -1;    ///< cycles to end of life, negative when not reached within the run
  double estimate = 0;   ///< cycles, or when censored the linear extrapolation of the fade so far
  std::string criterion; ///< "4C discharge capacity" or "electrode-balance capacity"
  double end_Ah = 0;     ///< end-of-life threshold on that capacity
  CycleRun run;
};
SeversonLife severson_life(const ParameterSet& p, const ChargePolicy& pol, int max_cycles);
/// Lives of the distinct policies in `policies`, run in parallel (OpenMP); `progress` may be empty.
std::map<std::string, SeversonLife> severson_lives(const ParameterSet& p, const std::vector<ChargePolicy>& policies,
                                                   int max_cycles, const std::function<void(const std::string&)>& progress);

/// Root-mean-square and maximum absolute difference of two equally long series.
ValidationCurve compare_curves(const std::string& name, const std::string& unit, const std::vector<double>& simulated,
                               const std::vector<double>& measured);

}  // namespace packlife
