#include "packlife/models/lifecycle.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <numbers>
#include <random>

#include "packlife/core/error.hpp"
#include "packlife/models/cell_model.hpp"
#include "packlife/models/climate.hpp"
#include "packlife/models/esoh.hpp"
#include "packlife/models/simulation.hpp"
#include "packlife/models/vehicle.hpp"

namespace packlife {

namespace {

constexpr double kDay = 86400.0;
constexpr double kYearDays = 365.25;
constexpr double kYear = kYearDays * kDay;
constexpr double kMonth = kYear / 12.0;
constexpr double kT25 = 298.15;
constexpr double kZeroC = 273.15;
constexpr double kChunkYears = 2.0;  // years simulated per call between check-up evaluations
constexpr double kReplan = 0.02;  // re-plan a duty when the pack capacity moved this much (fraction of rated)

/// Where a step's cell temperature comes from (docs/models.md, "Lifecycle: temperatures").
struct StepTemperature {
  enum class Rule { Outdoor, Managed, Fixed } rule = Rule::Outdoor;
  double offset_K = 0;          ///< diurnal offset from the daily mean (outdoor air)
  double low_C = -1e9, high_C = 1e9;  ///< managed: air clamped to this band (thermal management)
  double fixed_C = 25;          ///< fixed: a conditioned room
};

/// A cycle under construction: experiment steps with their temperature rules.
/// Steps are kept as text until each cell's SOC targets are filled in (placeholders @STORAGE, ...).
struct Duty {
  std::vector<std::string> steps;
  std::vector<StepTemperature> temps;
  double period_days = 1;
  void add(const std::string& step, StepTemperature t) {
    steps.push_back(step);
    temps.push_back(t);
  }
};

std::string hours(double h) { return fmt::format("{:.6f} hours", std::max(h, 1e-4)); }
std::string percent(double soc) { return fmt::format("{:.4f}%", 100.0 * soc); }

/// One representative cell: its parameters, model, saved state and the per-cycle summary so far.
struct Cell {
  std::string role;  ///< "median" or "weakest"
  ParameterSet p;
  std::unique_ptr<CellModel> m;
  Checkpoint ck;
  bool started = false;
  std::vector<CycleSummary> rows;  ///< starts with a row for the fresh cell at t = 0
  Solution chunk;                  ///< the last run, with the state at the end of each of its rows
  size_t chunk_row0 = 0;           ///< index in `rows` of that run's first row
  double li0 = 0;                  ///< initial particle lithium [mol]
  std::vector<std::string> first_warnings;
};

/// Electrode balance of a ledger row (lithium left, active material left), 25 C.
ElectrodeBalance row_balance(const Cell& c, const CycleSummary& r) {
  const ElectrodeBalance& f = c.m->balance();
  return electrode_balance(c.p, kT25, c.li0 - r.ledger.lithium_lost_mol(),
                           f.negative_capacity_Ah * r.ledger.active_fraction_negative,
                           f.positive_capacity_Ah * r.ledger.active_fraction_positive, true);
}

/// The model's SOC (on the fresh cell's negative-electrode window) at which an aged cell holds the
/// true SOC `soc` of its present window: charge targets follow the aged cell, as a BMS's do.
double model_soc(const Cell& c, double soc) {
  const ElectrodeBalance& f = c.m->balance();
  try {
    const ElectrodeBalance a = row_balance(c, c.rows.back());
    const double x = a.x_at(soc);
    return std::clamp((x - f.x0) / (f.x100 - f.x0), 0.0, 1.0);
  } catch (const Error&) {
    return soc;
  }
}

/// Small-signal (DC) resistance of a cell at 50 % SOC and 25 C from its ledger: linearised
/// Butler-Volmer charge transfer on the remaining interfacial area of each electrode, SEI film, and
/// electrolyte ohmic drop across the separator and a third of each electrode (docs/models.md).
double cell_resistance_ohm(const Cell& c, const CycleSummary& r) {
  const ParameterSet& p = c.p;
  const double A = p.cell.electrode_area_m2();
  double x = 0.5, y = 0.5;
  try {
    const ElectrodeBalance b = row_balance(c, r);
    x = b.x_at(0.5);
    y = b.y_at(0.5);
  } catch (const Error&) {
  }
  const double ce = p.electrolyte.initial_concentration_mol_m3;
  auto rct = [&](const ElectrodeParameters& e, double sto, double fraction) {
    const double cs = sto * e.max_concentration_mol_m3;
    const double j0 = e.exchange_current_coefficient * std::sqrt(ce * cs * (e.max_concentration_mol_m3 - cs));
    const double area = e.surface_area_per_volume() * std::max(fraction, 1e-6) * e.thickness_m * A;
    return kGasConstant * kT25 / (kFaraday * j0 * area);
  };
  const double kappa = p.electrolyte.conductivity_S_m(ce);
  auto ohm = [&](double L, double eps, double b, double share) { return share * L / (kappa * std::pow(eps, b) * A); };
  const double rel = ohm(p.negative.thickness_m, p.negative.porosity, p.negative.bruggeman_electrolyte, 1.0 / 3) +
                     ohm(p.separator.thickness_m, p.separator.porosity, p.separator.bruggeman_electrolyte, 1.0) +
                     ohm(p.positive.thickness_m, p.positive.porosity, p.positive.bruggeman_electrolyte, 1.0 / 3);
  return rct(p.negative, x, r.ledger.active_fraction_negative) + rct(p.positive, y, r.ledger.active_fraction_positive) +
         r.ledger.film_resistance_ohm + rel;
}

/// Linear interpolation of the summary rows at time t (rows sorted by time, first at t = 0).
CycleSummary row_at(const std::vector<CycleSummary>& rows, double t) {
  if (t <= rows.front().time_s) return rows.front();
  if (t >= rows.back().time_s) return rows.back();
  const auto it = std::lower_bound(rows.begin(), rows.end(), t,
                                   [](const CycleSummary& r, double v) { return r.time_s < v; });
  const CycleSummary& b = *it;
  const CycleSummary& a = *(it - 1);
  const double w = (t - a.time_s) / std::max(b.time_s - a.time_s, 1e-9);
  auto L = [&](double u, double v) { return (1 - w) * u + w * v; };
  CycleSummary r = w < 0.5 ? a : b;
  r.time_s = t;
  r.esoh_capacity_Ah = L(a.esoh_capacity_Ah, b.esoh_capacity_Ah);
  r.lli_pct = L(a.lli_pct, b.lli_pct);
  r.lam_ne_pct = L(a.lam_ne_pct, b.lam_ne_pct);
  r.lam_pe_pct = L(a.lam_pe_pct, b.lam_pe_pct);
  r.charge_throughput_Ah = L(a.charge_throughput_Ah, b.charge_throughput_Ah);
  r.energy_throughput_Wh = L(a.energy_throughput_Wh, b.energy_throughput_Wh);
  r.equivalent_full_cycles = L(a.equivalent_full_cycles, b.equivalent_full_cycles);
  Degradation& d = r.ledger;
  const Degradation &da = a.ledger, &db = b.ledger;
  d.sei_thickness_m = L(da.sei_thickness_m, db.sei_thickness_m);
  d.lithium_sei_mol = L(da.lithium_sei_mol, db.lithium_sei_mol);
  d.lithium_plated_mol = L(da.lithium_plated_mol, db.lithium_plated_mol);
  d.lithium_dead_mol = L(da.lithium_dead_mol, db.lithium_dead_mol);
  d.lithium_lam_negative_mol = L(da.lithium_lam_negative_mol, db.lithium_lam_negative_mol);
  d.lithium_lam_positive_mol = L(da.lithium_lam_positive_mol, db.lithium_lam_positive_mol);
  d.active_fraction_negative = L(da.active_fraction_negative, db.active_fraction_negative);
  d.active_fraction_positive = L(da.active_fraction_positive, db.active_fraction_positive);
  d.film_resistance_ohm = L(da.film_resistance_ohm, db.film_resistance_ohm);
  return r;
}

/// The lifecycle run: both representative cells, the climate, the duty designs and the stage logic.
class Lifecycle {
 public:
  Lifecycle(const Scenario& s, const LifecycleProgress& progress) : s_(s), progress_(progress) {
    check_scenario(s);
    res_.scenario = s;
    d_ = design_pack(s.pack_chemistry, s.pack_energy_kWh);
    res_.design = d_;
    res_.parameter_set = d_.parameter_set;
    climate_ = s.climate_city == "constant" ? Climate::constant(s.climate_constant_C) : Climate::city(s.climate_city);
    // Driving: the drive cycle's mean speed and mean battery power per cell, the consumption averaged
    // over the monthly normal temperatures (the same distance each month, so cabin heating and
    // cooling count as the year brings them).
    const DriveCycle cycle = load_drive_cycle(s.usage_drive_cycle);
    const VehicleParameters v;
    const double km = cycle.distance_m() / 1000.0;
    double wh_km = 0;
    for (int m = 0; m < 12; ++m) wh_km += drive_power(cycle, v, climate_.monthly_mean_C(m)).net_Wh() / 12.0 / km;
    speed_kmh_ = km / (cycle.duration_s() / 3600.0);
    kWh_per_km_ = wh_km / 1000.0;
    drive_cell_W_ = wh_km * speed_kmh_ / d_.cells();
    // Cell-to-cell spread: a block of p cells has a relative spread cv / sqrt(p); the weakest of the
    // s blocks sits z_s such spreads below the median (Blom), in capacity (electrode area, which also
    // raises its resistance in proportion) and above it in ageing rate (docs/models.md, "Pack").
    delta_ = s.pack_cell_spread_cv / std::sqrt(static_cast<double>(d_.parallel)) *
             expected_max_standard_normal(d_.series);
    res_.weakest_block_deviation = delta_;
    const ParameterSet base = pack_cell_parameters(d_.chemistry);
    median_.role = "median";
    median_.p = scaled_cell(base, d_.area_scale);
    weak_.role = "weakest";
    weak_.p = scaled_cell(base, d_.area_scale * (1 - delta_));
    if (delta_ > 0) weak_.p = scaled_ageing_rates(weak_.p, 1 + delta_, "weakest block");
    ModelOptions mo;
    mo.thermal = Thermal::Lumped;
    mo.ageing = parse_ageing("default", median_.p);
    mo.ambient_K = climate_.daily_mean_C(0) + kZeroC;
    mo.particle_cells = static_cast<int>(s.simulation_particle_cells);
    mo.rtol = s.simulation_rtol;
    mo.electrolyte_cells = static_cast<int>(s.simulation_electrolyte_cells);
    for (Cell* c : {&median_, &weak_}) c->m = make_model(s.simulation_model, c->p, mo);
    rated_cell_Ah_ = median_.m->balance().capacity_Ah;
    res_.rated_capacity_Ah = rated_cell_Ah_ * d_.parallel;
  }

