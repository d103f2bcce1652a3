#include "packlife/core/csv.hpp"

#include <cmath>
#include <fstream>

#include "packlife/core/error.hpp"

namespace packlife {

namespace {
std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> f;
  size_t start = 0;
  for (;;) {
    const auto comma = line.find(',', start);
    f.push_back(trim(line.substr(start, comma == std::string::npos ? std::string::npos : comma - start)));
    if (comma == std::string::npos) return f;
    start = comma + 1;
  }
}
}  // namespace

std::optional<double> parse_number(const std::string& s) {
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(s, &used);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (s.find_first_not_of(" \t\r", used) != std::string::npos || !std::isfinite(v)) return std::nullopt;
  return v;
}

CsvTable CsvTable::read(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError(path, 0, 0, "", "cannot open the file for reading");
  CsvTable t;
  t.path_ = path;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (const auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    if (trim(line).empty()) continue;
    auto fields = split(line);
    if (t.columns_.empty()) {
      t.columns_ = std::move(fields);
      t.header_line_ = n;
      continue;
    }
    if (fields.size() != t.columns_.size())
      throw InputError(path, n, 0, "", fmt::format("{} fields where the header has {} ({})", fields.size(),
                                                   t.columns_.size(), fmt::join(t.columns_, ",")));
    t.rows_.push_back(std::move(fields));
    t.lines_.push_back(n);
  }
  if (t.columns_.empty()) throw InputError(path, n, 0, "", "no header row (the file is empty)");
  return t;
}

int CsvTable::column(const std::string& name) const {
  for (size_t i = 0; i < columns_.size(); ++i)
    if (columns_[i] == name) return static_cast<int>(i);
  throw InputError(path_, header_line_, 0, name, fmt::format("missing column (the header has: {})", fmt::join(columns_, ", ")));
}

double CsvTable::number(size_t row, int col) const {
  const std::string& s = rows_[row][col];
  const auto v = parse_number(s);
  if (!v) throw InputError(path_, lines_[row], col + 1, columns_[col], fmt::format("'{}' is not a number", s));
  return *v;
}

}  // namespace packlife
