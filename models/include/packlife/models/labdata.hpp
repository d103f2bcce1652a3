#pragma once
/// @file labdata.hpp
/// Lab cycling data: capacity per cycle (the ageing curve) and time series (current, voltage) from
/// the Battery Archive CSV exports, a plain documented cycle-level CSV, and cycler exports read
/// through a column map (docs/lab-data.md). Every reader checks what it reads: a missing column,
/// a value that is not a number, time that runs backwards or an unknown format is an InputError
/// naming the file, line and column.
#include <map>
#include <string>
#include <vector>

namespace packlife {

/// One cell's ageing curve: discharge capacity at each cycle (or check-up), in cycle order.
struct LabCell {
  std::string id;
  std::vector<double> cycle;
  std::vector<double> capacity_Ah;
  std::map<std::string, std::string> conditions;  ///< optional columns of the plain format (temperature_C, ...)
};

/// A measured time series (one cell).
struct LabTimeSeries {
  std::string id;
  std::vector<double> time_s, current_A, voltage_V, cycle;
  std::vector<double> temperature_C;  ///< empty when the file has none
  /// Discharge capacity of each cycle from the series (current positive on discharge).
  LabCell capacity_per_cycle() const;
};

/// Which columns hold what: a format's name and, for each canonical field, the column name and a
/// unit factor to the canonical unit (e.g. mAh -> Ah = 0.001).
struct LabFormat {
  std::string name;
  std::string kind;  ///< "cycle" or "timeseries"
  struct Column {
    std::string name;
    double factor = 1;
  };
  std::map<std::string, Column> columns;  ///< canonical field -> column
  double current_sign = 1;  ///< multiply to make discharge current positive
};

/// Built-in formats: "battery-archive-cycle", "battery-archive-timeseries", "plain"; or the name of a
/// column map in datasets/lab/formats (arbin, maccor, neware, nasa-pcoe), or a path to such a YAML file.
LabFormat lab_format(const std::string& name);
/// Names of the formats lab_format accepts by name.
std::vector<std::string> lab_format_names();

/// Reads a cycle-level file. format "auto" recognises the built-in formats by their header.
/// `cell_id` names the cell for one-cell formats (Battery Archive files hold one cell; default: file stem).
std::vector<LabCell> read_lab_cycles(const std::string& path, const std::string& format = "auto",
                                     const std::string& cell_id = "");
/// Reads a time-series file (format "auto" or a name as above).
LabTimeSeries read_lab_time_series(const std::string& path, const std::string& format = "auto",
                                   const std::string& cell_id = "");

/// Cycles at which the capacity first falls to `threshold_Ah` (linear interpolation between
/// points), or a negative number when it never does.
double cycles_to(const LabCell& c, double threshold_Ah);

/// The knee of an ageing curve: the break point of the continuous two-segment straight-line fit
/// (least squares, break searched on 400 points between the second and the second-to-last cycle)
/// whose second segment falls at least 10 % faster than the first; the curve is used down to its first point
/// below `floor` x its first capacity. Negative when there are fewer than four points or the best
/// fit does not accelerate. The sharp-corner limit of the Bacon-Watts two-line model that
/// Fermín-Cueto et al., Energy and AI 1 (2020) 100006, fit to capacity curves to find the knee.
double knee_cycle(const LabCell& c, double floor = 0.6);

}  // namespace packlife
