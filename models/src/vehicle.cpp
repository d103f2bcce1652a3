#include "packlife/models/vehicle.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "packlife/core/csv.hpp"
#include "packlife/core/error.hpp"
#include "packlife/models/parameters.hpp"

namespace packlife {

namespace {
constexpr double kGravity = 9.80665;  // m/s2, standard gravity

struct ShippedCycle {
  const char* name;
  const char* file;
};
const ShippedCycle kCycles[] = {{"wltc-class3b", "drive_cycles/wltc_class3b.csv"}, {"cltc-p", "drive_cycles/cltc_p.csv"}};
}  // namespace

double DriveCycle::distance_m() const {
  double d = 0;
  for (size_t i = 0; i + 1 < speed_m_s.size(); ++i) d += 0.5 * (speed_m_s[i] + speed_m_s[i + 1]) * dt_s;
  return d;
}

double DriveCycle::max_speed_m_s() const {
  return speed_m_s.empty() ? 0.0 : *std::max_element(speed_m_s.begin(), speed_m_s.end());
}

std::vector<std::string> drive_cycle_names() {
  std::vector<std::string> n;
  for (const auto& c : kCycles) n.push_back(c.name);
  return n;
}

DriveCycle load_drive_cycle(const std::string& name_or_path) {
  std::string path = name_or_path, name = name_or_path;
  for (const auto& c : kCycles)
    if (name_or_path == c.name) path = data_dir() + "/" + c.file;
  if (path == name_or_path && !std::filesystem::exists(path))
    throw InputError(fmt::format("unknown drive cycle '{}': not a file, and the shipped cycles are: {}", name_or_path,
                                 fmt::join(drive_cycle_names(), ", ")));
  const CsvTable t = CsvTable::read(path);
  const int ct = t.column("time_s"), cv = t.column("speed_kmh");
  if (t.rows() < 2) throw InputError(path, 0, 0, "", "a drive cycle needs at least two rows");
  DriveCycle c;
  c.name = name;
  for (size_t r = 0; r < t.rows(); ++r) {
    const double time = t.number(r, ct), v = t.number(r, cv);
    if (r == 1) c.dt_s = time - t.number(0, ct);
    if (r > 0 && std::abs(time - t.number(r - 1, ct) - c.dt_s) > 1e-9 * std::max(1.0, time))
      throw InputError(path, t.line(r), ct + 1, "time_s",
                       fmt::format("time steps must be constant ({} s after the first rows)", c.dt_s));
    if (!(v >= 0.0 && v < 400.0))
      throw InputError(path, t.line(r), cv + 1, "speed_kmh", fmt::format("speed {} km/h outside [0, 400)", v));
    c.speed_m_s.push_back(v / 3.6);
  }
  if (!(c.dt_s > 0)) throw InputError(path, t.line(1), ct + 1, "time_s", "time must increase");
  return c;
}

double auxiliary_power_W(const VehicleParameters& v, double ambient_C) {
  double hvac = 0;
  if (ambient_C < v.comfort_low_C) hvac = v.heating_W_per_K * (v.comfort_low_C - ambient_C);
  if (ambient_C > v.comfort_high_C) hvac = v.cooling_W_per_K * (ambient_C - v.comfort_high_C);
  return v.auxiliary_power_W + std::min(hvac, v.max_hvac_power_W);
}

DrivePower drive_power(const DriveCycle& cycle, const VehicleParameters& v, double ambient_C) {
  DrivePower p;
  p.dt_s = cycle.dt_s;
  const double aux = auxiliary_power_W(v, ambient_C);
  const size_t n = cycle.speed_m_s.size();
  p.power_W.reserve(n > 0 ? n - 1 : 0);
  for (size_t i = 0; i + 1 < n; ++i) {
    const double v0 = cycle.speed_m_s[i], v1 = cycle.speed_m_s[i + 1];
    const double vm = 0.5 * (v0 + v1), a = (v1 - v0) / cycle.dt_s;
    // Mean wheel power over the interval: kinetic energy change plus the resistances at the mean speed.
    const double rolling = vm > 0 ? v.mass_kg * kGravity * v.rolling_resistance : 0.0;
    const double wheel = v.rotating_mass_factor * v.mass_kg * a * vm + (rolling + 0.5 * v.air_density_kg_m3 * v.drag_area_m2 * vm * vm) * vm;
    double battery = 0;
    if (wheel >= 0) {
      battery = wheel / v.drivetrain_efficiency;
      p.traction_Wh += battery * cycle.dt_s / 3600.0;
    } else {
      battery = -std::min(-wheel, v.max_regen_power_W) * v.regen_efficiency;
      p.regen_Wh += -battery * cycle.dt_s / 3600.0;
    }
    p.auxiliary_Wh += aux * cycle.dt_s / 3600.0;
    p.power_W.push_back(battery + aux);
  }
  p.distance_km = cycle.distance_m() / 1000.0;
  return p;
}

}  // namespace packlife
