#include "bench.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "packlife/core/build_info.hpp"
#include "packlife/core/error.hpp"
#include "packlife/models/simulation.hpp"

namespace packlife::cli {

namespace {
/// Median wall time [ms] of `repeats` complete solves: model construction, consistent
/// initialisation, integration and output sampling at 1 s (parameter file read once, outside).
double median_solve_ms(const std::string& model_name, const ParameterSet& p, const Experiment& exp, int repeats) {
  ModelOptions mo;  // default mesh, isothermal 25 C
  SimulationOptions so;
  std::vector<double> ms;
  for (int r = 0; r < repeats + 1; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    auto model = make_model(model_name, p, mo);
    const Solution s = simulate(*model, exp, so);
    const auto t1 = std::chrono::steady_clock::now();
    if (s.size() < 10) throw Error("benchmark solve of {} produced no output", model_name);
    if (r > 0) ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());  // first run warms caches
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}
}  // namespace

nlohmann::json run_benchmarks(int repeats, bool progress) {
  const ParameterSet chen = load_parameter_set("chen2020");
  const Experiment exp = parse_experiment("Discharge at 1C until 2.5 V");
  nlohmann::json j;
  for (const char* m : {"spm", "spme"}) {
    if (progress) std::fprintf(stderr, "bench: %s 1C discharge (%d repeats)...\n", m, repeats);
    j[std::string(m) + "_1C_discharge_ms"] = median_solve_ms(m, chen, exp, repeats);
  }
  j["repeats"] = repeats;
  j["parameter_set"] = "chen2020";
  j["program_version"] = build::version;
  j["git_sha"] = build::git_sha;
  j["threads"] = 1;
  return j;
}

}  // namespace packlife::cli
