#pragma once
/// @file experiment.hpp
/// The cycler-style experiment language: steps such as "Discharge at 1C until 2.5 V",
/// "Charge at 0.5C until 4.2 V", "Hold at 4.2 V until C/50", "Rest for 1 hour",
/// "Discharge at 2 A for 10 minutes", "Discharge at 20 W until 3.0 V", "Charge at 1C until 80% SOC",
/// "Rest for 180 days", "Rest to fill 24 hours" (a whole day repeated as a cycle).
/// Grammar in docs/experiments.md.
#include <optional>
#include <string>
#include <vector>

namespace packlife {

struct ExperimentStep {
  enum class Kind { Current, Power, Voltage, Rest };
  enum class Until { None, Voltage, Current, Soc };
  std::string text;             ///< the step as written
  Kind kind = Kind::Rest;
  bool charge = false;          ///< true for Charge steps
  double value = 0;             ///< magnitude: C-rate, A, W or V (see unit)
  bool c_rate = false;          ///< value is a C-rate (Current steps)
  std::optional<double> duration_s;
  /// "Rest to fill 24 hours": rest until the cycle (all steps so far) has lasted this long.
  std::optional<double> fill_s;
  Until until = Until::None;
  double until_value = 0;       ///< V, A (absolute), or SOC fraction
  bool until_c_rate = false;    ///< until_value is a C-rate (current termination "C/50")
  /// "Charge at 2C with CV at 4.2 V until 80% SOC": constant current (or power) until the voltage
  /// reaches cv_V, then held at cv_V (the current tapers) until the end condition, as chargers do.
  std::optional<double> cv_V;
  std::string source;           ///< file:line or "command line"
};

struct Experiment {
  std::vector<ExperimentStep> steps;
  int cycles = 1;
};

/// Parses one step; throws InputError naming the step text (and `source`) when malformed.
ExperimentStep parse_step(const std::string& text, const std::string& source = "");
/// Parses steps separated by ';' (command line) or newlines; '#' starts a comment.
Experiment parse_experiment(const std::string& text, const std::string& source = "");
/// Reads a file with one step per line; errors name the file and line.
Experiment load_experiment_file(const std::string& path);

}  // namespace packlife
