#include "packlife/models/simulation.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <memory>
#include <optional>

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
  int cv_event = -1;   ///< index of the event that starts the CV phase (-1: none)
};

/// The control and events of a step. A step with a CV phase ("with CV at 4.2 V") is planned twice:
/// its constant-current (or power) phase ends on the step's SOC condition or on reaching the CV
/// voltage (event index `cv_event`); its CV phase holds that voltage until the step's own end.
StepPlan plan_step(const ExperimentStep& s, const CellModel& m, bool cv_phase = false) {
  const ParameterSet& p = m.parameters();
  const double Qnom = p.cell.nominal_capacity_Ah;
  const double sign = s.charge ? -1.0 : 1.0;
  StepPlan plan{};
  using K = ExperimentStep::Kind;
  using U = ExperimentStep::Until;
  if (s.cv_V && (*s.cv_V < p.cell.lower_voltage_cutoff_V || *s.cv_V > p.cell.upper_voltage_cutoff_V))
    throw InputError(fmt::format("step '{}': CV voltage {} V is outside the cell's voltage window {}-{} V", s.text,
                                 *s.cv_V, p.cell.lower_voltage_cutoff_V, p.cell.upper_voltage_cutoff_V));
  const K kind = cv_phase ? K::Voltage : s.kind;
  switch (kind) {
    case K::Current: plan.control = Control::Current; plan.value = sign * (s.c_rate ? s.value * Qnom : s.value); break;
    case K::Power: plan.control = Control::Power; plan.value = sign * s.value; break;
    case K::Voltage: plan.control = Control::Voltage; plan.value = cv_phase ? *s.cv_V : s.value; break;
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
      if (s.cv_V && !cv_phase) break;  // the current only tapers in the CV phase
      const double Icut = s.until_c_rate ? s.until_value * Qnom : s.until_value;
      plan.events.push_back({Event::Quantity::CurrentMagnitude, Icut, -1, fmt::format("until {:.4g} A", Icut)});
      break;
    }
    case U::None: break;
  }
  if (s.cv_V && !cv_phase) {
    plan.cv_event = static_cast<int>(plan.events.size());
    plan.events.push_back({Event::Quantity::Voltage, *s.cv_V, discharging ? -1 : +1, fmt::format("CV at {} V", *s.cv_V)});
  }
  plan.user_events = plan.events.size();
  if (kind == K::Current || kind == K::Power) {
    if (discharging)
      plan.events.push_back({Event::Quantity::Voltage, p.cell.lower_voltage_cutoff_V, -1, "lower voltage cut-off"});
    else
      plan.events.push_back({Event::Quantity::Voltage, p.cell.upper_voltage_cutoff_V, +1, "upper voltage cut-off"});
  }
  if (kind != K::Rest) {
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
    if (kind == K::Power) I = std::abs(plan.value) / std::max(0.5, p.cell.lower_voltage_cutoff_V);
    plan.duration_s = (kind == K::Voltage || I == 0.0) ? 86400.0 : 1.5 * 3600.0 * Qnom / I + 3600.0;
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

/// Thrown when a step fails even after the retry with tighter tolerances: ends the run, keeping
/// everything simulated before.
class RunStopped : public Error {
 public:
  using Error::Error;
};

/// Runs experiment cycles one after the other on one model: owns the state, the time and the
/// integrators (the model's tolerances, and ten times tighter ones for retries).
class Runner {
 public:
  Runner(CellModel& m, const SimulationOptions& o) : m_(m), o_(o), n_(m.size()), yp_(n_, 0.0), ybuf_(n_) {
    DaeOptions d;
    d.rtol = m.options().rtol;
    d.atol = m.absolute_tolerances();
    // With ageing, the side-reaction current (with plating a small difference of two large exchange
    // fluxes) would otherwise set the step size; it is re-solved exactly at every step anyway.
    d.suppress_algebraic_error = m.options().ageing.any();
    d.max_num_steps = o.max_internal_steps;
    d.lsetup_cj_change = o.lsetup_cj_change;
    m_.set_control(Control::Current, 0.0);
    integ_ = std::make_unique<DaeIntegrator>(m_, d);
  }

  std::vector<double> y;
  double t = 0;
  long long step_counter = 0;
  bool first_cycle = true;  ///< steps that cannot start are bad input only in the run's first cycle
  StepAmbient ambient_at;   ///< the current segment's step temperatures (empty: fixed ambient)

  /// Runs one pass of the experiment's steps as cycle `cycle` (0-based), recording steps, samples
  /// (when kept) and warnings into `out`.
  CycleFigures run_cycle(const Experiment& exp, int cycle, Solution& out) {
    CycleFigures c;
    c.start_s = t;
    cur_ = &c;
    step_offsets.clear();
    step_arrhenius.clear();
    for (size_t k = 0; k < exp.steps.size(); ++k, ++step_counter) {
      step_offsets.push_back(t - c.start_s);
      step_arrhenius_s_ = 0;
      if (ambient_at) m_.set_ambient(ambient_at(k, t));
      run_step(exp.steps[k], k, cycle, c, out);
      step_arrhenius.push_back(step_arrhenius_s_);
    }
    step_offsets.push_back(t - c.start_s);
    cur_ = nullptr;
    c.end_s = t;
    return c;
  }
  /// The last cycle run: each step's start and the cycle's end, from the cycle's start [s], and with
  /// arrhenius_E > 0 each step's time integral of arrhenius(arrhenius_E, 298.15 K, cell temperature) [s].
  std::vector<double> step_offsets, step_arrhenius;
  double arrhenius_E = 0;

 private:
  void record(Solution& out, double time, const CellOutputs& o, int cycle) const {
    if (!o_.keep_time_series) return;
    out.time_s.push_back(time);
    out.current_A.push_back(o.current_A);
    out.voltage_V.push_back(o.voltage_V);
    out.temperature_K.push_back(o.temperature_K);
    out.discharge_capacity_Ah.push_back(o.discharge_capacity_Ah);
    out.soc.push_back(o.soc);
    out.heat_W.push_back(o.heat_W);
    out.step.push_back(step_counter);
    out.cycle.push_back(cycle);
  }
  void truncate(Solution& out, size_t n) const {
    for (auto* v : {&out.time_s, &out.current_A, &out.voltage_V, &out.temperature_K, &out.discharge_capacity_Ah,
                    &out.soc, &out.heat_W})
      v->resize(n);
    out.step.resize(n);
    out.cycle.resize(n);
  }
  /// Next output grid time strictly after t.
  double next_grid(double time) const {
    return (std::floor(time / o_.output_dt_s + 1e-9) + 1.0) * o_.output_dt_s;
  }

  void run_step(const ExperimentStep& s, size_t k, int cycle, CycleFigures& c, Solution& out) {
    StepPlan plan = plan_step(s, m_);
    StepRecord sr;
    sr.cycle = cycle;
    sr.index = static_cast<int>(k);
    sr.text = s.text;
    sr.start_s = t;
    if (s.fill_s) {
      plan.duration_s = *s.fill_s - (t - c.start_s);
      plan.time_limited = false;
      if (plan.duration_s <= 1e-9 * std::max(1.0, *s.fill_s)) {
        sr.end_s = t;
        sr.skipped = true;
        sr.end_reason = "cycle already filled";
        out.steps.push_back(sr);
        return;
      }
    }
    start(plan, s, cycle);
    // A step whose end condition already holds is skipped, as a cycler does; a CC-CV step that
    // starts at or beyond its CV voltage goes straight to its CV phase.
    CellOutputs o0 = m_.outputs(y.data());
    c.observe(o0);
    int met = first_met(plan, o0);
    if (met >= 0 && met == plan.cv_event) {
      plan = cv_plan(s, plan.duration_s, plan.time_limited);
      start(plan, s, cycle);
      o0 = m_.outputs(y.data());
      met = first_met(plan, o0);
    }
    if (met >= 0) {
      sr.end_s = t;
      sr.skipped = true;
      sr.end_reason = "skipped";
      out.warnings.push_back(fmt::format("cycle {}, step '{}' skipped: its end condition ({}) already holds at its "
                                         "start (V = {:.4f} V, SOC = {:.4f})", cycle + 1, s.text,
                                         plan.events[static_cast<size_t>(met)].reason, o0.voltage_V, o0.soc));
      out.steps.push_back(sr);
      return;  // the next step re-solves the current for its own control
    }
    const double q0 = y[n_ - 2], t0 = t;
    const std::vector<double> y0 = y, yp0 = yp_;
    const CycleFigures c0 = c;  // cycle statistics before the step (restored if the step is retried)
    const size_t samples0 = out.time_s.size();
    double energy_Wh = 0;
    // The step's integration: its plan, then (for a CC-CV step that reached its CV voltage) the CV
    // phase for the rest of the step's time.
    auto attempt = [&](DaeIntegrator& integ) {
      m_.set_control(plan.control, plan.value);
      m_.set_events(plan.events);
      double e = integrate(integ, plan, s, cycle, o0, out, sr);
      if (plan.cv_event < 0 || sr.end_reason != plan.events[static_cast<size_t>(plan.cv_event)].reason) return e;
      const double left = plan.duration_s - (t - t0);
      if (left <= 1e-9 * std::max(1.0, plan.duration_s)) return e;
      const StepPlan cv = cv_plan(s, left, plan.time_limited);
      start(cv, s, cycle);
      const CellOutputs o1 = m_.outputs(y.data());
      if (const int k = first_met(cv, o1); k >= 0) {  // e.g. a current floor already reached
        sr.end_reason = cv.events[static_cast<size_t>(k)].reason;
        return e;
      }
      return e + integrate(integ, cv, s, cycle, o1, out, sr);
    };
    try {
      energy_Wh = attempt(*integ_);
    } catch (const SolverError& first) {
      // Retry the whole step from its start with tolerances ten times tighter.
      y = y0;
      yp_ = yp0;
      t = t0;
      c = c0;
      truncate(out, samples0);
      if (!tight_) {
        DaeOptions d;
        d.suppress_algebraic_error = m_.options().ageing.any();
        d.max_num_steps = o_.max_internal_steps;
        d.lsetup_cj_change = o_.lsetup_cj_change;
        d.rtol = 0.1 * m_.options().rtol;
        d.atol = m_.absolute_tolerances();
        for (double& a : d.atol) a *= 0.1;
        tight_ = std::make_unique<DaeIntegrator>(m_, d);
      }
      try {
        energy_Wh = attempt(*tight_);
        out.warnings.push_back(fmt::format("cycle {}, step '{}': the integrator failed ({}); the step was repeated "
                                           "with tolerances ten times tighter and succeeded", cycle + 1, s.text,
                                           first.detail()));
      } catch (const SolverError& second) {
        const CellOutputs of = m_.outputs(y.data());
        throw RunStopped("cycle {}, step '{}' failed at t = {:.1f} s (V = {:.4f} V, I = {:.4g} A, SOC = {:.4f}, "
                         "T = {:.2f} K) even with tolerances ten times tighter: {}", cycle + 1, s.text,
                         second.time_s(), of.voltage_V, of.current_A, of.soc, of.temperature_K, second.detail());
      }
    }
    record(out, t, m_.outputs(y.data()), cycle);
    sr.end_s = t;
    sr.discharge_Ah = y[n_ - 2] - q0;
    out.steps.push_back(sr);
    c.throughput_Ah += std::abs(sr.discharge_Ah);
    c.energy_Wh += energy_Wh;
    if (sr.discharge_Ah > 0) c.discharge_Ah += sr.discharge_Ah;
  }

  /// Sets the model to `plan`'s control and events and solves consistent initial values at t.
  void start(const StepPlan& plan, const ExperimentStep& s, int cycle) {
    m_.set_control(plan.control, plan.value);
    m_.set_events(plan.events);
    try {
      m_.consistent_init(t, y.data(), yp_.data());
    } catch (const Error& e) {
      // The step asks for an operating point the cell cannot reach (e.g. a hold far outside its
      // voltage range). In the first cycle of a run that is bad input; later the cell has aged or
      // drifted out of the experiment's reach, which ends the run keeping what came before.
      if (first_cycle)
        throw InputError(fmt::format("cycle {}, step '{}': cannot start the step: {}", cycle + 1, s.text, e.what()));
      const CellOutputs o = m_.outputs(y.data());
      throw RunStopped("cycle {}, step '{}' cannot start at t = {:.1f} s (V = {:.4f} V, SOC = {:.4f}): {}", cycle + 1,
                       s.text, t, o.voltage_V, o.soc, e.what());
    }
  }
  /// Index of the first of the plan's events that already holds at o, or -1.
  int first_met(const StepPlan& plan, const CellOutputs& o) const {
    for (size_t i = 0; i < plan.events.size(); ++i)
      if (already_met(plan.events[i], m_.event_quantity(plan.events[i], o))) return static_cast<int>(i);
    return -1;
  }
  /// The CV phase of a CC-CV step, lasting at most `duration_s`.
  StepPlan cv_plan(const ExperimentStep& s, double duration_s, bool time_limited) const {
    StepPlan p = plan_step(s, m_, true);
    p.duration_s = duration_s;
    p.time_limited = time_limited;
    return p;
  }

  /// Integrates one step from (t, y) to its end; returns the energy moved [W h]. On success t and y
  /// hold the step's end. Throws SolverError (with the step named) when IDA fails.
  double integrate(DaeIntegrator& integ, const StepPlan& plan, const ExperimentStep& s, int cycle,
                   const CellOutputs& o0, Solution& out, StepRecord& sr) {
    record(out, t, o0, cycle);
    integ.reinit(t, y.data(), yp_.data());
    std::vector<int> dirs;
    for (const Event& e : plan.events) dirs.push_back(e.direction);
    integ.set_root_directions(dirs);
    const double t_end = t + plan.duration_s;
    integ.set_stop_time(t_end);
    double tg = next_grid(t);
    // Observables and their rates at the last accepted step, for interpolation.
    double ta = t;
    const int nobs = m_.num_observables();
    std::vector<double> va(nobs), ra(nobs), vn(nobs), rn(nobs), vi(nobs);
    m_.observables(y.data(), yp_.data(), va.data(), ra.data());
    auto power = [&](const CellOutputs& o) { return std::abs(o.current_A * o.voltage_V); };
    double pa = power(o0), energy_J = 0;
    double Ta = o0.temperature_K;
    double Aa = arrhenius_E > 0 ? arrhenius(arrhenius_E, 298.15, Ta) : 0.0;  // the Arrhenius factor at Ta
    auto track = [&](double t0, double t1, const CellOutputs& o) {
      if (!cur_) return;
      cur_->observe(o);
      cur_->temperature_Ks += 0.5 * (Ta + o.temperature_K) * (t1 - t0);
      if (arrhenius_E > 0) {
        const double An = arrhenius(arrhenius_E, 298.15, o.temperature_K);
        step_arrhenius_s_ += 0.5 * (Aa + An) * (t1 - t0);
        Aa = An;
      }
      Ta = o.temperature_K;
    };
    for (;;) {
      DaeIntegrator::Status st;
      try {
        st = integ.step(t_end);
      } catch (const SolverError& e) {
        throw SolverError(e.flag(), e.time_s(), fmt::format("cycle {}, step '{}': {}", cycle + 1, s.text, e.detail()));
      }
      const double tn = integ.time();
      // Outputs at the output grid points in (ta, tn], at the midpoint (Simpson's rule for the
      // energy) and at tn, interpolated by Hermite cubics of the observables or by IDA's own.
      double pm;
      CellOutputs on;
      if (o_.interpolation == OutputInterpolation::Hermite) {
        m_.observables(integ.y(), integ.yp(), vn.data(), rn.data());
        if (o_.keep_time_series)
          for (; tg < tn - 1e-9 * std::max(1.0, tn); tg = next_grid(tg)) {
            hermite(ta, va, ra, tn, vn, rn, tg, vi);
            record(out, tg, m_.outputs_from_observables(vi.data()), cycle);
          }
        hermite(ta, va, ra, tn, vn, rn, 0.5 * (ta + tn), vi);
        pm = power(m_.outputs_from_observables(vi.data()));
        on = m_.outputs_from_observables(vn.data());
        va.swap(vn);
        ra.swap(rn);
      } else {
        if (o_.keep_time_series)
          for (; tg < tn - 1e-9 * std::max(1.0, tn); tg = next_grid(tg)) {
            integ.interpolate(tg, ybuf_.data());
            record(out, tg, m_.outputs(ybuf_.data()), cycle);
          }
        integ.interpolate(0.5 * (ta + tn), ybuf_.data());
        pm = power(m_.outputs(ybuf_.data()));
        on = m_.outputs(integ.y());
      }
      const double pn = power(on);
      energy_J += (tn - ta) * (pa + 4 * pm + pn) / 6.0;
      pa = pn;
      track(ta, tn, on);
      ta = tn;
      if (st == DaeIntegrator::Status::Step) continue;
      t = tn;
      std::copy(integ.y(), integ.y() + n_, y.begin());
      if (st == DaeIntegrator::Status::Root) {
        const auto found = integ.roots_found();
        for (size_t r = 0; r < found.size(); ++r)
          if (found[r] != 0) { sr.end_reason = plan.events[r].reason; if (r < plan.user_events) break; }
        bool user = false;
        for (size_t r = 0; r < plan.user_events; ++r) user = user || found[r] != 0;
        if (!user)
          out.warnings.push_back(
              fmt::format("cycle {}, step '{}' stopped early at t = {:.1f} s: {}", cycle + 1, s.text, t, sr.end_reason));
      } else {
        sr.end_reason = plan.time_limited ? "time limit" : s.fill_s ? "cycle filled" : "duration";
        if (plan.time_limited)
          out.warnings.push_back(fmt::format("cycle {}, step '{}' reached its time limit of {:.0f} s before its end "
                                             "condition", cycle + 1, s.text, plan.duration_s));
      }
      break;
    }
    out.solver_steps += integ.num_steps();
    return energy_J / 3600.0;
  }

  CellModel& m_;
  const SimulationOptions& o_;
  int n_;
  std::vector<double> yp_, ybuf_;
  std::unique_ptr<DaeIntegrator> integ_, tight_;
  CycleFigures* cur_ = nullptr;  ///< the cycle being run (statistics of its accepted steps)
  double step_arrhenius_s_ = 0;  ///< the step being run: its integral of the Arrhenius factor
};

/// Appends b's samples, steps and counters to a.
void append(Solution& a, Solution&& b) {
  auto cat = [](auto& x, auto& y) { x.insert(x.end(), y.begin(), y.end()); };
  cat(a.time_s, b.time_s);
  cat(a.current_A, b.current_A);
  cat(a.voltage_V, b.voltage_V);
  cat(a.temperature_K, b.temperature_K);
  cat(a.discharge_capacity_Ah, b.discharge_capacity_Ah);
  cat(a.soc, b.soc);
  cat(a.heat_W, b.heat_W);
  cat(a.step, b.step);
  cat(a.cycle, b.cycle);
  cat(a.steps, b.steps);
  a.solver_steps += b.solver_steps;
}

/// Builds the run: the per-cycle summary, warnings (the first ones passed on as they happen), and
/// cycle jumping.
class Driver {
 public:
  Driver(CellModel& m, const SimulationOptions& o, const WarningSink& warn) : m_(m), o_(o), warn_(warn), r_(m, o) {
    // The forcing-weighted extrapolation integrates one activation energy's Arrhenius factor over each
    // step (the SEI's: the only Arrhenius state of the models); states of another energy stay unweighted.
    if (o.accelerate.enabled && o.accelerate.forcing_weighted && o.accelerate.forcing_period_s > 0)
      for (const auto& [i, E] : m.arrhenius_states())
        if (E > 0 && r_.arrhenius_E == 0) r_.arrhenius_E = E;
    if (o.restart) {
      const Checkpoint& c = *o.restart;
      if (c.state.size() != static_cast<size_t>(m.size()))
        throw InputError(fmt::format("checkpoint holds {} unknowns but model {} with these options has {} (saved from "
                                     "model {}, parameters {}, ageing {})", c.state.size(), m.name(), m.size(), c.model,
                                     c.parameter_set, c.ageing));
      r_.y = c.state;
      r_.t = c.time_s;
      r_.step_counter = c.steps_done;
      cycles_done_ = c.cycles_done;
      throughput_Ah_ = c.charge_throughput_Ah;
      energy_Wh_ = c.energy_throughput_Wh;
      li0_ = c.initial_lithium_mol;
      mem_ = c.jump;
    } else {
      r_.y = m.initial_state(o.initial_soc, m.options().ambient_K);
      li0_ = m.particle_lithium_mol(r_.y.data());
    }
  }

  Solution run(const std::vector<Segment>& segments) {
    try {
      for (const Segment& seg : segments) {
        m_.set_ambient(seg.ambient_K);
        r_.ambient_at = seg.ambient_at;
        if (o_.accelerate.enabled) {
          accelerated(seg.experiment, signature(seg));
        } else {
          mem_.valid = false;
          for (int c = 0; c < seg.experiment.cycles; ++c) resolve(seg.experiment);
        }
      }
    } catch (const RunStopped& e) {
      sol_.stopped = e.what();
    }
    if (suppressed_ > 0)
      sol_.warnings.push_back(fmt::format("{} further warnings not shown", suppressed_));
    sol_.final_state = r_.y;
    Checkpoint& c = sol_.checkpoint;
    c.model = m_.name();
    c.parameter_set = m_.parameters().identity();
    c.ageing = m_.options().ageing.names();
    c.state = r_.y;
    c.time_s = r_.t;
    c.cycles_done = cycles_done_;
    c.steps_done = r_.step_counter;
    c.charge_throughput_Ah = throughput_Ah_;
    c.energy_throughput_Wh = energy_Wh_;
    c.initial_lithium_mol = li0_;
    c.jump = mem_;
    return std::move(sol_);
  }

 private:
  static constexpr int kShownWarnings = 25, kKeptWarnings = 200;

  void take(Solution&& part) {
    for (auto& w : part.warnings) {
      if (sol_.warnings.size() < kKeptWarnings) sol_.warnings.push_back(w);
      if (shown_ < kShownWarnings) {
        ++shown_;
        if (warn_) warn_(w);
        if (shown_ == kShownWarnings && warn_) warn_("further warnings are counted, not shown");
      } else {
        ++suppressed_;
      }
    }
    append(sol_, std::move(part));
  }

  /// Summary row for the state y at the end of `cycle` (1-based).
  CycleSummary row(int cycle, double time, const CycleFigures& c, const double* y, bool resolved) {
    CycleSummary cs;
    cs.cycle = cycle;
    cs.time_s = time;
    cs.discharge_capacity_Ah = c.discharge_Ah;
    cs.soc_min = c.soc_min;
    cs.soc_max = c.soc_max;
    cs.temperature_max_K = c.temperature_max_K;
    cs.temperature_mean_K = c.temperature_mean_K();
    cs.ledger = m_.degradation(y);
    cs.lli_pct = 100.0 * cs.ledger.lithium_lost_mol() / li0_;
    cs.lam_ne_pct = 100.0 * (1.0 - cs.ledger.active_fraction_negative);
    cs.lam_pe_pct = 100.0 * (1.0 - cs.ledger.active_fraction_positive);
    cs.resolved = resolved;
    if (o_.keep_cycle_states) sol_.cycle_states.emplace_back(y, y + m_.size());
    cs.charge_throughput_Ah = throughput_Ah_;
    cs.energy_throughput_Wh = energy_Wh_;
    cs.equivalent_full_cycles = throughput_Ah_ / (2.0 * m_.parameters().cell.nominal_capacity_Ah);
    try {
      cs.esoh_capacity_Ah = aged_balance(m_, y).capacity_Ah;
    } catch (const Error&) {
      cs.esoh_capacity_Ah = 0.0;  // the lithium no longer fits the remaining active material
    }
    if (o_.checkup_every > 0 && cycle % o_.checkup_every == 0) {
      try {
        cs.checkup_capacity_Ah = checkup_capacity_Ah(m_, y);
      } catch (const Error& e) {
        // As for the eSOH estimate: an aged cell whose window cannot be measured reads 0.
        cs.checkup_capacity_Ah = 0.0;
        Solution note;
        note.warnings.push_back(fmt::format("cycle {}: the reference check-up could not run ({}); reported as 0 Ah",
                                            cycle, e.what()));
        take(std::move(note));
      }
    }
    return cs;
  }

  /// One cycle in full.
  CycleFigures resolve(const Experiment& exp) {
    Solution part;
    const CycleFigures c = r_.run_cycle(exp, cycles_done_, part);
    profile_ = r_.step_offsets;
    profile_I_ = r_.step_arrhenius;
    take(std::move(part));
    account(c);
    sol_.cycles.push_back(row(cycles_done_, r_.t, c, r_.y.data(), true));
    ++sol_.resolved_cycles;
    return c;
  }
  void account(const CycleFigures& c) {
    r_.first_cycle = false;
    ++cycles_done_;
    throughput_Ah_ += c.throughput_Ah;
    energy_Wh_ += c.energy_Wh;
  }

  /// y advanced by j cycles of the per-cycle increment inc(i) (slow states only; lithium conserved and
  /// the electrode split chosen by the model's extrapolation).
  template <class Increment>
  std::vector<double> advance(const std::vector<double>& y, int j, Increment inc) const {
    std::vector<double> back(y.size());
    for (size_t i = 0; i < y.size(); ++i) back[i] = y[i] - inc(i);
    return m_.extrapolate(back.data(), y.data(), j);
  }

  /// Slow ledger quantities compared by the jump's error estimate (all fractions).
  std::array<double, 3> slow(const double* y) const {
    const Degradation d = m_.degradation(y);
    return {(d.lithium_lost_mol() - d.lithium_plated_mol) / li0_, d.active_fraction_negative, d.active_fraction_positive};
  }

  /// Envelope following across cycles (see docs/models.md, "Cycle jumping"): resolve warm-up cycles,
  /// then repeatedly extrapolate the end-of-cycle state k cycles ahead with the last per-cycle
  /// increment, resolve two cycles there, estimate the extrapolation's error from the change of the
  /// increment, correct the landing to second order (trapezoidal rule), and accept or retry shorter.
  /// What a jump memory must match: the cycle's steps and the kind of ambient.
  static std::string signature(const Segment& seg) {
    std::string s = seg.ambient_at ? "ambient: per step\n" : fmt::format("ambient: {:.17g} K\n", seg.ambient_K);
    for (const auto& st : seg.experiment.steps) s += st.text + "\n";
    return s;
  }

  /// Longest jump under a periodic forcing (the seasons): landings, each followed by its resolved
  /// cycles, at most period / landings_per_period apart (cycles so long that this leaves no jump still
  /// jump 2), so that the trapezoidal rule over the resolved increments samples the period evenly
  /// (exact for its low harmonics) instead of aliasing it (docs/models.md, "Cycle jumping").
  int forcing_cap(double cycle_s) const {
    const AccelerateOptions& a = o_.accelerate;
    if (!(a.forcing_period_s > 0) || !(cycle_s > 0)) return a.max_jump;
    const double spacing = a.forcing_period_s / a.landings_per_period / cycle_s;  // cycles between landings
    return std::max(2, static_cast<int>(std::floor(spacing + 1e-9)) - a.resolved_per_landing);
  }

  /// Arrhenius weight, for the energy E = r_.arrhenius_E, of the cycle that starts at `start` (step 8
  /// of "Cycle jumping"), from the last resolved cycle (which started at `start0`): each step k
  /// contributes its integral I_k of arrhenius(E, 298.15 K, cell temperature) there, moved by the
  /// change of the ambient it starts at between the two dates, dT_k, at the step's Arrhenius-mean
  /// temperature T_k (arrhenius(E, 298.15 K, T_k) = I_k / duration): I_k arrhenius(E, T_k, T_k + dT_k).
  double forcing_weight(double start0, double start) const {
    const double E = r_.arrhenius_E;
    double sw = 0;
    for (size_t k = 0; k + 1 < profile_.size() && k < profile_I_.size(); ++k) {
      const double dur = profile_[k + 1] - profile_[k], I = profile_I_[k];
      if (!(dur > 0) || !(I > 0)) continue;  // a skipped step
      const double Tk = 1.0 / (1.0 / 298.15 - kGasConstant / E * std::log(I / dur));
      const double dT = r_.ambient_at(k, start + profile_[k]) - r_.ambient_at(k, start0 + profile_[k]);
      sw += I * arrhenius(E, Tk, Tk + dT);
    }
    return sw > 0 ? sw : 1.0;
  }

  /// Per-cycle weights of a jump of kk cycles followed by m resolved ones, for one group of unknowns:
  /// g[i] of the cycle i after the one that ended at the jump's start (i = 0 that one; 1..kk jumped;
  /// then the resolved), and the sums G[j] = sum g[i], W[j] = sum g[i] i / (kk + m) over i = 1..j.
  struct JumpWeights {
    std::vector<double> g, G, W;
    JumpWeights(int kk, int m, const std::function<double(int)>& weight) : g(kk + m + 1), G(kk + 1, 0.0), W(kk + 1, 0.0) {
      const double L = kk + m;
      for (int i = 0; i <= kk + m; ++i) g[i] = weight(i);
      for (int i = 1; i <= kk; ++i) {
        G[i] = G[i - 1] + g[i];
        W[i] = W[i - 1] + g[i] * i / L;
      }
    }
  };

  void accelerated(const Experiment& exp, const std::string& sig) {
    const AccelerateOptions& a = o_.accelerate;
    const int N = exp.cycles;
    const int m = a.resolved_per_landing;  // cycles resolved at each landing
    int done = 0;
    std::vector<double> y_prev;
    double t_prev = 0;
    CycleFigures last;
    auto resolve_one = [&]() {
      y_prev = r_.y;
      t_prev = r_.t;
      last = resolve(exp);
      ++done;
    };
    int k = 2;
    if (mem_.valid && mem_.signature == sig && mem_.previous_state.size() == r_.y.size()) {
      // Continuing the same cycle: the last per-cycle increment is known, no warm-up needed.
      y_prev = mem_.previous_state;
      t_prev = mem_.previous_time_s;
      k = std::max(2, mem_.next_jump);
      last = mem_.last;
      profile_ = mem_.step_offsets;
      profile_I_ = mem_.step_arrhenius;
    } else {
      for (int w = 0; w < std::max(2, a.warmup_cycles) && done < N; ++w) resolve_one();
      // A changed cycle after one that ended normally: the first jump spans a share of the time the
      // last one would have (the error control shortens it if the new cycle's fade curves more).
      const double span_s = mem_.next_jump * (mem_.last.end_s - mem_.last.start_s), cycle_s = r_.t - t_prev;
      if (a.carry_jump > 0 && mem_.valid && span_s > 0 && cycle_s > 0)
        k = std::max(2, static_cast<int>(a.carry_jump * span_s / cycle_s));
    }
    mem_.valid = false;  // until this segment ends normally
    auto remember = [&]() {
      mem_.valid = !y_prev.empty();
      mem_.signature = sig;
      mem_.previous_state = y_prev;
      mem_.previous_time_s = t_prev;
      mem_.next_jump = k;
      mem_.last = last;
      mem_.step_offsets = profile_;
      mem_.step_arrhenius = profile_I_;
    };
    while (done < N) {
      const int kk = std::min({k, N - done - m, a.max_jump, forcing_cap(r_.t - t_prev)});
      const bool at_end = kk == N - done - m && kk < k;  // shortened to end with the segment
      if (kk < 2) {
        resolve_one();
        k = std::max(k, 2);
        continue;
      }
      const std::vector<double> yb = r_.y;
      const double tb = r_.t;
      const long long steps_b = r_.step_counter;
      const double dt = tb - t_prev;
      r_.t = tb + kk * dt;
      r_.step_counter = steps_b + static_cast<long long>(kk) * exp.steps.size();
      // The resolved cycles from the landing: y0 is the state the last of them starts from, y1 the
      // one it ends at, so y1 - y0 is the per-cycle increment after the jump (with two, the first
      // only relaxes the fast states onto the cycle's orbit).
      Solution part;
      CycleFigures c[2];
      double tc[2] = {0, 0}, t0 = 0;  // t0: when the last resolved cycle starts
      std::vector<double> yc[2], y0, dd(yb.size());  // dd: change of the per-cycle factor across the jump
      // Weights of the cycles (step 8): the increment of cycle i of an unknown is g[i] (s0 + (s1 - s0) i / L),
      // L = kk + m, s0 = d0 / g[0], s1 = d1 / g[L]. All weights 1 (the increment linear in i) except for
      // the model's Arrhenius states under a weighted forcing.
      const int L = kk + m;
      const JumpWeights ones(kk, m, [](int) { return 1.0; });
      std::vector<const JumpWeights*> wq(yb.size(), &ones);
      std::optional<JumpWeights> arrhenius_w;  // the Arrhenius states' (all of energy r_.arrhenius_E)
      if (a.forcing_weighted && r_.arrhenius_E > 0 && r_.ambient_at && profile_.size() > 1 && !profile_I_.empty()) {
        arrhenius_w.emplace(kk, m, [&](int c) { return forcing_weight(t_prev, t_prev + c * dt); });
        for (const auto& [i, E] : m_.arrhenius_states())
          if (E == r_.arrhenius_E) wq[static_cast<size_t>(i)] = &*arrhenius_w;
      }
      bool ok = true;
      double err = 0;
      try {
        // First-order landing: each unknown moves s0 G[kk] (kk d0 with all weights 1).
        r_.y = advance(yb, 1, [&](size_t q) { return (yb[q] - y_prev[q]) * wq[q]->G[kk] / wq[q]->g[0]; });
        for (int i = 0; i < m; ++i) {
          y0 = r_.y;
          t0 = r_.t;
          c[i] = r_.run_cycle(exp, cycles_done_ + kk + i, part);
          yc[i] = r_.y;
          tc[i] = r_.t;
        }
        // Second-order correction (trapezoidal rule on the per-cycle increment): the landing used the
        // increment before the jump, d0 = yb - y_prev, centred half a cycle before yb; the increment
        // after it, d1 = y1 - y0, is centred m - 1/2 cycles after the landing. With the increment
        // varying linearly between them, the landing is short of C (d1 - d0), C = kk (kk + 1) / (2 (kk + m)),
        // and every resolved cycle (and y0) gets that correction; it shifts the slow quantities of y0 and
        // y1 alike, so the error estimate below sees the uncorrected change of the increment. The jumped
        // cycles follow the same quadratic: yb + j d0 + (d1 - d0) j (j + 1) / (2 (kk + m)), i.e. j times
        // the mean increment over the first j cycles. Weighted (step 8): the landing above was
        // yb + s0 G[kk], short of W[kk] (s1 - s0); the jumped cycles are yb + s0 G[j] + (s1 - s0) W[j].
        for (size_t i = 0; i < dd.size(); ++i)
          dd[i] = (yc[m - 1][i] - y0[i]) / wq[i]->g[L] - (yb[i] - y_prev[i]) / wq[i]->g[0];
        auto correction = [&](size_t q) { return wq[q]->W[kk] * dd[q]; };
        const auto s_unc = slow(yc[m - 1].data());
        for (int i = 0; i < m; ++i) yc[i] = advance(yc[i], 1, correction);
        y0 = advance(y0, 1, correction);
        // Local error of the extrapolation: the correction's size in the slow quantities, scaled to half
        // the jump (with all weights 1 and one resolved cycle the two are equal: half the jump times the
        // change of the per-cycle increment between the cycle before the jump and the last one after).
        // This is the error of the first-order landing; the corrected step is more accurate, so it is a
        // conservative bound.
        const auto s_cor = slow(yc[m - 1].data());
        const double C_lin = kk * (kk + 1.0) / (2.0 * L);
        for (int q = 0; q < 3; ++q) err = std::max(err, 0.5 * kk / C_lin * std::abs(s_cor[q] - s_unc[q]));
      } catch (const Error&) {
        ok = false;  // the extrapolated state is not a valid start (or a cycle failed from it)
      }
      if (!ok || err > a.tol) {
        ++sol_.rejected_jumps;
        r_.y = yb;
        r_.t = tb;
        r_.step_counter = steps_b;
        k = ok ? std::max(1, static_cast<int>(kk * std::max(0.2, 0.9 * std::sqrt(a.tol / err)))) : kk / 4;
        continue;
      }
      // Accept: rows for the jumped cycles (ledger extrapolated, per-cycle figures interpolated
      // between the cycle before the jump and the last one after it), then the resolved cycles.
      ++sol_.jumps;
      std::vector<double> yj;
      for (int j = 1; j <= kk; ++j) {
        // yb + s0 G[j] + (s1 - s0) W[j]: j increments of (G[j] / j) s0 + (W[j] / j) (s1 - s0) (all weights 1:
        // d0 + (j + 1) / (2 (kk + m)) (d1 - d0), j times the mean increment over the first j cycles).
        yj = advance(yb, j, [&](size_t i) {
          const JumpWeights& w = *wq[i];
          return w.G[j] / (j * w.g[0]) * (yb[i] - y_prev[i]) + w.W[j] / j * dd[i];
        });
        ++cycles_done_;
        const double w = static_cast<double>(j) / (kk + m);
        const CycleFigures oj = CycleFigures::blend(last, c[m - 1], w);
        throughput_Ah_ += oj.throughput_Ah;
        energy_Wh_ += oj.energy_Wh;
        sol_.cycles.push_back(row(cycles_done_, tb + j * dt, oj, yj.data(), false));
      }
      take(std::move(part));
      for (int i = 0; i < m; ++i) {
        account(c[i]);
        sol_.cycles.push_back(row(cycles_done_, tc[i], c[i], yc[i].data(), true));
      }
      sol_.resolved_cycles += m;
      r_.y = yc[m - 1];
      y_prev = std::move(y0);
      t_prev = t0;
      last = c[m - 1];
      profile_ = r_.step_offsets;
      profile_I_ = r_.step_arrhenius;
      done += kk + m;
      const int k_next = err > 0 ? static_cast<int>(kk * std::min(2.0, 0.9 * std::sqrt(a.tol / err))) : 2 * kk;
      // A jump shortened only to fit the segment's end says nothing against the longer one proposed:
      // keep that for the next segment or run (the lifecycle's runs continue the same cycle).
      k = at_end ? std::max(k, k_next) : k_next;
    }
    remember();
  }

  CellModel& m_;
  const SimulationOptions& o_;
  WarningSink warn_;
  Runner r_;
  Solution sol_;
  double li0_ = 0, throughput_Ah_ = 0, energy_Wh_ = 0;
  int cycles_done_ = 0, shown_ = 0, suppressed_ = 0;
  Checkpoint::JumpMemory mem_;  ///< the last cycle's increment, carried to the next segment or run
  std::vector<double> profile_, profile_I_;  ///< the last resolved cycle's Runner::step_offsets, step_arrhenius
};

}  // namespace

