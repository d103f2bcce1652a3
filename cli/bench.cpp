#include "bench.hpp"

#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "packlife/core/build_info.hpp"
#include "packlife/core/error.hpp"
#include "packlife/models/fleet.hpp"
#include "packlife/models/lifecycle.hpp"
#include "packlife/models/simulation.hpp"

namespace packlife::cli {

namespace {
/// Median wall time [ms] of `repeats` complete solves: model construction, consistent
/// initialisation, integration and output sampling at 1 s (parameter file read once, outside).
double median_solve_ms(const std::string& model_name, const ParameterSet& p, const Experiment& exp, int repeats,
                       const ModelOptions& mo = {}, const SimulationOptions& so = {}) {
  std::vector<double> ms;
  for (int r = 0; r < repeats + 1; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    auto model = make_model(model_name, p, mo);
    const Solution s = simulate(*model, exp, so);
    const auto t1 = std::chrono::steady_clock::now();
    if (s.cycles.size() != static_cast<size_t>(exp.cycles) || !s.stopped.empty() ||
        (so.keep_time_series && s.size() < 10))
      throw Error("benchmark solve of {} did not complete: {}", model_name, s.stopped);
    if (r > 0) ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());  // first run warms caches
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}
}  // namespace

const std::vector<std::string>& benchmark_cases() {
  static const std::vector<std::string> names{"spm_1C_discharge_ms", "spme_1C_discharge_ms", "dfn_1C_discharge_ms", "ageing_cycle_ms",
                                              "ageing_cycle_1s_output_ms", "lifetime_12y_accelerated_ms",
                                              "pack_lifecycle_ms", "fleet_1000_packs_s"};
  return names;
}

std::string benchmark_case_list() {
  std::string s;
  for (const auto& n : benchmark_cases()) s += (s.empty() ? "" : ", ") + n;
  return s;
}

nlohmann::json run_benchmarks(int repeats, bool progress, const std::vector<std::string>& cases) {
  auto wanted = [&](const std::string& name) {
    return cases.empty() || std::find(cases.begin(), cases.end(), name) != cases.end();
  };
  nlohmann::json j;
  if (wanted("spm_1C_discharge_ms") || wanted("spme_1C_discharge_ms") || wanted("dfn_1C_discharge_ms")) {
    // Chen2020, 25 C isothermal, 100 % SOC to 2.5 V, default mesh, 1 s output, one thread.
    const ParameterSet chen = load_parameter_set("chen2020");
    const Experiment exp = parse_experiment("Discharge at 1C until 2.5 V");
    for (const char* m : {"spm", "spme", "dfn"}) {
      const std::string key = std::string(m) + "_1C_discharge_ms";
      if (!wanted(key)) continue;
      if (progress) std::fprintf(stderr, "bench: %s 1C discharge (%d repeats)...\n", m, repeats);
      j[key] = median_solve_ms(m, chen, exp, repeats);
    }
  }
  // Ageing: OKane2022, SPMe with lumped thermal, the set's SEI + plating + stress-driven LAM, the
  // 1C discharge / C/3 CC-CV cycle of issue 4, resolved (integrated in full, not jumped).
  const ParameterSet okane = load_parameter_set("okane2022");
  const char* cycle = "Discharge at 1C until 2.5 V; Rest for 10 minutes; Charge at C/3 until 4.2 V; Hold at 4.2 V until C/50";
  ModelOptions aged;
  aged.thermal = Thermal::Lumped;
  // Timed as a lifetime run resolves its cycles: per-cycle ledger and summary, no 1 s time series
  // (ageing_cycle_ms); and with the 1 s time series kept as well (ageing_cycle_1s_output_ms).
  aged.ageing = parse_ageing("sei,plating,lam", okane);
  for (const bool series : {false, true}) {
    const std::string key = series ? "ageing_cycle_1s_output_ms" : "ageing_cycle_ms";
    if (!wanted(key)) continue;
    SimulationOptions so;
    so.keep_time_series = series;
    if (progress) std::fprintf(stderr, "bench: ageing cycle%s (%d repeats)...\n", series ? " with 1 s output" : "", repeats);
    j[key] = median_solve_ms("spme", okane, parse_experiment(cycle), repeats, aged, so);
  }
  // Twelve years of that cycle once a day (4383 cycles) with cycle jumping at the default
  // tolerance, summary only; the set's default mechanisms (SEI + plating, see docs/benchmarks.md).
  if (wanted("lifetime_12y_accelerated_ms")) {
    Experiment day = parse_experiment(std::string(cycle) + "; Rest to fill 24 hours");
    day.cycles = 4383;
    aged.ageing = parse_ageing("default", okane);
    SimulationOptions fast;
    fast.keep_time_series = false;
    fast.accelerate.enabled = true;
    const int life_repeats = std::max(1, std::min(repeats, 5));
    if (progress) std::fprintf(stderr, "bench: 12-year accelerated lifetime (%d repeats)...\n", life_repeats);
    j["lifetime_12y_accelerated_ms"] = median_solve_ms("spme", okane, day, life_repeats, aged, fast);
    j["lifetime_12y_mechanisms"] = aged.ageing.names();
  }
  // One pack of the default scenario (datasets/scenarios/default.yaml) through first life, second
  // life and the recycling hand-off, scenario and parameter files read inside the timing.
  if (wanted("pack_lifecycle_ms")) {
    const int life_repeats = std::max(1, std::min(repeats, 5));
    if (progress) std::fprintf(stderr, "bench: default pack lifecycle (%d repeats)...\n", life_repeats);
    std::vector<double> ms;
    for (int r = 0; r < life_repeats + 1; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      const LifecycleResult life = run_lifecycle(Scenario{});
      const auto t1 = std::chrono::steady_clock::now();
      if (life.samples.empty()) throw Error("benchmark lifecycle produced no trajectory");
      if (r > 0) ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
      if (r == 0) j["pack_lifecycle_years"] = life.first.years + life.second.years;
    }
    std::sort(ms.begin(), ms.end());
    j["pack_lifecycle_ms"] = ms[ms.size() / 2];
  }
  // The default fleet (datasets/scenarios/default.yaml) with 1,000 packs on all cores, written to a
  // fleet file in the system's temporary folder (the writing is timed too). Run once: it takes minutes.
  if (wanted("fleet_1000_packs_s")) {
    if (progress) std::fprintf(stderr, "bench: default fleet of 1,000 packs on all cores (once)...\n");
    Scenario s;
    s.fleet_packs = 1000;
    FleetOptions o;
    o.out = (std::filesystem::temp_directory_path() / fmt::format("packlife-bench-fleet-{}.h5", ::getpid())).string();
    o.force = true;
    const FleetRunInfo info = run_fleet(s, o);
    j["fleet_1000_packs_s"] = info.wall_s;
    j["fleet_1000_packs_failed"] = info.failed;
    j["fleet_1000_packs_file_bytes"] = std::filesystem::file_size(o.out);
    j["fleet_threads"] = omp_get_max_threads();
    std::filesystem::remove(o.out);
  }
  j["repeats"] = repeats;
  j["parameter_set"] = "chen2020 (1C discharges), okane2022 (ageing)";
  j["program_version"] = build::version;
  j["git_sha"] = build::git_sha;
  j["threads"] = 1;
  return j;
}

}  // namespace packlife::cli
