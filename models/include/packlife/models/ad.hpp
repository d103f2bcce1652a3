#pragma once
/// @file ad.hpp
/// Forward-mode automatic differentiation type used for the Jacobian of the terminal relations
/// (voltage, heat) and of material functions (Eigen's AutoDiffScalar, fixed size).
#include <Eigen/Core>
#include <unsupported/Eigen/AutoDiff>

#include <cmath>

namespace packlife {

/// Number of independent variables in the "terminal inputs" vector of the SPM family: surface and
/// electrolyte concentrations, T, I and the degradation inputs (see spm.cpp).
inline constexpr int kTerminalInputs = 16;
using ADVec = Eigen::Matrix<double, kTerminalInputs, 1>;
using AD = Eigen::AutoDiffScalar<ADVec>;

/// Plain value of a scalar (for branches on the value of an AD quantity).
inline double val(double x) { return x; }
inline double val(const AD& x) { return x.value(); }

/// asinh with an exact derivative (Eigen's AutoDiff has none): d/dx asinh x = 1/sqrt(1+x^2).
/// The double form is log(|x| + sqrt(1+x^2)) with the sign restored: one log instead of libm's
/// asinh (which goes through log1p); absolute error below 1e-15 for the overpotential arguments
/// seen here, and exact asymptotics (log 2|x|) for large |x|.
inline double asinh_s(double x) {
  const double a = std::abs(x);
  const double r = a < 1e8 ? std::log(a + std::sqrt(1.0 + a * a)) : std::log(2.0 * a);
  return std::copysign(r, x);
}
inline AD asinh_s(const AD& x) {
  const double v = x.value();
  return AD(std::asinh(v), x.derivatives() / std::sqrt(1.0 + v * v));
}

}  // namespace packlife
