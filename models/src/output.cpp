#include "packlife/models/output.hpp"

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>
#include <memory>

#include "packlife/core/build_info.hpp"
#include "packlife/core/error.hpp"
#include "packlife/core/hdf5_writer.hpp"

namespace packlife {

std::string resolved_inputs_yaml(const RunInputs& in) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "model" << YAML::Value << in.model;
  out << YAML::Key << "thermal" << YAML::Value
      << (in.model_options.thermal == Thermal::Lumped ? "lumped" : "isothermal");
  out << YAML::Key << "ambient_K" << YAML::Value << in.model_options.ambient_K;
  out << YAML::Key << "particle_cells" << YAML::Value << in.model_options.particle_cells;
  out << YAML::Key << "electrolyte_cells" << YAML::Value << in.model_options.electrolyte_cells;
  out << YAML::Key << "rtol" << YAML::Value << in.model_options.rtol;
  out << YAML::Key << "ageing" << YAML::Value << in.model_options.ageing.names();
  out << YAML::Key << "initial_soc" << YAML::Value << in.sim_options.initial_soc;
  out << YAML::Key << "output_dt_s" << YAML::Value << in.sim_options.output_dt_s;
  out << YAML::Key << "keep_time_series" << YAML::Value << in.sim_options.keep_time_series;
  out << YAML::Key << "accelerate" << YAML::Value << in.sim_options.accelerate.enabled;
  out << YAML::Key << "accelerate_tol" << YAML::Value << in.sim_options.accelerate.tol;
  out << YAML::Key << "max_jump" << YAML::Value << in.sim_options.accelerate.max_jump;
  out << YAML::Key << "checkup_every" << YAML::Value << in.sim_options.checkup_every;
  if (in.sim_options.restart)
    out << YAML::Key << "restarted_after_cycles" << YAML::Value << in.sim_options.restart->cycles_done;
  out << YAML::Key << "cycles" << YAML::Value << in.experiment.cycles;
  out << YAML::Key << "experiment" << YAML::Value << YAML::BeginSeq;
  for (const auto& s : in.experiment.steps) out << s.text;
  out << YAML::EndSeq;
  if (in.parameters) {
    out << YAML::Key << "parameter_set" << YAML::Value << in.parameters->name;
    if (!in.parameters->overrides.empty()) {
      out << YAML::Key << "parameter_overrides" << YAML::Value << YAML::BeginSeq;
      for (const auto& o : in.parameters->overrides) out << o;
      out << YAML::EndSeq;
    }
    out << YAML::Key << "parameters" << YAML::Value << YAML::Load(in.parameters->to_yaml());
  }
  out << YAML::EndMap;
  return out.c_str();
}

namespace {
/// Columns of the per-cycle summary: name, unit, value. One table for the CSV and the HDF5 file.
struct SummaryColumn {
  const char* name;
  const char* unit;
  double (*get)(const CycleSummary&);
};
const std::vector<SummaryColumn>& summary_columns() {
  static const std::vector<SummaryColumn> c = {
      {"cycle", "", [](const CycleSummary& r) { return double(r.cycle); }},
      {"time_s", "s", [](const CycleSummary& r) { return r.time_s; }},
      {"discharge_capacity_Ah", "A*h", [](const CycleSummary& r) { return r.discharge_capacity_Ah; }},
      {"lli_pct", "%", [](const CycleSummary& r) { return r.lli_pct; }},
      {"lam_ne_pct", "%", [](const CycleSummary& r) { return r.lam_ne_pct; }},
      {"lam_pe_pct", "%", [](const CycleSummary& r) { return r.lam_pe_pct; }},
      {"sei_thickness_m", "m", [](const CycleSummary& r) { return r.ledger.sei_thickness_m; }},
      {"lithium_sei_mol", "mol", [](const CycleSummary& r) { return r.ledger.lithium_sei_mol; }},
      {"lithium_plated_mol", "mol", [](const CycleSummary& r) { return r.ledger.lithium_plated_mol; }},
      {"lithium_dead_mol", "mol", [](const CycleSummary& r) { return r.ledger.lithium_dead_mol; }},
      {"lithium_lam_mol", "mol",
       [](const CycleSummary& r) { return r.ledger.lithium_lam_negative_mol + r.ledger.lithium_lam_positive_mol; }},
      {"film_resistance_ohm", "ohm", [](const CycleSummary& r) { return r.ledger.film_resistance_ohm; }},
      {"charge_throughput_Ah", "A*h", [](const CycleSummary& r) { return r.charge_throughput_Ah; }},
      {"energy_throughput_Wh", "W*h", [](const CycleSummary& r) { return r.energy_throughput_Wh; }},
      {"equivalent_full_cycles", "", [](const CycleSummary& r) { return r.equivalent_full_cycles; }},
      {"esoh_capacity_Ah", "A*h", [](const CycleSummary& r) { return r.esoh_capacity_Ah; }},
      {"checkup_capacity_Ah", "A*h", [](const CycleSummary& r) { return r.checkup_capacity_Ah; }},
      {"resolved", "", [](const CycleSummary& r) { return r.resolved ? 1.0 : 0.0; }},
  };
  return c;
}
}  // namespace

