#include "packlife/models/validation.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <regex>

#include "packlife/core/csv.hpp"
#include "packlife/core/error.hpp"
#include "packlife/models/cell_model.hpp"
#include "packlife/models/labdata.hpp"
#include "packlife/models/pack.hpp"
#include "packlife/models/simulation.hpp"

namespace packlife {

namespace {

constexpr double kZeroC = 273.15;

std::string lab_file(const std::string& rel) { return data_dir() + "/lab/" + rel; }

/// The case's cell: the parameter set (option or the case's default) with the overrides, its electrode
/// area scaled so that its nominal capacity is the tested cell's.
ParameterSet case_cell(const ValidationOptions& o, const std::string& fallback, double nominal_Ah,
                       const std::string& cell) {
  ParameterSet p = load_parameter_set(o.params.empty() ? fallback : o.params);
  if (!o.set.empty()) apply_parameter_overrides(p, o.set, "command line");
  const double scale = nominal_Ah / p.cell.nominal_capacity_Ah;
  if (std::abs(scale - 1) > 1e-12) p = scaled_cell(p, scale, cell);
  return p;
}

/// Discharge capacity and electrode-balance capacity of every cycle, running `e` in chunks until
/// the electrode-balance capacity falls below `stop_fraction` of the fresh cell's or `max_cycles`
/// have run (cycle jumping on).
struct CycleRun {
  std::vector<double> capacity_Ah;  ///< delivered by each cycle's discharge, index 0 = cycle 1
  std::vector<double> esoh_Ah;      ///< electrode-balance capacity (25 C, between the voltage limits)
  double fresh_esoh_Ah = 0;
  std::string stopped;              ///< why the run ended early (the cell could not continue)
};
CycleRun run_cycles(const ParameterSet& p, const Experiment& e, double ambient_C, int max_cycles,
                    double stop_fraction, double initial_soc) {
  ModelOptions mo;
  mo.thermal = Thermal::Lumped;
  mo.ambient_K = ambient_C + kZeroC;
  mo.ageing = parse_ageing("default", p);
  auto m = make_model("spme", p, mo);
  SimulationOptions so;
  so.keep_time_series = false;
  so.initial_soc = initial_soc;
  so.accelerate.enabled = true;
  CycleRun r;
  r.fresh_esoh_Ah = m->balance().capacity_Ah;
  Checkpoint ck;
  const int chunk = 250;
  while (static_cast<int>(r.capacity_Ah.size()) < max_cycles) {
    Experiment ex = e;
    ex.cycles = std::min(chunk, max_cycles - static_cast<int>(r.capacity_Ah.size()));
    so.restart = r.capacity_Ah.empty() ? nullptr : &ck;
    const Solution s = simulate(*m, ex, so);
    for (const CycleSummary& c : s.cycles) {
      r.capacity_Ah.push_back(c.discharge_capacity_Ah);
      r.esoh_Ah.push_back(c.esoh_capacity_Ah);
    }
    ck = s.checkpoint;
    if (!s.stopped.empty()) {
      r.stopped = s.stopped;
      break;
    }
    if (stop_fraction > 0 && !r.esoh_Ah.empty() && r.esoh_Ah.back() < stop_fraction * r.fresh_esoh_Ah) break;
  }
  return r;
}

std::string num(double v) { return fmt::format("{:.6g}", v); }

// ---- nasa-pcoe ----------------------------------------------------------------------------------
ValidationResult nasa_pcoe(const ValidationOptions& o) {
  ValidationResult res;
  res.name = "nasa-pcoe";
  res.description = "NASA Ames PCoE 18650 cells B0005, B0006, B0007, B0018: capacity fade over their cycling, 24 C";
  const std::vector<LabCell> cells = read_lab_cycles(lab_file("nasa_pcoe/capacity_per_cycle.csv"), "nasa-pcoe");
  // Discharge cut-offs per cell (Saha and Goebel 2007, the data set's readme).
  const std::map<std::string, double> cutoff = {{"B0005", 2.7}, {"B0006", 2.5}, {"B0007", 2.2}, {"B0018", 2.5}};
  ParameterSet p = case_cell(o, "okane2022", 2.0, "NASA PCoE 18650, rated 2 A h");
  res.parameter_set = p.name;
  p.cell.lower_voltage_cutoff_V = std::min(p.cell.lower_voltage_cutoff_V, 2.2);
  ValidationTable t{"nasa-pcoe.csv", {"cell", "cycle", "measured_relative_capacity", "simulated_relative_capacity"}, {}};
  double worst_end = 0;
  for (const LabCell& c : cells) {
    const auto it = cutoff.find(c.id);
    if (it == cutoff.end()) continue;
    const Experiment e = parse_experiment(
        fmt::format("Charge at 1.5 A with CV at 4.2 V until 20 mA; Discharge at 2 A until {} V", it->second),
        "nasa-pcoe protocol");
    const int n = static_cast<int>(c.cycle.back());
    const CycleRun r = run_cycles(p, e, 24.0, n, 0.0, 1.0);  // the measured cycles, no early stop
    if (r.capacity_Ah.empty()) throw Error("nasa-pcoe: cell {} could not be simulated: {}", c.id, r.stopped);
    std::vector<double> sim, meas;
    for (size_t i = 0; i < c.cycle.size(); ++i) {
      const size_t k = static_cast<size_t>(c.cycle[i]) - 1;
      if (k >= r.capacity_Ah.size()) break;
      sim.push_back(r.capacity_Ah[k] / r.capacity_Ah.front());
      meas.push_back(c.capacity_Ah[i] / c.capacity_Ah.front());
      t.rows.push_back({c.id, num(c.cycle[i]), num(meas.back()), num(sim.back())});
    }
    std::vector<double> sim_pct, meas_pct;
    for (size_t i = 0; i < sim.size(); ++i) {
      sim_pct.push_back(100 * sim[i]);
      meas_pct.push_back(100 * meas[i]);
    }
    res.curves.push_back(compare_curves(c.id + " relative capacity", "% of first cycle", sim_pct, meas_pct));
    res.metrics["cells"][c.id] = {{"cycles", n},
                                  {"measured_fade", 1 - meas.back()},
                                  {"simulated_fade", 1 - sim.back()},
                                  {"discharge_cutoff_V", it->second}};
    worst_end = std::max(worst_end, std::abs(sim.back() - meas.back()));
    if (o.progress) o.progress(fmt::format("nasa-pcoe: {} done ({} cycles)", c.id, n));
  }
  res.metrics["worst_end_of_test_error"] = worst_end;
  res.tables.push_back(std::move(t));
  res.notes.push_back("Chemistry not stated by NASA; simulated as the parameter set's cell scaled to the rated 2 A h. "
                      "Capacities are compared relative to each cell's first cycle. The measured capacity recovers "
                      "after rests between test campaigns, which the protocol here (continuous cycling) does not have.");
  return res;
}

// ---- severson2019 -------------------------------------------------------------------------------
constexpr double kSeversonNominalAh = 1.1;
constexpr double kSeversonEndAh = 0.88;
constexpr int kSeversonMaxCycles = 3000;

Experiment severson_cycle(const ChargePolicy& pol, const ParameterSet& p) {
  const double vmax = p.cell.upper_voltage_cutoff_V, vmin = p.cell.lower_voltage_cutoff_V;
  std::string steps = fmt::format("Charge at {}C with CV at {} V until {}% SOC", pol.c1, vmax, 100 * pol.q1);
  if (pol.q1 < 0.8) steps += fmt::format("; Charge at {}C with CV at {} V until 80% SOC", pol.c2, vmax);
  steps += fmt::format("; Charge at 1C with CV at {} V until C/50; Rest for 1 minute", vmax);
  steps += fmt::format("; Discharge at 4C until {} V; Rest for 1 minute", vmin);
  return parse_experiment(steps, "severson2019 protocol");
}

/// Cycle life of one policy: cycles until the cell's electrode-balance capacity has fallen to
/// 0.88 / 1.1 of the fresh cell's (the data's end of life, 80 % of nominal, applied to the
/// thermodynamic capacity, see the case's note); negative when not reached.
double severson_life(const ParameterSet& p, const ChargePolicy& pol, CycleRun* out) {
  const double end = kSeversonEndAh / kSeversonNominalAh;
  const CycleRun r = run_cycles(p, severson_cycle(pol, p), 30.0, kSeversonMaxCycles, end, 0.0);
  LabCell c;
  for (size_t i = 0; i < r.esoh_Ah.size(); ++i) {
    c.cycle.push_back(static_cast<double>(i + 1));
    c.capacity_Ah.push_back(r.esoh_Ah[i] / r.fresh_esoh_Ah);
  }
  if (out) *out = r;
  const double life = cycles_to(c, end);
  if (life < 0 && !r.stopped.empty()) throw Error("severson2019: policy {}: the run stopped: {}", pol.text, r.stopped);
  return life;
}

ValidationResult severson2019(const ValidationOptions& o) {
  ValidationResult res;
  res.name = "severson2019";
  res.description = "A123 APR18650M1A (LFP) fast-charge cycle life, Severson et al. 2019 training cells, 30 C chamber";
  const ParameterSet p = case_cell(o, "prada2013", kSeversonNominalAh, "A123 APR18650M1A, 1.1 A h");
  res.parameter_set = p.name;
  const CsvTable t = CsvTable::read(lab_file("severson2019/train_cycle_life.csv"));
  res.notes.push_back("Protocol from the data set: C1 from 0 to Q1 % SOC, C2 to 80 %, 1C CC-CV to 3.6 V (to C/50, "
                      "assumption), 4C discharge to 2.0 V, 1-minute rests (assumption), 30 C chamber, lumped thermal "
                      "model with the parameter set's heat transfer. SOC is the model's electrode-balance SOC. "
                      "Cycle life: the measured cells' end of life is a 4C discharge capacity of 0.88 A h (80 % of "
                      "nominal); the simulated cell's end of life is its electrode-balance capacity falling to 80 % "
                      "of its fresh value, because an uncalibrated set's 4C capacity depends on its transport "
                      "parameters more than on its ageing (prada2013 delivers about 70 % of nominal at 4C). Runs "
                      "stop at 3000 cycles (a longer life is counted as 3000).");
  const int ccell = t.column("Cell barcode"), clife = t.column("Cycle life"), cpol = t.column("Charging policy");
  auto json_life = [](double v) { return v < 0 ? nlohmann::json(nullptr) : nlohmann::json(v); };
  if (!o.policy.empty()) {
    const ChargePolicy pol = parse_charge_policy(o.policy);
    CycleRun run;
    const double life = severson_life(p, pol, &run);
    res.metrics["policy"] = pol.text;
    res.metrics["predicted_cycle_life"] = json_life(life);
    res.metrics["simulated_up_to_cycles"] = run.esoh_Ah.size();
    res.metrics["fresh_4C_discharge_Ah"] = run.capacity_Ah.empty() ? 0.0 : run.capacity_Ah.front();
    nlohmann::json measured = nlohmann::json::array();
    for (size_t r = 0; r < t.rows(); ++r)
      if (parse_charge_policy(t.text(r, cpol)).text == pol.text) measured.push_back(t.number(r, clife));
    res.metrics["measured_cycle_life"] = measured;
    ValidationTable tab{"severson2019_policy.csv",
                        {"cycle", "simulated_4C_discharge_capacity_Ah", "simulated_relative_capacity"}, {}};
    for (size_t i = 0; i < run.esoh_Ah.size(); ++i)
      tab.rows.push_back({num(static_cast<double>(i + 1)), num(run.capacity_Ah[i]), num(run.esoh_Ah[i] / run.fresh_esoh_Ah)});
    res.tables.push_back(std::move(tab));
    return res;
  }
  std::map<std::string, double> predicted;  // one simulation per distinct policy
  ValidationTable tab{"severson2019.csv", {"cell", "policy", "measured_cycle_life", "predicted_cycle_life"}, {}};
  std::vector<double> rel_err;
  int within = 0, n = 0;
  nlohmann::json cells = nlohmann::json::array();
  for (size_t r = 0; r < t.rows(); ++r) {
    const ChargePolicy pol = parse_charge_policy(t.text(r, cpol));
    if (!predicted.count(pol.text)) {
      predicted[pol.text] = severson_life(p, pol, nullptr);
      if (o.progress) o.progress(fmt::format("severson2019: {} -> {}", pol.text, predicted[pol.text] < 0 ? fmt::format("> {} cycles", kSeversonMaxCycles) : fmt::format("{:.0f} cycles", predicted[pol.text])));
    }
    const double life = predicted[pol.text], meas = t.number(r, clife);
    const double pred = life < 0 ? kSeversonMaxCycles : life;  // censored: counted at the simulated limit
    const double err = (pred - meas) / meas;
    rel_err.push_back(100 * err);
    ++n;
    if (std::abs(err) <= 0.30) ++within;
    cells.push_back({{"cell", t.text(r, ccell)}, {"policy", pol.text}, {"measured_cycle_life", meas},
                     {"predicted_cycle_life", json_life(life)}});
    tab.rows.push_back({t.text(r, ccell), pol.text, num(meas), life < 0 ? "" : num(life)});
  }
  res.curves.push_back(compare_curves("cycle life relative error", "%", rel_err, std::vector<double>(rel_err.size(), 0.0)));
  res.metrics["cells"] = cells;
  res.metrics["fraction_within_30pct"] = n ? static_cast<double>(within) / n : 0.0;
  auto life_of = [&](const std::string& s) {
    const double v = predicted.count(s) ? predicted[s] : severson_life(p, parse_charge_policy(s), nullptr);
    return v < 0 ? static_cast<double>(kSeversonMaxCycles) : v;
  };
  const double slow = std::min(life_of("3.6C(80%)-3.6C"), life_of("4C(80%)-4C"));
  double fast = 0;
  for (const auto& [s, v] : predicted)
    if (parse_charge_policy(s).c1 >= 6.0) fast = std::max(fast, v < 0 ? kSeversonMaxCycles : v);
  res.metrics["slow_uniform_outlive_6C_7C_first_steps"] = slow > fast;
  res.tables.push_back(std::move(tab));
  return res;
}

}  // namespace

ChargePolicy parse_charge_policy(const std::string& text) {
  static const std::regex re(R"(^\s*([0-9]*\.?[0-9]+)C\(([0-9]*\.?[0-9]+)%\)-([0-9]*\.?[0-9]+)C\s*$)", std::regex::icase);
  std::smatch m;
  if (!std::regex_match(text, m, re))
    throw InputError("", 0, 0, "policy", fmt::format("charging policy '{}' not understood; expected C1(Q1%)-C2, e.g. "
                                                     "'5.6C(36%)-4.3C'", text));
  ChargePolicy p;
  p.c1 = std::stod(m[1]);
  p.q1 = std::stod(m[2]) / 100.0;
  p.c2 = std::stod(m[3]);
  if (!(p.c1 > 0 && p.c2 > 0 && p.c1 <= 20 && p.c2 <= 20))
    throw InputError("", 0, 0, "policy", fmt::format("charging policy '{}': C-rates must be in (0, 20]", text));
  if (!(p.q1 > 0 && p.q1 <= 0.8))
    throw InputError("", 0, 0, "policy", fmt::format("charging policy '{}': the switch SOC Q1 must be in (0, 80] %", text));
  p.text = fmt::format("{:g}C({:g}%)-{:g}C", p.c1, 100 * p.q1, p.c2);
  return p;
}

ValidationCurve compare_curves(const std::string& name, const std::string& unit, const std::vector<double>& simulated,
                               const std::vector<double>& measured) {
  if (simulated.size() != measured.size()) throw Error("compare_curves: {} simulated vs {} measured points", simulated.size(), measured.size());
  ValidationCurve c{name, unit, 0, 0, simulated.size()};
  double ss = 0;
  for (size_t i = 0; i < simulated.size(); ++i) {
    const double d = simulated[i] - measured[i];
    ss += d * d;
    c.max_error = std::max(c.max_error, std::abs(d));
  }
  c.rmse = simulated.empty() ? 0 : std::sqrt(ss / simulated.size());
  return c;
}

std::vector<std::string> validation_case_names() { return {"nasa-pcoe", "severson2019"}; }

void check_validation_case(const std::string& name) {
  const auto known = validation_case_names();
  if (std::find(known.begin(), known.end(), name) == known.end())
    throw InputError("", 0, 0, "case", fmt::format("unknown validation case '{}' (known: {}, all)", name,
                                                   fmt::join(known, ", ")));
}

ValidationResult run_validation(const std::string& name, const ValidationOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  check_validation_case(name);
  if (!o.policy.empty() && name != "severson2019")
    throw InputError("", 0, 0, "--policy", "--policy applies to the severson2019 case only");
  ValidationResult r;
  if (name == "nasa-pcoe") r = nasa_pcoe(o);
  else r = severson2019(o);
  r.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace packlife
