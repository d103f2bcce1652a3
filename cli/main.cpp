/// packlife command-line interface: thin layer that parses options, calls the library, prints.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <memory>
#include <thread>
#include <cstdio>
#include <iostream>
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "bench.hpp"
#include "packlife/core/atomic_file.hpp"
#include "packlife/core/build_info.hpp"
#include "packlife/core/error.hpp"
#include "packlife/models/fit.hpp"
#include "packlife/models/fleet.hpp"
#include "packlife/models/lifecycle.hpp"
#include "packlife/models/output.hpp"
#include "packlife/models/validation.hpp"

namespace {

constexpr int kExitInput = 2;
// A solver that cannot converge is reported like bad input (issue 3): exit code 2, with the time, the step
// and the unknowns with the largest error in the message; completed cycles are still written.
constexpr int kExitSolver = 2;

const char* kDefaultExperiment =
    "Discharge at 1C until 2.5 V; Rest for 30 minutes; Charge at 0.5C until 4.2 V; Hold at 4.2 V until C/50; "
    "Rest for 30 minutes";

struct SimulateArgs {
  std::string model = "spme";
  std::string params = "chen2020";
  std::vector<std::string> set;
  std::string experiment = kDefaultExperiment;
  std::string experiment_file;
  std::string thermal = "isothermal";
  double ambient_C = 25.0;
  double initial_soc = 1.0;
  int cycles = 1;
  double output_dt = 1.0;
  int particle_cells = packlife::ModelOptions{}.particle_cells;
  int electrolyte_cells = packlife::ModelOptions{}.electrolyte_cells;
  double particle_stretch = packlife::ModelOptions{}.particle_mesh_stretch;
  std::string mesh;
  double rtol = packlife::ModelOptions{}.rtol;
  std::string csv, out, summary_csv;
  std::string ageing = "none";
  bool accelerate = false;
  double accelerate_tol = packlife::AccelerateOptions{}.tol;
  int max_jump = packlife::AccelerateOptions{}.max_jump;
  int checkup_every = 0;
  bool no_time_series = false;
  std::string checkpoint, restart;
  bool json = false, quiet = false;
};

int run_simulate(const SimulateArgs& a) {
  using namespace packlife;
  const auto wall0 = std::chrono::steady_clock::now();
  // Everything is validated before any output file is touched.
  if (a.thermal != "isothermal" && a.thermal != "lumped")
    throw InputError(fmt::format("--thermal '{}': expected 'isothermal' or 'lumped'", a.thermal));
  if (!(a.initial_soc >= 0 && a.initial_soc <= 1))
    throw InputError(fmt::format("--initial-soc {}: expected a value between 0 and 1", a.initial_soc));
  if (a.cycles < 1) throw InputError(fmt::format("--cycles {}: expected at least 1", a.cycles));
  if (!(a.output_dt > 0)) throw InputError(fmt::format("--output-dt {}: expected a positive interval in seconds", a.output_dt));
  if (!(a.rtol > 0 && a.rtol < 1e-2)) throw InputError(fmt::format("--rtol {}: expected a value in (0, 0.01)", a.rtol));
  if (!(a.accelerate_tol > 0 && a.accelerate_tol < 0.1))
    throw InputError(fmt::format("--accelerate-tol {}: expected a fraction in (0, 0.1), e.g. 2e-4", a.accelerate_tol));
  if (a.max_jump < 2) throw InputError(fmt::format("--max-jump {}: expected at least 2 cycles", a.max_jump));
  if (a.checkup_every < 0) throw InputError(fmt::format("--checkup-every {}: expected 0 (never) or a cycle count", a.checkup_every));
  ModelOptions mo;
  mo.thermal = a.thermal == "lumped" ? Thermal::Lumped : Thermal::Isothermal;
  mo.ambient_K = a.ambient_C + 273.15;
  mo.particle_cells = a.particle_cells;
  mo.electrolyte_cells = a.electrolyte_cells;
  mo.particle_mesh_stretch = a.particle_stretch;
  if (!a.mesh.empty()) apply_mesh(a.mesh, mo);
  mo.rtol = a.rtol;
  Experiment exp = a.experiment_file.empty() ? parse_experiment(a.experiment) : load_experiment_file(a.experiment_file);
  exp.cycles = a.cycles;
  const ParameterSet params = [&] {
    ParameterSet p = load_parameter_set(a.params);
    apply_parameter_overrides(p, a.set);
    return p;
  }();
  mo.ageing = parse_ageing(a.ageing, params);
  auto model = make_model(a.model, params, mo);
  SimulationOptions so;
  so.initial_soc = a.initial_soc;
  so.output_dt_s = a.output_dt;
  so.keep_time_series = !a.no_time_series;
  so.accelerate.enabled = a.accelerate;
  so.accelerate.tol = a.accelerate_tol;
  so.accelerate.max_jump = a.max_jump;
  so.checkup_every = a.checkup_every;
  Checkpoint restart;
  if (!a.restart.empty()) {
    restart = read_checkpoint(a.restart);
    if (restart.model != a.model || restart.parameter_set != params.identity() || restart.ageing != mo.ageing.names())
      throw InputError(a.restart, 0, 0, "model",
                       fmt::format("checkpoint was saved from model {}, parameters {}, ageing {}; this run uses model "
                                   "{}, parameters {}, ageing {}", restart.model, restart.parameter_set, restart.ageing,
                                   a.model, params.identity(), mo.ageing.names()));
    so.restart = &restart;
  }
  // Reserve the outputs (checks the folders are writable) before the run.
  std::unique_ptr<AtomicFile> csv_file, h5_file;
  if (!a.csv.empty()) csv_file = std::make_unique<AtomicFile>(a.csv);
  if (!a.out.empty()) h5_file = std::make_unique<AtomicFile>(a.out);
  std::unique_ptr<AtomicFile> summary_file, checkpoint_file;
  if (!a.summary_csv.empty()) summary_file = std::make_unique<AtomicFile>(a.summary_csv);
  if (!a.checkpoint.empty()) checkpoint_file = std::make_unique<AtomicFile>(a.checkpoint);

  const Solution sol = simulate(*model, exp, so, [&](const std::string& w) {
    if (!a.quiet) fmt::print(stderr, "warning: {}\n", w);
  });
  RunInputs in{a.model, model->options(), so, exp, &params};
  if (csv_file) write_csv(sol, csv_file->temp_path());
  if (h5_file) write_hdf5(sol, in, *model, h5_file->temp_path());
  if (summary_file) write_summary_csv(sol, summary_file->temp_path());
  if (checkpoint_file) write_checkpoint(sol.checkpoint, checkpoint_file->temp_path());
  if (csv_file) csv_file->commit();
  if (summary_file) summary_file->commit();
  if (checkpoint_file) checkpoint_file->commit();
  if (h5_file) h5_file->commit();
  // A run stopped by a solver failure keeps (and writes) everything simulated before it.
  const int code = sol.stopped.empty() ? 0 : kExitSolver;
  if (!sol.stopped.empty())
    fmt::print(stderr, "solver error: run stopped: {}; the {} completed cycle(s) were written\n", sol.stopped,
               sol.cycles.size());
  const double wall_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - wall0).count();

