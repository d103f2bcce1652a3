#include "packlife/models/simulation.hpp"

#include <cmath>

#include "packlife/core/error.hpp"

namespace packlife {

namespace {

struct StepPlan {
  Control control;
  double value;
  double duration_s;  ///< stop time after the step start
  bool time_limited;  ///< duration is a safety limit, not the user's "for"
  std::vector<Event> events;
  size_t user_events;  ///< the first user_events events are the step's own end conditions
};

StepPlan plan_step(const ExperimentStep& s, const CellModel& m) {
  const ParameterSet& p = m.parameters();
  const double Qnom = p.cell.nominal_capacity_Ah;
  const double sign = s.charge ? -1.0 : 1.0;
  StepPlan plan{};
  using K = ExperimentStep::Kind;
  using U = ExperimentStep::Until;
  switch (s.kind) {
    case K::Current: plan.control = Control::Current; plan.value = sign * (s.c_rate ? s.value * Qnom : s.value); break;
    case K::Power: plan.control = Control::Power; plan.value = sign * s.value; break;
    case K::Voltage: plan.control = Control::Voltage; plan.value = s.value; break;
    case K::Rest: plan.control = Control::Current; plan.value = 0.0; break;
  }
  // Direction in which the step drives the state: discharge lowers voltage and SOC.
  bool discharging = !s.charge;
  switch (s.until) {
    case U::Voltage:
      plan.events.push_back({Event::Quantity::Voltage, s.until_value, discharging ? -1 : +1,
                             fmt::format("until {} V", s.until_value)});
      break;
    case U::Soc:
      plan.events.push_back({Event::Quantity::Soc, s.until_value, discharging ? -1 : +1,
                             fmt::format("until {}% SOC", 100 * s.until_value)});
      break;
    case U::Current: {
      const double Icut = s.until_c_rate ? s.until_value * Qnom : s.until_value;
      plan.events.push_back({Event::Quantity::CurrentMagnitude, Icut, -1, fmt::format("until {:.4g} A", Icut)});
      break;
    }
    case U::None: break;
  }
  plan.user_events = plan.events.size();
  if (s.kind == K::Current || s.kind == K::Power) {
    if (discharging)
      plan.events.push_back({Event::Quantity::Voltage, p.cell.lower_voltage_cutoff_V, -1, "lower voltage cut-off"});
    else
      plan.events.push_back({Event::Quantity::Voltage, p.cell.upper_voltage_cutoff_V, +1, "upper voltage cut-off"});
  }
  if (s.kind != K::Rest) {
    const double lo = 1e-4, hi = 1 - 1e-4;
    plan.events.push_back({Event::Quantity::NegativeSurfaceStoichiometry, lo, -1, "negative particle surface emptied"});
    plan.events.push_back({Event::Quantity::NegativeSurfaceStoichiometry, hi, +1, "negative particle surface filled"});
    plan.events.push_back({Event::Quantity::PositiveSurfaceStoichiometry, lo, -1, "positive particle surface emptied"});
    plan.events.push_back({Event::Quantity::PositiveSurfaceStoichiometry, hi, +1, "positive particle surface filled"});
  }
  if (s.duration_s) {
    plan.duration_s = *s.duration_s;
  } else {
    // Open-ended step: a generous time limit so that an unreachable condition cannot run forever.
    plan.time_limited = true;
    double I = std::abs(plan.value);
    if (s.kind == K::Power) I = std::abs(plan.value) / std::max(0.5, p.cell.lower_voltage_cutoff_V);
    plan.duration_s = (s.kind == K::Voltage || I == 0.0) ? 86400.0 : 1.5 * 3600.0 * Qnom / I + 3600.0;
  }
  return plan;
}

/// Cubic Hermite interpolation between two accepted steps from values and rates at both ends
/// (third-order accurate); applied to the model's observables, which are smooth in time.
void hermite(double t0, const std::vector<double>& a, const std::vector<double>& da, double t1,
             const std::vector<double>& b, const std::vector<double>& db, double t, std::vector<double>& out) {
  const double h = t1 - t0;
  const double s = (t - t0) / h, s2 = s * s, s3 = s2 * s;
  const double h00 = 2 * s3 - 3 * s2 + 1, h10 = (s3 - 2 * s2 + s) * h, h01 = -2 * s3 + 3 * s2, h11 = (s3 - s2) * h;
  for (size_t i = 0; i < out.size(); ++i) out[i] = h00 * a[i] + h10 * da[i] + h01 * b[i] + h11 * db[i];
}

bool already_met(const Event& e, double q) { return e.direction < 0 ? q <= e.threshold : q >= e.threshold; }

class Recorder {
 public:
  Recorder(Solution& s, const CellModel& m, double dt) : s_(s), m_(m), dt_(dt) {}
  void add(double t, const double* y, int step, int cycle) { add(t, m_.outputs(y), step, cycle); }
  void add(double t, const CellOutputs& o, int step, int cycle) {
    s_.time_s.push_back(t);
    s_.current_A.push_back(o.current_A);
    s_.voltage_V.push_back(o.voltage_V);
    s_.temperature_K.push_back(o.temperature_K);
    s_.discharge_capacity_Ah.push_back(o.discharge_capacity_Ah);
    s_.soc.push_back(o.soc);
    s_.heat_W.push_back(o.heat_W);
    s_.step.push_back(step);
    s_.cycle.push_back(cycle);
  }
  /// Next grid time strictly after t.
  double next_grid(double t) const { return (std::floor(t / dt_ + 1e-9) + 1.0) * dt_; }

