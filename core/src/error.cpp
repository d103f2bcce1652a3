#include "packlife/core/error.hpp"

namespace packlife {

namespace {
std::string locate(const std::string& file, int line, int column, const std::string& key,
                   const std::string& msg) {
  std::string where;
  if (!file.empty()) {
    where = file;
    if (line > 0) where += fmt::format(":{}", line);
    if (line > 0 && column > 0) where += fmt::format(":{}", column);
    where += ": ";
  }
  if (!key.empty()) where += fmt::format("'{}': ", key);
  return where + msg;
}
}  // namespace

InputError::InputError(std::string file, int line, int column, std::string key,
                       const std::string& msg)
    : Error(locate(file, line, column, key, msg)),
      file_(std::move(file)),
      line_(line),
      column_(column),
      key_(std::move(key)),
      detail_(msg) {}

SolverError::SolverError(int flag, double time_s, const std::string& msg)
    : Error(fmt::format("solver failed at t = {:.6g} s (SUNDIALS flag {}): {}", time_s, flag, msg)),
      flag_(flag),
      time_s_(time_s),
      detail_(msg) {}

}  // namespace packlife
