#pragma once
/// @file simulation.hpp
/// Runs an experiment on a cell model: one IDA integrator, re-initialised consistently at every
/// step change, root functions for the step's end condition and for the cell's safety limits,
/// output sampled on a fixed time grid plus the exact start and end of every step.
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

struct SimulationOptions {
  OutputInterpolation interpolation = OutputInterpolation::Hermite;
  double initial_soc = 1.0;   ///< SOC on the electrode-balance window at t = 0
  double output_dt_s = 1.0;   ///< spacing of the sampled output grid
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
  double charge_throughput_Ah = 0;  ///< |charge| moved since the start
  double energy_throughput_Wh = 0;  ///< |energy| moved since the start (trapezoid on the output samples)
  double equivalent_full_cycles = 0;  ///< charge throughput / (2 x nominal capacity)
};

struct Solution {
  std::vector<CycleSummary> cycles;
  std::vector<double> time_s, current_A, voltage_V, temperature_K, discharge_capacity_Ah, soc, heat_W;
  std::vector<long long> step, cycle;
  std::vector<StepRecord> steps;
  std::vector<std::string> warnings;
  std::vector<double> final_state;
  long solver_steps = 0;
  size_t size() const { return time_s.size(); }
};

using WarningSink = std::function<void(const std::string&)>;

/// Runs `exp` on `model` from rest at `o.initial_soc`. Warnings (skipped steps, safety stops) are
/// returned in the solution and also passed to `warn` as they happen.
Solution simulate(CellModel& model, const Experiment& exp, const SimulationOptions& o, const WarningSink& warn = {});

}  // namespace packlife
