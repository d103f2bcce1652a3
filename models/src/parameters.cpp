#include "packlife/models/parameters.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "packlife/core/build_info.hpp"
#include "packlife/core/yaml_source.hpp"

namespace packlife {

namespace {

enum class Kind { Number, Function, NumberOrFunction };

/// Schema of one parameter (all are required): key, unit, kind, admissible range, and where it goes.
struct Spec {
  const char* key;
  const char* unit;
  Kind kind;
  double min, max;  ///< inclusive range for numbers
  std::function<void(ParameterSet&, double)> set_number;
  std::function<void(ParameterSet&, const NamedFunction*)> set_function;
};

constexpr double kInf = 1e300;

#define NUM(key, unit, lo, hi, member) \
  Spec { key, unit, Kind::Number, lo, hi, [](ParameterSet& p, double v) { p.member = v; }, nullptr }
#define FUN(key, unit, member) \
  Spec { key, unit, Kind::Function, 0, 0, nullptr, [](ParameterSet& p, const NamedFunction* f) { p.member.fn = f; } }
#define NUMFUN(key, unit, lo, hi, member)                                                            \
  Spec {                                                                                             \
    key, unit, Kind::NumberOrFunction, lo, hi, [](ParameterSet& p, double v) { p.member.constant = v; }, \
        [](ParameterSet& p, const NamedFunction* f) { p.member.fn = f; }                             \
  }

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
  NUM(prefix ".diffusivity_m2_s", "m2/s", 1e-30, 1, m.diffusivity_m2_s),                             \
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
      NUM("electrolyte.thermodynamic_factor", "1", 0, 100, electrolyte.thermodynamic_factor),
      NUMFUN("electrolyte.diffusivity_m2_s", "m2/s", 1e-30, 1, electrolyte.diffusivity_m2_s),
      NUM("electrolyte.diffusivity_activation_J_mol", "J/mol", 0, 1e6, electrolyte.diffusivity_activation_J_mol),
      NUMFUN("electrolyte.conductivity_S_m", "S/m", 1e-9, 1e6, electrolyte.conductivity_S_m),
      NUM("electrolyte.conductivity_activation_J_mol", "J/mol", 0, 1e6, electrolyte.conductivity_activation_J_mol),
  };
  return s;
}
#undef NUM
#undef FUN
#undef NUMFUN
#undef ELECTRODE

std::string function_names() {
  std::string s;
  for (const auto& f : all_functions()) s += (s.empty() ? "" : ", ") + std::string(f.name);
  return s;
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
      if (fk != "value" && fk != "function" && fk != "unit" && fk != "source" && fk != "note")
        throw src.error(f.first, key, fmt::format("unknown field '{}'; expected value or function, unit, source, note", fk));
    }
    if (!e["unit"]) throw src.error(e, key, fmt::format("missing 'unit' (expected '{}')", spec->unit));
    const std::string unit = src.as_string(e["unit"], key);
    if (unit != spec->unit) throw src.error(e["unit"], key, fmt::format("unit '{}' where '{}' is expected", unit, spec->unit));
    if (!e["source"]) throw src.error(e, key, "missing 'source' (a short name from the references section)");
    const std::string source = src.as_string(e["source"], key);
    if (!p.references.count(source))
      throw src.error(e["source"], key, fmt::format("source '{}' is not listed under references", source));
    ParameterRecord rec{key, unit, source, ""};
    if (e["value"] && e["function"]) throw src.error(e, key, "give either 'value' or 'function', not both");
    if (e["function"]) {
      if (spec->kind == Kind::Number) throw src.error(e["function"], key, "expected a number 'value', not a function");
      const std::string fname = src.as_string(e["function"], key);
      const NamedFunction* fn = find_function(fname);
      if (!fn) throw src.error(e["function"], key, fmt::format("unknown function '{}'; known: {}", fname, function_names()));
      if (std::string(fn->unit) != spec->unit)
        throw src.error(e["function"], key, fmt::format("function '{}' returns {}, expected {}", fname, fn->unit, spec->unit));
      spec->set_function(p, fn);
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
  for (const auto& s : schema())
    if (!seen.count(s.key))
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
  if (p.cell.lower_voltage_cutoff_V >= p.cell.upper_voltage_cutoff_V)
    throw src.error(params["cell.lower_voltage_cutoff_V"], "cell.lower_voltage_cutoff_V",
                    "must be below cell.upper_voltage_cutoff_V");
  return p;
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

std::string ParameterSet::to_yaml() const {
  YAML::Emitter out;
  out << YAML::BeginMap << YAML::Key << "name" << YAML::Value << name;
  if (!title.empty()) out << YAML::Key << "title" << YAML::Value << title;
  out << YAML::Key << "references" << YAML::Value << YAML::BeginMap;
  for (const auto& [k, v] : references) out << YAML::Key << k << YAML::Value << v;
  out << YAML::EndMap << YAML::Key << "parameters" << YAML::Value << YAML::BeginMap;
  for (const auto& r : records) {
    out << YAML::Key << r.key << YAML::Value << YAML::Flow << YAML::BeginMap;
    if (find_function(r.value))
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
