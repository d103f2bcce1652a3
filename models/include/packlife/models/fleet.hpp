#pragma once
/// @file fleet.hpp
/// Fleets of packs: per-pack sampling of the scenario's mixes and distributions (each pack from its
/// own random stream, seeded by the scenario seed and the pack id), OpenMP across packs with one
/// journal writer, the fleet HDF5 file rebuilt atomically from the journal (so a killed run leaves a
/// readable file and `--resume` finishes it), and the long-life target verdict.
/// Layout in docs/file-formats.md ("Fleet HDF5"); method in docs/models.md ("Fleet").
#include <cstdint>
#include <functional>
#include <array>
#include <string>
#include <vector>

#include "packlife/models/scenario.hpp"

namespace packlife {

inline constexpr const char* kFleetFormat = "packlife-fleet";
inline constexpr const char* kFleetFormatVersion = "1.0";

/// The inputs one pack drew from the fleet's mixes and distributions.
struct FleetPackInputs {
  long long id = 0;
  std::uint64_t seed = 0;  ///< the pack's own seed (its day-to-day driving)
  std::string city, usage_mode, chemistry;
  double energy_kWh = 0, km_per_day = 0, fast_charge_share = 0, cell_spread_cv = 0;
};

/// The elements of the recycling inventory, in the summary table's order.
const std::array<const char*, 9>& fleet_elements();

/// Draws pack `id`'s inputs; depends only on the scenario and the id (never on other packs or threads).
FleetPackInputs sample_fleet_pack(const Scenario& fleet, long long id);
/// The lifecycle scenario of that pack: the fleet scenario with the drawn inputs.
Scenario pack_scenario(const Scenario& fleet, const FleetPackInputs& in);

/// One pack's outcome, as stored in the fleet file's summary table.
struct FleetPackSummary {
  FleetPackInputs in;
  double climate_mean_C = 0;
  bool ok = true;
  std::string error;  ///< why the simulation failed (status "failed")
  double first_life_years = 0, second_life_years = 0;
  std::string first_life_end, second_life_end;
  double soh_first_life_end = 0, soh_second_life_end = 0;
  double throughput_first_MWh = 0, throughput_second_MWh = 0, efc_first = 0, efc_second = 0;
  std::vector<double> fade_by_year;  ///< fade at the end of each whole first-life year
  /// Contained and recovered kg of each element of fleet_elements() (NaN for a failed pack).
  std::array<std::pair<double, double>, 9> materials{};
  int warnings = 0;
};

/// Fleet-run options (the command line's).
struct FleetOptions {
  std::string out;         ///< fleet HDF5 file
  int threads = 0;         ///< 0: all cores
  bool resume = false;     ///< finish the run recorded in `out` and its journal
  bool force = false;      ///< overwrite an existing `out`
  double checkpoint_s = 30;  ///< rebuild the HDF5 file from the journal at most this often (and 20 rebuild times)
  /// Progress: packs done, failed, total, seconds since start.
  std::function<void(long long done, long long failed, long long total, double wall_s)> progress;
};

struct FleetRunInfo {
  long long packs = 0, failed = 0, simulated = 0;  ///< simulated: by this process (resume: the rest)
  double wall_s = 0;
};

/// Runs (or with opt.resume, finishes) the fleet of `s.fleet_packs` packs into opt.out.
/// InputError before any simulation for an output that exists (without force/resume) or cannot be
/// written, or a resume that does not match the file.
FleetRunInfo run_fleet(const Scenario& s, const FleetOptions& opt);

/// The scenario a fleet file was run with (InputError if it is not a packlife fleet file, or of a
/// newer format version).
Scenario fleet_file_scenario(const std::string& path);

/// The per-pack summary table of a fleet file (every completed pack, by id).
std::vector<FleetPackSummary> read_fleet_summary(const std::string& path);

/// The long-life target: share of packs whose first life lasted `years` with fade below `max_fade`.
struct TargetGroup {
  std::string by, value;
  long long packs = 0, passing = 0;
  double pass_fraction = 0, fade_p50 = 0;
};
struct TargetDriver {
  std::string input;
  /// Means over the worse and the better packs (drivers_basis); effect: standardised mean difference.
  double failing_mean = 0, passing_mean = 0, effect = 0;
};
struct TargetResult {
  int years = 12;
  double max_fade = 0.2, require = 0.95;
  long long packs = 0, passing = 0, failed_simulations = 0, retired_early = 0;
  double pass_fraction = 0;
  double fade_p50 = 0, fade_p90 = 0, fade_p99 = 0, fade_worst = 0;
  bool pass = false;
  std::vector<TargetGroup> groups;
  std::vector<TargetDriver> drivers;  ///< by |effect|, largest first
  std::string drivers_basis;          ///< which packs the drivers compare
};
/// Evaluates the target on a summary table (packs whose simulation failed count as not passing).
TargetResult evaluate_target(const std::vector<FleetPackSummary>& packs, int years, double max_fade, double require);

}  // namespace packlife
