#pragma once
/// @file fit.hpp
/// Calibration of parameters against lab data by nonlinear least squares (`packlife fit`,
/// docs/fitting.md): Levenberg-Marquardt on the logarithms of the chosen parameters, with a
/// finite-difference Jacobian, 95 % confidence intervals from the linearised covariance, and the
/// residuals at the optimum.
#include <functional>
#include <string>
#include <vector>

#include "packlife/models/parameters.hpp"

namespace packlife {

/// A parameter to fit: a key of the parameter-file schema (positive, fitted as ln value), with
/// optional bounds in its own unit (0 = none).
struct FitParameter {
  std::string key;
  double lower = 0, upper = 0;
};
/// Parses "KEY" or "KEY:LOWER:UPPER"; InputError naming the text otherwise.
FitParameter parse_fit_parameter(const std::string& text);

/// Residuals of a parameter set against some data, with a name for each residual.
struct FitTarget {
  std::string name, description;
  std::vector<std::string> residual_names;
  std::function<std::vector<double>(const ParameterSet&)> residuals;
};

/// Severson et al. (2019) training cells: ln(simulated / measured cycle life) per cell (a censored
/// simulated life is its linear extrapolation, see severson_life).
FitTarget severson_fit_target(int max_cycles = 3000);

/// A cycle-level lab file: the capacity relative to each cell's first cycle (or in A h when
/// `absolute`), simulated (the experiment repeated, SPMe, lumped thermal, cycle jumping) minus
/// measured, at every measured cycle after the first (at every one when absolute); cycle 0 (a check-up
/// before cycling) is compared with the first simulated cycle, and one run serves every cell (same
/// experiment and ambient). `cells` selects cells by id (empty: all). InputError for a bad file, format,
/// experiment or option.
struct LabFitSpec {
  std::string path, format = "auto", experiment, ageing = "default";
  std::vector<std::string> cells;
  double ambient_C = 25, initial_soc = 1;
  bool absolute = false;  ///< compare capacities in A h (the set is the tested cell) instead of relative ones
  double down_to = 0;     ///< leave out measured points below this fraction of the cell's first capacity (0: none)
};
FitTarget lab_capacity_target(const LabFitSpec& spec);

struct FitOptions {
  int max_iterations = 30;
  double rel_tol = 1e-3;   ///< converged when an accepted step lowers the sum of squares by less than this fraction
  double step_tol = 1e-3;  ///< ... or changes no ln(parameter) by more than this
  double fd_step = 0.02;   ///< forward-difference step in ln(parameter)
  /// > 0: robust Cauchy loss c^2 ln(1 + (r/c)^2) with this scale c instead of r^2 (residuals much larger
  /// than c, such as cells of an outlying batch, weigh less); 0: least squares.
  double cauchy_scale = 0;
  /// In [0.5, 1): least trimmed squares (Rousseeuw 1984), the sum of the ceil(trim_fraction n) smallest
  /// squared residuals; the rest (an outlying batch, a faulty cell) do not count. 0: no trimming.
  double trim_fraction = 0;
  std::function<void(const std::string&)> progress;
};

struct FitEstimate {
  std::string key, unit;
  double initial = 0, value = 0;
  double ci_low = 0, ci_high = 0;  ///< 95 % confidence interval (from the ln-space covariance)
  double std_ln = 0;               ///< standard error of ln(value)
  bool at_bound = false;
};

struct FitResult {
  bool converged = false;
  std::string reason;  ///< why the iteration stopped (success or failure)
  std::vector<FitEstimate> estimates;
  std::vector<std::string> residual_names;
  std::vector<double> residuals, initial_residuals;
  double ssr_initial = 0, ssr = 0;  ///< sums of squared residuals
  double cost_initial = 0, cost = 0;  ///< the minimised sum (= ssr for least squares)
  int iterations = 0, evaluations = 0;
  std::vector<std::vector<double>> correlation;
  ParameterSet fitted;  ///< the base set with the fitted values (meaningful only when converged)
};

/// Fits `params` of `base` to `target`. Never throws for a fit that fails to converge (the result
/// says why); throws InputError for bad keys or bounds, Error when the initial point cannot be
/// simulated.
FitResult fit_parameters(const ParameterSet& base, const std::vector<FitParameter>& params, const FitTarget& target,
                         const FitOptions& o);

/// Two-sided 95 % quantile of Student's t with `dof` degrees of freedom.
double student_t975(int dof);

}  // namespace packlife