 private:
  Solution& s_;
  const CellModel& m_;
  double dt_;
};

}  // namespace

Solution simulate(CellModel& model, const Experiment& exp, const SimulationOptions& o, const WarningSink& warn) {
  if (!(o.output_dt_s > 0)) throw InputError(fmt::format("output interval {} s must be positive", o.output_dt_s));
  if (exp.cycles < 1) throw InputError(fmt::format("cycles must be at least 1, got {}", exp.cycles));
  Solution sol;
  auto warning = [&](const std::string& w) {
    sol.warnings.push_back(w);
    if (warn) warn(w);
  };
  const int n = model.size();
  std::vector<double> y = model.initial_state(o.initial_soc, model.options().ambient_K), yp(n, 0.0), ybuf(n);
  DaeOptions dopt;
  dopt.rtol = model.options().rtol;
  dopt.atol = model.absolute_tolerances();
  model.set_control(Control::Current, 0.0);
  DaeIntegrator integ(model, dopt);
  const double li0 = model.particle_lithium_mol(y.data());
  double throughput_Ah = 0, energy_Wh = 0;
  size_t energy_from = 0;  // samples already counted in energy_Wh
  Recorder rec(sol, model, o.output_dt_s);
  double t = 0.0;
  int step_counter = 0;

  for (int cycle = 0; cycle < exp.cycles; ++cycle) {
    double cycle_discharge_Ah = 0;  // charge delivered by this cycle's discharging steps
    for (size_t k = 0; k < exp.steps.size(); ++k, ++step_counter) {
      const ExperimentStep& s = exp.steps[k];
      const StepPlan plan = plan_step(s, model);
      StepRecord sr;
      sr.cycle = cycle;
      sr.index = static_cast<int>(k);
      sr.text = s.text;
      sr.start_s = t;
      model.set_control(plan.control, plan.value);
      model.set_events(plan.events);
      try {
        model.consistent_init(t, y.data(), yp.data());
      } catch (const Error& e) {
        // The step asks for an operating point the cell cannot reach (e.g. a hold far outside its
        // voltage range): report it against the step text, as bad input.
        throw InputError(fmt::format("cycle {}, step '{}': cannot start the step: {}", cycle + 1, s.text, e.what()));
      }
      // A step whose end condition already holds is skipped, as a cycler does.
      const CellOutputs o0 = model.outputs(y.data());
      std::string met;
      for (const Event& e : plan.events)
        if (already_met(e, model.event_quantity(e, o0))) { met = e.reason; break; }
      if (!met.empty()) {
        sr.end_s = t;
        sr.skipped = true;
        sr.end_reason = "skipped";
        warning(fmt::format("cycle {}, step '{}' skipped: its end condition ({}) already holds at its start "
                            "(V = {:.4f} V, SOC = {:.4f})", cycle + 1, s.text, met, o0.voltage_V, o0.soc));
        sol.steps.push_back(sr);
        continue;  // the next step re-solves the current for its own control
      }
      const double q0 = y[n - 2];
      rec.add(t, o0, step_counter, cycle);
      integ.reinit(t, y.data(), yp.data());
      std::vector<int> dirs;
      for (const Event& e : plan.events) dirs.push_back(e.direction);
      integ.set_root_directions(dirs);
      const double t_end = t + plan.duration_s;
      integ.set_stop_time(t_end);
      double tg = rec.next_grid(t);
      // Observables and their rates at the last accepted step, for interpolation.
      double ta = t;
      const int nobs = model.num_observables();
      std::vector<double> va(nobs), ra(nobs), vn(nobs), rn(nobs), vi(nobs);
      model.observables(y.data(), yp.data(), va.data(), ra.data());
      for (;;) {
        DaeIntegrator::Status st;
        try {
          st = integ.step(t_end);
        } catch (const SolverError& e) {
          throw SolverError(e.flag(), e.time_s(), fmt::format("cycle {}, step '{}': {}", cycle + 1, s.text, e.detail()));
        }
        const double tn = integ.time();
        if (o.interpolation == OutputInterpolation::Hermite) {
          model.observables(integ.y(), integ.yp(), vn.data(), rn.data());
          for (; tg < tn - 1e-9 * std::max(1.0, tn); tg = rec.next_grid(tg)) {
            hermite(ta, va, ra, tn, vn, rn, tg, vi);
            rec.add(tg, model.outputs_from_observables(vi.data()), step_counter, cycle);
          }
          va.swap(vn);
          ra.swap(rn);
          ta = tn;
        } else {
          for (; tg < tn - 1e-9 * std::max(1.0, tn); tg = rec.next_grid(tg)) {
            integ.interpolate(tg, ybuf.data());
            rec.add(tg, ybuf.data(), step_counter, cycle);
          }
        }
        if (st == DaeIntegrator::Status::Step) continue;
        t = tn;
        std::copy(integ.y(), integ.y() + n, y.begin());
        if (st == DaeIntegrator::Status::Root) {
          const auto found = integ.roots_found();
          for (size_t r = 0; r < found.size(); ++r)
            if (found[r] != 0) { sr.end_reason = plan.events[r].reason; if (r < plan.user_events) break; }
          bool user = false;
          for (size_t r = 0; r < plan.user_events; ++r) user = user || found[r] != 0;
          if (!user)
            warning(fmt::format("cycle {}, step '{}' stopped early at t = {:.1f} s: {}", cycle + 1, s.text, t, sr.end_reason));
        } else {
          sr.end_reason = plan.time_limited ? "time limit" : "duration";
          if (plan.time_limited)
            warning(fmt::format("cycle {}, step '{}' reached its time limit of {:.0f} s before its end condition",
                                cycle + 1, s.text, plan.duration_s));
        }
        break;
      }
      rec.add(t, y.data(), step_counter, cycle);
      sr.end_s = t;
      sr.discharge_Ah = y[n - 2] - q0;
      sol.solver_steps += integ.num_steps();
      sol.steps.push_back(sr);
      throughput_Ah += std::abs(sr.discharge_Ah);
      if (sr.discharge_Ah > 0) cycle_discharge_Ah += sr.discharge_Ah;
    }
    // Per-cycle summary: the ledger at the end of the cycle.
    CycleSummary cs;
    cs.cycle = cycle + 1;
    cs.time_s = t;
    cs.discharge_capacity_Ah = cycle_discharge_Ah;
    cs.ledger = model.degradation(y.data());
    cs.lli_pct = 100.0 * cs.ledger.lithium_lost_mol() / li0;
    cs.lam_ne_pct = 100.0 * (1.0 - cs.ledger.active_fraction_negative);
    cs.lam_pe_pct = 100.0 * (1.0 - cs.ledger.active_fraction_positive);
    for (size_t i = std::max<size_t>(energy_from, 1); i < sol.size(); ++i)
      if (sol.step[i] == sol.step[i - 1])
        energy_Wh += 0.5 * std::abs(sol.current_A[i] * sol.voltage_V[i] + sol.current_A[i - 1] * sol.voltage_V[i - 1]) *
                     (sol.time_s[i] - sol.time_s[i - 1]) / 3600.0;
    energy_from = sol.size();
    cs.charge_throughput_Ah = throughput_Ah;
    cs.energy_throughput_Wh = energy_Wh;
    cs.equivalent_full_cycles = throughput_Ah / (2.0 * model.parameters().cell.nominal_capacity_Ah);
    sol.cycles.push_back(cs);
  }
  sol.final_state = y;
  return sol;
}

}  // namespace packlife
