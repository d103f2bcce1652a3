#pragma once
/// @file csv.hpp
/// Comma-separated tables with a header row, as the datasets ship them (drive cycles, climate
/// normals, lab data): '#' starts a comment, blank lines are skipped, every row has the header's
/// number of fields. Errors are InputErrors naming the file, line and column.
#include <optional>
#include <string>
#include <vector>

namespace packlife {

/// The whole of `s` (surrounding blanks allowed) as a finite number, or nothing (empty text, other
/// characters, inf, nan).
std::optional<double> parse_number(const std::string& s);

class CsvTable {
 public:
  /// Reads `path`; InputError when it cannot be opened, has no header, or a row has the wrong
  /// number of fields.
  static CsvTable read(const std::string& path);

  const std::string& path() const { return path_; }
  const std::vector<std::string>& columns() const { return columns_; }
  size_t rows() const { return rows_.size(); }
  /// Index of the named column; InputError naming the file and listing the columns when absent.
  int column(const std::string& name) const;
  /// Field as a number; InputError naming file, line and column when it is not one.
  double number(size_t row, int col) const;
  const std::string& text(size_t row, int col) const { return rows_[row][col]; }
  /// Source line of a row (1-based).
  int line(size_t row) const { return lines_[row]; }

 private:
  std::string path_;
  std::vector<std::string> columns_;
  std::vector<std::vector<std::string>> rows_;
  std::vector<int> lines_;
  int header_line_ = 0;
};

}  // namespace packlife
