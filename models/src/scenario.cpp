#include "packlife/models/scenario.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include "packlife/core/csv.hpp"
#include "packlife/core/error.hpp"
#include "packlife/core/yaml_source.hpp"
#include "packlife/models/climate.hpp"

namespace packlife {

namespace {

struct Entry {
  ScenarioKey spec;
  double Scenario::*num = nullptr;
  std::string Scenario::*text = nullptr;
  std::uint64_t Scenario::*integer = nullptr;
};

Entry number(const char* key, const char* unit, double lo, double hi, double Scenario::*m, const char* help) {
  return Entry{ScenarioKey{key, "number", unit, lo, hi, {}, help}, m, nullptr, nullptr};
}
Entry text(const char* key, std::vector<std::string> choices, std::string Scenario::*m, const char* help) {
  return Entry{ScenarioKey{key, "text", "", 0, 0, std::move(choices), help}, nullptr, m, nullptr};
}

const std::vector<Entry>& entries() {
  static const std::vector<Entry> e = [] {
    using S = Scenario;
    std::vector<Entry> v;
    v.push_back(Entry{ScenarioKey{"seed", "integer", "", 0, 1.8446744073709552e19, {},
                                  "random seed: a pack's day-to-day spread of driving; in a fleet, every pack's draws"},
                      nullptr, nullptr, &S::seed});
    v.push_back(text("pack.chemistry", {"nmc811", "lfp"}, &S::pack_chemistry,
                     "nmc811 (okane2022-storage cell, LG M50) or lfp (prada2013-storage cell, A123)"));
    v.push_back(number("pack.energy_kWh", "kWh", 10, 300, &S::pack_energy_kWh, "nominal pack energy"));
    v.push_back(number("pack.cell_spread_cv", "1", 0, 0.1, &S::pack_cell_spread_cv,
                       "cell-to-cell coefficient of variation of capacity, resistance and ageing rate"));
    v.push_back(text("usage.mode", {"swap", "owned"}, &S::usage_mode,
                     "swap: the pack circulates in a swapping network; owned: one car, charged by its driver"));
    v.push_back(number("usage.km_per_day", "km", 1, 1000, &S::usage_km_per_day, "mean distance driven per car and day"));
    v.push_back(number("usage.km_per_day_cv", "1", 0, 2, &S::usage_km_per_day_cv,
                       "day-to-day coefficient of variation of the distance driven"));
    v.push_back(text("usage.drive_cycle", {}, &S::usage_drive_cycle,
                     "speed trace the driving follows: cltc-p, wltc-class3b or a CSV file time_s,speed_kmh"));
    v.push_back(number("usage.fast_charge_share", "1", 0, 1, &S::usage_fast_charge_share,
                       "owned: share of the charged energy taken by DC fast charging"));
    v.push_back(number("usage.fast_charge_c_rate", "1/h", 0.1, 6, &S::usage_fast_charge_c_rate,
                       "owned: DC fast-charging current as a C-rate"));
    v.push_back(number("usage.home_charge_kW", "kW", 1, 50, &S::usage_home_charge_kW, "owned: home AC charging power"));
    v.push_back(number("usage.charge_to_soc", "1", 0.3, 1, &S::usage_charge_to_soc, "owned: SOC the driver charges to"));
    v.push_back(number("usage.recharge_below_soc", "1", 0.02, 0.9, &S::usage_recharge_below_soc,
                       "owned: SOC at which the driver plugs in"));
    v.push_back(text("climate.city", {}, &S::climate_city,
                     "harbin, beijing, shanghai, wuhan, chengdu, guangzhou, urumqi, or constant"));
    v.push_back(number("climate.constant_C", "degC", -40, 60, &S::climate_constant_C,
                       "air temperature all year when climate.city is constant"));
    v.push_back(number("station.charge_c_rate", "1/h", 0.05, 4, &S::station_charge_c_rate,
                       "swap: station charging current as a C-rate"));
    v.push_back(number("station.temperature_C", "degC", -10, 50, &S::station_temperature_C,
                       "swap: temperature of the station's charging room"));
    v.push_back(number("station.condition_h", "h", 0, 12, &S::station_condition_h,
                       "swap: hours a swapped-in pack waits in the charging room, taking its temperature, before charging"));
    v.push_back(number("station.storage_soc", "1", 0.3, 1, &S::station_storage_soc,
                       "swap: SOC the station charges packs to and stores them at"));
    v.push_back(number("station.swap_below_soc", "1", 0.02, 0.9, &S::station_swap_below_soc,
                       "swap: SOC at which drivers swap"));
    v.push_back(number("station.car_to_battery", "1", 1.0, 3.0, &S::station_car_to_battery,
                       "swap: packs in the network per car (1.2-1.4 in service)"));
    v.push_back(number("thermal.heating_below_C", "degC", -30, 30, &S::thermal_heating_below_C,
                       "vehicle thermal management heats the pack below this temperature while driving or charging"));
    v.push_back(number("thermal.cooling_above_C", "degC", 15, 60, &S::thermal_cooling_above_C,
                       "and cools it above this temperature"));
    v.push_back(number("thermal.fast_charge_preheat_C", "degC", -30, 60, &S::thermal_fast_charge_preheat_C,
                       "owned: the car preheats the pack to at least this temperature for DC fast charging"));
    v.push_back(text("second_life.application", {"peak_shaving", "base_station", "solar_storage", "low_speed_ev"},
                     &S::second_life_application, "stationary or light-vehicle duty after first life"));
    v.push_back(number("second_life.soc_min", "1", 0, 0.9, &S::second_life_soc_min, "lower SOC bound of the duty"));
    v.push_back(number("second_life.soc_max", "1", 0.1, 1, &S::second_life_soc_max, "upper SOC bound of the duty"));
    v.push_back(number("second_life.c_rate", "1/h", 0.02, 2, &S::second_life_c_rate,
                       "charge and discharge current of the duty as a C-rate of the pack's rated capacity"));
    v.push_back(number("second_life.hvac_low_C", "degC", -20, 40, &S::second_life_hvac_low_C,
                       "conditioned enclosures (peak_shaving, solar_storage) heat below this"));
    v.push_back(number("second_life.hvac_high_C", "degC", 0, 60, &S::second_life_hvac_high_C, "and cool above this"));
    v.push_back(number("retire.first_life_soh", "1", 0.3, 1, &S::retire_first_life_soh,
                       "first life ends when the pack's capacity falls below this fraction of rated"));
    v.push_back(number("retire.resistance_growth", "1", 0.05, 10, &S::retire_resistance_growth,
                       "or when its resistance has grown by this fraction"));
    v.push_back(number("retire.second_life_soh", "1", 0.1, 1, &S::retire_second_life_soh,
                       "second life ends below this fraction of rated capacity"));
    v.push_back(number("retire.plated_lithium", "1", 1e-5, 0.5, &S::retire_plated_lithium,
                       "or when plated lithium (reversible and dead; mean of the last 12 months) passes this fraction of the cyclable lithium"));
    v.push_back(number("retire.knee_factor", "1", 1.5, 100, &S::retire_knee_factor,
                       "or at a knee: fade over the last 12 months faster than this times the lifetime mean (and > 1 %)"));
    v.push_back(number("retire.max_first_life_years", "year", 0.1, 40, &S::retire_max_first_life_years,
                       "longest first life simulated"));
    v.push_back(number("retire.max_second_life_years", "year", 0, 40, &S::retire_max_second_life_years,
                       "longest second life simulated (0: none)"));
    v.push_back(text("recycling.process", {"hydrometallurgy", "pyrometallurgy"}, &S::recycling_process,
                     "recovery route at the end of life"));
    v.push_back(number("simulation.accelerate_tol", "1", 1e-6, 1e-2, &S::simulation_accelerate_tol,
                       "cycle-jumping error allowed per jump (fractions of lithium and active material)"));
    v.push_back(number("simulation.landings_per_year", "1", 0, 24, &S::simulation_landings_per_year,
                       "cycle-jump landings per year under a seasonal climate (0: jumps not tied to the seasons)"));
    v.push_back(number("simulation.resolved_per_landing", "cycle", 1, 2, &S::simulation_resolved_per_landing,
                       "cycles resolved at each cycle-jump landing (1 or 2)"));
    v.push_back(text("simulation.seasonal_extrapolation", {"arrhenius", "linear"}, &S::simulation_seasonal_extrapolation,
                     "SEI growth across a cycle jump under a climate: arrhenius (weighted by the seasons' temperatures) or linear"));
    v.push_back(number("simulation.rtol", "1", 1e-7, 1e-2, &S::simulation_rtol,
                       "integrator relative tolerance of the cell model"));
    v.push_back(number("simulation.particle_cells", "1", 3, 200, &S::simulation_particle_cells,
                       "finite volumes per particle radius"));
    v.push_back(number("simulation.electrolyte_cells", "1", 2, 100, &S::simulation_electrolyte_cells,
                       "finite volumes per electrolyte region (spme)"));
    v.push_back(text("simulation.model", {"spm", "spme"}, &S::simulation_model, "cell model"));
    v.push_back(number("fleet.packs", "1", 1, 1e6, &S::fleet_packs, "packlife fleet: number of packs"));
    v.push_back(text("fleet.city_mix", {}, &S::fleet_city_mix, "share of the fleet's packs in each city, name:weight,..."));
    v.push_back(text("fleet.mode_mix", {}, &S::fleet_mode_mix, "share of packs in swapping networks and in owned cars"));
    v.push_back(text("fleet.chemistry_mix", {}, &S::fleet_chemistry_mix, "share of packs of each chemistry"));
    v.push_back(text("fleet.energy_mix_kWh", {}, &S::fleet_energy_mix_kWh, "share of packs of each size, kWh:weight,..."));
    v.push_back(number("fleet.swap_km_per_day_cv", "1", 0, 2, &S::fleet_swap_km_per_day_cv,
                       "pack-to-pack coefficient of variation of a swap pack's mean daily distance (network average)"));
    v.push_back(number("fleet.owned_km_per_day_cv", "1", 0, 2, &S::fleet_owned_km_per_day_cv,
                       "pack-to-pack coefficient of variation of an owned car's mean daily distance"));
    v.push_back(number("fleet.fast_charge_share_max", "1", 0, 1, &S::fleet_fast_charge_share_max,
                       "owned packs draw usage.fast_charge_share uniformly between 0 and this"));
    v.push_back(number("fleet.cell_spread_variation", "1", 0, 2, &S::fleet_cell_spread_variation,
                       "pack-to-pack coefficient of variation of pack.cell_spread_cv (lognormal)"));
    return v;
  }();
  return e;
}

const Entry* find(const std::string& key) {
  for (const Entry& e : entries())
    if (e.spec.key == key) return &e;
  return nullptr;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t sub = prev[j - 1] + (std::tolower(a[i - 1]) == std::tolower(b[j - 1]) ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string format_number(double v) {
  // Shortest text that reads back to the same double.
  for (int prec = 6; prec <= 17; ++prec) {
    const std::string s = fmt::format("{:.{}g}", v, prec);
    if (std::stod(s) == v) return s;
  }
  return fmt::format("{:.17g}", v);
}

void walk(const YamlSource& src, const YAML::Node& node, const std::string& prefix, Scenario& s) {
  for (const auto& kv : node) {
    const std::string name = kv.first.as<std::string>();
    const std::string key = prefix.empty() ? name : prefix + "." + name;
    const YAML::Mark mk = kv.first.Mark();
    if (kv.second.IsMap()) {
      walk(src, kv.second, key, s);
      continue;
    }
    if (!kv.second.IsScalar() || kv.second.IsNull()) {
      const YAML::Mark vm = kv.second.IsDefined() && !kv.second.IsNull() ? kv.second.Mark() : mk;
      if (!find(key)) set_scenario_value(s, key, "", src.file(), mk.line + 1, mk.column + 1);  // unknown key first
      throw InputError(src.file(), vm.line + 1, vm.column + 1, key,
                       fmt::format("expected a single value ({})", find(key)->spec.kind));
    }
    const YAML::Mark vm = kv.second.Mark();
    if (!find(key)) set_scenario_value(s, key, "", src.file(), mk.line + 1, mk.column + 1);
    set_scenario_value(s, key, kv.second.Scalar(), src.file(), vm.line + 1, vm.column + 1);
  }
}

}  // namespace

const std::vector<ScenarioKey>& scenario_keys() {
  static const std::vector<ScenarioKey> k = [] {
    std::vector<ScenarioKey> v;
    for (const Entry& e : entries()) v.push_back(e.spec);
    return v;
  }();
  return k;
}

std::string closest_scenario_key(const std::string& key) {
  std::string best;
  size_t bd = std::numeric_limits<size_t>::max();
  for (const Entry& e : entries()) {
    // Compare with the whole key and with its last part (a key put under the wrong section).
    const std::string& k = e.spec.key;
    const std::string tail = k.substr(k.rfind('.') + 1);
    const std::string ktail = key.substr(key.rfind('.') == std::string::npos ? 0 : key.rfind('.') + 1);
    const size_t d = std::min(edit_distance(key, k), edit_distance(ktail, tail) + 1);
    if (d < bd) { bd = d; best = k; }
  }
  return best;
}

std::string scenario_value(const Scenario& s, const std::string& key) {
  const Entry* e = find(key);
  if (!e) throw InputError("", 0, 0, key, fmt::format("unknown scenario key; did you mean '{}'?", closest_scenario_key(key)));
  if (e->num) return format_number(s.*(e->num));
  if (e->integer) return std::to_string(s.*(e->integer));
  return s.*(e->text);
}

void set_scenario_value(Scenario& s, const std::string& key, const std::string& value, const std::string& file,
                        int line, int column) {
  const Entry* e = find(key);
  if (!e)
    throw InputError(file, line, column, key,
                     fmt::format("unknown scenario key; did you mean '{}'? (every key is listed in "
                                 "datasets/scenarios/default.yaml)", closest_scenario_key(key)));
  const ScenarioKey& k = e->spec;
  if (e->num) {
    const std::optional<double> parsed = parse_number(value);
    if (!parsed) throw InputError(file, line, column, key, fmt::format("expected a number [{}], got '{}'", k.unit, value));
    const double v = *parsed;
    if (!(v >= k.min && v <= k.max))
      throw InputError(file, line, column, key,
                       fmt::format("{} is out of range: expected {} to {} {}", value, format_number(k.min),
                                   format_number(k.max), k.unit == "1" ? "(a fraction)" : k.unit));
    if (key.size() > 6 && key.compare(key.size() - 6, 6, "_cells") == 0 && v != std::floor(v))
      throw InputError(file, line, column, key, fmt::format("expected a whole number of cells, got '{}'", value));
    if (key == "simulation.landings_per_year" && v != std::floor(v))
      throw InputError(file, line, column, key, fmt::format("expected a whole number of landings, got '{}'", value));
    if (key == "simulation.resolved_per_landing" && v != std::floor(v))
      throw InputError(file, line, column, key, fmt::format("expected a whole number of cycles (1 or 2), got '{}'", value));
    if (key == "fleet.packs" && v != std::floor(v))
      throw InputError(file, line, column, key, fmt::format("expected a whole number of packs, got '{}'", value));
    s.*(e->num) = v;
  } else if (e->integer) {
    const std::string t = value;
    const bool digits = !t.empty() && t.size() <= 20 && std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits) throw InputError(file, line, column, key, fmt::format("expected a non-negative integer, got '{}'", value));
    try {
      s.*(e->integer) = std::stoull(t);
    } catch (const std::exception&) {
      throw InputError(file, line, column, key, fmt::format("'{}' does not fit in 64 bits", value));
    }
  } else {
    if (!k.choices.empty() && std::find(k.choices.begin(), k.choices.end(), value) == k.choices.end()) {
      std::string list;
      for (const auto& c : k.choices) list += (list.empty() ? "" : ", ") + c;
      throw InputError(file, line, column, key, fmt::format("'{}': expected one of {}", value, list));
    }
    if (key == "climate.city" && value != "constant") {
      const auto cities = Climate::cities();
      if (std::find(cities.begin(), cities.end(), value) == cities.end()) {
        std::string list;
        for (const auto& c : cities) list += c + ", ";
        throw InputError(file, line, column, key, fmt::format("unknown city '{}': expected one of {}or constant", value, list));
      }
    }
    // A drive-cycle name or path is checked when the cycle is loaded (errors name its file and line).
    if (key == "usage.drive_cycle" && value.empty())
      throw InputError(file, line, column, key, "expected a drive cycle name or a CSV file path");
    if (key.rfind("fleet.", 0) == 0) {
      try {
        parse_mix(key, value);
      } catch (const InputError& err) {
        throw InputError(file, line, column, key, err.detail());
      }
    }
    s.*(e->text) = value;
  }
}

Mix parse_mix(const std::string& key, const std::string& text) {
  Mix mix;
  double total = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    const size_t comma = std::min(text.find(',', pos), text.size());
    std::string item = text.substr(pos, comma - pos);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    pos = comma + 1;
    const size_t colon = item.find(':');
    const std::optional<double> w = colon == std::string::npos ? std::nullopt : parse_number(item.substr(colon + 1));
    if (colon == std::string::npos || colon == 0 || !w)
      throw InputError("", 0, 0, key, fmt::format("'{}' is not name:weight (the mix is e.g. \"{}\")", item,
                                                  key == "fleet.energy_mix_kWh" ? "75:0.5,100:0.5" : "swap:0.8,owned:0.2"));
    const std::string name = item.substr(0, colon);
    if (!(*w > 0 && std::isfinite(*w)))
      throw InputError("", 0, 0, key, fmt::format("weight of '{}' must be a positive number, got {}", name, item.substr(colon + 1)));
    if (key == "fleet.city_mix") {
      const auto cities = Climate::cities();
      if (std::find(cities.begin(), cities.end(), name) == cities.end())
        throw InputError("", 0, 0, key, fmt::format("unknown city '{}': expected one of {}", name, fmt::join(cities, ", ")));
    } else if (key == "fleet.mode_mix") {
      if (name != "swap" && name != "owned") throw InputError("", 0, 0, key, fmt::format("unknown usage mode '{}': expected swap or owned", name));
    } else if (key == "fleet.chemistry_mix") {
      if (name != "nmc811" && name != "lfp") throw InputError("", 0, 0, key, fmt::format("unknown chemistry '{}': expected nmc811 or lfp", name));
    } else if (key == "fleet.energy_mix_kWh") {
      const std::optional<double> e = parse_number(name);
      if (!e || !(*e >= 10 && *e <= 300))
        throw InputError("", 0, 0, key, fmt::format("pack size '{}' must be a number of kWh from 10 to 300", name));
    }
    for (const auto& [n, _] : mix)
      if (n == name) throw InputError("", 0, 0, key, fmt::format("'{}' appears twice", name));
    mix.emplace_back(name, *w);
    total += *w;
    if (comma == text.size()) break;
  }
  for (auto& [_, w] : mix) w /= total;
  return mix;
}

void apply_scenario_overrides(Scenario& s, const std::vector<std::string>& assignments) {
  for (const std::string& a : assignments) {
    const auto eq = a.find('=');
    if (eq == std::string::npos || eq == 0)
      throw InputError("", 0, 0, a, "--set expects KEY=VALUE, e.g. --set climate.city=harbin");
    set_scenario_value(s, a.substr(0, eq), a.substr(eq + 1), "--set", 0, 0);
  }
}

void check_scenario(const Scenario& s) {
  auto fail = [](const char* key, const std::string& msg) { throw InputError("", 0, 0, key, msg); };
  if (!(s.second_life_soc_min < s.second_life_soc_max))
    fail("second_life.soc_min", fmt::format("{} must be below second_life.soc_max ({})", s.second_life_soc_min,
                                             s.second_life_soc_max));
  if (!(s.station_swap_below_soc + 0.05 <= s.station_storage_soc))
    fail("station.swap_below_soc", fmt::format("{} must be at least 0.05 below station.storage_soc ({})",
                                                s.station_swap_below_soc, s.station_storage_soc));
  if (!(s.usage_recharge_below_soc + 0.05 <= s.usage_charge_to_soc))
    fail("usage.recharge_below_soc", fmt::format("{} must be at least 0.05 below usage.charge_to_soc ({})",
                                                  s.usage_recharge_below_soc, s.usage_charge_to_soc));
  if (!(s.thermal_heating_below_C < s.thermal_cooling_above_C))
    fail("thermal.heating_below_C", fmt::format("{} C must be below thermal.cooling_above_C ({} C)",
                                                 s.thermal_heating_below_C, s.thermal_cooling_above_C));
  if (!(s.thermal_fast_charge_preheat_C <= s.thermal_cooling_above_C))
    fail("thermal.fast_charge_preheat_C", fmt::format("{} C must not be above thermal.cooling_above_C ({} C)",
                                                      s.thermal_fast_charge_preheat_C, s.thermal_cooling_above_C));
  if (!(s.second_life_hvac_low_C < s.second_life_hvac_high_C))
    fail("second_life.hvac_low_C", fmt::format("{} C must be below second_life.hvac_high_C ({} C)",
                                                s.second_life_hvac_low_C, s.second_life_hvac_high_C));
  if (!(s.retire_second_life_soh < s.retire_first_life_soh))
    fail("retire.second_life_soh", fmt::format("{} must be below retire.first_life_soh ({})", s.retire_second_life_soh,
                                                s.retire_first_life_soh));
}

Scenario parse_scenario(const std::string& text, const std::string& name) {
  const YamlSource src = YamlSource::load_string(text, name);
  Scenario s;
  walk(src, src.root(), "", s);
  return s;
}

Scenario load_scenario(const std::string& path) {
  const YamlSource src = YamlSource::load_file(path);
  Scenario s;
  walk(src, src.root(), "", s);
  return s;
}

std::string scenario_yaml(const Scenario& s) {
  std::string out =
      "# packlife scenario (lifecycle and fleet): every key with its default (docs/models.md, \"Lifecycle\", \"Fleet\").\n"
      "# Override any key on the command line with --set key=value, e.g. --set climate.city=harbin.\n";
  std::string section;
  for (const Entry& e : entries()) {
    const std::string& k = e.spec.key;
    const auto dot = k.find('.');
    const std::string sec = dot == std::string::npos ? "" : k.substr(0, dot);
    const std::string leaf = dot == std::string::npos ? k : k.substr(dot + 1);
    if (sec != section) {
      out += sec.empty() ? "" : sec + ":\n";
      section = sec;
    }
    const std::string unit = e.spec.unit.empty() || e.spec.unit == "1" ? "" : " [" + e.spec.unit + "]";
    out += fmt::format("{}{}: {}  # {}{}\n", sec.empty() ? "" : "  ", leaf, scenario_value(s, k), e.spec.help, unit);
  }
  return out;
}

}  // namespace packlife