  double vmin = 1e9, vmax = -1e9, tmax = -1e9, qmax = 0;
  for (size_t i = 0; i < sol.size(); ++i) {
    vmin = std::min(vmin, sol.voltage_V[i]);
    vmax = std::max(vmax, sol.voltage_V[i]);
    tmax = std::max(tmax, sol.temperature_K[i]);
    qmax = std::max(qmax, sol.discharge_capacity_Ah[i]);
  }
  const ElectrodeBalance& eb = model->balance();
  if (a.json) {
    nlohmann::json j;
    j["model"] = a.model;
    j["parameter_set"] = params.name;
    j["points"] = sol.size();
    j["end_time_s"] = sol.checkpoint.time_s;
    if (sol.size() > 0) {  // extremes of the time series (null when none is kept)
      j["max_discharge_capacity_Ah"] = qmax;
      j["min_voltage_V"] = vmin;
      j["max_voltage_V"] = vmax;
      j["max_temperature_K"] = tmax;
    } else {
      for (const char* k : {"max_discharge_capacity_Ah", "min_voltage_V", "max_voltage_V", "max_temperature_K"})
        j[k] = nullptr;
    }
    j["balance_capacity_Ah"] = eb.capacity_Ah;
    j["solver_steps"] = sol.solver_steps;
    j["wall_ms"] = wall_ms;
    j["warnings"] = sol.warnings;
    nlohmann::json steps = nlohmann::json::array();
    for (const auto& r : sol.steps)
      steps.push_back({{"cycle", r.cycle + 1}, {"step", r.text}, {"start_s", r.start_s}, {"end_s", r.end_s},
                       {"discharge_Ah", r.discharge_Ah}, {"end_reason", r.end_reason}});
    j["steps"] = steps;
    j["cycles"] = sol.cycles.size();
    j["resolved_cycles"] = sol.resolved_cycles;
    j["jumps"] = sol.jumps;
    j["rejected_jumps"] = sol.rejected_jumps;
    j["stopped"] = sol.stopped;
    if (!sol.cycles.empty()) {
      const CycleSummary& r = sol.cycles.back();
      j["last_cycle"] = {{"cycle", r.cycle},
                         {"time_s", r.time_s},
                         {"discharge_capacity_Ah", r.discharge_capacity_Ah},
                         {"esoh_capacity_Ah", r.esoh_capacity_Ah},
                         {"lli_pct", r.lli_pct},
                         {"lam_ne_pct", r.lam_ne_pct},
                         {"lam_pe_pct", r.lam_pe_pct},
                         {"sei_thickness_m", r.ledger.sei_thickness_m},
                         {"film_resistance_ohm", r.ledger.film_resistance_ohm},
                         {"equivalent_full_cycles", r.equivalent_full_cycles}};
    }
    std::cout << j.dump(2) << "\n";
    return code;
  }
  if (a.quiet) return code;
  fmt::print("packlife simulate: {} on {} ({}, ambient {:.1f} C), {} cycle(s) of {} step(s)\n", a.model, params.name,
             a.thermal, a.ambient_C, exp.cycles, exp.steps.size());
  fmt::print("  electrode balance: capacity {:.4f} Ah, x {:.4f}..{:.4f}, y {:.4f}..{:.4f}\n", eb.capacity_Ah, eb.x0,
             eb.x100, eb.y100, eb.y0);
  // Every step of short runs; the first and last resolved cycles of long ones.
  const int last_cycle = sol.steps.empty() ? 0 : sol.steps.back().cycle;
  const int first_cycle = sol.steps.empty() ? 0 : sol.steps.front().cycle;
  for (const auto& r : sol.steps)
    if (sol.steps.size() <= 40 || r.cycle == first_cycle || r.cycle == last_cycle)
      fmt::print("  [{}] {:<40} {:>9.1f} s  {:>+8.4f} Ah  {}\n", r.cycle + 1, r.text, r.end_s - r.start_s,
                 r.discharge_Ah, r.end_reason);
  if (sol.steps.size() > 40) fmt::print("  ({} steps in all; first and last resolved cycle shown)\n", sol.steps.size());
  if (mo.ageing.any() && !sol.cycles.empty()) {
    const CycleSummary& r = sol.cycles.back();
    fmt::print("  after cycle {} ({:.2f} days, {:.1f} equivalent full cycles): discharge {:.4f} Ah, eSOH capacity {:.4f} "
               "Ah, LLI {:.3f} %, LAM ne {:.3f} % pe {:.3f} %, SEI {:.2f} nm\n", r.cycle, r.time_s / 86400.0,
               r.equivalent_full_cycles, r.discharge_capacity_Ah, r.esoh_capacity_Ah, r.lli_pct, r.lam_ne_pct,
               r.lam_pe_pct, 1e9 * r.ledger.sei_thickness_m);
  }
  if (a.accelerate)
    fmt::print("  cycle jumping: {} cycles, {} resolved, {} jumps accepted, {} rejected\n", sol.cycles.size(),
               sol.resolved_cycles, sol.jumps, sol.rejected_jumps);
  if (sol.size() > 0)
    fmt::print("  voltage {:.4f}..{:.4f} V, max temperature {:.2f} C, {} points, {} solver steps, {:.1f} ms\n", vmin,
               vmax, tmax - 273.15, sol.size(), sol.solver_steps, wall_ms);
  else
    fmt::print("  no time series kept, {} solver steps, {:.1f} ms\n", sol.solver_steps, wall_ms);
  if (!a.csv.empty()) fmt::print("  wrote {}\n", a.csv);
  if (!a.out.empty()) fmt::print("  wrote {}\n", a.out);
  if (!a.summary_csv.empty()) fmt::print("  wrote {}\n", a.summary_csv);
  if (!a.checkpoint.empty()) fmt::print("  wrote {}\n", a.checkpoint);
  return code;
}

struct LifecycleArgs {
  std::string scenario;
  std::vector<std::string> set;
  std::string out;
  bool json = false, quiet = false, print_scenario = false;
};

