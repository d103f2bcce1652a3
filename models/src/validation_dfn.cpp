/// @file validation_dfn.cpp
/// DFN validation cases against independent references: `comsol` (the COMSOL DFN solution of the
/// Marquis et al. 2019 cell, voltage and internal profiles at five rates) and `ecker2015` (measured 1C
/// and 5C discharges of the Kokam cell of Ecker et al. 2015) and `enertech` (measured voltage and
/// temperature rise of the Enertech pouch of Ai et al. 2020 at 0.5C, 1C and 2C).
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "packlife/core/csv.hpp"
#include "packlife/core/dae.hpp"
#include "packlife/core/error.hpp"
#include "packlife/models/cell_model.hpp"
#include "packlife/models/simulation.hpp"
#include "packlife/models/validation.hpp"
#include "validation_cases.hpp"

namespace packlife {

namespace {

std::string num(double v) { return fmt::format("{:.8g}", v); }

/// Linear interpolation of (x, v) at xq, extended linearly beyond the end points (profiles are known
/// at cell centres; the reference also at the boundaries, half a cell further out).
double interp_linear(const std::vector<double>& x, const std::vector<double>& v, double xq) {
  if (x.size() == 1) return v[0];
  size_t i = 1;
  while (i + 1 < x.size() && x[i] < xq) ++i;
  const double w = (xq - x[i - 1]) / (x[i] - x[i - 1]);
  return v[i - 1] + w * (v[i] - v[i - 1]);
}

/// Reads one field of the COMSOL JSON as a matrix [node][time] (or a vector).
std::vector<std::vector<double>> matrix(const nlohmann::json& j, const std::string& key, const std::string& file) {
  if (!j.contains(key) || !j[key].is_array()) throw InputError(file, 0, 0, key, "missing array");
  return j[key].get<std::vector<std::vector<double>>>();
}
std::vector<double> vec(const nlohmann::json& j, const std::string& key, const std::string& file) {
  if (!j.contains(key) || !j[key].is_array()) throw InputError(file, 0, 0, key, "missing array");
  return j[key].get<std::vector<double>>();
}

}  // namespace

ParameterSet comsol_cell(const ValidationOptions& o) {
  ParameterSet p = load_parameter_set(o.params.empty() ? "marquis2019" : o.params);
  // The reference's conditions (PyBaMM's COMSOL comparison): 1 m x 1 m electrode, 1C = 24 A/m2,
  // electrode conductivities 126 and 16.6 S/m.
  apply_parameter_overrides(p, {"cell.electrode_height_m=1", "cell.electrode_width_m=1", "cell.nominal_capacity_Ah=24",
                                "negative.conductivity_S_m=126", "positive.conductivity_S_m=16.6"},
                            "COMSOL reference conditions");
  if (!o.set.empty()) apply_parameter_overrides(p, o.set, "command line");
  return p;
}

ComsolRun run_comsol_rate(const ParameterSet& p, const ModelOptions& mo, double c_rate, const std::string& file) {
  std::ifstream in(file);
  if (!in) throw InputError(file, 0, 0, "", "cannot open the COMSOL reference");
  nlohmann::json ref;
  try {
    in >> ref;
  } catch (const std::exception& e) {
    throw InputError(file, 0, 0, "", std::string("not valid JSON: ") + e.what());
  }
  ComsolRun run;
  run.time_s = vec(ref, "time", file);
  run.voltage_ref = vec(ref, "voltage", file);
  const auto x = vec(ref, "x", file), xn = vec(ref, "x_n", file), xp = vec(ref, "x_p", file);
  const struct {
    const char* ours;
    const char* theirs;
    const std::vector<double>* nodes;
    double scale;  // to the reported unit
    const char* unit;
  } fields[] = {{"c_e", "c_e", &x, 1.0, "mol/m3"},          {"phi_e", "phi_e", &x, 1e3, "mV"},
                {"phi_s_n", "phi_n", &xn, 1e3, "mV"},        {"phi_s_p", "phi_p", &xp, 1e3, "mV"},
                {"c_s_surf_n", "c_n_surf", &xn, 1.0, "mol/m3"}, {"c_s_surf_p", "c_p_surf", &xp, 1.0, "mol/m3"}};
  std::vector<std::vector<std::vector<double>>> refs;
  for (const auto& f : fields) {
    refs.push_back(matrix(ref, f.theirs, file));
    if (refs.back().size() != f.nodes->size()) throw InputError(file, 0, 0, f.theirs, "node count differs from its x");
  }

  auto model = make_model("dfn", p, mo);
  const double T = p.cell.reference_temperature_K;
  std::vector<double> y = model->initial_state(1.0, T), yp(y.size(), 0.0), buf(y.size());
  // Start where the reference starts: the set's initial particle concentrations, at rest.
  model->set_rest_state(y.data(), p.negative.initial_concentration_mol_m3 / p.negative.max_concentration_mol_m3,
                        p.positive.initial_concentration_mol_m3 / p.positive.max_concentration_mol_m3, T);
  model->set_control(Control::Current, c_rate * p.cell.nominal_capacity_Ah);
  model->set_events({});
  model->consistent_init(0.0, y.data(), yp.data());
  DaeOptions d;
  d.rtol = mo.rtol;
  d.atol = model->absolute_tolerances();
  DaeIntegrator integ(*model, d);
  integ.reinit(0.0, y.data(), yp.data());
  const double t_end = run.time_s.back();
  integ.set_stop_time(t_end);
  std::vector<double> ss(std::size(fields), 0.0), mx(std::size(fields), 0.0);
  std::vector<size_t> cnt(std::size(fields), 0);
  size_t next = 0;
  auto sample = [&](const double* ys, size_t k) {
    run.voltage_sim.push_back(model->outputs(ys).voltage_V);
    const auto prof = model->profiles(ys);
    for (size_t f = 0; f < std::size(fields); ++f) {
      const Profile* pr = nullptr;
      for (const auto& q : prof)
        if (q.name == fields[f].ours) pr = &q;
      if (!pr) throw Error("the dfn model reports no profile {}", fields[f].ours);
      for (size_t i = 0; i < fields[f].nodes->size(); ++i) {
        const double e = fields[f].scale * (interp_linear(pr->x_m, pr->values, (*fields[f].nodes)[i]) - refs[f][i][k]);
        ss[f] += e * e;
        mx[f] = std::max(mx[f], std::abs(e));
        ++cnt[f];
      }
    }
  };
  for (; next < run.time_s.size() && run.time_s[next] <= 0.0; ++next) sample(y.data(), next);
  try {
    while (next < run.time_s.size()) {
      integ.step(t_end);
      const double tn = integ.time();
      for (; next < run.time_s.size() && run.time_s[next] <= tn * (1 + 1e-12); ++next) {
        integ.interpolate(std::min(run.time_s[next], tn), buf.data());
        sample(buf.data(), next);
      }
      if (tn >= t_end) break;
    }
  } catch (const SolverError& e) {
    run.stopped = fmt::format("the DFN stopped at t = {:.1f} s: {}", e.time_s(), e.detail());
  }
  run.voltage_ref.resize(run.voltage_sim.size());
  for (size_t f = 0; f < std::size(fields); ++f)
    run.profiles.push_back({fields[f].ours, fields[f].unit, cnt[f] ? std::sqrt(ss[f] / cnt[f]) : 0.0, mx[f], cnt[f]});
  return run;
}

ValidationResult comsol_case(const ValidationOptions& o) {
  ValidationResult r;
  r.name = "comsol";
  r.description = "DFN against the COMSOL DFN solution of the Marquis et al. (2019) Kokam cell: voltage and internal "
                  "profiles at 0.1C, 0.5C, 1C, 2C and 3C, 25 C isothermal";
  const ParameterSet p = comsol_cell(o);
  r.parameter_set = p.identity();
  ModelOptions mo = o.model_options;
  mo.rtol = std::min(mo.rtol, 1e-6);
  const std::pair<double, const char*> rates[] = {{0.1, "01C"}, {0.5, "05C"}, {1, "1C"}, {2, "2C"}, {3, "3C"}};
  double worst = 0;
  ValidationTable t{"comsol.csv", {"c_rate", "time_s", "voltage_sim_V", "voltage_ref_V"}, {}};
  for (const auto& [c, tag] : rates) {
    const ComsolRun run = run_comsol_rate(p, mo, c, fmt::format("{}/comsol/comsol_{}.json", data_dir(), tag));
    std::vector<double> sim_mV, ref_mV;
    for (size_t k = 0; k < run.voltage_sim.size(); ++k) {
      sim_mV.push_back(1e3 * run.voltage_sim[k]);
      ref_mV.push_back(1e3 * run.voltage_ref[k]);
      t.rows.push_back({num(c), num(run.time_s[k]), num(run.voltage_sim[k]), num(run.voltage_ref[k])});
    }
    ValidationCurve v = compare_curves(fmt::format("{:g}C voltage", c), "mV", sim_mV, ref_mV);
    worst = std::max(worst, v.rmse);
    r.curves.push_back(v);
    for (const auto& pr : run.profiles)
      r.curves.push_back({fmt::format("{:g}C {}", c, pr.name), pr.unit, pr.rmse, pr.max_error, pr.points});
    if (!run.stopped.empty()) r.notes.push_back(fmt::format("{:g}C: {}", c, run.stopped));
    if (o.progress) o.progress(fmt::format("comsol {:g}C: voltage RMSE {:.3f} mV", c, v.rmse));
  }
  r.tables.push_back(std::move(t));
  r.metrics["worst_voltage_rmse_mV"] = worst;
  const ModelOptions used = make_model("dfn", p, mo)->options();
  r.metrics["mesh"] = fmt::format("{} cells per region, {} per particle", used.electrolyte_cells, used.particle_cells);
  r.notes.push_back("Reference: COMSOL DFN results distributed with PyBaMM (datasets/comsol/README.md), 1 m2 electrode, "
                    "24 A/m2 per 1C, runs not stopped at a voltage cut-off. Profiles are compared at the COMSOL nodes "
                    "(packlife's cell-centre values interpolated linearly) over all 200 reference times; potentials "
                    "with phi_s = 0 at the negative collector in both.");
  return r;
}

namespace {

/// A DFN constant-current discharge at `rate` (C-rate as text) to the set's lower cut-off, starting where
/// the measured discharges start: at rest at the set's initial particle concentrations.
Solution measured_discharge(const ParameterSet& p, const ModelOptions& mo, const std::string& rate) {
  auto model = make_model("dfn", p, mo);
  const ElectrodeBalance& eb = model->balance();
  const double x0 = p.negative.initial_concentration_mol_m3 / p.negative.max_concentration_mol_m3;
  SimulationOptions so;
  so.initial_soc = std::clamp((x0 - eb.x0) / (eb.x100 - eb.x0), 0.0, 1.0);
  return simulate(*model, parse_experiment(fmt::format("Discharge at {}C until {:g} V", rate,
                                                       p.cell.lower_voltage_cutoff_V)), so);
}

/// The case's parameter set (the option's, else `fallback`) with the command line's overrides.
ParameterSet case_set(const ValidationOptions& o, const std::string& fallback) {
  ParameterSet p = load_parameter_set(o.params.empty() ? fallback : o.params);
  if (!o.set.empty()) apply_parameter_overrides(p, o.set, "command line");
  return p;
}

/// The measured discharges' conditions: the options' mesh and tolerance, lumped thermal, 25 C ambient.
ModelOptions lumped_25C(const ValidationOptions& o) {
  ModelOptions mo = o.model_options;
  mo.thermal = Thermal::Lumped;
  mo.ambient_K = 298.15;
  return mo;
}

/// A measured series (tm, vm) beside the simulated one (s.time_s, series - offset) at the measured times
/// the simulation reached; `beyond` counts the measured points after its end.
struct Sampled {
  std::vector<double> t, sim, meas;
  size_t beyond = 0;
};
Sampled sample_measured(const Solution& s, const std::vector<double>& series, double offset,
                        const std::vector<double>& tm, const std::vector<double>& vm) {
  Sampled r;
  for (size_t i = 0; i < tm.size(); ++i) {
    if (tm[i] > s.time_s.back()) {
      ++r.beyond;
      continue;
    }
    r.t.push_back(tm[i]);
    r.sim.push_back(interp_linear(s.time_s, series, tm[i]) - offset);
    r.meas.push_back(vm[i]);
  }
  return r;
}

/// Note for measured points the simulation did not reach (none when there are none).
void note_beyond(ValidationResult& r, const std::string& what, size_t beyond, double cutoff_V) {
  if (beyond > 0)
    r.notes.push_back(fmt::format("{}: {} measured points lie after the simulated discharge reached {:g} V and are "
                                  "not compared", what, beyond, cutoff_V));
}

/// Values scaled by k (to the curve's unit, e.g. V to mV).
std::vector<double> scaled(std::vector<double> v, double k) {
  for (double& x : v) x *= k;
  return v;
}

}  // namespace

ValidationResult ecker2015_case(const ValidationOptions& o) {
  ValidationResult r;
  r.name = "ecker2015";
  r.description = "DFN with lumped thermal against the measured 1C and 5C discharges of the Kokam SLPB 75106100 "
                  "(Ecker et al. 2015 Part II), 25 C";
  const ParameterSet p = case_set(o, "ecker2015");
  r.parameter_set = p.identity();
  const ModelOptions mo = lumped_25C(o);
  ValidationTable t{"ecker2015.csv", {"c_rate", "time_s", "voltage_sim_V", "voltage_measured_V"}, {}};
  double worst = 0;
  for (const int c : {1, 5}) {
    const CsvTable data = CsvTable::read(fmt::format("{}/ecker2015/Ecker_{}C.csv", data_dir(), c));
    const int ct = data.column("time_s"), cv = data.column("voltage_V");
    std::vector<double> tm, vm;
    for (size_t i = 0; i < data.rows(); ++i) {
      tm.push_back(data.number(i, ct));
      vm.push_back(data.number(i, cv));
    }
    const Solution s = measured_discharge(p, mo, fmt::format("{}", c));
    if (!s.stopped.empty()) r.notes.push_back(fmt::format("{}C: {}", c, s.stopped));
    const Sampled m = sample_measured(s, s.voltage_V, 0.0, tm, vm);
    for (size_t i = 0; i < m.t.size(); ++i) t.rows.push_back({num(c), num(m.t[i]), num(m.sim[i]), num(m.meas[i])});
    ValidationCurve v = compare_curves(fmt::format("{}C voltage", c), "mV", scaled(m.sim, 1e3), scaled(m.meas, 1e3));
    worst = std::max(worst, v.rmse);
    r.curves.push_back(v);
    r.metrics[fmt::format("capacity_{}C_Ah", c)] = s.discharge_capacity_Ah.back();
    note_beyond(r, fmt::format("{}C", c), m.beyond, p.cell.lower_voltage_cutoff_V);
    if (o.progress) o.progress(fmt::format("ecker2015 {}C: voltage RMSE {:.1f} mV", c, v.rmse));
  }
  r.tables.push_back(std::move(t));
  r.metrics["worst_voltage_rmse_mV"] = worst;
  r.notes.push_back("Measured data digitised by Richardson et al. (2020) from Ecker et al. (2015) Part II "
                    "(datasets/ecker2015/README.md). One electrode pair of the 7.5 A h stack (1C = 0.15625 A), starting "
                    "from the set's initial concentrations, lumped thermal at 25 C ambient. The parameter set is as "
                    "published (no fitting to these curves); its limits are in docs/models.md.");
  return r;
}

namespace {

/// Two whitespace-separated numbers per line (time, value); InputError naming file and line otherwise.
std::pair<std::vector<double>, std::vector<double>> read_two_columns(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError(path, 0, 0, "", "cannot open the measured series");
  std::vector<double> t, v;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::istringstream ss(line);
    double a = 0, b = 0;
    if (!(ss >> a >> b) || !std::isfinite(a) || !std::isfinite(b))
      throw InputError(path, n, 0, "", fmt::format("expected two numbers 'time value', found '{}'", line));
    if (!t.empty() && !(a > t.back()))
      throw InputError(path, n, 0, "", fmt::format("time {} does not increase (previous {})", a, t.back()));
    t.push_back(a);
    v.push_back(b);
  }
  if (t.size() < 2) throw InputError(path, 0, 0, "", "fewer than two rows");
  return {t, v};
}

}  // namespace

