#pragma once
/// @file output.hpp
/// Writing simulation results: CSV (time series) and self-describing HDF5 (format in
/// docs/file-formats.md). Writers put data in a temporary file that is renamed into place only
/// once everything is written (see AtomicFile), so a failed run leaves nothing half-written.
#include <string>

#include "packlife/models/simulation.hpp"

namespace packlife {

inline constexpr const char* kSimulationFormatVersion = "1.0";

/// Everything needed to re-run a simulation.
struct RunInputs {
  std::string model;
  ModelOptions model_options;
  SimulationOptions sim_options;
  Experiment experiment;
  const ParameterSet* parameters = nullptr;
};

/// The resolved inputs as YAML (model, options, experiment, full parameter set).
std::string resolved_inputs_yaml(const RunInputs& in);
/// CSV with header time_s,current_A,voltage_V,temperature_K,discharge_capacity_Ah,soc,heat_W,step,cycle.
void write_csv(const Solution& s, const std::string& path);
/// Per-cycle summary CSV; header starts with cycle,time_s,discharge_capacity_Ah,lli_pct,lam_ne_pct,lam_pe_pct.
void write_summary_csv(const Solution& s, const std::string& path);
/// Checkpoint as JSON (format "packlife-checkpoint" 1.0); doubles are stored as hexadecimal floating
/// point text, so a restored run continues bit for bit.
void write_checkpoint(const Checkpoint& c, const std::string& path);
/// Reads a checkpoint; InputError naming the file and the missing or malformed key.
Checkpoint read_checkpoint(const std::string& path);
/// HDF5 file (format version kSimulationFormatVersion).
void write_hdf5(const Solution& s, const RunInputs& in, const CellModel& model, const std::string& path);

}  // namespace packlife
