#include "packlife/models/fit.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <numeric>
#include <regex>

#include "packlife/core/error.hpp"
#include "packlife/models/experiment.hpp"
#include "packlife/models/labdata.hpp"
#include "packlife/models/validation.hpp"

namespace packlife {

namespace {

std::string number_text(double v) { return fmt::format("{:.10g}", v); }

/// The set with the parameters at exp(theta).
ParameterSet with_values(const ParameterSet& base, const std::vector<FitParameter>& params, const Eigen::VectorXd& theta,
                         const std::string& source) {
  ParameterSet p = base;
  std::vector<std::string> a;
  for (size_t i = 0; i < params.size(); ++i) a.push_back(params[i].key + "=" + number_text(std::exp(theta[i])));
  apply_parameter_overrides(p, a, source);
  return p;
}

const ParameterRecord* record_of(const ParameterSet& p, const std::string& key) {
  for (const ParameterRecord& r : p.records)
    if (r.key == key) return &r;
  return nullptr;
}

}  // namespace

double student_t975(int dof) {
  if (dof < 1) return std::numeric_limits<double>::infinity();
  // Exact for 1 and 2 degrees of freedom; Cornish-Fisher expansion about the normal quantile above
  // (Abramowitz and Stegun 26.7.5), within 0.2 % for dof >= 3.
  if (dof == 1) return 12.7062;
  if (dof == 2) return 4.3027;
  const double z = 1.959963985, n = dof, z2 = z * z;
  return z + (z2 * z + z) / (4 * n) + (5 * std::pow(z, 5) + 16 * z2 * z + 3 * z) / (96 * n * n) +
         (3 * std::pow(z, 7) + 19 * std::pow(z, 5) + 17 * z2 * z - 15 * z) / (384 * n * n * n) +
         (79 * std::pow(z, 9) + 776 * std::pow(z, 7) + 1482 * std::pow(z, 5) - 1920 * z2 * z - 945 * z) /
             (92160 * n * n * n * n);
}

FitParameter parse_fit_parameter(const std::string& text) {
  static const std::regex re(R"(^([A-Za-z0-9_.]+)(?::([^:]+):([^:]+))?$)");
  std::smatch m;
  if (!std::regex_match(text, m, re))
    throw InputError("", 0, 0, "--fit", fmt::format("'{}': expected KEY or KEY:LOWER:UPPER, e.g. "
                                                    "ageing.sei.solvent_diffusivity_m2_s:1e-24:1e-18", text));
  FitParameter f;
  f.key = m[1];
  if (m[2].matched) {
    auto num = [&](const std::string& s) {
      try {
        size_t used = 0;
        const double v = std::stod(s, &used);
        if (used == s.size()) return v;
      } catch (const std::exception&) {
      }
      throw InputError("", 0, 0, "--fit", fmt::format("'{}': bound '{}' is not a number", text, s));
    };
    f.lower = num(m[2]);
    f.upper = num(m[3]);
    if (!(f.lower > 0 && f.upper > f.lower))
      throw InputError("", 0, 0, "--fit", fmt::format("'{}': bounds must satisfy 0 < LOWER < UPPER", text));
  }
  return f;
}

// ---- targets ------------------------------------------------------------------------------------

FitTarget severson_fit_target(int max_cycles) {
  FitTarget t;
  t.name = "severson2019";
  t.description = "ln(simulated / measured cycle life) of the Severson et al. (2019) training cells";
  const std::vector<SeversonCell> cells = severson_training_cells();
  for (const SeversonCell& c : cells) t.residual_names.push_back(c.barcode + " " + c.policy.text);
  t.residuals = [cells, max_cycles](const ParameterSet& p) {
    std::vector<ChargePolicy> pols;
    for (const SeversonCell& c : cells) pols.push_back(c.policy);
    const auto lives = severson_lives(p, pols, max_cycles, nullptr);
    std::vector<double> r;
    for (const SeversonCell& c : cells) r.push_back(std::log(lives.at(c.policy.text).estimate / c.cycle_life));
    return r;
  };
  return t;
}

FitTarget lab_capacity_target(const LabFitSpec& spec) {
  FitTarget t;
  t.name = spec.path;
  t.description = (spec.absolute ? "discharge capacity [A h]" : "capacity relative to the first cycle") +
                  std::string(", simulated minus measured, of ") + spec.path;
  if (spec.experiment.empty()) throw InputError("", 0, 0, "--experiment", "a lab-file target needs the cycling experiment");
  const Experiment e = parse_experiment(spec.experiment, "--experiment");
  if (!(spec.initial_soc >= 0 && spec.initial_soc <= 1))
    throw InputError("", 0, 0, "--initial-soc", fmt::format("{} must be in [0, 1]", spec.initial_soc));
  std::vector<LabCell> cells = read_lab_cycles(spec.path, spec.format);
  if (!spec.cells.empty()) {
    std::vector<LabCell> chosen;
    for (const std::string& id : spec.cells) {
      auto it = std::find_if(cells.begin(), cells.end(), [&](const LabCell& c) { return c.id == id; });
      if (it == cells.end()) throw InputError(spec.path, 0, 0, "--cell", fmt::format("no cell '{}' in the file", id));
      chosen.push_back(*it);
    }
    cells = chosen;
  }
  if (!(spec.down_to >= 0 && spec.down_to < 1))
    throw InputError("", 0, 0, "--down-to", fmt::format("{} must be in [0, 1)", spec.down_to));
  if (spec.down_to > 0)
    for (LabCell& c : cells) {
      size_t k = 0;  // the curve up to its first point below the floor
      while (k < c.cycle.size() && c.capacity_Ah[k] >= spec.down_to * c.capacity_Ah.front()) ++k;
      c.cycle.resize(k);
      c.capacity_Ah.resize(k);
    }
  // A cell's own chamber temperature and starting SOC (plain-format columns temperature_C and initial_soc,
  // docs/lab-data.md) override --ambient-C and --initial-soc, so one file can hold a calendar test matrix.
  auto condition = [&](const LabCell& c, const char* column, double fallback, double lo, double hi) {
    const auto it = c.conditions.find(column);
    if (it == c.conditions.end() || it->second.empty()) return fallback;
    char* end = nullptr;
    const double v = std::strtod(it->second.c_str(), &end);
    if (end == it->second.c_str() || *end != '\0' || !(v >= lo && v <= hi))
      throw InputError(spec.path, 0, 0, column,
                       fmt::format("cell '{}': '{}' is not a number in [{}, {}]", c.id, it->second, lo, hi));
    return v;
  };
  // Cells that share a condition share one run to their last measured cycle.
  struct Group {
    double ambient_C, initial_soc;
    int n_max = 0;
    std::vector<size_t> cells;
  };
  std::vector<Group> groups;
  for (size_t k = 0; k < cells.size(); ++k) {
    LabCell& c = cells[k];
    if (c.cycle.size() < 2)
      throw InputError(spec.path, 0, 0, "cycle", fmt::format("cell '{}': needs at least two measured cycles", c.id));
    for (size_t i = spec.absolute ? 0 : 1; i < c.cycle.size(); ++i)  // cycle numbers index the simulated cycles
      t.residual_names.push_back(fmt::format("{} cycle {:g}", c.id, c.cycle[i]));
    const double T = condition(c, "temperature_C", spec.ambient_C, -40, 80);
    const double soc = condition(c, "initial_soc", spec.initial_soc, 0, 1);
    auto g = std::find_if(groups.begin(), groups.end(),
                          [&](const Group& x) { return x.ambient_C == T && x.initial_soc == soc; });
    if (g == groups.end()) g = groups.insert(groups.end(), Group{T, soc, 0, {}});
    g->cells.push_back(k);
    g->n_max = std::max(g->n_max, static_cast<int>(std::ceil(c.cycle.back())));
  }
  // A storage (calendar) test only rests or holds a voltage (float) between its check-ups: its capacity is
  // then the electrode-balance capacity at the end of each cycle, what a slow check-up measures.
  const bool storage = std::all_of(e.steps.begin(), e.steps.end(), [](const ExperimentStep& s) {
    return s.kind == ExperimentStep::Kind::Rest || s.kind == ExperimentStep::Kind::Voltage;
  });
  if (storage) t.description += " (a storage test: the electrode-balance capacity at the end of each cycle)";
  t.residuals = [cells, e, spec, groups, storage](const ParameterSet& p) {
    std::vector<std::vector<double>> sims(cells.size());
    for (const Group& g : groups) {
      const CycleRun run = run_cycles(p, e, g.ambient_C, g.n_max, nullptr, g.initial_soc, spec.ageing);
      if (static_cast<int>(run.capacity_Ah.size()) < g.n_max)
        throw Error("the simulation at {} C from SOC {} stopped after {} of {} cycles: {}", g.ambient_C, g.initial_soc,
                    run.capacity_Ah.size(), g.n_max, run.stopped);
      std::vector<double> cap = run.capacity_Ah;
      if (storage) {  // entry 0 is the fresh cell (the check-up before storage), entry k the end of period k
        cap = run.esoh_Ah;
        cap.insert(cap.begin(), run.fresh_esoh_Ah);
      }
      for (size_t k : g.cells) sims[k] = cap;
    }
    std::vector<double> r;
    for (size_t k = 0; k < cells.size(); ++k) {
      const LabCell& c = cells[k];
      // Cycling: cycle 0 (a check-up before cycling) is compared with the first simulated cycle.
      auto sim = [&](double cycle) {
        const long n = std::lround(cycle);
        return sims[k][storage ? std::max<long>(n, 0) : std::max<long>(n, 1) - 1];
      };
      const double s0 = spec.absolute ? 1.0 : sim(c.cycle.front()), m0 = spec.absolute ? 1.0 : c.capacity_Ah.front();
      for (size_t i = spec.absolute ? 0 : 1; i < c.cycle.size(); ++i) r.push_back(sim(c.cycle[i]) / s0 - c.capacity_Ah[i] / m0);
    }
    return r;
  };
  return t;
}

// ---- Levenberg-Marquardt ------------------------------------------------------------------------

FitResult fit_parameters(const ParameterSet& base, const std::vector<FitParameter>& params, const FitTarget& target,
                         const FitOptions& o) {
  const int np = static_cast<int>(params.size());
  if (np == 0) throw InputError("", 0, 0, "--fit", "name at least one parameter to fit");
  FitResult res;
  res.residual_names = target.residual_names;
  const std::string source = "packlife-fit";
  Eigen::VectorXd theta(np), lo(np), hi(np);
  for (int i = 0; i < np; ++i) {
    const FitParameter& f = params[i];
    for (int j = 0; j < i; ++j)
      if (params[j].key == f.key) throw InputError("", 0, 0, "--fit", fmt::format("'{}' named twice", f.key));
    const ParameterRecord* r = record_of(base, f.key);
    if (!r) {  // an unknown key gets the override's message (naming the schema); a known one is absent here
      ParameterSet probe = base;
      apply_parameter_overrides(probe, {f.key + "=1"}, "--fit");
      throw InputError("", 0, 0, "--fit", fmt::format("'{}' is not given in set '{}'", f.key, base.name));
    }
    char* end = nullptr;
    const double v = r->is_text || r->is_table ? 0.0 : std::strtod(r->value.c_str(), &end);
    if (!(v > 0) || !end || *end != '\0')
      throw InputError("", 0, 0, "--fit", fmt::format("'{}' = '{}' in set '{}' is not a positive number (fitted on a "
                                                      "log scale from the set's value)", f.key, r->value, base.name));
    theta[i] = std::log(v);
    lo[i] = f.lower > 0 ? std::log(f.lower) : -std::numeric_limits<double>::infinity();
    hi[i] = f.upper > 0 ? std::log(f.upper) : std::numeric_limits<double>::infinity();
    if (theta[i] < lo[i] || theta[i] > hi[i])
      throw InputError("", 0, 0, "--fit", fmt::format("'{}': starting value {} outside [{}, {}]", f.key, v, f.lower, f.upper));
    res.estimates.push_back({f.key, r->unit, v, v, 0, 0, 0, false});
  }
  const int n = static_cast<int>(target.residual_names.size());
  auto evaluate = [&](const Eigen::VectorXd& th) {
    ++res.evaluations;
    const std::vector<double> r = target.residuals(with_values(base, params, th, source));
    if (static_cast<int>(r.size()) != n) throw Error("fit target {}: {} residuals, expected {}", target.name, r.size(), n);
    Eigen::VectorXd v(n);
    for (int i = 0; i < n; ++i) {
      if (!std::isfinite(r[i]))
        throw Error("residual '{}' is not finite (a simulated capacity of zero: does the experiment deliver charge "
                    "from the initial state?); no parameter file written", target.residual_names[i]);
      v[i] = r[i];
    }
    return v;
  };
  auto say = [&](const std::string& s) { if (o.progress) o.progress(s); };
  auto values_text = [&](const Eigen::VectorXd& th) {
    std::string s;
    for (int i = 0; i < np; ++i) s += fmt::format("{}{}={:.4g}", i ? ", " : "", params[i].key, std::exp(th[i]));
    return s;
  };

  // The minimised sum: squares; the Cauchy loss c^2 ln(1 + (r/c)^2), minimised by iteratively
  // re-weighted Gauss-Newton steps with weights w = 1 / (1 + (r/c)^2) (Holland & Welsch 1977); or the
  // trimmed sum of the h smallest squares (least trimmed squares, Rousseeuw 1984), minimised by steps on
  // the h residuals that are smallest at the current parameters (weights 1 for them, 0 for the rest: the
  // "concentration step" of Rousseeuw & Van Driessen 2006), a step accepted when the trimmed sum falls.
  const double c = o.cauchy_scale, alpha = o.trim_fraction;
  if (c < 0 || !std::isfinite(c)) throw InputError("", 0, 0, "--loss", fmt::format("Cauchy scale {} must be positive", c));
  if (!(alpha == 0 || (alpha >= 0.5 && alpha < 1)))
    throw InputError("", 0, 0, "--loss", fmt::format("trimmed fraction {} must lie in [0.5, 1)", alpha));
  if (c > 0 && alpha > 0) throw InputError("", 0, 0, "--loss", "choose one robust loss: Cauchy or trimmed, not both");
  const int kept = alpha > 0 ? static_cast<int>(std::ceil(alpha * n - 1e-9)) : n;
  auto weights = [&](const Eigen::VectorXd& v) {
    Eigen::VectorXd w = Eigen::VectorXd::Ones(v.size());
    if (c > 0)
      for (int i = 0; i < v.size(); ++i) w[i] = 1.0 / (1.0 + (v[i] / c) * (v[i] / c));
    if (alpha > 0) {  // the `kept` smallest |r| count; ties broken by position, so the choice is deterministic
      std::vector<int> order(v.size());
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return std::abs(v[a]) < std::abs(v[b]); });
      for (int k = kept; k < v.size(); ++k) w[order[k]] = 0.0;
    }
    return w;
  };
  auto cost = [&](const Eigen::VectorXd& v) {
    if (alpha > 0) return v.dot(weights(v).asDiagonal() * v);
    if (c <= 0) return v.squaredNorm();
    double s = 0;
    for (int i = 0; i < v.size(); ++i) s += c * c * std::log1p((v[i] / c) * (v[i] / c));
    return s;
  };
  const char* what = c > 0 ? "Cauchy loss" : alpha > 0 ? "trimmed sum of squares" : "sum of squares";
  Eigen::VectorXd r = evaluate(theta);  // an error here is the caller's (bad data or start)
  res.initial_residuals.assign(r.data(), r.data() + n);
  res.ssr_initial = r.squaredNorm();
  res.cost_initial = cost(r);
  double ssr = res.cost_initial;  // the minimised sum
  say(fmt::format("start: {} {:.6g} at {}", what, ssr, values_text(theta)));
  if (kept <= np) {
    res.reason = fmt::format("{} residuals{} for {} parameters: nothing to estimate the error from", kept,
                             alpha > 0 ? " kept after trimming" : "", np);
    res.residuals = res.initial_residuals;
    res.ssr = res.ssr_initial;
    res.cost = ssr;
    return res;
  }
  auto jacobian = [&](const Eigen::VectorXd& th, const Eigen::VectorXd& r0) {
    Eigen::MatrixXd J(n, np);
    for (int k = 0; k < np; ++k) {
      Eigen::VectorXd t = th;
      double h = o.fd_step;
      if (t[k] + h > hi[k]) h = -h;  // step away from an upper bound
      t[k] += h;
      J.col(k) = (evaluate(t) - r0) / h;
    }
    return J;
  };
  double lambda = -1;
  bool done = false;
  try {
    for (res.iterations = 0; res.iterations < o.max_iterations && !done; ++res.iterations) {
      const Eigen::MatrixXd J = jacobian(theta, r);
      const Eigen::VectorXd w = weights(r);
      const Eigen::MatrixXd A = J.transpose() * w.asDiagonal() * J;
      const Eigen::VectorXd g = J.transpose() * w.asDiagonal() * r;
      for (int k = 0; k < np; ++k)
        if (!(A(k, k) > 1e-14 * std::max(1.0, ssr))) {
          res.reason = fmt::format("'{}' does not change the residuals: it cannot be estimated from these data", params[k].key);
          res.residuals.assign(r.data(), r.data() + n);
          res.ssr = r.squaredNorm();
          res.cost = ssr;
          return res;
        }
      if (lambda < 0) lambda = 1e-3;  // Marquardt's scaling: damping lambda diag(J^T J), dimensionless
      bool accepted = false;
      for (int tries = 0; tries < 12 && !accepted; ++tries) {
        Eigen::MatrixXd M = A;
        M.diagonal() += lambda * A.diagonal();
        Eigen::VectorXd step = M.ldlt().solve(-g);
        // At most a factor e^2 per iteration in any parameter: the linearisation of a
        // degradation rate does not hold across orders of magnitude.
        if (step.cwiseAbs().maxCoeff() > 2.0) step *= 2.0 / step.cwiseAbs().maxCoeff();
        Eigen::VectorXd trial = (theta + step).cwiseMax(lo).cwiseMin(hi);
        step = trial - theta;
        // A trial whose simulation fails (say, a storage cell drained empty by a far too fast SEI) is
        // a step too far: rejected like one that raises the cost, so the damping grows.
        Eigen::VectorXd rt;
        double ssr_t = std::numeric_limits<double>::infinity();
        try {
          rt = evaluate(trial);
          ssr_t = cost(rt);
        } catch (const Error& e) {
          say(fmt::format("trial step at {} rejected: {}", values_text(trial), e.what()));
        }
        if (ssr_t < ssr) {
          const double drop = (ssr - ssr_t) / ssr;
          theta = trial;
          r = rt;
          ssr = ssr_t;
          lambda = std::max(lambda / 3, 1e-9);
          accepted = true;
          say(fmt::format("iteration {}: {} {:.6g} at {}", res.iterations + 1, what, ssr, values_text(theta)));
          if (drop < o.rel_tol || step.cwiseAbs().maxCoeff() < o.step_tol) {
            done = true;
            res.reason = drop < o.rel_tol ? fmt::format("the {} fell by less than {:g} of itself", what, o.rel_tol)
                                          : fmt::format("no ln(parameter) changed by more than {:g}", o.step_tol);
          }
        } else {
          lambda *= 4;
        }
      }
      if (!accepted) {
        done = true;
        res.reason = fmt::format("no step lowers the {} further (a minimum to the resolution of the finite differences)", what);
      }
    }
  } catch (const Error& e) {
    res.reason = fmt::format("a simulation failed during the iteration: {}", e.what());
    res.residuals.assign(r.data(), r.data() + n);
    res.ssr = r.squaredNorm();
    res.cost = ssr;
    return res;
  }
  res.residuals.assign(r.data(), r.data() + n);
  res.ssr = r.squaredNorm();
  res.cost = ssr;
  for (int i = 0; i < np; ++i) res.estimates[i].value = std::exp(theta[i]);
  if (!done) {
    res.reason = fmt::format("not converged within {} iterations ({} {:.6g}, from {:.6g})", o.max_iterations, what, ssr,
                             res.cost_initial);
    return res;
  }
  // Linearised covariance at the optimum: s^2 (J^T W J)^-1, s^2 = sum(w r^2) / (m - p) (W = I and m = n for
  // least squares; for the Cauchy loss the weights of the last iteration, as in re-weighted least squares;
  // for trimmed squares the kept residuals, m = h: the interval of least squares on the kept cells).
  const Eigen::MatrixXd J = jacobian(theta, r);
  const Eigen::VectorXd w = weights(r);
  const Eigen::MatrixXd A = J.transpose() * w.asDiagonal() * J;
  ssr = r.dot(w.asDiagonal() * r);
  Eigen::FullPivLU<Eigen::MatrixXd> lu(A);
  if (!lu.isInvertible() || lu.rcond() < 1e-12) {
    res.reason = "the parameters are not separately identifiable from these data (singular J^T J at the optimum); "
                 "fit fewer of them";
    return res;
  }
  const Eigen::MatrixXd cov = lu.inverse() * (ssr / (kept - np));
  const double t = student_t975(kept - np);
  res.correlation.assign(np, std::vector<double>(np, 0.0));
  for (int i = 0; i < np; ++i) {
    FitEstimate& e = res.estimates[i];
    e.std_ln = std::sqrt(std::max(cov(i, i), 0.0));
    e.ci_low = std::exp(theta[i] - t * e.std_ln);
    e.ci_high = std::exp(theta[i] + t * e.std_ln);
    e.at_bound = theta[i] <= lo[i] + 1e-12 || theta[i] >= hi[i] - 1e-12;
    for (int j = 0; j < np; ++j) res.correlation[i][j] = cov(i, j) / std::sqrt(cov(i, i) * cov(j, j));
  }
  res.fitted = with_values(base, params, theta, source);
  res.converged = true;
  return res;
}

}  // namespace packlife