nlohmann::json lifecycle_json(const packlife::LifecycleResult& r, double wall_ms) {
  using nlohmann::json;
  json j;
  j["first_life_years"] = r.first.years;
  j["second_life_years"] = r.second.years;
  j["fade_by_year"] = r.fade_by_year;
  j["fade_12y"] = r.fade_12y ? json(*r.fade_12y) : json(nullptr);
  json rec = json::object(), cont = json::object();
  for (const auto& m : r.materials) {
    rec[m.element] = m.recovered_kg;
    cont[m.element] = m.contained_kg;
  }
  j["materials_recovered_kg"] = rec;
  j["materials_contained_kg"] = cont;
  j["throughput_MWh"] = {{"first_life", r.first.throughput_MWh}, {"second_life", r.second.throughput_MWh}};
  j["equivalent_full_cycles"] = {{"first_life", r.first.equivalent_full_cycles},
                                 {"second_life", r.second.equivalent_full_cycles}};
  j["first_life_end"] = r.first.end_reason;
  j["second_life_end"] = r.second.end_reason;
  j["soh"] = {{"first_life_end", r.first.end_soh}, {"second_life_end", r.second.end_soh}};
  j["pack"] = {{"chemistry", r.design.chemistry}, {"parameter_set", r.design.parameter_set},
               {"series", r.design.series}, {"parallel", r.design.parallel},
               {"cell_capacity_Ah", r.design.cell_capacity_Ah}, {"nominal_V", r.design.nominal_V()},
               {"energy_kWh", r.design.energy_kWh()}, {"rated_capacity_Ah", r.rated_capacity_Ah},
               {"weakest_block_deviation", r.weakest_block_deviation}, {"resistance_mohm", r.resistance_mohm}};
  json ev = json::array();
  for (const auto& e : r.events)
    ev.push_back({{"time_years", e.time_years}, {"event", e.event}, {"reason", e.reason}, {"pack_soh", e.pack_soh}});
  j["events"] = ev;
  j["cycles"] = r.cycles;
  j["resolved_cycles"] = r.resolved_cycles;
  j["solver_steps"] = r.solver_steps;
  j["warnings"] = r.warnings;
  j["wall_ms"] = wall_ms;
  return j;
}

struct ValidateArgs {
  std::string name;
  std::string params, policy, out_dir, mesh;
  double rtol = 0;
  std::vector<std::string> set;
  bool json = false, quiet = false;
};

nlohmann::json validation_json(const packlife::ValidationResult& r) {
  using nlohmann::json;
  json curves = json::array();
  for (const auto& c : r.curves) {
    // rmse under its unit's name as well (rmse_mV, rmse_mol_m3, ...), for readers that expect it.
    std::string unit_key = "rmse_";
    for (char ch : c.unit) unit_key += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
    curves.push_back({{"name", c.name}, {"unit", c.unit}, {"rmse", c.rmse}, {unit_key, c.rmse},
                      {"max_error", c.max_error}, {"points", c.points}});
  }
  json j = {{"case", r.name}, {"description", r.description}, {"parameter_set", r.parameter_set},
            {"curves", curves}, {"notes", r.notes}, {"wall_s", r.wall_s}};
  for (const auto& [k, v] : r.metrics.items()) j[k] = v;
  return j;
}

int run_validate_cmd(const ValidateArgs& a) {
  using namespace packlife;
  namespace fs = std::filesystem;
  const std::vector<std::string> names = a.name == "all" ? validation_case_names() : std::vector<std::string>{a.name};
  if (a.name != "all") check_validation_case(a.name);
  if (!a.policy.empty()) parse_charge_policy(a.policy);  // bad input before any simulation
  if (!a.out_dir.empty()) {
    std::error_code ec;
    fs::create_directories(a.out_dir, ec);
    if (ec || !fs::is_directory(a.out_dir))
      throw InputError(a.out_dir, 0, 0, "--out-dir", "cannot create the output directory: " + ec.message());
  }
  ValidationOptions o;
  o.params = a.params;
  o.set = a.set;
  o.policy = a.policy;
  if (!a.mesh.empty()) apply_mesh(a.mesh, o.model_options);
  if (a.rtol != 0) {
    if (!(a.rtol > 0 && a.rtol < 1e-2)) throw InputError(fmt::format("--rtol {}: expected a value in (0, 0.01)", a.rtol));
    o.model_options.rtol = a.rtol;
  }
  if (!a.quiet) o.progress = [](const std::string& line) { fmt::print(stderr, "  {}\n", line); };
  nlohmann::json all = nlohmann::json::array();
  for (const std::string& n : names) {
    const ValidationResult r = run_validation(n, o);
    for (const ValidationTable& t : r.tables) {
      if (a.out_dir.empty()) continue;
      AtomicFile f((fs::path(a.out_dir) / t.file).string());
      {
        std::ofstream out(f.temp_path());
        out << fmt::format("{}\n", fmt::join(t.columns, ","));
        for (const auto& row : t.rows) out << fmt::format("{}\n", fmt::join(row, ","));
        if (!out) throw Error("cannot write {}", f.temp_path());
      }
      f.commit();
    }
    all.push_back(validation_json(r));
    if (a.json || a.quiet) continue;
    fmt::print("{}: {} (parameter set {}, {:.1f} s)\n", r.name, r.description, r.parameter_set, r.wall_s);
    for (const auto& c : r.curves)
      fmt::print("  {:40} RMSE {:10.4g} {}  max {:10.4g} {}  ({} points)\n", c.name, c.rmse, c.unit, c.max_error, c.unit, c.points);
    for (const auto& [k, v] : r.metrics.items())
      if (!v.is_array() && !v.is_object()) fmt::print("  {} = {}\n", k, v.dump());
    for (const auto& note : r.notes) fmt::print("  note: {}\n", note);
  }
  if (a.json) std::cout << (a.name == "all" ? nlohmann::json{{"cases", all}} : all.front()).dump(2) << "\n";
  return 0;
}

struct FitArgs {
  std::string target;
  packlife::LabFitSpec data;  ///< --data and the options that describe how its cells were cycled
  std::string params, out, name, title;
  std::vector<std::string> set, fit;
  int max_iterations = 30;
  std::string loss = "squares";
  bool json = false, quiet = false;
  std::string command_line;
};

/// --loss squares | cauchy:SCALE | trimmed:FRACTION -> the fit options' Cauchy scale or trimmed fraction.
void parse_loss(const std::string& text, packlife::FitOptions& o) {
  using packlife::InputError;
  if (text == "squares") return;
  for (const std::string prefix : {"cauchy:", "trimmed:"}) {
    if (text.rfind(prefix, 0) != 0) continue;
    const std::string v = text.substr(prefix.size());
    char* end = nullptr;
    const double x = std::strtod(v.c_str(), &end);
    const bool number = !v.empty() && end && *end == '\0' && std::isfinite(x);
    if (prefix == "cauchy:" && number && x > 0) { o.cauchy_scale = x; return; }
    if (prefix == "trimmed:" && number && x >= 0.5 && x < 1) { o.trim_fraction = x; return; }
  }
  throw InputError("", 0, 0, "--loss", fmt::format("'{}' is not a loss: expected squares, cauchy:SCALE with a positive "
                                                   "SCALE (the residual size beyond which residuals weigh less) or "
                                                   "trimmed:FRACTION with FRACTION in [0.5, 1) (the share of the "
                                                   "residuals that count)", text));
}