  LifecycleResult run() {
    const double soc0 = s_.usage_mode == "swap" ? s_.station_storage_soc : s_.usage_charge_to_soc;
    for (Cell* c : {&median_, &weak_}) {
      const std::vector<double> y = c->m->initial_state(soc0, c->m->options().ambient_K);
      c->li0 = c->m->particle_lithium_mol(y.data());
      CycleSummary r0;
      r0.ledger = c->m->degradation(y.data());
      r0.esoh_capacity_Ah = c->m->balance().capacity_Ah;
      r0.soc_min = r0.soc_max = soc0;
      r0.temperature_mean_K = r0.temperature_max_K = c->m->options().ambient_K;
      c->rows.push_back(r0);
      c->ck.initial_lithium_mol = c->li0;
      c->ck.state = y;
    }
    R0_ = cell_resistance_ohm(median_, median_.rows.front());
    res_.resistance_mohm = 1e3 * R0_ * d_.series / d_.parallel;
    res_.events.push_back({0.0, "first life start", s_.usage_mode == "swap" ? "enters the swapping network" : "delivered with the car", pack_soh(0)});
    const double t1 = stage(1);
    res_.first = totals(0, t1, first_reason_);
    res_.events.push_back({t1 / kYear, "first life end", first_reason_, pack_soh(t1)});
    double t2 = t1;
    // Screening at the hand-off: a pack that already holds more plated lithium (reversible and dead)
    // than the second-life safety limit, or less capacity than the second-life end, goes to recycling.
    std::string screened;
    if (!dead_ && plated_fraction_12m(t1) > s_.retire_plated_lithium)
      screened = fmt::format("no second life: plated lithium {:.3g} % of the cyclable lithium (mean of the last 12 "
                             "months) at the hand-off is past retire.plated_lithium = {:g}",
                             100 * plated_fraction_12m(t1), s_.retire_plated_lithium);
    else if (!dead_ && pack_soh(t1) < s_.retire_second_life_soh)
      screened = fmt::format("no second life: pack capacity {:.3f} of rated at the hand-off is below "
                             "retire.second_life_soh = {:g}", pack_soh(t1), s_.retire_second_life_soh);
    if (!screened.empty()) {
      res_.second = totals(t1, t1, screened);
    } else if (s_.retire_max_second_life_years > 0 && !dead_) {
      res_.events.push_back({t1 / kYear, "second life start", s_.second_life_application, pack_soh(t1)});
      t2 = stage(2);
      res_.second = totals(t1, t2, second_reason_);
      res_.events.push_back({t2 / kYear, "second life end", second_reason_, pack_soh(t2)});
    } else {
      res_.second = totals(t1, t1, dead_ ? "no second life: " + first_reason_ : "no second life (retire.max_second_life_years = 0)");
    }
    res_.events.push_back({t2 / kYear, "recycling", s_.recycling_process, pack_soh(t2)});
    // Fade at the end of each whole first-life year.
    for (int y = 1; y * kYear <= t1 + 1.0; ++y) res_.fade_by_year.push_back(1.0 - pack_soh(y * kYear));
    if (res_.fade_by_year.size() >= 12) res_.fade_12y = res_.fade_by_year[11];
    samples(t1, t2);
    res_.cycles = median_.rows.back().cycle;  // (a retirement re-runs part of a year: count rows, not runs)
    res_.materials = pack_materials(d_, median_.p, s_.recycling_process);
    for (Cell* c : {&median_, &weak_})
      for (const auto& w : c->first_warnings) res_.warnings.push_back(c->role + " cell: " + w);
    return std::move(res_);
  }