void write_summary_csv(const Solution& s, const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "w"), &std::fclose);
  if (!f) throw Error("cannot write {}", path);
  const auto& cols = summary_columns();
  for (size_t k = 0; k < cols.size(); ++k) fmt::print(f.get(), "{}{}", k ? "," : "", cols[k].name);
  std::fputs("\n", f.get());
  for (const auto& r : s.cycles) {
    for (size_t k = 0; k < cols.size(); ++k) fmt::print(f.get(), "{}{:.10g}", k ? "," : "", cols[k].get(r));
    std::fputs("\n", f.get());
  }
  if (std::ferror(f.get())) throw Error("error while writing {}", path);
}

namespace {
constexpr const char* kCheckpointFormat = "packlife-checkpoint";
constexpr const char* kCheckpointVersion = "1.0";
std::string hex(double v) { return fmt::format("{:a}", v); }
}  // namespace

void write_checkpoint(const Checkpoint& c, const std::string& path) {
  nlohmann::json j;
  j["format"] = kCheckpointFormat;
  j["format_version"] = kCheckpointVersion;
  j["program_version"] = build::version;
  j["model"] = c.model;
  j["parameter_set"] = c.parameter_set;
  j["ageing"] = c.ageing;
  j["cycles_done"] = c.cycles_done;
  j["steps_done"] = c.steps_done;
  j["time_s"] = hex(c.time_s);
  j["charge_throughput_Ah"] = hex(c.charge_throughput_Ah);
  j["energy_throughput_Wh"] = hex(c.energy_throughput_Wh);
  j["initial_lithium_mol"] = hex(c.initial_lithium_mol);
  auto& st = j["state"] = nlohmann::json::array();
  for (double v : c.state) st.push_back(hex(v));
  std::ofstream out(path);
  if (!out) throw Error("cannot write {}", path);
  out << j.dump(1) << "\n";
  if (!out) throw Error("error while writing {}", path);
}

Checkpoint read_checkpoint(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError(path, 0, 0, "", "cannot open checkpoint file for reading");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw InputError(path, 0, 0, "", fmt::format("not a JSON checkpoint: {}", e.what()));
  }
  auto need = [&](const char* key) -> const nlohmann::json& {
    if (!j.is_object() || !j.contains(key)) throw InputError(path, 0, 0, key, "missing in the checkpoint");
    return j.at(key);
  };
  auto text = [&](const char* key) {
    const auto& v = need(key);
    if (!v.is_string()) throw InputError(path, 0, 0, key, "expected a string");
    return v.get<std::string>();
  };
  auto number = [&](const nlohmann::json& v, const char* key) {
    if (!v.is_string()) throw InputError(path, 0, 0, key, "expected a hexadecimal floating-point string");
    const std::string s = v.get<std::string>();
    char* end = nullptr;
    const double d = std::strtod(s.c_str(), &end);
    if (s.empty() || *end != '\0' || !std::isfinite(d))
      throw InputError(path, 0, 0, key, fmt::format("'{}' is not a finite number", s));
    return d;
  };
  auto integer = [&](const char* key) {
    const auto& v = need(key);
    if (!v.is_number_integer() || v.get<long long>() < 0) throw InputError(path, 0, 0, key, "expected a non-negative integer");
    return v.get<long long>();
  };
  if (text("format") != kCheckpointFormat) throw InputError(path, 0, 0, "format", "not a packlife checkpoint");
  if (text("format_version") != kCheckpointVersion)
    throw InputError(path, 0, 0, "format_version", fmt::format("version {} is not supported (expected {})",
                                                               text("format_version"), kCheckpointVersion));
  Checkpoint c;
  c.model = text("model");
  c.parameter_set = text("parameter_set");
  c.ageing = text("ageing");
  c.cycles_done = static_cast<int>(integer("cycles_done"));
  c.steps_done = integer("steps_done");
  c.time_s = number(need("time_s"), "time_s");
  c.charge_throughput_Ah = number(need("charge_throughput_Ah"), "charge_throughput_Ah");
  c.energy_throughput_Wh = number(need("energy_throughput_Wh"), "energy_throughput_Wh");
  c.initial_lithium_mol = number(need("initial_lithium_mol"), "initial_lithium_mol");
  const auto& st = need("state");
  if (!st.is_array() || st.empty()) throw InputError(path, 0, 0, "state", "expected a non-empty array");
  for (const auto& v : st) c.state.push_back(number(v, "state"));
  return c;
}