int run_fit_cmd(const FitArgs& a) {
  using namespace packlife;
  const auto wall0 = std::chrono::steady_clock::now();
  // All input is checked before the first simulation; the output file is written only on success.
  if (a.target.empty() == a.data.path.empty())
    throw InputError("", 0, 0, "--target", "give either --target severson2019 or --data FILE (a cycle-level lab file)");
  if (!a.target.empty() && a.target != "severson2019")
    throw InputError("", 0, 0, "--target", fmt::format("unknown fit target '{}' (known: severson2019; or --data FILE)", a.target));
  std::vector<FitParameter> params;
  for (const std::string& f : a.fit) params.push_back(parse_fit_parameter(f));
  ParameterSet base;
  FitTarget target;
  if (!a.target.empty()) {
    base = severson_cell(a.params, a.set);
    target = severson_fit_target();
  } else {
    base = load_parameter_set(a.params.empty() ? "chen2020" : a.params);
    if (!a.set.empty()) apply_parameter_overrides(base, a.set);
    parse_ageing(a.data.ageing, base);
    target = lab_capacity_target(a.data);
  }
  FitOptions o;
  parse_loss(a.loss, o);
  AtomicFile out(a.out);  // reserves the path (an unwritable folder is an input error now, not after the fit)
  o.max_iterations = a.max_iterations;
  if (!a.quiet) o.progress = [](const std::string& line) { fmt::print(stderr, "  {}\n", line); };
  FitResult r = fit_parameters(base, params, target, o);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  nlohmann::json est = nlohmann::json::array();
  for (const FitEstimate& e : r.estimates)
    est.push_back({{"key", e.key}, {"unit", e.unit}, {"initial", e.initial}, {"value", e.value}, {"ci95_low", e.ci_low},
                   {"ci95_high", e.ci_high}, {"std_ln", e.std_ln}, {"at_bound", e.at_bound}});
  nlohmann::json res = nlohmann::json::array();
  for (size_t i = 0; i < r.residuals.size(); ++i)
    res.push_back({{"name", r.residual_names[i]}, {"initial", r.initial_residuals[i]}, {"final", r.residuals[i]}});
  const double n = static_cast<double>(r.residuals.size());
  nlohmann::json j = {{"target", target.name}, {"residual", target.description}, {"base_parameter_set", base.name},
                      {"converged", r.converged}, {"reason", r.reason}, {"parameters", est},
                      {"rms_residual_initial", std::sqrt(r.ssr_initial / n)}, {"rms_residual", std::sqrt(r.ssr / n)},
                      {"loss", a.loss}, {"cost_initial", r.cost_initial}, {"cost", r.cost},
                      {"iterations", r.iterations}, {"evaluations", r.evaluations}, {"correlation", r.correlation},
                      {"residuals", res}, {"wall_s", wall}, {"output", r.converged ? a.out : ""}};
  if (r.converged) {
    ParameterSet f = r.fitted;
    f.name = a.name.empty() ? base.name + "-fit" : a.name;
    f.title = !a.title.empty() ? a.title
                               : fmt::format("{} (set {}; {} fitted by packlife fit to {})", base.title, base.name,
                                             r.estimates.size() == 1 ? "one parameter" : fmt::format("{} parameters", r.estimates.size()),
                                             target.name);
    f.references["packlife-fit"] = fmt::format("fitted by `{}` ({}; rms residual {:.4g})", a.command_line,
                                               target.description, std::sqrt(r.ssr / n));
    std::string header = fmt::format("# Made by: {}\n# Target: {}\n# {}\n# rms residual {:.6g} (start {:.6g}), {} iterations, {} simulations\n",
                                     a.command_line, target.description, r.reason, std::sqrt(r.ssr / n),
                                     std::sqrt(r.ssr_initial / n), r.iterations, r.evaluations);
    for (const FitEstimate& e : r.estimates)
      header += fmt::format("# {} = {:.6g} {} (95 % CI {:.4g} .. {:.4g}; start {:.4g}){}\n", e.key, e.value, e.unit,
                            e.ci_low, e.ci_high, e.initial, e.at_bound ? " AT BOUND" : "");
    {
      std::ofstream os(out.temp_path());
      os << header << f.to_yaml() << "\n";
      if (!os) throw Error("cannot write {}", out.temp_path());
    }
    out.commit();
  }
  if (a.json) {
    std::cout << j.dump(2) << "\n";
  } else if (!a.quiet) {
    fmt::print("fit of {} to {}: {}\n  {}\n", base.name, target.name, r.converged ? "converged" : "NOT converged", r.reason);
    fmt::print("  rms residual {:.5g} (start {:.5g}), {} iterations, {} simulations, {:.1f} s\n", std::sqrt(r.ssr / n),
               std::sqrt(r.ssr_initial / n), r.iterations, r.evaluations, wall);
    for (const FitEstimate& e : r.estimates)
      fmt::print("  {:45} {:12.5g} {}  95% CI [{:.4g}, {:.4g}]  (start {:.4g}){}\n", e.key, e.value, e.unit, e.ci_low,
                 e.ci_high, e.initial, e.at_bound ? "  at bound" : "");
    if (r.converged) fmt::print("  wrote {}\n", a.out);
  }
  if (!r.converged) {
    fmt::print(stderr, "error: the fit did not converge: {}; no parameter file written\n", r.reason);
    return 1;
  }
  return 0;
}

