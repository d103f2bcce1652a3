#include "packlife/models/climate.hpp"

#include <cmath>
#include <numbers>
#include <numeric>

#include "packlife/core/csv.hpp"
#include "packlife/core/error.hpp"
#include "packlife/models/parameters.hpp"

namespace packlife {

namespace {
constexpr double kDaysPerYear = 365.0;
constexpr std::array<double, 12> kMonthDays{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
const char* kMonthColumns[12] = {"jan_C", "feb_C", "mar_C", "apr_C", "may_C", "jun_C",
                                 "jul_C", "aug_C", "sep_C", "oct_C", "nov_C", "dec_C"};

std::string climate_file() { return data_dir() + "/climate/china_cities.csv"; }

/// Day of the year at the middle of each month.
std::array<double, 12> mid_month_days() {
  std::array<double, 12> mid{};
  double start = 0;
  for (int m = 0; m < 12; ++m) {
    mid[m] = start + 0.5 * kMonthDays[m];
    start += kMonthDays[m];
  }
  return mid;
}
}  // namespace

std::vector<std::string> Climate::cities() {
  const CsvTable t = CsvTable::read(climate_file());
  const int c = t.column("city");
  std::vector<std::string> names;
  for (size_t r = 0; r < t.rows(); ++r) names.push_back(t.text(r, c));
  return names;
}

Climate Climate::city(const std::string& name) {
  const CsvTable t = CsvTable::read(climate_file());
  const int c = t.column("city");
  for (size_t r = 0; r < t.rows(); ++r) {
    if (t.text(r, c) != name) continue;
    Climate k;
    k.name_ = name;
    for (int m = 0; m < 12; ++m) k.monthly_C_[m] = t.number(r, t.column(kMonthColumns[m]));
    k.range_C_ = t.number(r, t.column("diurnal_range_C"));
    if (!(k.range_C_ >= 0 && k.range_C_ < 40))
      throw InputError(t.path(), t.line(r), 0, "diurnal_range_C", fmt::format("{} C is not a daily range", k.range_C_));
    return k;
  }
  throw InputError(fmt::format("unknown city '{}': the climate data ({}) has {}", name, climate_file(),
                               fmt::join(cities(), ", ")));
}

Climate Climate::constant(double temperature_C) {
  if (!(temperature_C > -60 && temperature_C < 70))
    throw InputError(fmt::format("constant ambient temperature {} C outside (-60, 70) C", temperature_C));
  Climate k;
  k.name_ = fmt::format("constant {:g} C", temperature_C);
  k.monthly_C_.fill(temperature_C);
  return k;
}

double Climate::annual_mean_C() const {
  double s = 0;
  for (int m = 0; m < 12; ++m) s += monthly_C_[m] * kMonthDays[m];
  return s / kDaysPerYear;
}

double Climate::daily_mean_C(double day) const {
  static const std::array<double, 12> mid = mid_month_days();
  day = std::fmod(day, kDaysPerYear);
  if (day < 0) day += kDaysPerYear;
  // Bracketing mid-month points, wrapping December -> January.
  int hi = 0;
  while (hi < 12 && mid[hi] <= day) ++hi;
  const int lo = (hi + 11) % 12;
  hi %= 12;
  double d0 = mid[lo], d1 = mid[hi];
  if (d1 <= d0) d1 += kDaysPerYear;
  double x = day;
  if (x < d0) x += kDaysPerYear;
  const double w = (x - d0) / (d1 - d0);
  return monthly_C_[lo] + w * (monthly_C_[hi] - monthly_C_[lo]);
}

double Climate::temperature_C(double t_s) const {
  const double day = t_s / 86400.0;
  const double hour = std::fmod(t_s, 86400.0) / 3600.0;
  return daily_mean_C(day) + 0.5 * range_C_ * std::cos(2.0 * std::numbers::pi * (hour - 15.0) / 24.0);
}

}  // namespace packlife