 private:
  // ---- health --------------------------------------------------------------------------------
  /// Pack capacity over rated: the weakest block limits it (its cells carry the same current).
  double pack_soh(double t) const { return row_at(weak_.rows, t).esoh_capacity_Ah / rated_cell_Ah_; }
  double median_soh(double t) const { return row_at(median_.rows, t).esoh_capacity_Ah / rated_cell_Ah_; }
  double resistance_growth(double t) const { return cell_resistance_ohm(median_, row_at(median_.rows, t)) / R0_ - 1.0; }
  double plated_fraction(double t) const {
    const CycleSummary r = row_at(weak_.rows, t);
    return (r.ledger.lithium_plated_mol + r.ledger.lithium_dead_mol) / weak_.li0;
  }
  /// Plated lithium judged against retire.plated_lithium: the mean of the last twelve monthly
  /// check-ups, so that the seasonal swing of the reversible part does not decide the year a slow
  /// trend crosses the limit (docs/models.md, "Second life").
  double plated_fraction_12m(double t) const {
    double sum = 0;
    for (int k = 0; k < 12; ++k) sum += plated_fraction(t - k * kMonth);
    return sum / 12.0;
  }

  LifeTotals totals(double t0, double t1, const std::string& reason) const {
    LifeTotals L;
    L.years = (t1 - t0) / kYear;
    const CycleSummary a = row_at(median_.rows, t0), b = row_at(median_.rows, t1);
    L.throughput_MWh = 0.5 * (b.energy_throughput_Wh - a.energy_throughput_Wh) * d_.cells() / 1e6;
    L.equivalent_full_cycles = b.equivalent_full_cycles - a.equivalent_full_cycles;
    L.start_soh = pack_soh(t0);
    L.end_soh = pack_soh(t1);
    L.end_reason = reason;
    return L;
  }