int run_lifecycle_cmd(const LifecycleArgs& a) {
  using namespace packlife;
  const auto wall0 = std::chrono::steady_clock::now();
  Scenario s = a.scenario.empty() ? Scenario{} : load_scenario(a.scenario);
  apply_scenario_overrides(s, a.set);
  check_scenario(s);
  if (a.print_scenario) {
    std::cout << scenario_yaml(s);
    return 0;
  }
  std::unique_ptr<AtomicFile> h5;
  if (!a.out.empty()) h5 = std::make_unique<AtomicFile>(a.out);
  const bool tty = isatty(fileno(stderr));
  const LifecycleResult r = run_lifecycle(s, [&](const std::string& stage, double years) {
    if (a.quiet || a.json) return;
    if (tty) fmt::print(stderr, "\r  {} ... year {:.0f}   ", stage, years);
  });
  if (tty && !a.quiet && !a.json) fmt::print(stderr, "\r{:40}\r", "");
  if (h5) {
    write_lifecycle_hdf5(r, h5->temp_path());
    h5->commit();
  }
  const double wall_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - wall0).count();
  if (a.json) {
    std::cout << lifecycle_json(r, wall_ms).dump(2) << "\n";
    return 0;
  }
  if (a.quiet) return 0;
  const auto& d = r.design;
  fmt::print("packlife lifecycle: {} pack {:.1f} kWh ({}s{}p of {:.1f} Ah {} cells, {:.0f} V), {} in {}\n",
             d.chemistry, d.energy_kWh(), d.series, d.parallel, d.cell_capacity_Ah, d.parameter_set, d.nominal_V(),
             s.usage_mode, s.climate_city);
  fmt::print("  weakest series block {:.2f} % below the median cell (spread cv {:g}); fresh DC resistance {:.1f} mOhm\n",
             100 * r.weakest_block_deviation, s.pack_cell_spread_cv, r.resistance_mohm);
  fmt::print("  first life:  {:6.2f} years, {:7.1f} MWh, {:6.0f} equivalent full cycles, SOH {:.3f} -> {:.3f}: {}\n",
             r.first.years, r.first.throughput_MWh, r.first.equivalent_full_cycles, r.first.start_soh, r.first.end_soh,
             r.first.end_reason);
  fmt::print("  second life: {:6.2f} years, {:7.1f} MWh, {:6.0f} equivalent full cycles, SOH {:.3f} -> {:.3f} ({}): {}\n",
             r.second.years, r.second.throughput_MWh, r.second.equivalent_full_cycles, r.second.start_soh,
             r.second.end_soh, s.second_life_application, r.second.end_reason);
  std::string fade;
  for (size_t y = 0; y < r.fade_by_year.size(); ++y) fade += fmt::format(" {}:{:.1f}%", y + 1, 100 * r.fade_by_year[y]);
  fmt::print("  capacity fade by first-life year:{}\n", fade);
  fmt::print("  fade after 12 years: {}\n", r.fade_12y ? fmt::format("{:.1f} %", 100 * *r.fade_12y) : "(first life ended earlier)");
  std::string mats;
  for (const auto& m : r.materials)
    if (m.contained_kg > 0) mats += fmt::format(" {} {:.1f}/{:.1f}", m.element, m.recovered_kg, m.contained_kg);
  fmt::print("  recycling ({}), recovered/contained kg:{}\n", s.recycling_process, mats);
  fmt::print("  {} cycles ({} resolved), {} warnings, {:.0f} ms\n", r.cycles, r.resolved_cycles, r.warnings.size(), wall_ms);
  for (size_t i = 0; i < std::min<size_t>(r.warnings.size(), 5); ++i) fmt::print("  warning: {}\n", r.warnings[i]);
  if (r.warnings.size() > 5) fmt::print("  ... ({} more in --json or the HDF5 /warnings)\n", r.warnings.size() - 5);
  if (!a.out.empty()) fmt::print("  wrote {}\n", a.out);
  return 0;
}

struct FleetArgs {
  std::string scenario, out;
  std::vector<std::string> set;
  long long packs = 0;  // 0: the scenario's fleet.packs
  int threads = 0;
  long long seed = -1;
  double checkpoint_s = 30;
  bool json = false, quiet = false, resume = false, force = false;
};

struct TargetArgs {
  std::string input;
  std::vector<std::string> set;
  int years = 12;
  double max_fade = 0.2, require = 0.95;
  int threads = 0;
  bool json = false;
};

nlohmann::json target_json(const packlife::TargetResult& t) {
  using nlohmann::json;
  auto num = [](double v) { return std::isfinite(v) ? json(v) : json(nullptr); };
  json groups = json::array(), drivers = json::array();
  for (const auto& g : t.groups)
    groups.push_back({{"by", g.by}, {"value", g.value}, {"packs", g.packs}, {"passing", g.passing},
                      {"pass_fraction", g.pass_fraction}, {"fade_p50", num(g.fade_p50)}});
  for (const auto& d : t.drivers)
    drivers.push_back({{"input", d.input}, {"failing_mean", d.failing_mean}, {"passing_mean", d.passing_mean},
                       {"effect", d.effect}});
  return {{"years", t.years}, {"max_fade", t.max_fade}, {"require", t.require}, {"packs", t.packs},
          {"passing", t.passing}, {"pass_fraction", t.pass_fraction}, {"failed_simulations", t.failed_simulations},
          {"retired_early", t.retired_early}, {"fade_p50", num(t.fade_p50)}, {"fade_p90", num(t.fade_p90)},
          {"fade_p99", num(t.fade_p99)}, {"fade_worst", num(t.fade_worst)}, {"verdict", t.pass ? "pass" : "fail"},
          {"groups", groups}, {"drivers", drivers}, {"drivers_basis", t.drivers_basis}};
}

void print_target(const packlife::TargetResult& t) {
  fmt::print("target: {} of {} packs ({:.1f} %) kept fade below {:.0f} % through {} years of first life; required "
             "{:.1f} %: {}\n",
             t.passing, t.packs, 100 * t.pass_fraction, 100 * t.max_fade, t.years, 100 * t.require,
             t.pass ? "PASS" : "FAIL");
  fmt::print("  fade at year {} (retired packs: at retirement): P50 {:.1f} %, P90 {:.1f} %, P99 {:.1f} %, worst {:.1f} %\n",
             t.years, 100 * t.fade_p50, 100 * t.fade_p90, 100 * t.fade_p99, 100 * t.fade_worst);
  if (t.retired_early || t.failed_simulations)
    fmt::print("  {} packs left first life before year {}; {} simulations failed\n", t.retired_early, t.years,
               t.failed_simulations);
  std::string by;
  for (const auto& g : t.groups) {
    if (g.by != by) fmt::print("  by {}:", by = g.by);
    fmt::print(" {} {:.0f} % ({})", g.value, 100 * g.pass_fraction, g.packs);
    if (&g == &t.groups.back() || (&g + 1)->by != by) fmt::print("\n");
  }
  if (!t.drivers.empty()) {
    fmt::print("  what separates them, {} (standardised mean difference):\n", t.drivers_basis);
    for (size_t i = 0; i < std::min<size_t>(5, t.drivers.size()); ++i)
      fmt::print("    {:28} {:+.2f}  (worse {:.3g}, others {:.3g})\n", t.drivers[i].input, t.drivers[i].effect,
                 t.drivers[i].failing_mean, t.drivers[i].passing_mean);
  }
}

