#include "packlife/models/parameters.hpp"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "packlife/core/build_info.hpp"
#include "packlife/core/csv.hpp"
#include "packlife/core/yaml_source.hpp"

namespace packlife {

namespace {

enum class Kind { Number, Function, NumberOrFunction, Text };

/// Schema of one parameter: key, unit, kind, admissible range, and where it goes. All keys outside
/// the "ageing." section are required; ageing keys are required by the mechanisms that use them.
struct Spec {
  const char* key;
  const char* unit;
  Kind kind;
  double min, max;  ///< inclusive range for numbers
  std::function<void(ParameterSet&, double)> set_number;
  std::function<void(ParameterSet&, const ScalarFunction&)> set_function;  ///< built-in function or table
  std::function<void(ParameterSet&, const std::string&)> set_text = nullptr;
  bool optional() const { return std::string(key).rfind("ageing.", 0) == 0; }
};

constexpr double kInf = 1e300;

#define NUM(key, unit, lo, hi, member) \
  Spec { key, unit, Kind::Number, lo, hi, [](ParameterSet& p, double v) { p.member = v; }, nullptr }
#define FUN(key, unit, member) \
  Spec { key, unit, Kind::Function, 0, 0, nullptr, [](ParameterSet& p, const ScalarFunction& f) { p.member = f; } }
#define NUMFUN(key, unit, lo, hi, member)                                                            \
  Spec {                                                                                             \
    key, unit, Kind::NumberOrFunction, lo, hi, [](ParameterSet& p, double v) { p.member.constant = v; }, \
        [](ParameterSet& p, const ScalarFunction& f) { p.member = f; }                               \
  }

#define TEXT(key, member) \
  Spec { key, "-", Kind::Text, 0, 0, nullptr, nullptr, [](ParameterSet& p, const std::string& v) { p.member = v; } }
#define LAM(prefix, m)                                                                    \
  NUM(prefix ".lam_rate_s", "1/s", 0, 1, m.rate_s),                                       \
  NUM(prefix ".lam_exponent", "1", 0, 10, m.exponent),                                    \
  NUM(prefix ".critical_stress_Pa", "Pa", 1, 1e12, m.critical_stress_Pa),                 \
  NUM(prefix ".youngs_modulus_Pa", "Pa", 1, 1e13, m.youngs_modulus_Pa),                   \
  NUM(prefix ".poisson_ratio", "1", 0, 0.5, m.poisson_ratio),                             \
  NUM(prefix ".partial_molar_volume_m3_mol", "m3/mol", -1e-3, 1e-3, m.partial_molar_volume_m3_mol)

#define ELECTRODE(prefix, m)                                                                         \
  NUM(prefix ".thickness_m", "m", 1e-7, 1e-2, m.thickness_m),                                        \
  NUM(prefix ".particle_radius_m", "m", 1e-9, 1e-3, m.particle_radius_m),                            \
  NUM(prefix ".active_material_volume_fraction", "1", 1e-3, 1, m.active_material_fraction),          \
  NUM(prefix ".porosity", "1", 1e-3, 1, m.porosity),                                                 \
  NUM(prefix ".bruggeman_electrolyte", "1", 0, 10, m.bruggeman_electrolyte),                         \
  NUM(prefix ".bruggeman_electrode", "1", 0, 10, m.bruggeman_electrode),                             \
  NUM(prefix ".conductivity_S_m", "S/m", 1e-9, kInf, m.conductivity_S_m),                            \
  NUM(prefix ".max_concentration_mol_m3", "mol/m3", 1, kInf, m.max_concentration_mol_m3),            \
  NUM(prefix ".initial_concentration_mol_m3", "mol/m3", 0, kInf, m.initial_concentration_mol_m3),    \
  NUMFUN(prefix ".diffusivity_m2_s", "m2/s", 1e-30, 1, m.diffusivity_m2_s),                             \
  NUM(prefix ".diffusivity_activation_J_mol", "J/mol", 0, 1e6, m.diffusivity_activation_J_mol),      \
  NUM(prefix ".exchange_current_coefficient", "A/m2*(m3/mol)^1.5", 1e-30, kInf, m.exchange_current_coefficient), \
  NUM(prefix ".exchange_current_activation_J_mol", "J/mol", 0, 1e6, m.exchange_current_activation_J_mol), \
  NUM(prefix ".charge_transfer_coefficient", "1", 0.5, 0.5, m.charge_transfer_coefficient),          \
  FUN(prefix ".ocp_V", "V", m.ocp_V),                                                                \
  NUMFUN(prefix ".entropic_coefficient_V_K", "V/K", -1, 1, m.entropic_V_K),                          \
  NUM(prefix ".density_kg_m3", "kg/m3", 1, 1e5, m.density_kg_m3),                                    \
  NUM(prefix ".specific_heat_J_kgK", "J/(kg*K)", 1, 1e5, m.specific_heat_J_kgK)

const std::vector<Spec>& schema() {
  static const std::vector<Spec> s = {
      NUM("cell.electrode_height_m", "m", 1e-4, 100, cell.electrode_height_m),
      NUM("cell.electrode_width_m", "m", 1e-4, 100, cell.electrode_width_m),
      NUM("cell.nominal_capacity_Ah", "A*h", 1e-6, 1e5, cell.nominal_capacity_Ah),
      NUM("cell.lower_voltage_cutoff_V", "V", 0, 10, cell.lower_voltage_cutoff_V),
      NUM("cell.upper_voltage_cutoff_V", "V", 0, 10, cell.upper_voltage_cutoff_V),
      NUM("cell.reference_temperature_K", "K", 200, 400, cell.reference_temperature_K),
      NUM("cell.heat_transfer_coefficient_W_m2K", "W/(m2*K)", 0, 1e6, cell.heat_transfer_coefficient_W_m2K),
      NUM("cell.cooling_area_m2", "m2", 0, 100, cell.cooling_area_m2),
      NUM("cell.volume_m3", "m3", 1e-12, 10, cell.volume_m3),
      NUM("negative_current_collector.thickness_m", "m", 0, 1e-2, cell.negative_collector_thickness_m),
      NUM("negative_current_collector.density_kg_m3", "kg/m3", 1, 1e5, cell.negative_collector_density_kg_m3),
      NUM("negative_current_collector.specific_heat_J_kgK", "J/(kg*K)", 1, 1e5, cell.negative_collector_specific_heat_J_kgK),
      NUM("positive_current_collector.thickness_m", "m", 0, 1e-2, cell.positive_collector_thickness_m),
      NUM("positive_current_collector.density_kg_m3", "kg/m3", 1, 1e5, cell.positive_collector_density_kg_m3),
      NUM("positive_current_collector.specific_heat_J_kgK", "J/(kg*K)", 1, 1e5, cell.positive_collector_specific_heat_J_kgK),
      ELECTRODE("negative", negative),
      ELECTRODE("positive", positive),
      NUM("separator.thickness_m", "m", 1e-7, 1e-2, separator.thickness_m),
      NUM("separator.porosity", "1", 1e-3, 1, separator.porosity),
      NUM("separator.bruggeman_electrolyte", "1", 0, 10, separator.bruggeman_electrolyte),
      NUM("separator.density_kg_m3", "kg/m3", 1, 1e5, separator.density_kg_m3),
      NUM("separator.specific_heat_J_kgK", "J/(kg*K)", 1, 1e5, separator.specific_heat_J_kgK),
      NUM("electrolyte.initial_concentration_mol_m3", "mol/m3", 1, 1e5, electrolyte.initial_concentration_mol_m3),
      NUM("electrolyte.transference_number", "1", 0, 1, electrolyte.transference_number),
      NUMFUN("electrolyte.thermodynamic_factor", "1", 0, 100, electrolyte.thermodynamic_factor),
      NUMFUN("electrolyte.diffusivity_m2_s", "m2/s", 1e-30, 1, electrolyte.diffusivity_m2_s),
      NUM("electrolyte.diffusivity_activation_J_mol", "J/mol", 0, 1e6, electrolyte.diffusivity_activation_J_mol),
      NUMFUN("electrolyte.conductivity_S_m", "S/m", 1e-9, 1e6, electrolyte.conductivity_S_m),
      NUM("electrolyte.conductivity_activation_J_mol", "J/mol", 0, 1e6, electrolyte.conductivity_activation_J_mol),
      // Degradation (optional section).
      TEXT("ageing.default_mechanisms", ageing.default_mechanisms),
      TEXT("ageing.sei.form", ageing.sei_form),
      NUM("ageing.sei.initial_thickness_m", "m", 1e-12, 1e-5, ageing.sei_initial_thickness_m),
      NUM("ageing.sei.partial_molar_volume_m3_mol", "m3/mol", 1e-7, 1e-2, ageing.sei_partial_molar_volume_m3_mol),
      NUM("ageing.sei.lithium_per_sei", "1", 0.1, 10, ageing.sei_lithium_per_sei),
      NUM("ageing.sei.resistivity_ohm_m", "ohm*m", 0, 1e12, ageing.sei_resistivity_ohm_m),
      NUM("ageing.sei.solvent_diffusivity_m2_s", "m2/s", 0, 1e-10, ageing.sei_solvent_diffusivity_m2_s),
      NUM("ageing.sei.bulk_solvent_concentration_mol_m3", "mol/m3", 0, 1e5, ageing.sei_bulk_solvent_concentration_mol_m3),
      NUM("ageing.sei.exchange_current_A_m2", "A/m2", 0, 1, ageing.sei_exchange_current_A_m2),
      NUM("ageing.sei.open_circuit_potential_V", "V", -1, 3, ageing.sei_open_circuit_potential_V),
      NUM("ageing.sei.rate_constant_m_s", "m/s", 0, 1, ageing.sei_rate_constant_m_s),
      NUM("ageing.sei.interstitial_diffusivity_m2_s", "m2/s", 0, 1e-10, ageing.sei_interstitial_diffusivity_m2_s),
      NUM("ageing.sei.interstitial_concentration_mol_m3", "mol/m3", 0, 1e5, ageing.sei_interstitial_concentration_mol_m3),
      NUM("ageing.sei.interstitial_potential_share", "1", 0, 1, ageing.sei_interstitial_potential_share),
      NUM("ageing.sei.activation_J_mol", "J/mol", 0, 1e6, ageing.sei_activation_J_mol),
      NUM("ageing.plating.rate_constant_m_s", "m/s", 0, 1, ageing.plating_rate_constant_m_s),
      NUM("ageing.plating.transfer_coefficient", "1", 0.01, 0.99, ageing.plating_transfer_coefficient),
      NUM("ageing.plating.dead_decay_constant_s", "1/s", 0, 1, ageing.plating_dead_decay_s),
      NUM("ageing.plating.initial_concentration_mol_m3", "mol/m3", 0, 1e5, ageing.plating_initial_mol_m3),
      LAM("ageing.negative", ageing.lam_negative),
      LAM("ageing.positive", ageing.lam_positive),
  };
  return s;
}
#undef NUM
#undef FUN
#undef NUMFUN
#undef ELECTRODE
#undef TEXT
#undef LAM

std::string function_names() {
  std::string s;
  for (const auto& f : all_functions()) s += (s.empty() ? "" : ", ") + std::string(f.name);
  return s;
}

/// A table path as written in a parameter file: absolute, or relative to the file's folder, or
/// relative to the data folder (datasets/). Empty if none exists.
std::string resolve_table_path(const std::string& rel, const std::string& origin) {
  namespace fs = std::filesystem;
  std::vector<fs::path> candidates;
  if (fs::path(rel).is_absolute()) {
    candidates.push_back(rel);
  } else {
    candidates.push_back(fs::path(origin).parent_path() / rel);
    candidates.push_back(fs::path(data_dir()) / rel);
  }
  for (const auto& c : candidates)
    if (fs::is_regular_file(c)) return fs::absolute(c).lexically_normal().string();
  return "";
}

}  // namespace

std::string data_dir() {
  if (const char* env = std::getenv("PACKLIFE_DATA_DIR"); env && *env) return env;
  return build::data_dir;
}

std::vector<std::string> builtin_parameter_sets() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(data_dir() + "/parameters", ec))
    if (e.path().extension() == ".yaml") names.push_back(e.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

ParameterSet load_parameter_set(const std::string& name_or_path) {
  namespace fs = std::filesystem;
  std::string path = name_or_path;
  const bool looks_like_path = name_or_path.find('/') != std::string::npos ||
                               name_or_path.find('.') != std::string::npos;
  if (!looks_like_path) {
    path = data_dir() + "/parameters/" + name_or_path + ".yaml";
    if (!fs::exists(path)) {
      std::string known;
      for (const auto& n : builtin_parameter_sets()) known += (known.empty() ? "" : ", ") + n;
      throw InputError(fmt::format("unknown parameter set '{}'; built-in sets: {} (or give a file path)",
                                   name_or_path, known));
    }
  }
  std::ifstream in(path);
  if (!in) throw InputError(path, 0, 0, "", "cannot open parameter file for reading");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_parameter_set(ss.str(), path);
}

ParameterSet parse_parameter_set(const std::string& text, const std::string& origin) {
  const YamlSource src = YamlSource::load_string(text, origin);
  const YAML::Node& root = src.root();
  ParameterSet p;
  p.origin = origin;
  for (const auto& kv : root) {
    const std::string k = kv.first.Scalar();
    if (k != "name" && k != "title" && k != "references" && k != "parameters")
      throw src.error(kv.first, k, "unknown top-level key; expected name, title, references, parameters");
  }
  if (!root["name"]) throw src.error(root, "name", "missing; every parameter set needs a name");
  p.name = src.as_string(root["name"], "name");
  if (root["title"]) p.title = src.as_string(root["title"], "title");
  const YAML::Node refs = root["references"];
  if (!refs || !refs.IsMap()) throw src.error(root, "references", "missing: a mapping from short names to citations");
  for (const auto& kv : refs) p.references[kv.first.Scalar()] = src.as_string(kv.second, kv.first.Scalar());
  const YAML::Node params = root["parameters"];
  if (!params || !params.IsMap()) throw src.error(root, "parameters", "missing: a mapping of parameter entries");

  std::set<std::string> seen;
  for (const auto& kv : params) {
    const std::string key = kv.first.Scalar();
    const Spec* spec = nullptr;
    for (const auto& s : schema())
      if (key == s.key) spec = &s;
    if (!spec) throw src.error(kv.first, key, "unknown parameter (see docs/file-formats.md for the list)");
    if (!seen.insert(key).second) throw src.error(kv.first, key, "given twice");
    const YAML::Node& e = kv.second;
    if (!e.IsMap()) throw src.error(e, key, "expected a mapping {value|function, unit, source}");
    for (const auto& f : e) {
      const std::string fk = f.first.Scalar();
      if (fk != "value" && fk != "function" && fk != "table" && fk != "unit" && fk != "source" && fk != "note")
        throw src.error(f.first, key,
                        fmt::format("unknown field '{}'; expected value, function or table, unit, source, note", fk));
    }
    if (!e["unit"]) throw src.error(e, key, fmt::format("missing 'unit' (expected '{}')", spec->unit));
    const std::string unit = src.as_string(e["unit"], key);
    if (unit != spec->unit) throw src.error(e["unit"], key, fmt::format("unit '{}' where '{}' is expected", unit, spec->unit));
    if (!e["source"]) throw src.error(e, key, "missing 'source' (a short name from the references section)");
    const std::string source = src.as_string(e["source"], key);
    if (!p.references.count(source))
      throw src.error(e["source"], key, fmt::format("source '{}' is not listed under references", source));
    ParameterRecord rec{key, unit, source, ""};
    if (!!e["value"] + !!e["function"] + !!e["table"] > 1)
      throw src.error(e, key, "give one of 'value', 'function' or 'table'");
    if (spec->kind == Kind::Text) {
      if (!e["value"] || e["function"] || e["table"]) throw src.error(e, key, "expected a text 'value'");
      const std::string v = src.as_string(e["value"], key);
      spec->set_text(p, v);
      rec.value = v;
      rec.is_text = true;
    } else if (e["table"]) {
      if (spec->kind == Kind::Number) throw src.error(e["table"], key, "expected a number 'value', not a table");
      const std::string rel = src.as_string(e["table"], key);
      const std::string path = resolve_table_path(rel, origin);
      if (path.empty())
        throw src.error(e["table"], key,
                        fmt::format("table file '{}' not found (looked beside the parameter file and in {})", rel, data_dir()));
      ScalarFunction sf;
      sf.table = TableFunction::load(path);
      spec->set_function(p, sf);
      rec.value = path;
      rec.is_table = true;
    } else if (e["function"]) {
      if (spec->kind == Kind::Number) throw src.error(e["function"], key, "expected a number 'value', not a function");
      const std::string fname = src.as_string(e["function"], key);
      const NamedFunction* fn = find_function(fname);
      if (!fn) throw src.error(e["function"], key, fmt::format("unknown function '{}'; known: {}", fname, function_names()));
      if (std::string(fn->unit) != spec->unit)
        throw src.error(e["function"], key, fmt::format("function '{}' returns {}, expected {}", fname, fn->unit, spec->unit));
      ScalarFunction sf;
      sf.fn = fn;
      spec->set_function(p, sf);
      rec.value = fname;
    } else if (e["value"]) {
      if (spec->kind == Kind::Function) throw src.error(e["value"], key, "expected a 'function' name, not a number");
      const double v = src.as_double(e["value"], key);
      if (v < spec->min || v > spec->max)
        throw src.error(e["value"], key, fmt::format("value {} outside the admissible range [{}, {}]", v, spec->min, spec->max));
      spec->set_number(p, v);
      rec.value = fmt::format("{}", v);
    } else {
      throw src.error(e, key, "missing 'value' (or 'function')");
    }
    p.records.push_back(rec);
  }
  p.present = seen;
  for (const auto& s : schema())
    if (!s.optional() && !seen.count(s.key))
      throw src.error(params, s.key, fmt::format("required parameter missing (unit {})", s.unit));

  // Cross-checks.
  auto check_electrode = [&](const ElectrodeParameters& e, const char* name) {
    if (e.initial_concentration_mol_m3 >= e.max_concentration_mol_m3)
      throw src.error(params[std::string(name) + ".initial_concentration_mol_m3"],
                      std::string(name) + ".initial_concentration_mol_m3", "must be below the maximum concentration");
    if (e.porosity + e.active_material_fraction > 1.0 + 1e-12)
      throw src.error(params[std::string(name) + ".porosity"], std::string(name) + ".porosity",
                      "porosity plus active material volume fraction exceeds 1");
  };
  check_electrode(p.negative, "negative");
  check_electrode(p.positive, "positive");
  if (seen.count("ageing.sei.form") && p.ageing.sei_form != "solvent-diffusion" && p.ageing.sei_form != "reaction" &&
      p.ageing.sei_form != "reaction-diffusion" && p.ageing.sei_form != "interstitial-diffusion")
    throw src.error(params["ageing.sei.form"], "ageing.sei.form",
                    fmt::format("'{}': expected solvent-diffusion, reaction, reaction-diffusion or interstitial-diffusion",
                                p.ageing.sei_form));
  if (p.cell.lower_voltage_cutoff_V >= p.cell.upper_voltage_cutoff_V)
    throw src.error(params["cell.lower_voltage_cutoff_V"], "cell.lower_voltage_cutoff_V",
                    "must be below cell.upper_voltage_cutoff_V");
  return p;
}

std::vector<std::string> required_ageing_keys(const std::string& mechanism) {
  const std::vector<std::string> film = {"ageing.sei.initial_thickness_m", "ageing.sei.partial_molar_volume_m3_mol",
                                         "ageing.sei.lithium_per_sei", "ageing.sei.resistivity_ohm_m",
                                         "ageing.sei.activation_J_mol"};
  auto with = [&](std::vector<std::string> extra) {
    extra.insert(extra.begin(), film.begin(), film.end());
    return extra;
  };
  if (mechanism == "sei-solvent-diffusion")
    return with({"ageing.sei.solvent_diffusivity_m2_s", "ageing.sei.bulk_solvent_concentration_mol_m3"});
  if (mechanism == "sei-reaction")
    return with({"ageing.sei.exchange_current_A_m2", "ageing.sei.open_circuit_potential_V"});
  if (mechanism == "sei-reaction-diffusion")
    return with({"ageing.sei.rate_constant_m_s", "ageing.sei.open_circuit_potential_V",
                 "ageing.sei.solvent_diffusivity_m2_s", "ageing.sei.bulk_solvent_concentration_mol_m3"});
  if (mechanism == "sei-interstitial-diffusion")
    return with({"ageing.sei.interstitial_diffusivity_m2_s", "ageing.sei.interstitial_concentration_mol_m3"});
  if (mechanism == "plating")
    return {"ageing.plating.rate_constant_m_s", "ageing.plating.transfer_coefficient",
            "ageing.plating.dead_decay_constant_s", "ageing.plating.initial_concentration_mol_m3",
            "ageing.sei.initial_thickness_m"};
  if (mechanism == "plating-irreversible")
    return {"ageing.plating.rate_constant_m_s", "ageing.plating.transfer_coefficient"};
  if (mechanism == "lam" || mechanism == "lam-negative" || mechanism == "lam-positive") {
    std::vector<std::string> k;
    std::vector<const char*> electrodes;
    if (mechanism != "lam-positive") electrodes.push_back("negative");
    if (mechanism != "lam-negative") electrodes.push_back("positive");
    for (const char* e : electrodes) {
      for (const char* f : {"lam_rate_s", "lam_exponent", "critical_stress_Pa", "youngs_modulus_Pa", "poisson_ratio",
                            "partial_molar_volume_m3_mol"})
        k.push_back(fmt::format("ageing.{}.{}", e, f));
    }
    return k;
  }
  throw Error("unknown degradation mechanism '{}'", mechanism);
}

std::string ParameterSet::identity() const {
  std::string s = name;
  for (const auto& o : overrides) s += " --set " + o;
  return s;
}

void apply_parameter_overrides(ParameterSet& p, const std::vector<std::string>& assignments, const std::string& source) {
  const bool cli = source == "command-line";
  auto fail = [&](const std::string& assignment, const std::string& why) {
    return InputError(cli ? fmt::format("--set '{}': {}", assignment, why) : fmt::format("{}: '{}': {}", source, assignment, why));
  };
  // Validate each assignment on its own, then re-read the set once with all the new records, so every
  // check of a parameter file (ranges and cross-checks) applies to the result.
  ParameterSet q = p;
  for (const std::string& assignment : assignments) {
    const auto eq = assignment.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == assignment.size())
      throw fail(assignment, "expected KEY=VALUE, e.g. ageing.positive.lam_rate_s=2.8e-10");
    const std::string key = assignment.substr(0, eq), text = assignment.substr(eq + 1);
    const Spec* spec = nullptr;
    for (const auto& sp : schema())
      if (key == sp.key) spec = &sp;
    if (!spec) throw fail(assignment, fmt::format("unknown parameter '{}' (see docs/file-formats.md for the list)", key));
    ParameterRecord rec{key, spec->unit, source, text};
    if (spec->kind == Kind::Text) {
      rec.is_text = true;
    } else if (spec->kind == Kind::Function) {
      throw fail(assignment, fmt::format("'{}' is a function of state; give it in a parameter file", key));
    } else {
      const auto parsed = parse_number(text);
      if (!parsed) throw fail(assignment, fmt::format("'{}' is not a number (unit {})", text, spec->unit));
      if (*parsed < spec->min || *parsed > spec->max)
        throw fail(assignment, fmt::format("value {} outside the admissible range [{}, {}] {}", *parsed, spec->min,
                                           spec->max, spec->unit));
    }
    bool replaced = false;
    for (auto& r : q.records)
      if (r.key == key) r = rec, replaced = true;
    if (!replaced) q.records.push_back(rec);
  }
  if (assignments.empty()) return;
  q.references[source] = cli ? "value set on the command line with --set" : source;
  try {
    ParameterSet r = parse_parameter_set(q.to_yaml(), p.origin);
    r.overrides = p.overrides;
    r.overrides.insert(r.overrides.end(), assignments.begin(), assignments.end());
    p = std::move(r);
  } catch (const InputError& e) {  // a cross-check of the file format (located in the re-read text: drop that)
    std::string culprit = fmt::format("{}", fmt::join(assignments, " "));
    for (const std::string& a : assignments)
      if (!e.key().empty() && a.rfind(e.key() + "=", 0) == 0) culprit = a;
    throw fail(culprit, e.key().empty() ? e.detail() : fmt::format("'{}': {}", e.key(), e.detail()));
  }
}