  // ---- duties --------------------------------------------------------------------------------
  StepTemperature outdoor(double offset_K) const { return {StepTemperature::Rule::Outdoor, offset_K, 0, 0, 0}; }
  StepTemperature managed() const {
    return {StepTemperature::Rule::Managed, 0, s_.thermal_heating_below_C, s_.thermal_cooling_above_C, 0};
  }
  /// DC fast charging: managed, with the pack preheated to thermal.fast_charge_preheat_C at least.
  StepTemperature fast_charging() const {
    return {StepTemperature::Rule::Managed, 0, std::max(s_.thermal_heating_below_C, s_.thermal_fast_charge_preheat_C),
            s_.thermal_cooling_above_C, 0};
  }
  StepTemperature room(double C) const { return {StepTemperature::Rule::Fixed, 0, 0, 0, C}; }
  StepTemperature hvac() const {
    return {StepTemperature::Rule::Managed, 0, s_.second_life_hvac_low_C, s_.second_life_hvac_high_C, 0};
  }
  /// Arrhenius-effective offset of a sinusoidal day from its mean: a process with activation energy E
  /// runs, averaged over T = Tm + a cos(wt), as fast as at Tm + (R Tm^2 / E) ln I0(E a / (R Tm^2))
  /// (I0 the modified Bessel function; small-swing limit of the average of exp(-E / R T)). With the
  /// SEI activation energy this is a fraction of a kelvin for the shipped climates, so parked steps
  /// run at the daily mean plus this offset instead of resolving the day (docs/models.md).
  double diurnal_offset_K() const {
    const double E = median_.p.ageing.sei_activation_J_mol;
    const double Tm = climate_.annual_mean_C() + kZeroC, a = 0.5 * climate_.diurnal_range_C();
    if (E <= 0 || a <= 0) return 0.0;
    const double b = E * a / (kGasConstant * Tm * Tm);
    return kGasConstant * Tm * Tm / E * std::log(std::cyl_bessel_i(0.0, b));
  }

  /// Distances of n consecutive days: quantiles of a lognormal day-to-day distribution with the
  /// scenario's mean and spread, in an order drawn from the seed.
  std::vector<double> day_distances(int n, std::mt19937_64& rng) const {
    const double cv = s_.usage_km_per_day_cv;
    const double sigma = std::sqrt(std::log1p(cv * cv));
    std::vector<double> km(n);
    double sum = 0;
    for (int i = 0; i < n; ++i) {
      const double z = n == 1 ? 0.0 : inverse_normal_cdf((i + 0.5) / n);
      km[i] = std::exp(sigma * z);
      sum += km[i];
    }
    for (double& k : km) k *= s_.usage_km_per_day * n / sum;  // the mean is the scenario's
    std::shuffle(km.begin(), km.end(), rng);
    return km;
  }

  /// Adds one day of driving: the day's distance at the drive cycle's mean speed and power (thermal
  /// management on), then parked outdoors for the rest of the day (or until `rest_h` hours).
  void add_day(Duty& d, double km, double cell_W, double speed_kmh, bool with_park) const {
    const double h = km / speed_kmh;
    d.add(fmt::format("Discharge at {:.6f} W for {}", cell_W, hours(h)), managed());
    if (with_park) d.add(fmt::format("Rest for {}", hours(24.0 - h)), outdoor(diurnal_offset_K()));
  }

  /// A charge as chargers and battery management systems run it: constant current (or power) up to
  /// the cell's upper voltage, then held there with the current tapering until the step's end.
  std::string charge(const std::string& rate, const std::string& end) const {
    return fmt::format("Charge at {} with CV at {:.6f} V {}", rate, median_.p.cell.upper_voltage_cutoff_V, end);
  }