/// Progress on stderr: a bar redrawn in place on a terminal, a plain line every 10 % otherwise.
std::function<void(long long, long long, long long, double)> fleet_progress(bool quiet) {
  if (quiet) return {};
  const bool tty = isatty(fileno(stderr));
  auto last_tenth = std::make_shared<long long>(-1);
  auto first_done = std::make_shared<long long>(-1);  // packs already done when the run (or resume) began
  return [tty, last_tenth, first_done](long long done, long long failed, long long total, double wall) {
    if (*first_done < 0) *first_done = done;
    const double rate = wall > 0 ? (done - *first_done) / wall : 0.0;
    const double eta = rate > 0 ? (total - done) / rate : 0.0;
    const std::string eta_s = fmt::format("{:.0f}m{:02.0f}s", std::floor(eta / 60), std::fmod(eta, 60.0));
    if (tty) {
      const int width = 30, fill = total ? static_cast<int>(width * done / total) : width;
      fmt::print(stderr, "\r  fleet [{}{}] {}/{} packs, {} failed, {:.2f} packs/s, ETA {}   ", std::string(fill, '#'),
                 std::string(width - fill, '.'), done, total, failed, rate, eta_s);
      if (done == total) fmt::print(stderr, "\n");
      return;
    }
    const long long tenth = total ? 10 * done / total : 10;
    if (tenth == *last_tenth) return;
    *last_tenth = tenth;
    fmt::print(stderr, "fleet: {}/{} packs done, {} failed, {:.2f} packs/s, {:.0f} s elapsed, ETA {}\n", done, total,
               failed, rate, wall, eta_s);
  };
}

void check_threads(int threads) {
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  if (threads > static_cast<int>(16 * cores))
    throw packlife::InputError("", 0, 0, "--threads",
                               fmt::format("{} threads on a machine with {} cores is beyond reason (at most {})", threads,
                                           cores, 16 * cores));
}

int run_fleet_cmd(const FleetArgs& a) {
  using namespace packlife;
  check_threads(a.threads);
  Scenario s;
  if (a.resume) {
    if (!a.scenario.empty() || !a.set.empty() || a.packs > 0 || a.seed >= 0)
      throw InputError("--resume finishes the run recorded in the output file; it takes no scenario, --set, --packs "
                       "or --seed");
  } else {
    s = a.scenario.empty() ? Scenario{} : load_scenario(a.scenario);
    apply_scenario_overrides(s, a.set);
    if (a.packs > 0) s.fleet_packs = static_cast<double>(a.packs);
    if (a.seed >= 0) s.seed = static_cast<std::uint64_t>(a.seed);
    check_scenario(s);
  }
  FleetOptions o;
  o.out = a.out;
  o.threads = a.threads;
  o.resume = a.resume;
  o.force = a.force;
  o.checkpoint_s = a.checkpoint_s;
  o.progress = fleet_progress(a.quiet || a.json);
  const FleetRunInfo info = run_fleet(s, o);
  const TargetResult t = evaluate_target(read_fleet_summary(a.out), 12, 0.2, 0.95);
  if (a.json) {
    std::cout << nlohmann::json{{"packs", info.packs}, {"failed", info.failed}, {"simulated", info.simulated},
                                {"wall_s", info.wall_s}, {"out", a.out}, {"target", target_json(t)}}
                     .dump(2)
              << "\n";
    return 0;
  }
  if (a.quiet) return 0;
  fmt::print("packlife fleet: {} packs ({} simulated now, {} failed) in {:.1f} s, wrote {}\n", info.packs,
             info.simulated, info.failed, info.wall_s, a.out);
  print_target(t);
  return 0;
}

