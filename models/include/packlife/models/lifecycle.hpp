#pragma once
/// @file lifecycle.hpp
/// One pack through its three lives: first life (swapping network or owned car), second life
/// (stationary storage or light vehicles) continuing the same degradation ledger, and the recycling
/// hand-off (material inventory and recovered masses). Method and sources in docs/models.md,
/// "Lifecycle", and docs/lifecycle.md.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "packlife/models/pack.hpp"
#include "packlife/models/scenario.hpp"

namespace packlife {

/// A weekly sample of the pack's state.
struct LifecycleSample {
  double time_years = 0;
  int stage = 1;                  ///< 1 first life, 2 second life
  double pack_soh = 1;            ///< weakest series block's capacity / rated capacity
  double median_soh = 1;          ///< median cell's capacity / rated capacity
  double resistance_growth = 0;   ///< pack resistance / initial - 1
  double temperature_mean_C = 0, temperature_max_C = 0;  ///< cell temperature over the cycle
  double soc_min = 0, soc_max = 0;                       ///< SOC range of the median cell over the cycle
  double lli_pct = 0, lam_ne_pct = 0, lam_pe_pct = 0;    ///< median cell's ledger
  double weakest_lli_pct = 0;
  double sei_thickness_nm = 0;
  double plated_lithium_pct = 0;  ///< reversible + dead plated lithium, % of the initial cyclable lithium (weakest)
  double film_resistance_mohm = 0;  ///< SEI film resistance of the median cell
  double equivalent_full_cycles = 0;
  double throughput_MWh = 0;      ///< cumulative pack energy throughput
};

struct StageEvent {
  double time_years = 0;
  std::string event;   ///< "first life start", "first life end", "second life end", "recycling"
  std::string reason;  ///< why it happened
  double pack_soh = 1;
};

struct MaterialMass {
  std::string element;     ///< Li, Ni, Co, Mn, Fe, P, Cu, Al, graphite
  double contained_kg = 0;
  double yield = 0;        ///< recovery yield of the process
  double recovered_kg = 0;
};

struct LifeTotals {
  double years = 0;
  double throughput_MWh = 0;        ///< half the energy moved in and out of the pack
  double equivalent_full_cycles = 0;
  double start_soh = 1, end_soh = 1;
  std::string end_reason;
};

struct LifecycleResult {
  Scenario scenario;
  PackDesign design;
  std::string parameter_set;
  double rated_capacity_Ah = 0;     ///< pack: parallel x the median cell's fresh capacity
  double weakest_block_deviation = 0;  ///< relative capacity deficit (and rate excess) of the weakest block
  double resistance_mohm = 0;  ///< fresh pack DC resistance at 50 % SOC, 25 C: series / parallel x the median cell's
  LifeTotals first, second;
  std::vector<double> fade_by_year;   ///< 1 - pack SOH at the end of each whole first-life year
  std::optional<double> fade_12y;     ///< fade after 12 years, if first life lasted that long
  std::vector<LifecycleSample> samples;
  std::vector<StageEvent> events;
  std::vector<MaterialMass> materials;
  std::vector<std::string> warnings;
  int resolved_cycles = 0, cycles = 0;
  long long solver_steps = 0;
};

inline constexpr const char* kLifecycleFormatVersion = "1.0";

/// Progress: stage name and simulated years so far.
using LifecycleProgress = std::function<void(const std::string& stage, double years)>;

/// Simulates the scenario's pack through first life, second life and recycling. InputError for bad
/// scenario values (named key); a cell model that cannot continue ends the stage early with a warning.
LifecycleResult run_lifecycle(const Scenario& s, const LifecycleProgress& progress = {});

/// One column of the weekly trajectory (name, unit, value of a sample), in file order; shared by the
/// lifecycle and fleet HDF5 files.
struct SampleColumn {
  const char* name;
  const char* unit;
  double (*get)(const LifecycleSample&);
};
const std::vector<SampleColumn>& lifecycle_sample_columns();

class Hdf5Writer;
/// The root attributes every packlife HDF5 file carries: format, format_version, program_version,
/// git_sha, created_utc and the resolved scenario (YAML).
void write_file_header(Hdf5Writer& w, const char* format, const char* version, const Scenario& s);

/// Writes the lifecycle HDF5 file (format "packlife-lifecycle", docs/file-formats.md).
void write_lifecycle_hdf5(const LifecycleResult& r, const std::string& path);

/// Cell materials of the pack from the cell's geometry and the chemistry's formula (kg per element),
/// with the process's recovery yields.
std::vector<MaterialMass> pack_materials(const PackDesign& d, const ParameterSet& cell, const std::string& process);

}  // namespace packlife