void apply_parameter_override(ParameterSet& p, const std::string& assignment) {
  apply_parameter_overrides(p, {assignment});
}

double ParameterSet::stack_thickness_m() const {
  return cell.negative_collector_thickness_m + negative.thickness_m + separator.thickness_m +
         positive.thickness_m + cell.positive_collector_thickness_m;
}

double ParameterSet::volumetric_heat_capacity() const {
  const double sum = cell.negative_collector_density_kg_m3 * cell.negative_collector_specific_heat_J_kgK *
                         cell.negative_collector_thickness_m +
                     negative.density_kg_m3 * negative.specific_heat_J_kgK * negative.thickness_m +
                     separator.density_kg_m3 * separator.specific_heat_J_kgK * separator.thickness_m +
                     positive.density_kg_m3 * positive.specific_heat_J_kgK * positive.thickness_m +
                     cell.positive_collector_density_kg_m3 * cell.positive_collector_specific_heat_J_kgK *
                         cell.positive_collector_thickness_m;
  return sum / stack_thickness_m();
}

/// A loaded table's path as a written set should carry it: relative to the data folder when the table
/// lies inside it (resolve_table_path looks there), so the file stays valid in another clone or on
/// another machine; else absolute.
static std::string portable_table_path(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path data = fs::absolute(data_dir()).lexically_normal();
  const fs::path rel = fs::absolute(path).lexically_normal().lexically_relative(data);
  if (rel.empty() || *rel.begin() == "..") return path;
  return rel.generic_string();
}