int run_target_cmd(const TargetArgs& a) {
  using namespace packlife;
  namespace fs = std::filesystem;
  check_threads(a.threads);
  const std::string ext = fs::path(a.input).extension().string();
  TargetResult t;
  if (ext == ".yaml" || ext == ".yml") {
    Scenario s = load_scenario(a.input);
    apply_scenario_overrides(s, a.set);
    check_scenario(s);
    // Run the scenario's fleet into a scratch file, then judge it.
    const fs::path dir = fs::temp_directory_path() / fmt::format("packlife-target-{}", ::getpid());
    fs::create_directories(dir);
    FleetOptions o;
    o.out = (dir / "fleet.h5").string();
    o.threads = a.threads;
    o.progress = fleet_progress(a.json);
    try {
      run_fleet(s, o);
      t = evaluate_target(read_fleet_summary(o.out), a.years, a.max_fade, a.require);
    } catch (...) {
      fs::remove_all(dir);
      throw;
    }
    fs::remove_all(dir);
  } else {
    if (!a.set.empty()) throw InputError("--set applies to a scenario file, not to a fleet file");
    t = evaluate_target(read_fleet_summary(a.input), a.years, a.max_fade, a.require);
    const Scenario s = fleet_file_scenario(a.input);
    if (t.packs < static_cast<long long>(s.fleet_packs))
      fmt::print(stderr, "note: the fleet run is not complete ({} of {} packs; finish it with packlife fleet --resume "
                         "--out {})\n", t.packs, s.fleet_packs, a.input);
  }
  if (t.packs == 0) throw InputError(a.input, 0, 0, "", "the fleet file holds no completed packs");
  if (a.json)
    std::cout << target_json(t).dump(2) << "\n";
  else
    print_target(t);
  return t.pass ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"packlife: physics of traction battery packs across their whole life", "packlife"};
  app.set_version_flag("--version", fmt::format("packlife {} ({})", packlife::build::version, packlife::build::git_sha));
  app.require_subcommand(0, 1);

  SimulateArgs sa;
  auto* sim = app.add_subcommand("simulate", "simulate one cell through an experiment");
  std::string models_help = "cell model:";
  for (const auto& [n, d] : packlife::model_names()) models_help += fmt::format(" {} ({});", n, d);
  sim->add_option("--model", sa.model, models_help)->capture_default_str();
  sim->add_option("--params", sa.params, "parameter set by name (chen2020, marquis2019, okane2022, prada2013) or YAML file path")->capture_default_str();
  sim->add_option("--set", sa.set, "override one parameter of the set, KEY=VALUE (repeatable), e.g. ageing.positive.lam_rate_s=1e-9")
      ->take_all()->allow_extra_args(false);
  sim->add_option("--experiment", sa.experiment, "steps separated by ';', e.g. \"Discharge at 1C until 2.5 V\"")->capture_default_str();
  sim->add_option("--experiment-file", sa.experiment_file, "file with one experiment step per line (overrides --experiment)");
  sim->add_option("--cycles", sa.cycles, "repeat the whole step list N times")->capture_default_str();
  sim->add_option("--thermal", sa.thermal, "isothermal or lumped")->capture_default_str();
  sim->add_option("--ambient-C", sa.ambient_C, "ambient (and initial) temperature [degC]")->capture_default_str();
  sim->add_option("--initial-soc", sa.initial_soc, "initial state of charge on the electrode-balance window, 0..1")->capture_default_str();
  sim->add_option("--output-dt", sa.output_dt, "output sampling interval [s]")->capture_default_str();
  sim->add_option("--particle-cells", sa.particle_cells, "finite volumes per particle radius (0: the model's default, 30 for spm and spme, 20 for dfn)")->capture_default_str();
  sim->add_option("--particle-stretch", sa.particle_stretch, "radial mesh refinement towards the particle surface (1 = uniform)")->capture_default_str();
  sim->add_option("--electrolyte-cells", sa.electrolyte_cells, "finite volumes per electrolyte region (SPMe, DFN)")->capture_default_str();
  sim->add_option("--mesh", sa.mesh,
                  "mesh setting, overrides --electrolyte-cells and --particle-cells: coarse (10,10), default, fine "
                  "(40,60) or E,P (cells per electrolyte region, per particle); docs/models.md has the convergence study");
  sim->add_option("--rtol", sa.rtol, "integrator relative tolerance")->capture_default_str();
  sim->add_option("--csv", sa.csv, "write the time series as CSV to this file")->capture_default_str();
  sim->add_option("--summary-csv", sa.summary_csv, "write one row per cycle (capacity and degradation ledger) as CSV")
      ->capture_default_str();
  sim->add_option("--ageing", sa.ageing,
                  "degradation mechanisms: none, default (the parameter set's list), or a comma list of sei, "
                  "sei-solvent-diffusion, sei-reaction, sei-reaction-diffusion, sei-interstitial-diffusion, plating, plating-irreversible, lam (both electrodes), lam-negative, lam-positive")
      ->capture_default_str();
  sim->add_flag("--accelerate", sa.accelerate,
               "cycle jumping: resolve representative cycles, extrapolate the ageing state across the others "
               "(error-controlled, see docs/models.md)")
      ->capture_default_str();
  sim->add_option("--accelerate-tol", sa.accelerate_tol,
                  "local error allowed per jump in lithium lost and active material lost, as fractions")
      ->capture_default_str();
  sim->add_option("--max-jump", sa.max_jump, "longest cycle jump")->capture_default_str();
  sim->add_option("--checkup-every", sa.checkup_every,
                  "simulate the reference check-up (C/3 discharge at 25 C) every N cycles (0: never)")
      ->capture_default_str();
  sim->add_flag("--no-time-series", sa.no_time_series,
                "keep only the steps and the per-cycle summary (long runs)")
      ->capture_default_str();
  sim->add_option("--checkpoint", sa.checkpoint, "write the final state (exact, to continue with --restart) to this file")
      ->capture_default_str();
  sim->add_option("--restart", sa.restart, "continue from a checkpoint file instead of --initial-soc")
      ->capture_default_str();
  sim->add_option("--out", sa.out, "write results and resolved inputs as HDF5 to this file")->capture_default_str();
  sim->add_flag("--json", sa.json, "print a JSON summary instead of text")->capture_default_str();
  sim->add_flag("--quiet", sa.quiet, "print nothing but errors")->capture_default_str();

  LifecycleArgs la;
  auto* life = app.add_subcommand("lifecycle", "simulate one pack through first life, second life and recycling");
  life->add_option("scenario", la.scenario, "scenario YAML file (default: the built-in defaults, "
                                            "datasets/scenarios/default.yaml)");
  life->add_option("--set", la.set, "override one scenario key, KEY=VALUE (repeatable), e.g. climate.city=harbin")
      ->take_all()->allow_extra_args(false);
  life->add_option("--out", la.out, "write the trajectory (weekly samples) and stage events as HDF5 to this file");
  life->add_flag("--json", la.json, "print a JSON summary instead of text");
  life->add_flag("--quiet", la.quiet, "print nothing but errors");
  life->add_flag("--print-scenario", la.print_scenario,
                 "print the resolved scenario (every key, with overrides applied) as YAML and exit");

  FleetArgs fl;
  auto* fleet = app.add_subcommand("fleet", "simulate a fleet of packs (OpenMP) into an HDF5 file, with the 12-year "
                                            "target verdict (docs/models.md#fleet)");
  fleet->add_option("scenario", fl.scenario, "scenario YAML file (default: the built-in default fleet, "
                                             "datasets/scenarios/default.yaml)");
  fleet->add_option("--packs", fl.packs, "number of packs (overrides fleet.packs)")->check(CLI::Range(1LL, 1000000LL));
  fleet->add_option("--threads", fl.threads, "OpenMP threads (default: all cores)")->check(CLI::Range(1, 100000));
  fleet->add_option("--seed", fl.seed, "scenario seed (overrides seed)")->check(CLI::Range(0LL, (1LL << 62)));
  fleet->add_option("--set", fl.set, "override one scenario key, KEY=VALUE (repeatable), e.g. fleet.mode_mix=swap:1")
      ->take_all()->allow_extra_args(false);
  fleet->add_option("--out", fl.out, "fleet HDF5 file (layout in docs/file-formats.md)")->required();
  fleet->add_flag("--resume", fl.resume, "finish the run recorded in --out (after a crash or kill)");
  fleet->add_flag("--force", fl.force, "overwrite an existing --out");
  fleet->add_option("--checkpoint-s", fl.checkpoint_s, "rebuild the HDF5 file from the journal at most this often [s] (spaced to at least 20 times the last rebuild's duration)")
      ->capture_default_str()->check(CLI::Range(0.0, 1e6));
  fleet->add_flag("--json", fl.json, "print one JSON object (packs, failed, wall_s, target)");
  fleet->add_flag("--quiet", fl.quiet, "print nothing but errors");

  TargetArgs ta;
  auto* target = app.add_subcommand("target", "the long-life target verdict of a fleet (exit 0 pass, 1 fail)");
  target->add_option("input", ta.input, "fleet HDF5 file, or a scenario YAML file whose fleet is run first")->required();
  target->add_option("--years", ta.years, "years of first life the packs must last")->capture_default_str()
      ->check(CLI::Range(1, 40));
  target->add_option("--max-fade", ta.max_fade, "capacity fade allowed at that year, as a fraction")->capture_default_str()
      ->check(CLI::Range(1e-6, 1.0));
  target->add_option("--require", ta.require, "share of packs that must pass")->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  target->add_option("--set", ta.set, "scenario input: override one key, KEY=VALUE (repeatable)")->take_all()
      ->allow_extra_args(false);
  target->add_option("--threads", ta.threads, "scenario input: OpenMP threads")->check(CLI::Range(1, 100000));
  target->add_flag("--json", ta.json, "print one JSON object");

  ValidateArgs va;
  auto* val = app.add_subcommand("validate", "compare packlife with lab data: a named case or all (docs/validation.md)");
  val->add_option("case", va.name, "case name: " + fmt::format("{}", fmt::join(packlife::validation_case_names(), ", ")) + ", or all")
      ->required();
  val->add_option("--params", va.params, "parameter set for the case's cell (default: the case's own)");
  val->add_option("--set", va.set, "override one parameter, KEY=VALUE (repeatable)")->take_all()->allow_extra_args(false);
  val->add_option("--policy", va.policy, "severson2019: simulate this charging policy C1(Q1%)-C2, e.g. \"5.6C(36%)-4.3C\"");
  val->add_option("--mesh", va.mesh, "DFN cases (comsol): mesh setting coarse, default, fine or E,P (cells per electrolyte region, per particle)");
  val->add_option("--rtol", va.rtol, "DFN cases (comsol): integrator relative tolerance (default 1e-6)");
  val->add_option("--out-dir", va.out_dir, "write each case's simulated and measured series as CSV into this directory");
  val->add_flag("--json", va.json, "print JSON (one object per case; {\"cases\": [...]} for all)");
  val->add_flag("--quiet", va.quiet, "print nothing but errors");

  FitArgs fa;
  // The command as a shell would need it typed again: arguments with spaces or shell characters quoted.
  for (int i = 0; i < argc; ++i) {
    std::string arg = i ? argv[i] : "packlife";
    if (arg.empty() || arg.find_first_of(" \t\"'$`\\;&|<>()*?[]{}#~!") != std::string::npos) {
      std::string q = "'";
      for (char ch : arg) q += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
      arg = q + "'";
    }
    fa.command_line += (i ? " " : "") + arg;
  }
  auto* fit = app.add_subcommand("fit", "calibrate parameters to lab data by nonlinear least squares (docs/fitting.md)");
  fit->add_option("--target", fa.target, "built-in target: severson2019 (cycle life of the training cells)");
  fit->add_option("--data", fa.data.path, "cycle-level lab file to fit (capacity relative to the first cycle)");
  fit->add_option("--format", fa.data.format, "lab file format (auto, or a name from docs/lab-data.md)")->capture_default_str();
  fit->add_option("--cell", fa.data.cells, "--data: fit only this cell (repeatable)")->take_all()->allow_extra_args(false);
  fit->add_option("--experiment", fa.data.experiment, "--data: the cycle the cells were run through, e.g. \"Charge at 1C until "
                  "4.2 V; Discharge at 1C until 2.5 V\"; rests and holds only (\"Rest for 30 days\") make a storage "
                  "test, compared by electrode-balance capacity");
  fit->add_option("--ambient-C", fa.data.ambient_C, "--data: chamber temperature [degC] (a cell's temperature_C column overrides it)")->capture_default_str();
  fit->add_option("--initial-soc", fa.data.initial_soc, "--data: SOC the first cycle starts from (a cell's initial_soc column overrides it)")->capture_default_str();
  fit->add_option("--down-to", fa.data.down_to, "--data: fit each cell's curve only down to this fraction of its first "
                  "capacity, in [0, 1) (e.g. 0.6: leave out the end of a curve cycled far past its knee)");
  fit->add_flag("--absolute", fa.data.absolute, "--data: compare capacities in A h (the set is the tested cell) instead of "
                "relative to each cell's first cycle");
  fit->add_option("--ageing", fa.data.ageing, "--data: degradation mechanisms (as for simulate)")->capture_default_str();
  fit->add_option("--params", fa.params, "parameter set to start from (default: a123-apr18650 for severson2019, chen2020 otherwise)");
  fit->add_option("--set", fa.set, "override one parameter before fitting, KEY=VALUE (repeatable)")->take_all()->allow_extra_args(false);
  fit->add_option("--fit", fa.fit, "parameter to fit, KEY or KEY:LOWER:UPPER (repeatable; fitted on a log scale from the set's value)")
      ->required()->take_all()->allow_extra_args(false);
  fit->add_option("--out", fa.out, "write the fitted parameter set here (only if the fit converges)")->required();
  fit->add_option("--name", fa.name, "name of the fitted set (default: the base set's name + \"-fit\")");
  fit->add_option("--title", fa.title, "title of the fitted set (default: the base set's title, saying which "
                                       "parameters were fitted to what)");
  fit->add_option("--loss", fa.loss, "squares (least squares), cauchy:SCALE (robust: residuals well beyond SCALE, such as "
                                     "an outlying batch of cells, weigh less) or trimmed:FRACTION (least trimmed squares: "
                                     "only that share of the residuals, the smallest, counts)")->capture_default_str();
  fit->add_option("--max-iterations", fa.max_iterations, "Levenberg-Marquardt iterations before giving up")
      ->capture_default_str()->check(CLI::Range(1, 1000));
  fit->add_flag("--json", fa.json, "print a JSON report (estimates, confidence intervals, residuals)");
  fit->add_flag("--quiet", fa.quiet, "print nothing but errors");

  int repeats = 21;
  bool bench_json = false;
  auto* bench = app.add_subcommand("bench", "time reference solves (median over repeats, one thread; fleet_1000_packs_s once, on all cores)");
  bench->add_option("--repeats", repeats, "number of timed solves per case")->capture_default_str()->check(CLI::Range(1, 100000));
  bench->add_flag("--json", bench_json, "print one JSON object")->capture_default_str();
  std::vector<std::string> bench_cases;
  bench->add_option("--case", bench_cases, "run only this case (repeatable): " + packlife::cli::benchmark_case_list())
      ->check(CLI::IsMember(packlife::cli::benchmark_cases()));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : kExitInput;
  }
  try {
    if (*bench) {
      const auto j = packlife::cli::run_benchmarks(repeats, !bench_json, bench_cases);
      std::cout << (bench_json ? j.dump() : j.dump(2)) << "\n";
      return 0;
    }
    if (*life) return run_lifecycle_cmd(la);
    if (*fleet) return run_fleet_cmd(fl);
    if (*target) return run_target_cmd(ta);
    if (*val) return run_validate_cmd(va);
    if (*fit) return run_fit_cmd(fa);
    return run_simulate(sa);  // also the default job when no subcommand is given
  } catch (const packlife::InputError& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return kExitInput;
  } catch (const packlife::SolverError& e) {
    fmt::print(stderr, "solver error: {}\n", e.what());
    return kExitSolver;
  } catch (const std::exception& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 1;
  }
}
