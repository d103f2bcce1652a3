#pragma once
/// @file climate.hpp
/// Ambient temperature through the year: monthly climate normals of a named city (1981-2010 CMA
/// normals, datasets/climate/china_cities.csv) with a daily swing, or a constant temperature.
#include <array>
#include <string>
#include <vector>

namespace packlife {

class Climate {
 public:
  /// A shipped city by its lowercase name (harbin, beijing, shanghai, wuhan, chengdu, guangzhou, urumqi);
  /// InputError naming the known cities otherwise.
  static Climate city(const std::string& name);
  /// The same temperature all year, no daily swing.
  static Climate constant(double temperature_C);
  static std::vector<std::string> cities();

  const std::string& name() const { return name_; }
  /// Normal mean temperature of month m (0 = January).
  double monthly_mean_C(int month) const { return monthly_C_.at(static_cast<size_t>(month)); }
  double annual_mean_C() const;
  /// Mean daily temperature range (daily maximum minus minimum).
  double diurnal_range_C() const { return range_C_; }
  /// Daily mean on a day of the year (0 = 1 January 00:00, fractional): piecewise linear between the
  /// monthly normals placed at mid-month, cyclic over the year (365-day year).
  double daily_mean_C(double day_of_year) const;
  /// Air temperature at t seconds after 1 January 00:00 local time (any year of the run): the daily
  /// mean plus half the daily range times cos(2 pi (hour - 15) / 24), coolest at 03:00 and warmest at
  /// 15:00 (a sinusoidal day, the usual first approximation of the diurnal cycle).
  double temperature_C(double t_s) const;

 private:
  std::string name_;
  std::array<double, 12> monthly_C_{};
  double range_C_ = 0;
};

}  // namespace packlife
