#pragma once
/// @file validation_cases.hpp
/// Internal: the DFN validation cases (validation_dfn.cpp), called by run_validation.
#include <string>
#include <vector>

#include "packlife/models/cell_model.hpp"
#include "packlife/models/validation.hpp"

namespace packlife {

/// The Marquis et al. (2019) cell under the COMSOL reference's conditions, with the options' overrides.
ParameterSet comsol_cell(const ValidationOptions& o);

/// One COMSOL rate: simulated and reference voltage at the reference's times, and the error figures
/// of the internal profiles (over every node and time).
struct ComsolRun {
  std::vector<double> time_s, voltage_sim, voltage_ref;
  std::vector<ValidationCurve> profiles;
  std::string stopped;  ///< why the DFN stopped before the reference's end (empty: it did not)
};
ComsolRun run_comsol_rate(const ParameterSet& p, const ModelOptions& mo, double c_rate, const std::string& file);

ValidationResult comsol_case(const ValidationOptions& o);
ValidationResult ecker2015_case(const ValidationOptions& o);
ValidationResult enertech_case(const ValidationOptions& o);

}  // namespace packlife
