#pragma once
#include <nlohmann/json.hpp>

namespace packlife::cli {
/// Median wall times of the reference solves (see docs/benchmarks.md).
nlohmann::json run_benchmarks(int repeats, bool progress);
}  // namespace packlife::cli