ValidationResult enertech_case(const ValidationOptions& o) {
  ValidationResult r;
  r.name = "enertech";
  r.description = "DFN with lumped thermal against the measured voltage and temperature rise of the Enertech 2.28 A h "
                  "LiCoO2/graphite pouch (Ai et al. 2020) at 0.5C, 1C and 2C, 25 C";
  const ParameterSet p = case_set(o, "ai2020");
  r.parameter_set = p.identity();
  const ModelOptions mo = lumped_25C(o);
  ValidationTable t{"enertech.csv", {"c_rate", "quantity", "time_s", "simulated", "measured"}, {}};
  double worst_V = 0, worst_T = 0;
  for (const char* rate : {"0.5", "1", "2"}) {
    const double c = std::stod(rate);
    const Solution s = measured_discharge(p, mo, rate);
    if (!s.stopped.empty()) r.notes.push_back(fmt::format("{}C: {}", rate, s.stopped));
    for (const char* q : {"U", "T"}) {
      const bool voltage = q[0] == 'U';
      const auto [tm, vm] = read_two_columns(fmt::format("{}/enertech_ai2020/{}C_discharge_{}.txt", data_dir(), rate, q));
      // Voltage [V], or the temperature rise above the start [K] (the file's quantity).
      const Sampled m = voltage ? sample_measured(s, s.voltage_V, 0.0, tm, vm)
                                : sample_measured(s, s.temperature_K, s.temperature_K.front(), tm, vm);
      for (size_t i = 0; i < m.t.size(); i += 10)  // the table keeps every 10th point (1 s data: 10 s spacing)
        t.rows.push_back({num(c), voltage ? "voltage_V" : "temperature_rise_K", num(m.t[i]), num(m.sim[i]),
                          num(m.meas[i])});
      const double k = voltage ? 1e3 : 1.0;
      ValidationCurve cv = compare_curves(fmt::format("{}C {}", rate, voltage ? "voltage" : "temperature rise"),
                                          voltage ? "mV" : "K", scaled(m.sim, k), scaled(m.meas, k));
      double& worst = voltage ? worst_V : worst_T;
      worst = std::max(worst, cv.rmse);
      r.curves.push_back(cv);
      note_beyond(r, fmt::format("{}C {}", rate, voltage ? "voltage" : "temperature"), m.beyond,
                  p.cell.lower_voltage_cutoff_V);
    }
    r.metrics[fmt::format("capacity_{}C_Ah", rate)] = s.discharge_capacity_Ah.back();
    if (o.progress) o.progress(fmt::format("enertech {}C done", rate));
  }
  r.tables.push_back(std::move(t));
  r.metrics["worst_voltage_rmse_mV"] = worst_V;
  r.metrics["worst_temperature_rmse_K"] = worst_T;
  r.notes.push_back("Measured data of Ai et al. (2020) (datasets/enertech_ai2020/README.md): voltage and surface "
                    "temperature rise; the lumped model's temperature is the cell average. Starts from the set's initial "
                    "concentrations (SOC 1), 25 C ambient, h = 35 W/(m2 K) as in Ai et al.; no fitting to these curves.");
  return r;
}

}  // namespace packlife