Solution simulate(CellModel& model, const std::vector<Segment>& segments, const SimulationOptions& o,
                  const WarningSink& warn) {
  if (!(o.output_dt_s > 0)) throw InputError(fmt::format("output interval {} s must be positive", o.output_dt_s));
  for (const Segment& s : segments)
    if (s.experiment.cycles < 1) throw InputError(fmt::format("cycles must be at least 1, got {}", s.experiment.cycles));
  if (o.accelerate.enabled && !(o.accelerate.tol > 0 && o.accelerate.tol < 0.1))
    throw InputError(fmt::format("accelerate tolerance {} must be in (0, 0.1)", o.accelerate.tol));
  if (o.accelerate.enabled && o.accelerate.max_jump < 2)
    throw InputError(fmt::format("longest jump {} must be at least 2 cycles", o.accelerate.max_jump));
  if (o.accelerate.enabled && !(o.accelerate.carry_jump >= 0 && o.accelerate.carry_jump <= 1))
    throw InputError(fmt::format("carried jump share {} must be in [0, 1]", o.accelerate.carry_jump));
  if (o.accelerate.enabled && (o.accelerate.resolved_per_landing < 1 || o.accelerate.resolved_per_landing > 2))
    throw InputError(fmt::format("cycles resolved per landing {} must be 1 or 2", o.accelerate.resolved_per_landing));
  if (o.accelerate.enabled && (!(o.accelerate.forcing_period_s >= 0) || o.accelerate.landings_per_period < 1))
    throw InputError(fmt::format("forcing period {} s must not be negative and landings per period {} must be at "
                                 "least 1", o.accelerate.forcing_period_s, o.accelerate.landings_per_period));
  if (o.checkup_every < 0) throw InputError(fmt::format("check-up interval {} must not be negative", o.checkup_every));
  Driver d(model, o, warn);
  return d.run(segments);
}