void write_csv(const Solution& s, const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "w"), &std::fclose);
  if (!f) throw Error("cannot write {}", path);
  std::fputs("time_s,current_A,voltage_V,temperature_K,discharge_capacity_Ah,soc,heat_W,step,cycle\n", f.get());
  for (size_t i = 0; i < s.size(); ++i)
    fmt::print(f.get(), "{:.6f},{:.9g},{:.9g},{:.7g},{:.9g},{:.9g},{:.6g},{},{}\n", s.time_s[i], s.current_A[i],
               s.voltage_V[i], s.temperature_K[i], s.discharge_capacity_Ah[i], s.soc[i], s.heat_W[i], s.step[i],
               s.cycle[i]);
  if (std::ferror(f.get())) throw Error("error while writing {}", path);
}

void write_hdf5(const Solution& s, const RunInputs& in, const CellModel& model, const std::string& path) {
  Hdf5Writer w(path);
  char stamp[32];
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  w.attribute("/", "format", std::string("packlife-simulation"));
  w.attribute("/", "format_version", std::string(kSimulationFormatVersion));
  w.attribute("/", "program_version", std::string(build::version));
  w.attribute("/", "git_sha", std::string(build::git_sha));
  w.attribute("/", "created_utc", std::string(stamp));
  w.attribute("/", "resolved_inputs", resolved_inputs_yaml(in));
  w.create_group("/timeseries");
  w.dataset("/timeseries/time_s", s.time_s, "s");
  w.dataset("/timeseries/current_A", s.current_A, "A");
  w.dataset("/timeseries/voltage_V", s.voltage_V, "V");
  w.dataset("/timeseries/temperature_K", s.temperature_K, "K");
  w.dataset("/timeseries/discharge_capacity_Ah", s.discharge_capacity_Ah, "A*h");
  w.dataset("/timeseries/soc", s.soc, "1");
  w.dataset("/timeseries/heat_W", s.heat_W, "W");
  w.dataset("/timeseries/step", s.step, "");
  w.dataset("/timeseries/cycle", s.cycle, "");
  std::vector<long long> cyc, idx, skipped;
  std::vector<double> t0, t1, q;
  std::vector<std::string> text, reason;
  for (const auto& r : s.steps) {
    cyc.push_back(r.cycle);
    idx.push_back(r.index);
    skipped.push_back(r.skipped ? 1 : 0);
    t0.push_back(r.start_s);
    t1.push_back(r.end_s);
    q.push_back(r.discharge_Ah);
    text.push_back(r.text);
    reason.push_back(r.end_reason);
  }
  w.create_group("/steps");
  w.dataset("/steps/cycle", cyc, "");
  w.dataset("/steps/index", idx, "");
  w.dataset("/steps/text", text);
  w.dataset("/steps/start_s", t0, "s");
  w.dataset("/steps/end_s", t1, "s");
  w.dataset("/steps/discharge_Ah", q, "A*h");
  w.dataset("/steps/end_reason", reason);
  w.dataset("/steps/skipped", skipped, "");
  w.create_group("/summary");
  for (const auto& c : summary_columns()) {
    std::vector<double> v;
    for (const auto& r : s.cycles) v.push_back(c.get(r));
    w.dataset(std::string("/summary/") + c.name, v, c.unit);
  }
  w.create_group("/state");
  w.dataset("/state/final", s.final_state, "SI");
  w.dataset("/state/names", model.unknown_names());
  w.dataset("/warnings", s.warnings);
  w.close();
}

}  // namespace packlife
