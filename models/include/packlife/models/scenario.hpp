#pragma once
/// @file scenario.hpp
/// Lifecycle scenarios: every input of `packlife lifecycle` as a dotted key ("pack.energy_kWh") with its
/// type, unit, range and default. Scenarios are YAML files of nested maps (datasets/scenarios/default.yaml
/// holds every default) plus `--set key=value` overrides; errors name the file, line, column and key,
/// and an unknown key gets the closest valid key as a suggestion.
#include <cstdint>
#include <string>
#include <vector>

namespace packlife {

struct Scenario {
  std::uint64_t seed = 1;

  // Pack (docs/models.md, "Pack")
  std::string pack_chemistry = "nmc811";
  double pack_energy_kWh = 75.0;
  double pack_cell_spread_cv = 0.01;

  // First-life usage (docs/models.md, "Lifecycle")
  std::string usage_mode = "swap";
  double usage_km_per_day = 66.0;       ///< ~2,000 km a month (../shared/DOMAIN.md)
  double usage_km_per_day_cv = 0.3;     ///< day-to-day spread of the distance driven
  std::string usage_drive_cycle = "cltc-p";
  double usage_fast_charge_share = 0.3;  ///< owned: share of the charged energy through DC fast charging
  double usage_fast_charge_c_rate = 1.5;
  double usage_home_charge_kW = 7.0;     ///< owned: home AC wallbox power
  double usage_charge_to_soc = 0.9;      ///< owned: SOC the driver charges to
  double usage_recharge_below_soc = 0.3; ///< owned: SOC at which the driver recharges

  double climate_constant_C = 25.0;      ///< used when climate.city is "constant"
  std::string climate_city = "shanghai";

  double station_charge_c_rate = 0.5;
  double station_temperature_C = 25.0;
  double station_condition_h = 1.0;      ///< a swapped-in pack takes the room's temperature before charging
  double station_storage_soc = 0.9;
  double station_swap_below_soc = 0.2;   ///< drivers swap when the pack gets this low
  double station_car_to_battery = 1.3;   ///< packs per car in the network (1 : 1.2-1.4, DOMAIN.md)

  double thermal_heating_below_C = 10.0;  ///< vehicle TMS heats the pack below this, when in use
  double thermal_cooling_above_C = 35.0;  ///< and cools it above this
  double thermal_fast_charge_preheat_C = 25.0;  ///< owned: DC fast charging heats the pack to at least this

  std::string second_life_application = "peak_shaving";
  double second_life_soc_min = 0.1;
  double second_life_soc_max = 0.9;
  double second_life_c_rate = 0.25;
  double second_life_hvac_low_C = 15.0;   ///< conditioned enclosures (peak_shaving, solar_storage) hold
  double second_life_hvac_high_C = 30.0;  ///< the cells between these temperatures

  double retire_first_life_soh = 0.80;
  double retire_resistance_growth = 1.0;  ///< leave first life when resistance has grown by this fraction
  double retire_second_life_soh = 0.60;
  double retire_plated_lithium = 0.01;    ///< fraction of the cyclable lithium held as plated metal
  double retire_knee_factor = 3.0;        ///< knee: fade over 12 months > factor x the lifetime mean rate
  double retire_max_first_life_years = 15.0;
  double retire_max_second_life_years = 10.0;

  std::string recycling_process = "hydrometallurgy";

  // Lifecycle numerics (docs/models.md, "Lifecycle: numerics"): the rates of driving, station and
  // storage duty are low, so a coarse mesh changes the 12-year fade by < 0.01 points (measured).
  double simulation_accelerate_tol = 1e-3;
  double simulation_rtol = 2e-3;
  double simulation_landings_per_year = 3;
  double simulation_resolved_per_landing = 1;
  double simulation_particle_cells = 10;
  double simulation_electrolyte_cells = 5;
  std::string simulation_model = "spme";
  std::string simulation_seasonal_extrapolation = "arrhenius";

  // Fleet sampling (`packlife fleet`, docs/models.md "Fleet"): each pack draws its city, usage mode,
  // chemistry and size from these mixes ("name:weight,..."), and its mean daily distance, DC
  // fast-charging share and cell spread from distributions around the keys above.
  double fleet_packs = 200;
  std::string fleet_city_mix = "shanghai:0.25,beijing:0.15,guangzhou:0.15,chengdu:0.15,wuhan:0.1,harbin:0.1,urumqi:0.1";
  std::string fleet_mode_mix = "swap:0.85,owned:0.15";
  std::string fleet_chemistry_mix = "nmc811:0.6,lfp:0.4";
  std::string fleet_energy_mix_kWh = "75:0.5,100:0.45,150:0.05";
  double fleet_swap_km_per_day_cv = 0.1;   ///< pack-to-pack spread of a swap pack's mean km/day (network averages)
  double fleet_owned_km_per_day_cv = 0.4;  ///< pack-to-pack spread of an owned car's mean km/day (one driver)
  double fleet_fast_charge_share_max = 0.6;  ///< owned packs: DC share drawn uniformly in [0, this]
  double fleet_cell_spread_variation = 0.3;  ///< lognormal pack-to-pack spread of pack.cell_spread_cv
};

/// A fleet mix "name:weight,...": names with weights normalised to sum 1.
using Mix = std::vector<std::pair<std::string, double>>;
/// Parses the mix of scenario key `key` (fleet.city_mix, ...), checking every name; InputError naming
/// the key for a malformed entry, an unknown name or a weight that is not positive.
Mix parse_mix(const std::string& key, const std::string& text);

/// One scenario key: its name, kind, unit, range or choices, and meaning (for messages and docs).
struct ScenarioKey {
  std::string key;
  std::string kind;  ///< "number", "integer" or "text"
  std::string unit;
  double min = 0, max = 0;            ///< inclusive range of numbers
  std::vector<std::string> choices;   ///< allowed texts (empty: checked elsewhere)
  std::string help;
};

/// Every key, in file order.
const std::vector<ScenarioKey>& scenario_keys();
/// The value of `key` in `s` as text (numbers in shortest round-trip form).
std::string scenario_value(const Scenario& s, const std::string& key);
/// Sets `key` from text with type and range checks; InputError naming `file:line:column` and the key
/// (file "" for the command line) and, for an unknown key, suggesting the closest valid one.
void set_scenario_value(Scenario& s, const std::string& key, const std::string& text, const std::string& file = "",
                        int line = 0, int column = 0);
/// Reads a scenario YAML file (nested maps of the dotted keys) over the defaults.
Scenario load_scenario(const std::string& path);
/// Parses YAML text (`name` for messages).
Scenario parse_scenario(const std::string& text, const std::string& name);
/// Applies "key=value" overrides in order (errors name the assignment).
void apply_scenario_overrides(Scenario& s, const std::vector<std::string>& assignments);
/// Checks combinations of keys (e.g. second_life.soc_min < soc_max); InputError naming the keys.
void check_scenario(const Scenario& s);
/// The scenario as YAML with every key, each with its unit and meaning as a comment (re-loadable).
std::string scenario_yaml(const Scenario& s);
/// The valid key closest to `key` (edit distance), for "did you mean" messages.
std::string closest_scenario_key(const std::string& key);

}  // namespace packlife
