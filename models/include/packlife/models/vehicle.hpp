#pragma once
/// @file vehicle.hpp
/// Drive cycles (vehicle speed traces) and the road-load model that turns them into battery-pack
/// power, with regenerative braking and the auxiliary load (including cabin heating and cooling by
/// ambient temperature). Equations and default values in docs/models.md, "Vehicle and driving".
#include <string>
#include <vector>

namespace packlife {

/// A vehicle speed trace sampled at a fixed interval.
struct DriveCycle {
  std::string name;
  double dt_s = 1.0;
  std::vector<double> speed_m_s;
  double duration_s() const { return dt_s * static_cast<double>(speed_m_s.empty() ? 0 : speed_m_s.size() - 1); }
  /// Distance by the trapezoidal rule [m].
  double distance_m() const;
  double max_speed_m_s() const;
};

/// Loads a shipped cycle by name (`wltc-class3b`, file datasets/drive_cycles/wltc_class3b.csv) or a CSV
/// file with columns time_s,speed_kmh at a constant step; InputError naming file, line and column.
DriveCycle load_drive_cycle(const std::string& name_or_path);
/// Names of the shipped cycles.
std::vector<std::string> drive_cycle_names();

/// Road-load and powertrain parameters. The defaults describe a mid-size electric SUV that uses about
/// 16.8 kWh/100 km (../shared/DOMAIN.md; the value a swapping operator quotes for its 70 kWh SUV) on the
/// WLTC class 3b at 23 C with the cabin climate off; see docs/models.md for the sources of each value.
struct VehicleParameters {
  double mass_kg = 2350.0;             ///< test mass: curb mass ~2.2 t plus driver and load
  double rotating_mass_factor = 1.04;  ///< equivalent inertia of wheels and motor, as a factor on mass
  double drag_area_m2 = 0.75;          ///< C_d A: C_d ~0.29 times ~2.6 m2 frontal area
  double rolling_resistance = 0.0085;  ///< rolling resistance coefficient C_rr
  double drivetrain_efficiency = 0.90; ///< battery to wheel when driving (inverter, motor, gear)
  double regen_efficiency = 0.70;      ///< share of the braking power at the wheel returned to the battery
  double max_regen_power_W = 80e3;     ///< regenerative braking power limit at the wheel
  double auxiliary_power_W = 300.0;    ///< electronics, pumps, fans, lights
  double comfort_low_C = 18.0;         ///< cabin heating below this ambient temperature
  double comfort_high_C = 24.0;        ///< cabin cooling above this ambient temperature
  double heating_W_per_K = 250.0;      ///< heat-pump heating power per kelvin below comfort_low_C
  double cooling_W_per_K = 150.0;      ///< air-conditioning power per kelvin above comfort_high_C
  double max_hvac_power_W = 6000.0;    ///< cap on the cabin climate load
  double air_density_kg_m3 = 1.2;
};

/// Battery power [W] over a drive cycle (positive = discharge), one value per interval of the cycle,
/// and the energy summaries.
struct DrivePower {
  std::vector<double> power_W;  ///< mean battery power over each interval [i, i+1)
  double dt_s = 1.0;
  double traction_Wh = 0;       ///< battery energy spent on driving (before regeneration)
  double regen_Wh = 0;          ///< battery energy returned by regenerative braking
  double auxiliary_Wh = 0;      ///< auxiliary and cabin climate energy
  double distance_km = 0;
  double net_Wh() const { return traction_Wh - regen_Wh + auxiliary_Wh; }
  double consumption_kWh_100km() const { return distance_km > 0 ? net_Wh() / 10.0 / distance_km : 0.0; }
};

/// Auxiliary load [W] at an ambient temperature: base load plus cabin heating or cooling.
double auxiliary_power_W(const VehicleParameters& v, double ambient_C);

/// Road load on a flat road: F = m_eff a + m g C_rr + rho C_d A v^2 / 2 over each interval (mean
/// speed and acceleration of the interval); battery power F v / eta when driving, -min(F v, P_regen,max)
/// eta_regen when braking, plus the auxiliary load.
DrivePower drive_power(const DriveCycle& cycle, const VehicleParameters& v, double ambient_C);

}  // namespace packlife