std::string ParameterSet::to_yaml() const {
  YAML::Emitter out;
  out << YAML::BeginMap << YAML::Key << "name" << YAML::Value << name;
  if (!title.empty()) out << YAML::Key << "title" << YAML::Value << title;
  out << YAML::Key << "references" << YAML::Value << YAML::BeginMap;
  for (const auto& [k, v] : references) out << YAML::Key << k << YAML::Value << v;
  out << YAML::EndMap << YAML::Key << "parameters" << YAML::Value << YAML::BeginMap;
  for (const auto& r : records) {
    out << YAML::Key << r.key << YAML::Value << YAML::Flow << YAML::BeginMap;
    if (r.is_text)
      out << YAML::Key << "value" << YAML::Value << YAML::DoubleQuoted << r.value;
    else if (r.is_table)
      out << YAML::Key << "table" << YAML::Value << portable_table_path(r.value);
    else if (find_function(r.value))
      out << YAML::Key << "function" << YAML::Value << r.value;
    else
      out << YAML::Key << "value" << YAML::Value << r.value;
    out << YAML::Key << "unit" << YAML::Value << r.unit << YAML::Key << "source" << YAML::Value << r.source
        << YAML::EndMap;
  }
  out << YAML::EndMap << YAML::EndMap;
  return out.c_str();
}

}  // namespace packlife