Solution simulate(CellModel& model, const Experiment& exp, const SimulationOptions& o, const WarningSink& warn) {
  return simulate(model, std::vector<Segment>{{exp, model.options().ambient_K, {}}}, o, warn);
}

Checkpoint cycle_checkpoint(const Solution& s, size_t i) {
  if (i >= s.cycles.size() || s.cycle_states.size() != s.cycles.size())
    throw Error("no state kept for row {} of {} (run with keep_cycle_states)", i, s.cycles.size());
  const CycleSummary& r = s.cycles[i];
  Checkpoint c;
  c.model = s.checkpoint.model;
  c.parameter_set = s.checkpoint.parameter_set;
  c.ageing = s.checkpoint.ageing;
  c.initial_lithium_mol = s.checkpoint.initial_lithium_mol;
  c.state = s.cycle_states[i];
  c.time_s = r.time_s;
  c.cycles_done = r.cycle;
  c.steps_done = s.checkpoint.steps_done;  // a step index only: kept increasing
  c.charge_throughput_Ah = r.charge_throughput_Ah;
  c.energy_throughput_Wh = r.energy_throughput_Wh;
  return c;
}

ElectrodeBalance aged_balance(const CellModel& m, const double* y) {
  const Degradation d = m.degradation(y);
  const ElectrodeBalance& fresh = m.balance();
  return electrode_balance(m.parameters(), 298.15, m.particle_lithium_mol(y),
                           fresh.negative_capacity_Ah * d.active_fraction_negative,
                           fresh.positive_capacity_Ah * d.active_fraction_positive, true);
}

double checkup_capacity_Ah(const CellModel& m, const double* y) {
  const ElectrodeBalance eb = aged_balance(m, y);
  ModelOptions mo = m.options();
  mo.ambient_K = 298.15;
  auto probe = make_model(m.name(), m.parameters(), mo);
  Checkpoint start;
  start.state.assign(y, y + m.size());
  probe->set_rest_state(start.state.data(), eb.x100, eb.y100, 298.15);
  Experiment e;
  e.steps.push_back(parse_step(fmt::format("Discharge at C/3 until {:.6g} V", m.parameters().cell.lower_voltage_cutoff_V)));
  SimulationOptions so;
  so.keep_time_series = false;
  so.restart = &start;
  const Solution s = simulate(*probe, e, so);
  if (!s.stopped.empty()) throw SolverError(0, 0, "reference check-up failed: " + s.stopped);
  return s.cycles.back().discharge_capacity_Ah;
}

}  // namespace packlife