  Duty first_life_duty(int plan) {
    const double cell_W = drive_cell_W_, speed = speed_kmh_;
    // The pack's usable energy now: the weakest block's capacity.
    const double capacity_frac = std::max(0.3, pack_soh(weak_.rows.back().time_s));
    const double pack_kWh = s_.pack_energy_kWh * capacity_frac;
    const double day_kWh = s_.usage_km_per_day * kWh_per_km_;
    std::mt19937_64 rng(s_.seed * 1000003ULL + static_cast<std::uint64_t>(plan));
    Duty d;
    const double I_cell_1C = rated_cell_Ah_;
    if (s_.usage_mode == "swap") {
      const double window = s_.station_storage_soc - s_.station_swap_below_soc;
      const int n_car = std::max(1, static_cast<int>(std::floor(window * pack_kWh / day_kWh)));
      const std::vector<double> km = day_distances(n_car, rng);
      for (int i = 0; i < n_car; ++i) add_day(d, km[i], cell_W, speed, true);
      // Swapped out; the station charges it in its room and stores it until the next car takes it. Packs
      // are charged in sequence in one room held at one temperature (DOMAIN.md): a pack waits there
      // (station.condition_h) and is charged at about the room's temperature, not at the car's.
      d.period_days = n_car * s_.station_car_to_battery;
      if (s_.station_condition_h > 0) d.add(fmt::format("Rest for {}", hours(s_.station_condition_h)), room(s_.station_temperature_C));
      d.add(charge(fmt::format("{:.6f} A", s_.station_charge_c_rate * I_cell_1C), "until @STORAGE SOC"),
            room(s_.station_temperature_C));
      d.add(fmt::format("Rest to fill {}", hours(24.0 * std::max(d.period_days, n_car + 0.25))),
            room(s_.station_temperature_C));
      d.period_days = std::max(d.period_days, n_car + 0.25);
    } else {
      // Owned: the driver recharges when the pack gets low. A DC fast-charging session runs from the
      // low SOC to 80 % (where chargers taper), the home wallbox tops up to the target overnight;
      // other sessions are home charging only. The cycle holds `a` DC and `b` home-only sessions,
      // a + b <= 3, chosen so that the DC share of the charged energy is nearest usage.fast_charge_share.
      const double low = s_.usage_recharge_below_soc, top = s_.usage_charge_to_soc;
      const double dc_per_session = s_.usage_fast_charge_share > 0 ? (std::min(0.8, top) - low) / (top - low) : 0.0;
      int a = 0, b = 1;
      double best = 1e9;
      for (int na = 0; na <= 3; ++na)
        for (int nb = 0; na + nb <= 3; ++nb) {
          if (na + nb == 0 || (s_.usage_fast_charge_share > 0 && na == 0) || (dc_per_session <= 0 && na > 0)) continue;
          const double err = std::abs(na * dc_per_session / (na + nb) - s_.usage_fast_charge_share);
          if (err < best - 1e-12) { best = err; a = na; b = nb; }
        }
      const int n = std::max(1, static_cast<int>(std::floor((top - low) * pack_kWh / day_kWh)));
      for (int session = 0; session < a + b; ++session) {
        const std::vector<double> km = day_distances(n, rng);
        for (int i = 0; i < n; ++i) add_day(d, km[i], cell_W, speed, i + 1 < n);
        const bool dc = session < a;
        if (dc)
          d.add(charge(fmt::format("{:.6f} A", s_.usage_fast_charge_c_rate * I_cell_1C),
                       dc_per_session < 1.0 ? "until @FAST SOC" : "until @TOP SOC"),
                fast_charging());
        if (!dc || dc_per_session < 1.0)
          d.add(charge(fmt::format("{:.6f} W", s_.usage_home_charge_kW * 1000.0 / d_.cells()), "until @TOP SOC"), managed());
        d.add(fmt::format("Rest to fill {}", hours(24.0 * n * (session + 1))), outdoor(diurnal_offset_K()));
      }
      d.period_days = n * (a + b);
    }
    return d;
  }

