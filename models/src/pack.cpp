#include "packlife/models/pack.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <numbers>

#include "packlife/core/error.hpp"
#include "packlife/models/cell_model.hpp"
#include "packlife/models/esoh.hpp"

namespace packlife {

namespace {
constexpr double kTargetMaxPackV = 403.0;   // "400 V class": 96 NMC cells x 4.2 V (docs/models.md, Pack)
constexpr double kMaxCellAh = 160.0;        // largest cell allowed before adding a parallel cell
constexpr double kT25 = 298.15;
}  // namespace

std::string chemistry_parameter_set(const std::string& chemistry) {
  if (chemistry == "nmc811") return "okane2022-storage";
  if (chemistry == "lfp") return "prada2013-storage";
  throw InputError("", 0, 0, "pack.chemistry", fmt::format("unknown chemistry '{}': expected nmc811 or lfp", chemistry));
}

namespace {
/// The pack cell's parameter set before it is sized: the chemistry's set with the cycling laws below.
ParameterSet make_pack_cell_parameters(const std::string& chemistry, ParameterSet p) {
  // The graphite's cycling laws come from the one set fitted to fast-charge cycling data (Severson et al.
  // 2019): its irreversible plating for both chemistries, its LAM law for the nmc811 pack's graphite.
  const std::string from = "a123-apr18650";
  const ParameterSet cyc = load_parameter_set(from);
  parse_ageing("plating-irreversible,lam-negative", cyc);  // the keys are there (else an error naming them)
  if (parse_ageing("default", p).plating_irreversible)
    apply_parameter_overrides(
        p,
        {fmt::format("ageing.plating.rate_constant_m_s={:.17g}", cyc.ageing.plating_rate_constant_m_s),
         fmt::format("ageing.plating.transfer_coefficient={:.17g}", cyc.ageing.plating_transfer_coefficient)},
        fmt::format("{} pack: irreversible plating of set {} (docs/models.md, Lifecycle, \"Cell ageing of the pack\")",
                    chemistry, from));
  if (chemistry != "nmc811") return p;
  apply_parameter_overrides(p,
                            {"ageing.default_mechanisms=" + p.ageing.default_mechanisms + ",lam-negative",
                             fmt::format("ageing.negative.lam_rate_s={:.17g}", cyc.ageing.lam_negative.rate_s),
                             fmt::format("ageing.negative.lam_exponent={:.17g}", cyc.ageing.lam_negative.exponent)},
                            fmt::format("nmc811 pack: graphite LAM law of set {} (docs/models.md, Lifecycle, \"Cell "
                                        "ageing of the pack\")", from));
  return p;
}

/// A chemistry's sets as read from the data folder: the set named by chemistry_parameter_set and the
/// pack cell made from it. Read once per data folder and chemistry in a process: a fleet builds
/// thousands of packs from the same two, and each read parses YAML several times (~5 % of a fleet's
/// time before). A failed read is not kept.
struct ChemistrySets {
  ParameterSet base, cell;
};
std::shared_ptr<const ChemistrySets> chemistry_sets(const std::string& chemistry) {
  static std::mutex mu;
  static std::map<std::pair<std::string, std::string>, std::shared_ptr<const ChemistrySets>> cache;
  const auto key = std::make_pair(data_dir(), chemistry);
  {
    const std::lock_guard<std::mutex> lock(mu);
    if (auto it = cache.find(key); it != cache.end()) return it->second;
  }
  auto made = std::make_shared<ChemistrySets>();
  made->base = load_parameter_set(chemistry_parameter_set(chemistry));
  made->cell = make_pack_cell_parameters(chemistry, made->base);
  const std::lock_guard<std::mutex> lock(mu);
  return cache.emplace(key, std::move(made)).first->second;  // (another thread's, if it was first)
}
}  // namespace

ParameterSet pack_cell_parameters(const std::string& chemistry) { return chemistry_sets(chemistry)->cell; }

ParameterSet scaled_cell(const ParameterSet& p, double area_scale, const std::string& why) {
  if (!(area_scale > 0 && std::isfinite(area_scale)))
    throw Error("electrode area scale {} must be positive", area_scale);
  ParameterSet s = p;
  std::vector<std::string> a;
  auto set = [&](const char* key, double v) { a.push_back(fmt::format("{}={:.17g}", key, v)); };
  set("cell.electrode_width_m", p.cell.electrode_width_m * area_scale);
  set("cell.nominal_capacity_Ah", p.cell.nominal_capacity_Ah * area_scale);
  set("cell.cooling_area_m2", p.cell.cooling_area_m2 * area_scale);
  set("cell.volume_m3", p.cell.volume_m3 * area_scale);
  apply_parameter_overrides(s, a, fmt::format("{} (electrode area x {:.6g})", why, area_scale));
  return s;
}

ParameterSet scaled_ageing_rates(const ParameterSet& p, double factor, const std::string& why) {
  if (!(factor > 0 && std::isfinite(factor))) throw Error("ageing rate factor {} must be positive", factor);
  ParameterSet s = p;
  std::vector<std::string> a;
  // j_sei scales with each of these (for the reaction-diffusion form, with k_sei and D_sol together).
  for (const char* k : {"ageing.sei.solvent_diffusivity_m2_s", "ageing.sei.exchange_current_A_m2",
                        "ageing.sei.rate_constant_m_s", "ageing.sei.interstitial_diffusivity_m2_s",
                        "ageing.plating.rate_constant_m_s",
                        "ageing.negative.lam_rate_s", "ageing.positive.lam_rate_s"}) {
    if (!p.present.count(k)) continue;
    for (const auto& rec : p.records)
      if (rec.key == k) a.push_back(fmt::format("{}={:.17g}", k, std::stod(rec.value) * factor));
  }
  if (!a.empty()) apply_parameter_overrides(s, a, fmt::format("{} (ageing rate x {:.6g})", why, factor));
  return s;
}

PackDesign design_pack(const std::string& chemistry, double energy_kWh) {
  if (!(energy_kWh >= 10 && energy_kWh <= 300))
    throw InputError("", 0, 0, "pack.energy_kWh", fmt::format("{} kWh outside [10, 300] kWh", energy_kWh));
  PackDesign d;
  d.chemistry = chemistry;
  d.parameter_set = chemistry_parameter_set(chemistry);
  const auto sets = chemistry_sets(chemistry);
  const ParameterSet& p = sets->base;
  const ElectrodeBalance b = electrode_balance(p, kT25);
  // Mean open-circuit voltage over the SOC window (midpoint rule, 400 points).
  const int n = 400;
  double sum = 0;
  for (int i = 0; i < n; ++i) {
    const double soc = (i + 0.5) / n;
    sum += electrode_ocp(p.positive, b.y_at(soc), kT25, p.cell.reference_temperature_K) -
           electrode_ocp(p.negative, b.x_at(soc), kT25, p.cell.reference_temperature_K);
  }
  d.cell_nominal_V = sum / n;
  d.cell_max_V = p.cell.upper_voltage_cutoff_V;
  d.cell_min_V = p.cell.lower_voltage_cutoff_V;
  d.series = static_cast<int>(std::lround(kTargetMaxPackV / d.cell_max_V));
  const double block_Ah = energy_kWh * 1000.0 / (d.series * d.cell_nominal_V);
  d.parallel = static_cast<int>(std::ceil(block_Ah / kMaxCellAh - 1e-12));
  d.cell_capacity_Ah = block_Ah / d.parallel;
  // The set's capacity between the voltage limits scales with electrode area.
  d.area_scale = d.cell_capacity_Ah / b.capacity_Ah;
  return d;
}

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const size_t i = static_cast<size_t>(std::floor(pos));
  const double f = pos - static_cast<double>(i);
  return i + 1 < v.size() ? v[i] * (1 - f) + v[i + 1] * f : v[i];
}

double inverse_normal_cdf(double p) {
  if (!(p > 0 && p < 1)) throw Error("inverse normal CDF of {} (must lie in (0, 1))", p);
  // P. J. Acklam's rational approximations (2003), published coefficients.
  static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                             1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                             6.680131188771972e+01,  -1.328068155288572e+01};
  static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                             -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                             3.754408661907416e+00};
  const double plow = 0.02425;
  double x;
  if (p < plow || p > 1 - plow) {
    const double q = std::sqrt(-2 * std::log(p < plow ? p : 1 - p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    if (p > 1 - plow) x = -x;
  } else {
    const double q = p - 0.5, r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  }
  // One Halley step on Phi(x) - p.
  const double e = 0.5 * std::erfc(-x / std::numbers::sqrt2) - p;
  const double u = e * std::sqrt(2 * std::numbers::pi) * std::exp(0.5 * x * x);
  return x - u / (1 + 0.5 * x * u);
}

double expected_max_standard_normal(int n) {
  if (n < 1) throw Error("order statistic of {} values", n);
  if (n == 1) return 0.0;
  return inverse_normal_cdf((n - 0.375) / (n + 0.25));
}

}  // namespace packlife
