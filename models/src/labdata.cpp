#include "packlife/models/labdata.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <set>

#include "packlife/core/csv.hpp"
#include "packlife/core/error.hpp"
#include "packlife/core/yaml_source.hpp"
#include "packlife/models/parameters.hpp"

namespace packlife {

namespace {

namespace fs = std::filesystem;

const char* const kCycleFields[] = {"cell", "cycle", "capacity_Ah"};
const char* const kSeriesFields[] = {"time_s", "current_A", "voltage_V", "cycle", "temperature_C"};

/// Fields a format may leave out (cell: one-cell files; temperature: not every test logs it).
bool optional_field(const std::string& f) { return f == "cell" || f == "temperature_C"; }

LabFormat builtin(const std::string& name) {
  LabFormat f;
  f.name = name;
  if (name == "battery-archive-cycle") {
    // Battery Archive (batteryarchive.org) standard cycle-level export, one cell per file.
    f.kind = "cycle";
    f.columns = {{"cycle", {"Cycle_Index"}}, {"capacity_Ah", {"Discharge_Capacity (Ah)"}}};
  } else if (name == "battery-archive-timeseries") {
    // Battery Archive standard time-series export, one cell per file; current positive on charge.
    f.kind = "timeseries";
    f.columns = {{"time_s", {"Test_Time (s)"}},
                 {"current_A", {"Current (A)"}},
                 {"voltage_V", {"Voltage (V)"}},
                 {"cycle", {"Cycle_Index"}},
                 {"temperature_C", {"Cell_Temperature (C)"}}};
    f.current_sign = -1;
  } else if (name == "plain") {
    // packlife's plain cycle-level CSV (docs/lab-data.md): cell,cycle,capacity_Ah[,condition columns].
    f.kind = "cycle";
    f.columns = {{"cell", {"cell"}}, {"cycle", {"cycle"}}, {"capacity_Ah", {"capacity_Ah"}}};
  }
  return f;
}

const std::vector<std::string> kBuiltins = {"battery-archive-cycle", "battery-archive-timeseries", "plain"};

std::string formats_dir() { return data_dir() + "/lab/formats"; }

LabFormat format_from_yaml(const std::string& path) {
  const YamlSource y = YamlSource::load_file(path);
  const YAML::Node& r = y.root();
  if (!r.IsMap()) throw y.error(r, "", "a column map is a mapping with keys name, kind, columns");
  LabFormat f;
  f.name = r["name"] ? y.as_string(r["name"], "name") : fs::path(path).stem().string();
  if (!r["kind"]) throw y.error(r, "kind", "missing key 'kind' (cycle or timeseries)");
  f.kind = y.as_string(r["kind"], "kind");
  if (f.kind != "cycle" && f.kind != "timeseries") throw y.error(r["kind"], "kind", "expected 'cycle' or 'timeseries'");
  if (r["current_sign"]) {
    f.current_sign = y.as_double(r["current_sign"], "current_sign");
    if (f.current_sign != 1 && f.current_sign != -1)
      throw y.error(r["current_sign"], "current_sign", "expected 1 (discharge positive) or -1 (charge positive)");
  }
  const YAML::Node cols = r["columns"];
  if (!cols || !cols.IsMap()) throw y.error(r, "columns", "missing mapping 'columns' (canonical field: column name)");
  std::set<std::string> known;
  if (f.kind == "cycle") known.insert(std::begin(kCycleFields), std::end(kCycleFields));
  else known.insert(std::begin(kSeriesFields), std::end(kSeriesFields));
  for (const auto& kv : cols) {
    const std::string key = kv.first.as<std::string>();
    if (!known.count(key))
      throw y.error(kv.first, "columns." + key,
                    fmt::format("unknown field for a {} file (expected one of: {})", f.kind, fmt::join(known, ", ")));
    LabFormat::Column c;
    if (kv.second.IsMap()) {
      c.name = y.as_string(kv.second["column"], "columns." + key + ".column");
      if (kv.second["factor"]) c.factor = y.as_double(kv.second["factor"], "columns." + key + ".factor");
    } else {
      c.name = y.as_string(kv.second, "columns." + key);
    }
    f.columns[key] = c;
  }
  for (const std::string& k : known)
    if (!optional_field(k) && !f.columns.count(k))
      throw y.error(cols, "columns." + k, fmt::format("the column map has no column for '{}'", k));
  return f;
}

/// The format whose required columns the header has.
LabFormat detect(const CsvTable& t, const std::string& want_kind) {
  const auto& cols = t.columns();
  auto has = [&](const std::string& c) { return std::find(cols.begin(), cols.end(), c) != cols.end(); };
  for (const std::string& n : lab_format_names()) {  // built-ins first, then the column maps
    const LabFormat f = lab_format(n);
    if (f.kind != want_kind) continue;
    bool all = true;
    for (const auto& [field, c] : f.columns) all = all && (optional_field(field) || has(c.name));
    if (all) return f;
  }
  throw InputError(t.path(), 1, 0, "",
                   fmt::format("unknown lab data format: the header ({}) matches no {} format; name one with --format "
                               "({}) or a column-map YAML file (docs/lab-data.md)",
                               fmt::join(cols, ","), want_kind == "cycle" ? "cycle-level" : "time-series",
                               fmt::join(lab_format_names(), ", ")));
}

LabFormat resolve(const CsvTable& t, const std::string& format, const std::string& want_kind) {
  if (format == "auto") return detect(t, want_kind);
  LabFormat f = lab_format(format);
  if (f.kind != want_kind)
    throw InputError(t.path(), 0, 0, "format",
                     fmt::format("format '{}' describes {} data, but {} data was asked for", f.name, f.kind, want_kind));
  return f;
}

double value(const CsvTable& t, size_t row, int col, double factor) { return t.number(row, col) * factor; }

std::string stem(const std::string& path) { return fs::path(path).stem().string(); }

}  // namespace

std::vector<std::string> lab_format_names() {
  std::vector<std::string> n = kBuiltins;
  std::error_code ec;
  std::vector<std::string> maps;
  for (const auto& e : fs::directory_iterator(formats_dir(), ec))
    if (e.path().extension() == ".yaml") maps.push_back(e.path().stem().string());
  std::sort(maps.begin(), maps.end());
  n.insert(n.end(), maps.begin(), maps.end());
  return n;
}

LabFormat lab_format(const std::string& name) {
  if (std::find(kBuiltins.begin(), kBuiltins.end(), name) != kBuiltins.end()) return builtin(name);
  if (fs::exists(name) && fs::is_regular_file(name)) return format_from_yaml(name);
  const std::string p = formats_dir() + "/" + name + ".yaml";
  if (fs::exists(p)) return format_from_yaml(p);
  throw InputError("", 0, 0, "format",
                   fmt::format("unknown lab data format '{}' (known: {}; or a path to a column-map YAML file)", name,
                               fmt::join(lab_format_names(), ", ")));
}

std::vector<LabCell> read_lab_cycles(const std::string& path, const std::string& format, const std::string& cell_id) {
  const CsvTable t = CsvTable::read(path);
  const LabFormat f = resolve(t, format, "cycle");
  const int ccyc = t.column(f.columns.at("cycle").name);
  const int ccap = t.column(f.columns.at("capacity_Ah").name);
  const int ccell = f.columns.count("cell") ? t.column(f.columns.at("cell").name) : -1;
  std::set<int> used = {ccyc, ccap, ccell};
  std::vector<LabCell> cells;
  for (size_t r = 0; r < t.rows(); ++r) {
    const std::string id = ccell >= 0 ? t.text(r, ccell) : (cell_id.empty() ? stem(path) : cell_id);
    if (id.empty()) throw InputError(path, t.line(r), ccell + 1, t.columns()[ccell], "empty cell id");
    auto it = std::find_if(cells.begin(), cells.end(), [&](const LabCell& c) { return c.id == id; });
    if (it == cells.end()) {
      cells.push_back(LabCell{id, {}, {}, {}});
      it = cells.end() - 1;
      for (int c = 0; c < static_cast<int>(t.columns().size()); ++c)
        if (!used.count(c)) it->conditions[t.columns()[c]] = t.text(r, c);
    }
    const double cyc = value(t, r, ccyc, f.columns.at("cycle").factor);
    // A blank capacity is a check-up that was not measured (or not recovered when digitised): the
    // row is skipped, not read as zero.
    if (t.text(r, ccap).empty()) continue;
    const double cap = value(t, r, ccap, f.columns.at("capacity_Ah").factor);
    if (cyc < 0) throw InputError(path, t.line(r), ccyc + 1, t.columns()[ccyc], fmt::format("negative cycle number {}", cyc));
    if (cap < 0)
      throw InputError(path, t.line(r), ccap + 1, t.columns()[ccap], fmt::format("negative capacity {} Ah", cap));
    // Two measurements at the same cycle (a repeated check-up) are both kept; going back is an error.
    if (!it->cycle.empty() && cyc < it->cycle.back())
      throw InputError(path, t.line(r), ccyc + 1, t.columns()[ccyc],
                       fmt::format("cycle {} of cell '{}' comes before its previous row's cycle {} (rows of a cell "
                                   "must be in non-decreasing cycle order)", cyc, id, it->cycle.back()));
    it->cycle.push_back(cyc);
    it->capacity_Ah.push_back(cap);
  }
  if (cells.empty()) throw InputError(path, 0, 0, "", "no data rows");
  for (const LabCell& c : cells)
    if (c.cycle.empty())
      throw InputError(path, 0, ccap + 1, t.columns()[ccap], fmt::format("cell '{}' has no measured capacity (every "
                                                                          "row of it is blank)", c.id));
  return cells;
}

LabTimeSeries read_lab_time_series(const std::string& path, const std::string& format, const std::string& cell_id) {
  const CsvTable t = CsvTable::read(path);
  const LabFormat f = resolve(t, format, "timeseries");
  auto col = [&](const char* k) { return t.column(f.columns.at(k).name); };
  const int ct = col("time_s"), ci = col("current_A"), cv = col("voltage_V"), cc = col("cycle");
  int cT = -1;
  if (f.columns.count("temperature_C")) {
    const auto& cols = t.columns();
    const auto it = std::find(cols.begin(), cols.end(), f.columns.at("temperature_C").name);
    if (it != cols.end()) cT = static_cast<int>(it - cols.begin());
  }
  LabTimeSeries s;
  s.id = cell_id.empty() ? stem(path) : cell_id;
  for (size_t r = 0; r < t.rows(); ++r) {
    const double time = value(t, r, ct, f.columns.at("time_s").factor);
    if (!s.time_s.empty() && time < s.time_s.back())
      throw InputError(path, t.line(r), ct + 1, t.columns()[ct],
                       fmt::format("time {} s runs backwards (previous row: {} s); time must not decrease", time,
                                   s.time_s.back()));
    s.time_s.push_back(time);
    s.current_A.push_back(f.current_sign * value(t, r, ci, f.columns.at("current_A").factor));
    s.voltage_V.push_back(value(t, r, cv, f.columns.at("voltage_V").factor));
    s.cycle.push_back(value(t, r, cc, f.columns.at("cycle").factor));
    if (cT >= 0) s.temperature_C.push_back(value(t, r, cT, f.columns.at("temperature_C").factor));
  }
  if (s.time_s.empty()) throw InputError(path, 0, 0, "", "no data rows");
  return s;
}

LabCell LabTimeSeries::capacity_per_cycle() const {
  LabCell c;
  c.id = id;
  double q = 0;
  for (size_t i = 1; i < time_s.size(); ++i) {
    if (cycle[i] != cycle[i - 1]) {
      c.cycle.push_back(cycle[i - 1]);
      c.capacity_Ah.push_back(q);
      q = 0;
    }
    // Trapezoid on the discharge part of the current (positive on discharge).
    const double a = std::max(current_A[i - 1], 0.0), b = std::max(current_A[i], 0.0);
    q += 0.5 * (a + b) * (time_s[i] - time_s[i - 1]) / 3600.0;
  }
  c.cycle.push_back(cycle.back());
  c.capacity_Ah.push_back(q);
  return c;
}

double cycles_to(const LabCell& c, double threshold_Ah) {
  for (size_t i = 0; i < c.cycle.size(); ++i) {
    if (c.capacity_Ah[i] > threshold_Ah) continue;
    if (i == 0) return c.cycle[0];
    const double w = (c.capacity_Ah[i - 1] - threshold_Ah) / (c.capacity_Ah[i - 1] - c.capacity_Ah[i]);
    return c.cycle[i - 1] + w * (c.cycle[i] - c.cycle[i - 1]);
  }
  return -1;
}

double knee_cycle(const LabCell& c, double floor) {
  std::vector<double> x, y;
  for (size_t i = 0; i < c.cycle.size(); ++i) {
    x.push_back(c.cycle[i]);
    y.push_back(c.capacity_Ah[i]);
    if (c.capacity_Ah[i] < floor * c.capacity_Ah.front()) break;
  }
  const size_t n = x.size();
  if (n < 4) return -1;
  double best = std::numeric_limits<double>::infinity(), knee = -1;
  const int grid = 400;
  for (int g = 0; g <= grid; ++g) {
    const double b = x[1] + (x[n - 2] - x[1]) * g / grid;
    // y = a + s1 x + s2 max(0, x - b): linear least squares in (a, s1, s2), normal equations.
    Eigen::Matrix3d A = Eigen::Matrix3d::Zero();
    Eigen::Vector3d r = Eigen::Vector3d::Zero();
    for (size_t i = 0; i < n; ++i) {
      const Eigen::Vector3d f(1.0, x[i], std::max(0.0, x[i] - b));
      A += f * f.transpose();
      r += f * y[i];
    }
    const Eigen::Vector3d k = A.ldlt().solve(r);
    // A knee: the second segment at least 10 % steeper than the first (not a rounding-level bend).
    if (!k.allFinite() || !(k(2) < -0.1 * std::abs(k(1)))) continue;
    double sse = 0;
    for (size_t i = 0; i < n; ++i) {
      const double e = k(0) + k(1) * x[i] + k(2) * std::max(0.0, x[i] - b) - y[i];
      sse += e * e;
    }
    if (sse < best) {
      best = sse;
      knee = b;
    }
  }
  return knee;
}

}  // namespace packlife