  Duty second_life_duty(int season) const {
    const double I = s_.second_life_c_rate * rated_cell_Ah_;
    Duty d;
    const std::string& app = s_.second_life_application;
    const double a = diurnal_offset_K();
    if (app == "peak_shaving") {
      // Charge off-peak at night, discharge through the evening peak; container with HVAC.
      d.add(charge(fmt::format("{:.6f} A", I), "until @MAX SOC"), hvac());
      d.add("Rest to fill 17 hours", hvac());
      d.add(fmt::format("Discharge at {:.6f} A until @MIN SOC", I), hvac());
      d.add("Rest to fill 24 hours", hvac());
      d.period_days = 1;
    } else if (app == "base_station") {
      // Float at the upper SOC in an outdoor cabinet, one backup discharge (a grid outage) a month.
      d.add(fmt::format("Discharge at {:.6f} A for 2 hours or until @MIN SOC", I), outdoor(a));
      d.add(charge(fmt::format("{:.6f} A", I), "until @MAX SOC"), outdoor(a));
      d.add("Rest to fill 720 hours", outdoor(a));
      d.period_days = 30;
    } else if (app == "solar_storage") {
      // Charged by PV through the day (more in summer), discharged in the evening; conditioned.
      // PV yield by calendar quarter relative to the annual mean (northern mid-latitudes; assumption,
      // docs/models.md).
      static const double kSeason[4] = {0.75, 1.2, 1.15, 0.9};
      const double full_h = (s_.second_life_soc_max - s_.second_life_soc_min) / s_.second_life_c_rate;
      const double h = std::min(0.8 * full_h * kSeason[season], full_h);
      d.add("Rest for 9 hours", hvac());
      d.add(charge(fmt::format("{:.6f} A", I), fmt::format("for {} or until @MAX SOC", hours(h))), hvac());
      d.add("Rest to fill 18 hours", hvac());
      d.add(fmt::format("Discharge at {:.6f} A until @MIN SOC", I), hvac());
      d.add("Rest to fill 24 hours", hvac());
      d.period_days = 1;
    } else {  // low_speed_ev
      // A light vehicle: a partial discharge through the day, slow charging overnight, outdoors.
      d.add(fmt::format("Discharge at {:.6f} A for {} or until @MIN SOC", I, hours(0.3 / s_.second_life_c_rate)),
            outdoor(a));
      d.add("Rest to fill 12 hours", outdoor(a));
      d.add(charge(fmt::format("{:.6f} A", 0.5 * I), "until @MAX SOC"), outdoor(a));
      d.add("Rest to fill 24 hours", outdoor(a));
      d.period_days = 1;
    }
    return d;
  }

  /// The duty for one cell: SOC placeholders replaced by that cell's model SOC for the true targets.
  Experiment for_cell(const Duty& d, const Cell& c) const {
    Experiment e;
    const double fast_to = std::min(0.8, s_.usage_charge_to_soc);
    const std::pair<const char*, double> subs[] = {{"@STORAGE", s_.station_storage_soc},
                                                   {"@TOP", s_.usage_charge_to_soc},
                                                   {"@FAST", fast_to},
                                                   {"@MAX", s_.second_life_soc_max},
                                                   {"@MIN", s_.second_life_soc_min}};
    for (std::string text : d.steps) {
      for (const auto& [tag, soc] : subs) {
        const auto pos = text.find(tag);
        if (pos != std::string::npos) text.replace(pos, std::string(tag).size(), percent(model_soc(c, soc)));
      }
      e.steps.push_back(parse_step(text, "lifecycle duty"));
    }
    return e;
  }

  StepAmbient ambient(const Duty& d) const {
    return [temps = d.temps, climate = climate_](size_t k, double t) {
      const StepTemperature& r = temps[k];
      double C = climate.daily_mean_C(std::fmod(t / kDay, 365.0)) + r.offset_K;
      if (r.rule == StepTemperature::Rule::Managed) C = std::clamp(C, r.low_C, r.high_C);
      if (r.rule == StepTemperature::Rule::Fixed) C = r.fixed_C;
      return C + kZeroC;
    };
  }

  // ---- stages --------------------------------------------------------------------------------
  /// Runs `segments` (per cell) on both cells from their saved states; false if a cell stopped.
  bool run_both(const std::vector<std::vector<Segment>>& segs, std::string& stopped) {
    SimulationOptions so;
    so.keep_time_series = false;
    so.keep_cycle_states = true;
    // Each day's segments restart the integrator at a small step that then doubles step after step;
    // at the default 0.25 every doubling refactorises (1 Jacobian per 1.9 steps), at 0.5 one per 3.8
    // steps: 10 % less time, fade within 0.006 points (docs/benchmarks.md).
    so.lsetup_cj_change = 0.5;
    so.accelerate.enabled = true;
    so.accelerate.tol = s_.simulation_accelerate_tol;
    so.accelerate.resolved_per_landing = static_cast<int>(s_.simulation_resolved_per_landing);
    so.accelerate.carry_jump = 0.25;  // a re-planned duty differs from the last by ~2 % in its targets
    if (s_.climate_city != "constant" && s_.simulation_landings_per_year > 0) {
      so.accelerate.forcing_period_s = 365.0 * kDay;  // the climate's period (Climate::daily_mean_C)
      so.accelerate.landings_per_period = static_cast<int>(s_.simulation_landings_per_year);
      so.accelerate.forcing_weighted = s_.simulation_seasonal_extrapolation == "arrhenius";
    }
    Cell* cells[2] = {&median_, &weak_};
    bool ok = true;
    for (int i = 0; i < 2; ++i) {
      Cell& c = *cells[i];
      so.restart = c.started ? &c.ck : nullptr;
      so.initial_soc = s_.usage_mode == "swap" ? s_.station_storage_soc : s_.usage_charge_to_soc;
      Solution sol = simulate(*c.m, segs[i], so);
      c.started = true;
      for (auto& w : sol.warnings) {
        if (c.first_warnings.size() < 20) c.first_warnings.push_back(w);
      }
      c.chunk_row0 = c.rows.size();
      for (auto& r : sol.cycles) c.rows.push_back(r);
      c.ck = sol.checkpoint;
      res_.resolved_cycles += sol.resolved_cycles;
      res_.solver_steps += sol.solver_steps;
      if (!sol.stopped.empty()) {
        ok = false;
        stopped = c.role + " cell could not continue: " + sol.stopped;
      }
      c.chunk = std::move(sol);
    }
    return ok;
  }

