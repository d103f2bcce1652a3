#pragma once
/// @file error.hpp
/// One exception hierarchy for packlife (pattern of Cantera's ctexceptions.h): a base error
/// formatted with fmt, an input error that carries file/line/column/key, and a solver error that
/// carries the SUNDIALS flag and the time it failed at.
#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace packlife {

/// Base of every error packlife throws on purpose.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& msg) : std::runtime_error(msg) {}
  template <typename... Args>
  explicit Error(fmt::format_string<Args...> f, Args&&... args)
      : std::runtime_error(fmt::format(f, std::forward<Args>(args)...)) {}
};

/// Bad user input: a file, option, experiment text or key. The CLI maps it to exit code 2.
class InputError : public Error {
 public:
  /// @param file  file name, or "" for command-line input
  /// @param line  1-based line, or 0 when not known
  /// @param key   offending key or item ("" if none)
  InputError(std::string file, int line, int column, std::string key, const std::string& msg);
  /// Input error that is not tied to a file (command-line option, experiment text).
  explicit InputError(const std::string& msg) : InputError("", 0, 0, "", msg) {}

  const std::string& file() const { return file_; }
  int line() const { return line_; }
  const std::string& key() const { return key_; }
  /// The message without the file/line/key prefix.
  const std::string& detail() const { return detail_; }

 private:
  std::string file_;
  int line_ = 0;
  int column_ = 0;
  std::string key_;
  std::string detail_;
};

/// The integrator failed (convergence, error test, residual failure). Carries the SUNDIALS flag.
class SolverError : public Error {
 public:
  SolverError(int flag, double time_s, const std::string& msg);
  int flag() const { return flag_; }
  double time_s() const { return time_s_; }
  /// The message without the "solver failed at ..." prefix.
  const std::string& detail() const { return detail_; }

 private:
  int flag_;
  double time_s_;
  std::string detail_;
};

/// Thrown from a residual when the state is outside the model's domain (e.g. a stoichiometry
/// outside (0, 1)); the integrator turns it into a recoverable failure so the step is retried
/// with a smaller step size.
class RecoverableError : public Error {
 public:
  using Error::Error;
};

}  // namespace packlife
