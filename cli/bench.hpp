#pragma once
#include <nlohmann/json.hpp>

namespace packlife::cli {
#include <string>
#include <vector>

/// Names of the benchmark cases (the keys of run_benchmarks' result), and the same as one string.
const std::vector<std::string>& benchmark_cases();
std::string benchmark_case_list();
/// Median wall times of the reference solves (see docs/benchmarks.md); only `cases` when not empty.
nlohmann::json run_benchmarks(int repeats, bool progress, const std::vector<std::string>& cases = {});
}  // namespace packlife::cli