  /// A planned duty with each cell's experiment (kept while the pack's capacity stays within 1 % of
  /// what it was planned for, so that year after year the same cycle continues and cycle jumping
  /// carries on without warm-up).
  struct Plan {
    Duty duty;
    Experiment cell[2];
  };
  Plan make_plan(Duty d) {
    Plan p;
    p.cell[0] = for_cell(d, median_);
    p.cell[1] = for_cell(d, weak_);
    p.duty = std::move(d);
    return p;
  }
  const std::vector<Plan>& plans(int stage) {
    const double soh = pack_soh(weak_.rows.back().time_s);
    if (plan_stage_ == stage && std::abs(soh - plan_soh_) <= kReplan) return plans_;
    plans_.clear();
    ++plan_count_;
    if (stage == 1) {
      plans_.push_back(make_plan(first_life_duty(plan_count_)));
    } else if (s_.second_life_application == "solar_storage") {
      for (int q = 0; q < 4; ++q) plans_.push_back(make_plan(second_life_duty(q)));
    } else {
      plans_.push_back(make_plan(second_life_duty(0)));
    }
    plan_stage_ = stage;
    plan_soh_ = soh;
    return plans_;
  }

  /// Segments from t_start to t_end for both cells (solar storage: the calendar quarter's duty).
  std::vector<std::vector<Segment>> year_segments(int stage, double t_start, double t_end) {
    const std::vector<Plan>& ps = plans(stage);
    std::vector<std::vector<Segment>> out(2);
    double t = t_start;
    while (t < t_end - 1.0) {
      size_t i = 0;
      double seg_end = t_end;
      if (ps.size() == 4) {  // quarters of the calendar year
        const double doy = std::fmod(t / kDay, 365.0);
        i = std::min<size_t>(3, static_cast<size_t>(doy / 91.25));
        seg_end = std::min(t_end, t + ((i + 1) * 91.25 - doy) * kDay);
      }
      const double period = ps[i].duty.period_days * kDay;
      const long n = std::max(1L, std::lround((seg_end - t) / period));
      t += n * period;
      for (int k = 0; k < 2; ++k) {
        Segment seg;
        seg.experiment = ps[i].cell[k];
        seg.experiment.cycles = static_cast<int>(n);
        seg.ambient_K = climate_.annual_mean_C() + kZeroC;
        seg.ambient_at = ambient(ps[i].duty);
        out[k].push_back(std::move(seg));
      }
    }
    return out;
  }

  /// Runs a stage year by year with the monthly check-up; returns the time it ended.
  double stage(int stage) {
    const double t0 = median_.rows.back().time_s;
    const double max_years = stage == 1 ? s_.retire_max_first_life_years : s_.retire_max_second_life_years;
    std::string& reason = stage == 1 ? first_reason_ : second_reason_;
    // Runs of kChunkYears (the check-up is monthly within them; a retirement re-runs the chunk up to it).
    const int chunks = static_cast<int>(std::ceil(max_years / kChunkYears - 1e-9));
    for (int y = 0; y < chunks; ++y) {
      const double ys = t0 + y * kChunkYears * kYear, ye = t0 + std::min((y + 1.0) * kChunkYears, max_years) * kYear;
      if (progress_) progress_(stage == 1 ? "first life" : "second life", (ys - 0) / kYear);
      // Saved states at the start of the chunk, for a retirement found before its first cycle ended.
      const Saved saved_m = save(median_), saved_w = save(weak_);
      auto segs = year_segments(stage, median_.rows.back().time_s, ye);
      if (segs[0].empty()) break;
      std::string stopped;
      const bool ok = run_both(segs, stopped);
      // Monthly check-up.
      const double last = std::min(median_.rows.back().time_s, weak_.rows.back().time_s);
      double t_retire = -1;
      for (double tm = ys + kMonth; tm <= last + 1.0; tm += kMonth) {
        const std::string why = retire_reason(stage, t0, tm);
        if (!why.empty()) { t_retire = tm; reason = why; break; }
      }
      if (t_retire > 0) {
        // Cut the run at the last cycle that ends by the check-up that retired the pack: the next
        // stage continues from the state kept at the end of that cycle.
        for (auto [c, saved] : {std::pair{&median_, &saved_m}, std::pair{&weak_, &saved_w}}) {
          size_t keep = saved->rows;
          while (keep < c->rows.size() && c->rows[keep].time_s <= t_retire + 1.0) ++keep;
          if (keep == saved->rows) {
            restore(*c, *saved);
          } else {
            c->ck = cycle_checkpoint(c->chunk, keep - 1 - c->chunk_row0);
            c->rows.resize(keep);
          }
        }
        return median_.rows.back().time_s;
      }
      if (!ok) {
        dead_ = true;
        reason = stopped;
        return std::min(median_.rows.back().time_s, weak_.rows.back().time_s);
      }
    }
    reason = fmt::format("reached the longest {} life simulated, {:g} years (retire.max_{}_life_years)",
                         stage == 1 ? "first" : "second", max_years, stage == 1 ? "first" : "second");
    return median_.rows.back().time_s;
  }

