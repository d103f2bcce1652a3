#pragma once
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "packlife/models/simulation.hpp"

namespace packlife::test {

struct CliResult {
  int code;
  std::string out;
};

/// Runs the packlife executable with arguments (shell-quoted by the caller), capturing stdout and,
/// with `merge_stderr`, stderr; returns the exit code (-1 if it did not exit normally).
inline CliResult run_cli(const std::string& args, bool merge_stderr = true) {
  const std::string cmd = std::string(PACKLIFE_CLI) + " " + args + (merge_stderr ? " 2>&1" : " 2>/dev/null");
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return {-1, "popen failed"};
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

/// Writes `text` to dir/name and returns the path.
inline std::string write_file(const std::string& dir, const std::string& name, const std::string& text) {
  const std::string path = dir + "/" + name;
  std::ofstream(path) << text;
  return path;
}

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

/// Comparison of a model's analytic Jacobian with central differences of its residual at (y, yp).
struct JacobianCheck {
  double worst = 0;         ///< largest |fd - analytic| / scale over the declared entries
  double unlisted = 0;      ///< largest |fd| outside the declared pattern
  double unlisted_rel = 0;  ///< same, relative to max(1, |F_row|)
  int worst_row = -1, worst_col = -1;  ///< where `worst` is
  double worst_fd = 0, worst_analytic = 0;
};

/// scale = max(|fd|, |analytic|, abs_floor, row_floor * largest analytic entry in the row).
inline JacobianCheck check_jacobian(CellModel& m, const std::vector<double>& y, const std::vector<double>& yp,
                                    double cj, double rel_step_floor, double abs_floor, double row_floor) {
  const int n = m.size();
  std::vector<double> vals(m.jacobian_pattern().nnz(), 0.0);
  SparseJacobian J(m.jacobian_pattern(), vals.data());
  m.jacobian(0.0, cj, y.data(), yp.data(), J);
  std::vector<double> F1(n), F2(n), rowmax(n, 0.0);
  for (int row = 0; row < n; ++row)
    for (int col = 0; col < n; ++col)
      if (const int k = m.jacobian_pattern().index(row, col); k >= 0) rowmax[row] = std::max(rowmax[row], std::abs(vals[k]));
  JacobianCheck c;
  for (int col = 0; col < n; ++col) {
    const double h = 1e-6 * std::max(rel_step_floor, std::abs(y[col]));
    auto yy = y, yyp = yp;
    yy[col] += h;
    yyp[col] += cj * h;
    m.residual(0.0, yy.data(), yyp.data(), F1.data());
    yy[col] -= 2 * h;
    yyp[col] -= 2 * cj * h;
    m.residual(0.0, yy.data(), yyp.data(), F2.data());
    for (int row = 0; row < n; ++row) {
      const double fd = (F1[row] - F2[row]) / (2 * h);
      const int k = m.jacobian_pattern().index(row, col);
      if (k < 0) {
        c.unlisted = std::max(c.unlisted, std::abs(fd));
        c.unlisted_rel = std::max(c.unlisted_rel, std::abs(fd) / std::max(1.0, std::abs(F1[row])));
        continue;
      }
      const double scale = std::max({std::abs(fd), std::abs(vals[k]), abs_floor, row_floor * rowmax[row]});
      if (std::abs(fd - vals[k]) / scale > c.worst) {
        c.worst = std::abs(fd - vals[k]) / scale;
        c.worst_row = row, c.worst_col = col, c.worst_fd = fd, c.worst_analytic = vals[k];
      }
    }
  }
  return c;
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
