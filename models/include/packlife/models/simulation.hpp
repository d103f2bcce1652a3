#pragma once
/// @file simulation.hpp
/// Runs an experiment on a cell model: one IDA integrator, re-initialised consistently at every
/// step change, root functions for the step's end condition and for the cell's safety limits,
/// output sampled on a fixed time grid plus the exact start and end of every step.
#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "packlife/models/cell_model.hpp"
#include "packlife/models/experiment.hpp"

namespace packlife {

/// How sampled outputs between accepted integrator steps are obtained.
enum class OutputInterpolation {
  Hermite,  ///< cubic Hermite of the model's observables between accepted steps (default, fast)
  Solver,   ///< IDA's own interpolating polynomial (IDAGetDky), for checks
};

/// Cycle jumping (envelope following across cycles; method and error control in docs/models.md).
struct AccelerateOptions {
  bool enabled = false;
  /// Local error allowed per jump in the slow ledger quantities: lithium lost (fraction of the
  /// initial particle lithium) and active fraction lost per electrode, all as fractions.
  double tol = 2e-4;
  int max_jump = 500;         ///< longest jump [cycles]
  int warmup_cycles = 2;      ///< cycles resolved after the start and after every change of conditions
  /// Period of a forcing the cycles follow (the seasons of a climate) [s]; 0: none. With one, the
  /// jump landings are spaced at most period / landings_per_period apart.
  double forcing_period_s = 0;
  int landings_per_period = 3;
  /// Cycles resolved at each landing (1 or 2). Two: the first lets the fast states settle onto the
  /// cycle's orbit and the second measures the per-cycle increment; one: the increment is measured
  /// on the first cycle, whose fast states start from the last resolved cycle's end (the jump moves
  /// only the slow states), so they are already on (the previous season's) orbit.
  int resolved_per_landing = 2;
  /// After a change of cycle (a new segment whose cycle differs from the last one's), the first jump
  /// spans this share of the time the last accepted jump would have spanned (0: start again at 2
  /// cycles). The warm-up cycles and the error control are unchanged.
  double carry_jump = 0;
  /// With a forcing and a per-step ambient: extrapolate the model's Arrhenius states (SEI growth,
  /// CellModel::arrhenius_states) with their increment modelled as the Arrhenius factor of the cell
  /// temperature over the cycle's steps (the last resolved cycle's, each step moved by the change of its
  /// ambient at each jumped cycle's dates) times a factor varying linearly between the two measured
  /// ends, instead of the increment itself
  /// varying linearly: the seasons' rates are integrated between landings instead of interpolated
  /// (docs/models.md, "Cycle jumping", step 8).
  bool forcing_weighted = false;
};

/// What one cycle moved and the range it spanned (accumulated over its accepted integrator steps).
struct CycleFigures {
  double discharge_Ah = 0;   ///< charge delivered by the cycle's discharging steps
  double throughput_Ah = 0;  ///< |charge| moved
  double energy_Wh = 0;      ///< |energy| moved (Simpson's rule on every accepted integrator step)
  double start_s = 0, end_s = 0;
  double soc_min = 1e300, soc_max = -1e300, temperature_max_K = 0;
  double temperature_Ks = 0;  ///< time integral of the temperature (trapezoid on accepted steps)
  double temperature_mean_K() const { return end_s > start_s ? temperature_Ks / (end_s - start_s) : temperature_max_K; }
  void observe(const CellOutputs& o) {
    soc_min = std::min(soc_min, o.soc);
    soc_max = std::max(soc_max, o.soc);
    temperature_max_K = std::max(temperature_max_K, o.temperature_K);
  }
  /// (1 - w) a + w b, figure by figure (a jumped cycle between two resolved ones); the result spans
  /// a unit time so that its mean temperature is the blend of the two means.
  static CycleFigures blend(const CycleFigures& a, const CycleFigures& b, double w) {
    auto L = [w](double u, double v) { return (1 - w) * u + w * v; };
    CycleFigures c;
    c.discharge_Ah = L(a.discharge_Ah, b.discharge_Ah);
    c.throughput_Ah = L(a.throughput_Ah, b.throughput_Ah);
    c.energy_Wh = L(a.energy_Wh, b.energy_Wh);
    c.soc_min = L(a.soc_min, b.soc_min);
    c.soc_max = L(a.soc_max, b.soc_max);
    c.temperature_max_K = L(a.temperature_max_K, b.temperature_max_K);
    c.end_s = 1;
    c.temperature_Ks = L(a.temperature_mean_K(), b.temperature_mean_K());
    return c;
  }
};

/// A saved run: the complete state and counters at the end of a cycle, enough to continue exactly.
struct Checkpoint {
  std::string model, parameter_set, ageing;  ///< what the state belongs to (checked on restore)
  std::vector<double> state;
  double time_s = 0;
  int cycles_done = 0;
  long long steps_done = 0;
  double charge_throughput_Ah = 0, energy_throughput_Wh = 0;
  double initial_lithium_mol = 0;  ///< particle lithium at the very start (reference of lli_pct)
  /// Cycle-jumping memory (in memory only; not written to checkpoint files): the state one cycle
  /// before `state`, that cycle's figures and the next jump length, for the experiment named by
  /// `signature`. A run continued with the same experiment and ambient jumps at once instead of
  /// re-resolving warm-up cycles (the lifecycle's year-by-year runs).
  struct JumpMemory {
    bool valid = false;
    std::string signature;
    std::vector<double> previous_state;
    double previous_time_s = 0;
    int next_jump = 2;
    CycleFigures last;  ///< the figures of the last resolved cycle
    std::vector<double> step_offsets;  ///< its steps' start times and its end, from its start [s]
    std::vector<double> step_arrhenius;  ///< its steps' integrals of the Arrhenius factor (forcing_weighted)
  } jump;
};

struct SimulationOptions {
  OutputInterpolation interpolation = OutputInterpolation::Hermite;
  double initial_soc = 1.0;   ///< SOC on the electrode-balance window at t = 0
  double output_dt_s = 1.0;   ///< spacing of the sampled output grid
  bool keep_time_series = true;  ///< false: only steps and the per-cycle summary (long runs)
  AccelerateOptions accelerate;
  /// Run the reference check-up (C/3 discharge at 25 C) every N cycles of the summary (0: never).
  int checkup_every = 0;
  const Checkpoint* restart = nullptr;  ///< continue from a checkpoint instead of initial_soc
  long max_internal_steps = 200000;     ///< integrator steps allowed within one experiment step
  /// Keep the full state at the end of every cycle of the summary (Solution::cycle_states), so that a
  /// caller can continue from any of them (cycle_checkpoint()) instead of re-running.
  bool keep_cycle_states = false;
  /// Relative change of the integrator's cj = alpha/h before a new Jacobian (DaeOptions::lsetup_cj_change).
  /// The lifecycle's many short segments restart at small steps that double each step: with 0.5 a
  /// doubling keeps the factorisation (docs/benchmarks.md).
  double lsetup_cj_change = 0.25;
};

/// Temperature around the cell for step `step` (index in the cycle) starting at time `t_s` (run time) [K].
using StepAmbient = std::function<double(size_t step, double t_s)>;

/// A stretch of identical cycles (the unit cycle jumping works within). The ambient temperature is
/// either fixed or, with `ambient_at`, set at the start of every step (a climate, a station room, a
/// vehicle's thermal management): it may vary smoothly from cycle to cycle and cycles are still
/// jumped, with the jump's error control measuring the effect of that drift.
struct Segment {
  Experiment experiment;         ///< steps of one cycle and the number of cycles
  double ambient_K = 298.15;
  StepAmbient ambient_at;        ///< optional; overrides ambient_K step by step
};

/// One executed (or skipped) experiment step.
struct StepRecord {
  int cycle = 0, index = 0;
  std::string text;
  double start_s = 0, end_s = 0;
  double discharge_Ah = 0;   ///< charge removed during the step (negative on charge)
  std::string end_reason;    ///< "until 2.5 V", "duration", "lower voltage cut-off", "skipped", ...
  bool skipped = false;
};

/// One row of the per-cycle summary (the degradation ledger at the end of each cycle).
struct CycleSummary {
  int cycle = 0;                    ///< 1-based
  double time_s = 0;                ///< end of the cycle
  double discharge_capacity_Ah = 0; ///< charge delivered by the cycle's discharging steps
  double lli_pct = 0;               ///< cyclable lithium lost, % of the initial lithium in both electrodes' particles
  double lam_ne_pct = 0, lam_pe_pct = 0;  ///< active material lost per electrode, % of the initial amount
  Degradation ledger{};
  bool resolved = true;             ///< simulated in full (false: interpolated across a jump)
  double esoh_capacity_Ah = 0;      ///< electrode-balance capacity between the voltage limits at 25 C
  double checkup_capacity_Ah = -1;  ///< reference check-up capacity (C/3 at 25 C); -1 when not run
  double charge_throughput_Ah = 0;  ///< |charge| moved since the start
  double energy_throughput_Wh = 0;  ///< |energy| moved since the start (trapezoid on the output samples)
  double equivalent_full_cycles = 0;  ///< charge throughput / (2 x nominal capacity)
  /// Range of SOC and cell temperature over the cycle (at every accepted integrator step; jumped
  /// cycles interpolate them like the capacity) and the time-mean temperature.
  double soc_min = 0, soc_max = 0, temperature_mean_K = 0, temperature_max_K = 0;
};

struct Solution {
  std::vector<CycleSummary> cycles;
  std::vector<double> time_s, current_A, voltage_V, temperature_K, discharge_capacity_Ah, soc, heat_W;
  std::vector<long long> step, cycle;
  std::vector<StepRecord> steps;
  std::vector<std::string> warnings;
  std::vector<double> final_state;
  Checkpoint checkpoint;            ///< state and counters at the end of the last completed cycle
  /// With SimulationOptions::keep_cycle_states: the state at the end of each row of `cycles` (a
  /// jumped row's is the extrapolated one, as a landing starts from).
  std::vector<std::vector<double>> cycle_states;
  long solver_steps = 0;
  int resolved_cycles = 0, jumps = 0, rejected_jumps = 0;
  /// Empty when the run completed; otherwise why it stopped (everything before is kept).
  std::string stopped;
  size_t size() const { return time_s.size(); }
};

using WarningSink = std::function<void(const std::string&)>;

/// Runs `exp` on `model` from rest at `o.initial_soc` (or from `o.restart`). Warnings (skipped steps,
/// safety stops) are returned in the solution and also passed to `warn` as they happen. A step the
/// integrator cannot finish is retried once with tolerances ten times tighter; if it fails again the
/// run stops, `Solution::stopped` names cycle, step, time and state, and everything before is kept.
Solution simulate(CellModel& model, const Experiment& exp, const SimulationOptions& o, const WarningSink& warn = {});
/// Runs segments one after the other (conditions change between them; jumps never cross a change).
Solution simulate(CellModel& model, const std::vector<Segment>& segments, const SimulationOptions& o,
                  const WarningSink& warn = {});

/// A checkpoint at the end of row `i` of a run kept with keep_cycle_states (its state, time and
/// counters; no cycle-jumping memory, so a run continued from it starts with warm-up cycles).
Checkpoint cycle_checkpoint(const Solution& s, size_t i);

/// Electrode balance of a state at 25 C: the lithium left in the particles between both electrodes'
/// remaining active material (the fast "eSOH" health estimate).
ElectrodeBalance aged_balance(const CellModel& m, const double* y);
/// Reference check-up on a state, as a lab measures capacity: from rest at the upper voltage limit
/// (aged balance), discharge at C/3 to the lower limit at 25 C. Returns the charge delivered [A h].
double checkup_capacity_Ah(const CellModel& m, const double* y);

}  // namespace packlife
