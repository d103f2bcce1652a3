#pragma once
/// @file ad.hpp
/// Forward-mode automatic differentiation type used for the Jacobian of the terminal relations
/// (voltage, heat) and of material functions (Eigen's AutoDiffScalar, fixed size).
#include <Eigen/Core>
#include <unsupported/Eigen/AutoDiff>

#include <cmath>

namespace packlife {

/// Number of independent variables in the "terminal inputs" vector (see cell_model.hpp).
inline constexpr int kTerminalInputs = 9;
using ADVec = Eigen::Matrix<double, kTerminalInputs, 1>;
using AD = Eigen::AutoDiffScalar<ADVec>;

/// asinh with an exact derivative (Eigen's AutoDiff has none): d/dx asinh x = 1/sqrt(1+x^2).
inline double asinh_s(double x) { return std::asinh(x); }
inline AD asinh_s(const AD& x) {
  const double v = x.value();
  return AD(std::asinh(v), x.derivatives() / std::sqrt(1.0 + v * v));
}

}  // namespace packlife
