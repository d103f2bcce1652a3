#pragma once
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "packlife/models/simulation.hpp"

namespace packlife::test {

/// A fresh directory for a test's files, under the test's working directory.
inline std::string temp_dir(const std::string& name) {
  const auto d = std::filesystem::current_path() / ("tmp_" + name);
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d.string();
}

inline const ParameterSet& chen() {
  static const ParameterSet p = load_parameter_set("chen2020");
  return p;
}

inline Solution run(const std::string& model, const std::string& exp, ModelOptions mo = {}, SimulationOptions so = {},
                    const ParameterSet& p = chen()) {
  auto m = make_model(model, p, mo);
  return simulate(*m, parse_experiment(exp), so);
}

/// Linear interpolation of y(x) for increasing x.
inline double interp(const std::vector<double>& x, const std::vector<double>& y, double xq) {
  for (size_t i = 1; i < x.size(); ++i)
    if (x[i] >= xq) {
      const double w = (xq - x[i - 1]) / (x[i] - x[i - 1]);
      return y[i - 1] + w * (y[i] - y[i - 1]);
    }
  return y.back();
}

/// RMS difference of two voltage series sampled on the same 1 s grid (matching integer times).
inline double rms_on_grid(const Solution& a, const Solution& b) {
  double s = 0;
  int n = 0;
  size_t j = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double t = a.time_s[i];
    if (std::abs(t - std::round(t)) > 1e-9) continue;
    while (j < b.size() && b.time_s[j] < t - 1e-9) ++j;
    if (j < b.size() && std::abs(b.time_s[j] - t) < 1e-9) {
      s += std::pow(a.voltage_V[i] - b.voltage_V[j], 2);
      ++n;
    }
  }
  return n ? std::sqrt(s / n) : 1e9;
}

}  // namespace packlife::test