  std::string retire_reason(int stage, double t_stage0, double t) const {
    const double soh = pack_soh(t);
    if (stage == 1) {
      if (soh < s_.retire_first_life_soh)
        return fmt::format("pack capacity {:.3f} of rated fell below retire.first_life_soh = {:g}", soh, s_.retire_first_life_soh);
      const double g = resistance_growth(t);
      if (g > s_.retire_resistance_growth)
        return fmt::format("pack resistance grew by {:.0f} %, past retire.resistance_growth = {:g}", 100 * g,
                           s_.retire_resistance_growth);
      return "";
    }
    if (soh < s_.retire_second_life_soh)
      return fmt::format("pack capacity {:.3f} of rated fell below retire.second_life_soh = {:g}", soh, s_.retire_second_life_soh);
    const double pl = plated_fraction_12m(t);
    if (pl > s_.retire_plated_lithium)
      return fmt::format("plated lithium {:.3g} % of the cyclable lithium (mean of the last 12 months) passed "
                         "retire.plated_lithium = {:g}", 100 * pl, s_.retire_plated_lithium);
    // Knee: over the last twelve months (a whole year, so seasons do not count) the capacity fell
    // faster than knee_factor x the mean rate of the pack's whole life so far, and faster than
    // 1 % a year (judged after a year of second life).
    if (t - t_stage0 >= kYear - 1.0) {
      const double recent = pack_soh(t - kYear) - soh;
      const double mean = (pack_soh(0) - soh) / (t / kYear);
      if (recent > 0.01 && mean > 0 && recent > s_.retire_knee_factor * mean)
        return fmt::format("knee: capacity fell {:.2f} % over the last 12 months, {:.1f} x the pack's lifetime mean "
                           "of {:.2f} %/year (retire.knee_factor = {:g})", 100 * recent, recent / mean, 100 * mean,
                           s_.retire_knee_factor);
    }
    return "";
  }

  /// A cell's saved state (the model object is kept).
  struct Saved {
    Checkpoint ck;
    bool started = false;
    size_t rows = 0;
  };
  static Saved save(const Cell& c) { return {c.ck, c.started, c.rows.size()}; }
  static void restore(Cell& c, const Saved& s) {
    c.ck = s.ck;
    c.started = s.started;
    c.rows.resize(s.rows);
  }

  void samples(double t1, double t2) {
    const double week = 7 * kDay;
    for (double t = 0; t <= t2 + 1.0; t += week) {
      const double tt = std::min(t, t2);
      LifecycleSample s;
      const CycleSummary m = row_at(median_.rows, tt), w = row_at(weak_.rows, tt);
      s.time_years = tt / kYear;
      s.stage = tt <= t1 ? 1 : 2;
      s.pack_soh = pack_soh(tt);
      s.median_soh = median_soh(tt);
      s.resistance_growth = resistance_growth(tt);
      s.temperature_mean_C = m.temperature_mean_K - kZeroC;
      s.temperature_max_C = std::max(m.temperature_max_K, w.temperature_max_K) - kZeroC;
      s.soc_min = m.soc_min;
      s.soc_max = m.soc_max;
      s.lli_pct = m.lli_pct;
      s.lam_ne_pct = m.lam_ne_pct;
      s.lam_pe_pct = m.lam_pe_pct;
      s.weakest_lli_pct = w.lli_pct;
      s.sei_thickness_nm = 1e9 * m.ledger.sei_thickness_m;
      s.plated_lithium_pct = 100 * (w.ledger.lithium_plated_mol + w.ledger.lithium_dead_mol) / weak_.li0;
      s.film_resistance_mohm = 1e3 * m.ledger.film_resistance_ohm;
      s.equivalent_full_cycles = m.equivalent_full_cycles;
      s.throughput_MWh = 0.5 * m.energy_throughput_Wh * d_.cells() / 1e6;
      res_.samples.push_back(s);
    }
  }

  const Scenario& s_;
  LifecycleProgress progress_;
  LifecycleResult res_;
  PackDesign d_;
  Climate climate_ = Climate::constant(25);
  double speed_kmh_ = 0, kWh_per_km_ = 0, drive_cell_W_ = 0;  ///< driving (constructor)
  double delta_ = 0, rated_cell_Ah_ = 0, R0_ = 0;
  Cell median_, weak_;
  std::string first_reason_, second_reason_;
  bool dead_ = false;
  std::vector<Plan> plans_;
  int plan_stage_ = 0, plan_count_ = 0;
  double plan_soh_ = -1;
};

}  // namespace

LifecycleResult run_lifecycle(const Scenario& s, const LifecycleProgress& progress) {
  Lifecycle l(s, progress);
  return l.run();
}

}  // namespace packlife
