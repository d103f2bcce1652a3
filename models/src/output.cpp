#include "packlife/models/output.hpp"

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdio>
#include <ctime>
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
  out << YAML::Key << "cycles" << YAML::Value << in.experiment.cycles;
  out << YAML::Key << "experiment" << YAML::Value << YAML::BeginSeq;
  for (const auto& s : in.experiment.steps) out << s.text;
  out << YAML::EndSeq;
  if (in.parameters) {
    out << YAML::Key << "parameter_set" << YAML::Value << in.parameters->name;
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
