/// HDF5 output of a lifecycle run (layout in docs/file-formats.md, "Lifecycle HDF5").
#include <chrono>
#include <ctime>

#include "packlife/core/build_info.hpp"
#include "packlife/core/hdf5_writer.hpp"
#include "packlife/models/lifecycle.hpp"

namespace packlife {

const std::vector<SampleColumn>& lifecycle_sample_columns() {
  static const std::vector<SampleColumn> cols = {
      {"time_years", "year", [](const LifecycleSample& s) { return s.time_years; }},
      {"pack_soh", "1", [](const LifecycleSample& s) { return s.pack_soh; }},
      {"median_soh", "1", [](const LifecycleSample& s) { return s.median_soh; }},
      {"resistance_growth", "1", [](const LifecycleSample& s) { return s.resistance_growth; }},
      {"temperature_mean_C", "degC", [](const LifecycleSample& s) { return s.temperature_mean_C; }},
      {"temperature_max_C", "degC", [](const LifecycleSample& s) { return s.temperature_max_C; }},
      {"soc_min", "1", [](const LifecycleSample& s) { return s.soc_min; }},
      {"soc_max", "1", [](const LifecycleSample& s) { return s.soc_max; }},
      {"lli_pct", "%", [](const LifecycleSample& s) { return s.lli_pct; }},
      {"weakest_lli_pct", "%", [](const LifecycleSample& s) { return s.weakest_lli_pct; }},
      {"lam_ne_pct", "%", [](const LifecycleSample& s) { return s.lam_ne_pct; }},
      {"lam_pe_pct", "%", [](const LifecycleSample& s) { return s.lam_pe_pct; }},
      {"sei_thickness_nm", "nm", [](const LifecycleSample& s) { return s.sei_thickness_nm; }},
      {"plated_lithium_pct", "%", [](const LifecycleSample& s) { return s.plated_lithium_pct; }},
      {"film_resistance_mohm", "mohm", [](const LifecycleSample& s) { return s.film_resistance_mohm; }},
      {"equivalent_full_cycles", "1", [](const LifecycleSample& s) { return s.equivalent_full_cycles; }},
      {"throughput_MWh", "MW*h", [](const LifecycleSample& s) { return s.throughput_MWh; }},
  };
  return cols;
}

void write_file_header(Hdf5Writer& w, const char* format, const char* version, const Scenario& s) {
  char stamp[32];
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  w.attribute("/", "format", std::string(format));
  w.attribute("/", "format_version", std::string(version));
  w.attribute("/", "program_version", std::string(build::version));
  w.attribute("/", "git_sha", std::string(build::git_sha));
  w.attribute("/", "created_utc", std::string(stamp));
  w.attribute("/", "scenario", scenario_yaml(s));
}

void write_lifecycle_hdf5(const LifecycleResult& r, const std::string& path) {
  Hdf5Writer w(path);
  write_file_header(w, "packlife-lifecycle", kLifecycleFormatVersion, r.scenario);
  w.create_group("/pack");
  w.attribute("/pack", "chemistry", r.design.chemistry);
  w.attribute("/pack", "parameter_set", r.design.parameter_set);
  w.attribute("/pack", "series", static_cast<long long>(r.design.series));
  w.attribute("/pack", "parallel", static_cast<long long>(r.design.parallel));
  w.attribute("/pack", "cell_capacity_Ah", r.design.cell_capacity_Ah);
  w.attribute("/pack", "nominal_V", r.design.nominal_V());
  w.attribute("/pack", "energy_kWh", r.design.energy_kWh());
  w.attribute("/pack", "rated_capacity_Ah", r.rated_capacity_Ah);
  w.attribute("/pack", "weakest_block_deviation", r.weakest_block_deviation);
  w.attribute("/pack", "resistance_mohm", r.resistance_mohm);

  w.create_group("/trajectory");
  for (const SampleColumn& c : lifecycle_sample_columns()) {
    std::vector<double> v;
    v.reserve(r.samples.size());
    for (const auto& s : r.samples) v.push_back(c.get(s));
    w.dataset(std::string("/trajectory/") + c.name, v, c.unit);
  }
  std::vector<long long> stage;
  for (const auto& s : r.samples) stage.push_back(s.stage);
  w.dataset("/trajectory/stage", stage, "");

  w.create_group("/events");
  std::vector<double> et, esoh;
  std::vector<std::string> en, er;
  for (const auto& e : r.events) {
    et.push_back(e.time_years);
    esoh.push_back(e.pack_soh);
    en.push_back(e.event);
    er.push_back(e.reason);
  }
  w.dataset("/events/time_years", et, "year");
  w.dataset("/events/event", en);
  w.dataset("/events/reason", er);
  w.dataset("/events/pack_soh", esoh, "1");

  w.create_group("/lives");
  for (const auto& [name, L] : {std::pair<const char*, const LifeTotals*>{"first", &r.first}, {"second", &r.second}}) {
    const std::string g = std::string("/lives/") + name;
    w.create_group(g);
    w.attribute(g, "years", L->years);
    w.attribute(g, "throughput_MWh", L->throughput_MWh);
    w.attribute(g, "equivalent_full_cycles", L->equivalent_full_cycles);
    w.attribute(g, "start_soh", L->start_soh);
    w.attribute(g, "end_soh", L->end_soh);
    w.attribute(g, "end_reason", L->end_reason);
  }
  w.dataset("/lives/fade_by_year", r.fade_by_year, "1");

  w.create_group("/materials");
  std::vector<std::string> el;
  std::vector<double> contained, yield, recovered;
  for (const auto& m : r.materials) {
    el.push_back(m.element);
    contained.push_back(m.contained_kg);
    yield.push_back(m.yield);
    recovered.push_back(m.recovered_kg);
  }
  w.attribute("/materials", "process", r.scenario.recycling_process);
  w.dataset("/materials/element", el);
  w.dataset("/materials/contained_kg", contained, "kg");
  w.dataset("/materials/yield", yield, "1");
  w.dataset("/materials/recovered_kg", recovered, "kg");
  w.dataset("/warnings", r.warnings);
  w.close();
}

}  // namespace packlife
