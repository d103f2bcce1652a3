#include "packlife/models/functions.hpp"

#include <algorithm>
#include <fstream>

#include "packlife/core/csv.hpp"
#include "packlife/core/error.hpp"


#include <cmath>

namespace packlife {

namespace {
using std::cosh;
using std::exp;
using std::pow;

/// tanh through one exp: (e^2x - 1)/(e^2x + 1); absolute error ~1e-16, about twice as fast as libm's.
inline double tanh_s(double x) {
  if (x > 20.0) return 1.0;
  if (x < -20.0) return -1.0;
  const double e = std::exp(2.0 * x);
  return (e - 1.0) / (e + 1.0);
}
inline AD tanh_s(const AD& x) { return tanh(x); }

double sech2(double x) {
  const double c = std::cosh(x);
  return 1.0 / (c * c);
}
AD sech2(const AD& x) {
  const AD c = cosh(x);
  return 1.0 / (c * c);
}

/// Graphite-SiOx OCP of the LG M50, fit of Chen et al. (2020), J. Electrochem. Soc. 167 080534, Eq. 8.
template <class S>
S ocp_graphite_chen2020(const S& x) {
  return 1.9793 * exp(-39.3631 * x) + 0.2482 - 0.0909 * tanh_s(29.8538 * (x - 0.1234)) -
         0.04478 * tanh_s(14.9159 * (x - 0.2769)) - 0.0205 * tanh_s(30.4444 * (x - 0.6103));
}

/// NMC811 OCP of the LG M50, fit of Chen et al. (2020), J. Electrochem. Soc. 167 080534, Eq. 9.
template <class S>
S ocp_nmc811_chen2020(const S& y) {
  return -0.8090 * y + 4.4875 - 0.0428 * tanh_s(18.5138 * (y - 0.5542)) -
         17.7326 * tanh_s(15.7890 * (y - 0.3117)) + 17.5842 * tanh_s(15.9308 * (y - 0.3120));
}

/// MCMB 2528 graphite OCP, fit distributed with Dualfoil (Doyle & Newman; used by Marquis et al. 2019).
template <class S>
S ocp_graphite_mcmb2528_dualfoil(const S& x) {
  return 0.194 + 1.5 * exp(-120.0 * x) + 0.0351 * tanh_s((x - 0.286) / 0.083) -
         0.0045 * tanh_s((x - 0.849) / 0.119) - 0.035 * tanh_s((x - 0.9233) / 0.05) -
         0.0147 * tanh_s((x - 0.5) / 0.034) - 0.102 * tanh_s((x - 0.194) / 0.142) -
         0.022 * tanh_s((x - 0.9) / 0.0164) - 0.011 * tanh_s((x - 0.124) / 0.0226) +
         0.0155 * tanh_s((x - 0.105) / 0.029);
}

/// LiCoO2 OCP, fit distributed with Dualfoil (stretch factor 1.062; used by Marquis et al. 2019).
template <class S>
S ocp_lico2_dualfoil(const S& y0) {
  const S y = 1.062 * y0;
  return 2.16216 + 0.07645 * tanh_s(30.834 - 54.4806 * y) + 2.1581 * tanh_s(52.294 - 50.294 * y) -
         0.14169 * tanh_s(11.0923 - 19.8543 * y) + 0.2051 * tanh_s(1.4684 - 5.4888 * y) +
         0.2531 * tanh_s((-y + 0.56478) / 0.1316) - 0.02167 * tanh_s((y - 0.525) / 0.006);
}

/// Graphite entropic coefficient dU/dT [V/K] from Moura's fastDFN (as used with Marquis2019).
template <class S>
S dudt_graphite_moura2016(const S& x) {
  const double cmax = 24983.2619938437;
  return -1.5 * (120.0 / cmax) * exp(-120.0 * x) + (0.0351 / (0.083 * cmax)) * sech2((x - 0.286) / 0.083) -
         (0.0045 / (0.119 * cmax)) * sech2((x - 0.849) / 0.119) -
         (0.035 / (0.05 * cmax)) * sech2((x - 0.9233) / 0.05) -
         (0.0147 / (0.034 * cmax)) * sech2((x - 0.5) / 0.034) -
         (0.102 / (0.142 * cmax)) * sech2((x - 0.194) / 0.142) -
         (0.022 / (0.0164 * cmax)) * sech2((x - 0.9) / 0.0164) -
         (0.011 / (0.0226 * cmax)) * sech2((x - 0.124) / 0.0226) +
         (0.0155 / (0.029 * cmax)) * sech2((x - 0.105) / 0.029);
}

/// LiCoO2 entropic coefficient dU/dT [V/K] from Moura's fastDFN (as used with Marquis2019).
template <class S>
S dudt_lico2_moura2016(const S& y0) {
  const S y = 1.062 * y0;
  const double cmax = 51217.9257309275;
  return 0.07645 * (-54.4806 / cmax) * sech2(30.834 - 54.4806 * y) +
         2.1581 * (-50.294 / cmax) * sech2(52.294 - 50.294 * y) +
         0.14169 * (19.854 / cmax) * sech2(11.0923 - 19.8543 * y) -
         0.2051 * (5.4888 / cmax) * sech2(1.4684 - 5.4888 * y) -
         (0.2531 / 0.1316 / cmax) * sech2((-y + 0.56478) / 0.1316) -
         (0.02167 / 0.006 / cmax) * sech2((y - 0.525) / 0.006);
}

/// LiPF6 in EC:EMC (3:7) diffusivity [m2/s], Nyman et al. (2008) Electrochim. Acta 53 6356.
/// LiFePO4 open-circuit potential (Afshar, Morris, Khajepour 2017, arXiv:1709.03970, as used with the
/// Prada 2013 A123 parameters): a flat 3.4 V plateau with exponential ends.
template <class S>
S ocp_lfp_afshar2017(const S& y) {
  return 3.4077 - 0.020269 * y + 0.5 * exp(-150.0 * y) - 0.9 * exp(-30.0 * (1.0 - y));
}

/// Conductivity of the A123 cell's LiPF6 electrolyte (Prada et al. 2013, J. Electrochem. Soc. 160
/// A616): quartic in c [mol/cm3], giving S/m with the factor 1e3.
template <class S>
S conductivity_prada2013(const S& c_mol_m3) {
  const S c = c_mol_m3 / 1e6;
  return (4.1253e-4 + 5.007 * c - 4721.2 * c * c + 1.5094e6 * c * c * c - 1.6018e8 * c * c * c * c) * 1e3;
}

template <class S>
S diffusivity_nyman2008(const S& c) {
  const S m = c / 1000.0;
  return 8.794e-11 * m * m - 3.972e-10 * m + 4.862e-10;
}

/// LiPF6 in EC:EMC (3:7) conductivity [S/m], Nyman et al. (2008) Electrochim. Acta 53 6356.
template <class S>
S conductivity_nyman2008(const S& c) {
  const S m = c / 1000.0;
  using std::sqrt;
  return 0.1297 * m * m * m - 2.51 * m * sqrt(m) + 3.329 * m;
}

/// LiPF6 in EC:DMC diffusivity at 25 C [m2/s], Capiglia et al. (1999) J. Power Sources 81 859 (Dualfoil fit).
template <class S>
S diffusivity_capiglia1999(const S& c) {
  return 5.34e-10 * exp(-0.65 * c / 1000.0);
}

/// LiPF6 in EC:DMC conductivity at 25 C [S/m], Capiglia et al. (1999) (Dualfoil fit).
template <class S>
S conductivity_capiglia1999(const S& c) {
  const S m = c / 1000.0;
  return 0.0911 + 1.9101 * m - 1.052 * m * m + 0.1554 * m * m * m;
}

// Ecker et al. (2015), J. Electrochem. Soc. 162 A1836 / A1849 (Kokam SLPB 75106100); the OCP fits are
// those prepared for Richardson et al. (2020), Electrochim. Acta 339 135862. Fits given at 296 K are
// returned at the set's reference temperature 296.15 K (Arrhenius factor exp(E/R (1/296 - 1/296.15))
// folded in: 1.0062 for the graphite diffusivity, 1.0035 for the electrolyte), the set's activation
// energies carrying them to any other temperature.
constexpr double kEckerTref = 296.15;
inline double ecker_shift(double E_J_mol) { return std::exp(E_J_mol / 8.314462618 * (1.0 / 296.0 - 1.0 / kEckerTref)); }

/// Graphite OCP of the Kokam cell: analytic fit to Ecker et al. (2015) Part I, Fig. 6.
template <class S>
S ocp_graphite_ecker2015(const S& x) {
  return 0.716502 * exp(-369.028 * x) + 0.12193 * exp(-35.6478 * (x - 0.0530947)) -
         0.0189193 * tanh_s(21.1967 * (x - 0.196176)) - 0.0169644 * tanh_s(27.1365 * (x - 0.312832)) -
         0.0199313 * tanh_s(28.5697 * (x - 0.614221)) - 0.931153 * exp(36.328 * (x - 1.10743)) + 0.140031;
}

/// Li(Ni,Co)O2 OCP of the Kokam cell: analytic fit to Ecker et al. (2015) Part I, Fig. 6.
template <class S>
S ocp_nco_ecker2015(const S& y) {
  return -2.35211 * y - 0.0747061 * tanh_s(31.886 * (y - 0.0219921)) + 6.34984 * tanh_s(2.66395 * (y - 0.174352)) -
         0.640243 * tanh_s(5.48623 * (y - 0.439245)) - 3.82383 * tanh_s(4.12167 * (y - 0.176187)) -
         0.0542123 * tanh_s(18.2919 * (y - 0.762272)) + 4.23285;
}

/// Graphite diffusivity vs stoichiometry: exponential fit to the GITT data of Ecker et al. (2015)
/// Part I, D = 8.4e-13 exp(-11.3 x) + 8.2e-15 m2/s at 296 K; E_D = 30.3 kJ/mol.
template <class S>
S diffusivity_graphite_ecker2015(const S& x) {
  return (8.4e-13 * exp(-11.3 * x) + 8.2e-15) * ecker_shift(3.03e4);
}

/// Li(Ni,Co)O2 diffusivity vs stoichiometry: fit to the GITT data of Ecker et al. (2015) Part I,
/// D = 3.7e-13 - 3.4e-13 exp(-12 (y - 0.62)^2) m2/s at 296.15 K; E_D = 80.6 kJ/mol.
template <class S>
S diffusivity_nco_ecker2015(const S& y) {
  const S u = y - 0.62;
  return 3.7e-13 - 3.4e-13 * exp(-12.0 * u * u);
}

/// LiPF6 in EC:DMC conductivity (Ecker et al. 2015 Part I): cubic in c [mol/l] at 296 K; E_k = 17.1 kJ/mol.
/// Ecker's temperature law is C exp(-E_k/RT)/T; packlife carries the Arrhenius part only (the 1/T
/// prefactor is 0.7 % between 23 and 25 C), noted in docs/models.md.
template <class S>
S conductivity_ecker2015(const S& c) {
  const S m = 1e-3 * c;
  return (0.2667 * m * m * m - 1.2983 * m * m + 1.7919 * m + 0.1726) * ecker_shift(1.71e4);
}

/// LiPF6 in EC:DMC diffusivity from the conductivity by Nernst-Einstein, D = R T kappa / (F^2 c)
/// (Ecker et al. 2015 Part I), at 296.15 K; its temperature dependence is Arrhenius with E_k.
template <class S>
S diffusivity_ecker2015(const S& c) {
  return 8.314462618 * kEckerTref / (96485.33212 * 96485.33212) * conductivity_ecker2015(c) / c;
}

// Enertech 2.28 A h LCO/graphite pouch of Ai et al. (2020), J. Electrochem. Soc. 167 013512 (data of
// Rieger et al. 2016): OCP polynomial fits (valid on the cell's windows, graphite 0.0065-0.84, LCO
// 0.435-0.9651), entropic coefficients, and the electrolyte laws of Valoen & Reimers (2005) used there.

/// Polynomial with coefficients from the highest power down, by Horner's rule.
template <class S, size_t N>
S horner(const double (&p)[N], const S& x) {
  S u = p[0] + 0.0 * x;
  for (size_t k = 1; k < N; ++k) u = u * x + p[k];
  return u;
}

/// Graphite OCP of the Enertech cell (Ai et al. 2020), 9th-order polynomial, 0.0065 < x < 0.84.
template <class S>
S ocp_graphite_ai2020(const S& x) {
  static constexpr double p[] = {-2058.29865, 10040.08960, -20824.86740, 23911.86578, -16576.3692,
                                 7098.09151,  -1845.43634, 275.31114,    -21.20097,   0.84498};
  return horner(p, x);
}

/// LiCoO2 OCP of the Enertech cell (Ai et al. 2020), 9th-order polynomial, 0.435 < y < 0.9651.
template <class S>
S ocp_lco_ai2020(const S& y) {
  static constexpr double p[] = {-107897.40, 677406.28, -1873803.91, 2996535.44, -3052331.36,
                                 2053377.31, -912135.88, 257964.35,  -42146.98,  3035.67};
  return horner(p, y);
}

/// Graphite entropic coefficient of the Enertech cell (Ai et al. 2020): rational fit [V/K].
template <class S>
S dudt_graphite_ai2020(const S& x) {
  static constexpr double a[] = {-16515.05308, 38379.18127, -37147.8947, 19329.7549, -5812.278127,
                                 1004.911008,  -91.79325798, 3.299265709, 0.005269056};
  static constexpr double b[] = {165705.8597, -385821.1607, 374577.3152, -195881.6488, 59431.3,
                                 -10481.80419, 1017.234804,  -48.09287227, 1.0};
  return 1e-3 * horner(a, x) / horner(b, x);
}

/// LiCoO2 entropic coefficient of the Enertech cell (Ai et al. 2020): 7th-order polynomial [V/K].
template <class S>
S dudt_lco_ai2020(const S& y) {
  static constexpr double p[] = {-3.20392657, 14.5719049, -27.9047599, 29.1744564, -17.992018, 6.54799331,
                                 -1.30382445, 0.109667298};
  return horner(p, y);
}

/// LiPF6 in EC:DMC conductivity of Valoen & Reimers (2005), J. Electrochem. Soc. 152 A882, Eq. 17,
/// as used by Ai et al. (2020): kappa = 1e-4 c (k00 + k01 c + k02 c^2 + (k10 + k11 c + k12 c^2) T +
/// (k20 + k21 c) T^2)^2 with c in mol/m3 [S/m].
template <class S>
S conductivity_valoen2005(const S& c, const S& T) {
  const S a = (-10.5 + 0.668e-3 * c + 0.494e-6 * c * c) + (0.074 - 1.78e-5 * c - 8.86e-10 * c * c) * T +
              (-6.96e-5 + 2.8e-8 * c) * T * T;
  return 1e-4 * c * a * a;
}
template <class S>
S conductivity_valoen2005_298(const S& c) { return conductivity_valoen2005(c, S(298.15 + 0.0 * c)); }

/// LiPF6 diffusivity of Valoen & Reimers (2005), Eq. 13: log10 D[cm2/s] = -4.43 - 54/(T - 229 - 5 c)
/// - 0.22 c with c in mol/l; here c in mol/m3 and D converted to m2/s (3.2e-10 at 1 M, 298 K).
template <class S>
S diffusivity_valoen2005(const S& c, const S& T) {
  return 1e-4 * exp((-4.43 - 54.0 / (T - 229.0 - 5e-3 * c) - 0.22e-3 * c) * std::log(10.0));
}
template <class S>
S diffusivity_valoen2005_298(const S& c) { return diffusivity_valoen2005(c, S(298.15 + 0.0 * c)); }

/// Thermodynamic factor (1 + dln f/dln c) of Valoen & Reimers (2005), Eq. 16, with t+ = 0.38 as in Ai et
/// al. (2020): (0.601 - 0.24 sqrt(c/1000) + 0.982 (1 - 0.0052 (T - 294)) (c/1000)^1.5) / (1 - t+).
template <class S>
S tdf_valoen2005(const S& c, const S& T) {
  using std::sqrt;
  const S m = c / 1000.0;
  return (0.601 - 0.24 * sqrt(m) + 0.982 * (1.0 - 0.0052 * (T - 294.0)) * m * sqrt(m)) / (1.0 - 0.38);
}
template <class S>
S tdf_valoen2005_298(const S& c) { return tdf_valoen2005(c, S(298.15 + 0.0 * c)); }

#define PACKLIFE_FN(name, arg, unit, cite, fn) \
  NamedFunction { name, arg, unit, cite, &fn<double>, &fn<AD> }

#define PACKLIFE_FN_T(name, arg, unit, cite, fn) \
  NamedFunction { name, arg, unit, cite, &fn##_298<double>, &fn##_298<AD>, &fn<double>, &fn<AD> }

const std::vector<NamedFunction> kFunctions = {
    PACKLIFE_FN("chen2020_graphite_ocp", "stoichiometry", "V", "Chen2020", ocp_graphite_chen2020),
    PACKLIFE_FN("chen2020_nmc811_ocp", "stoichiometry", "V", "Chen2020", ocp_nmc811_chen2020),
    PACKLIFE_FN("dualfoil_graphite_mcmb2528_ocp", "stoichiometry", "V", "Dualfoil1998", ocp_graphite_mcmb2528_dualfoil),
    PACKLIFE_FN("dualfoil_lico2_ocp", "stoichiometry", "V", "Dualfoil1998", ocp_lico2_dualfoil),
    PACKLIFE_FN("moura2016_graphite_entropic", "stoichiometry", "V/K", "Moura2016", dudt_graphite_moura2016),
    PACKLIFE_FN("moura2016_lico2_entropic", "stoichiometry", "V/K", "Moura2016", dudt_lico2_moura2016),
    PACKLIFE_FN("nyman2008_diffusivity", "concentration_mol_m3", "m2/s", "Nyman2008", diffusivity_nyman2008),
    PACKLIFE_FN("nyman2008_conductivity", "concentration_mol_m3", "S/m", "Nyman2008", conductivity_nyman2008),
    PACKLIFE_FN("capiglia1999_diffusivity", "concentration_mol_m3", "m2/s", "Capiglia1999", diffusivity_capiglia1999),
    PACKLIFE_FN("capiglia1999_conductivity", "concentration_mol_m3", "S/m", "Capiglia1999", conductivity_capiglia1999),
    PACKLIFE_FN("afshar2017_lfp_ocp", "stoichiometry", "V", "Afshar2017", ocp_lfp_afshar2017),
    PACKLIFE_FN("prada2013_conductivity", "concentration_mol_m3", "S/m", "Prada2013", conductivity_prada2013),
    PACKLIFE_FN("ecker2015_graphite_ocp", "stoichiometry", "V", "Ecker2015", ocp_graphite_ecker2015),
    PACKLIFE_FN("ecker2015_nco_ocp", "stoichiometry", "V", "Ecker2015", ocp_nco_ecker2015),
    PACKLIFE_FN("ecker2015_graphite_diffusivity", "stoichiometry", "m2/s", "Ecker2015", diffusivity_graphite_ecker2015),
    PACKLIFE_FN("ecker2015_nco_diffusivity", "stoichiometry", "m2/s", "Ecker2015", diffusivity_nco_ecker2015),
    PACKLIFE_FN("ecker2015_conductivity", "concentration_mol_m3", "S/m", "Ecker2015", conductivity_ecker2015),
    PACKLIFE_FN("ecker2015_diffusivity", "concentration_mol_m3", "m2/s", "Ecker2015", diffusivity_ecker2015),
    PACKLIFE_FN("ai2020_graphite_ocp", "stoichiometry", "V", "Ai2020", ocp_graphite_ai2020),
    PACKLIFE_FN("ai2020_lco_ocp", "stoichiometry", "V", "Ai2020", ocp_lco_ai2020),
    PACKLIFE_FN("ai2020_graphite_entropic", "stoichiometry", "V/K", "Ai2020", dudt_graphite_ai2020),
    PACKLIFE_FN("ai2020_lco_entropic", "stoichiometry", "V/K", "Ai2020", dudt_lco_ai2020),
    PACKLIFE_FN_T("valoen2005_conductivity", "concentration_mol_m3, temperature_K", "S/m", "Valoen2005",
                  conductivity_valoen2005),
    PACKLIFE_FN_T("valoen2005_diffusivity", "concentration_mol_m3, temperature_K", "m2/s", "Valoen2005",
                  diffusivity_valoen2005),
    PACKLIFE_FN_T("valoen2005_thermodynamic_factor", "concentration_mol_m3, temperature_K", "1", "Valoen2005",
                  tdf_valoen2005),
};
#undef PACKLIFE_FN
#undef PACKLIFE_FN_T
}  // namespace

const NamedFunction* find_function(const std::string& name) {
  for (const auto& f : kFunctions)
    if (name == f.name) return &f;
  return nullptr;
}

const std::vector<NamedFunction>& all_functions() { return kFunctions; }

std::shared_ptr<const TableFunction> TableFunction::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError(path, 0, 0, "", "cannot open table file for reading");
  std::vector<double> x, y;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    const auto hash = line.find('#');
    if (hash != std::string::npos) line.erase(hash);
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const auto comma = line.find(',');
    if (comma == std::string::npos) throw InputError(path, n, 0, "", "expected two comma-separated numbers 'x,y'");
    const auto pa = parse_number(line.substr(0, comma)), pb = parse_number(line.substr(comma + 1));
    if (!pa || !pb) throw InputError(path, n, 0, "", fmt::format("'{}' is not two numbers 'x,y'", line));
    const double a = *pa, b = *pb;
    if (!x.empty() && !(a > x.back()))
      throw InputError(path, n, 0, "", fmt::format("x = {} does not increase (previous {})", a, x.back()));
    x.push_back(a);
    y.push_back(b);
  }
  if (x.size() < 4) throw InputError(path, n, 0, "", fmt::format("a table needs at least 4 rows, found {}", x.size()));
  return std::make_shared<const TableFunction>(path, std::move(x), std::move(y));
}

TableFunction::TableFunction(std::string path, std::vector<double> x, std::vector<double> y)
    : path_(std::move(path)), x_(std::move(x)), y_(std::move(y)) {
  // Spline slopes s_i: C2 continuity at interior knots, not-a-knot (continuous third derivative)
  // at the second and second-to-last knots (de Boor, A Practical Guide to Splines, 1978, ch. IV).
  const int n = static_cast<int>(x_.size());
  std::vector<double> h(n - 1), d(n - 1);
  for (int i = 0; i < n - 1; ++i) {
    h[i] = x_[i + 1] - x_[i];
    d[i] = (y_[i + 1] - y_[i]) / h[i];
  }
  // Tridiagonal rows except the two end rows, which reach one knot further; eliminated below.
  std::vector<double> lo(n, 0.0), di(n, 0.0), up(n, 0.0), r(n, 0.0);
  for (int i = 1; i < n - 1; ++i) {
    lo[i] = h[i];
    di[i] = 2.0 * (h[i - 1] + h[i]);
    up[i] = h[i - 1];
    r[i] = 3.0 * (h[i] * d[i - 1] + h[i - 1] * d[i]);
  }
  di[0] = h[1];
  up[0] = h[0] + h[1];
  r[0] = ((h[0] + 2.0 * (h[0] + h[1])) * h[1] * d[0] + h[0] * h[0] * d[1]) / (h[0] + h[1]);
  lo[n - 1] = h[n - 2] + h[n - 3];
  di[n - 1] = h[n - 3];
  r[n - 1] = (h[n - 2] * h[n - 2] * d[n - 3] + (2.0 * (h[n - 3] + h[n - 2]) + h[n - 2]) * h[n - 3] * d[n - 2]) /
             (h[n - 3] + h[n - 2]);
  // Thomas algorithm.
  for (int i = 1; i < n; ++i) {
    const double w = lo[i] / di[i - 1];
    di[i] -= w * up[i - 1];
    r[i] -= w * r[i - 1];
  }
  s_.assign(n, 0.0);
  s_[n - 1] = r[n - 1] / di[n - 1];
  for (int i = n - 2; i >= 0; --i) s_[i] = (r[i] - up[i] * s_[i + 1]) / di[i];
  // Interval lookup: 4 buckets per interval on a uniform grid over [x_0, x_n-1]; a bucket holds the
  // interval of its left edge, so a lookup is one division and a short forward scan.
  const int nb = 4 * (n - 1);
  bucket_scale_ = nb / (x_[n - 1] - x_[0]);
  bucket_.resize(nb + 1);
  for (int b = 0, i = 0; b <= nb; ++b) {
    const double xb = x_[0] + b / bucket_scale_;
    while (i < n - 2 && x_[i + 1] <= xb) ++i;
    bucket_[b] = i;
  }
}

int TableFunction::interval(double x) const {
  const int n = static_cast<int>(x_.size());
  if (!(x > x_[0])) return 0;  // also NaN
  if (x >= x_[n - 1]) return n - 2;
  int i = bucket_[static_cast<size_t>((x - x_[0]) * bucket_scale_)];
  while (i > 0 && x < x_[i]) --i;  // x a rounding below its bucket's edge
  while (i < n - 2 && x_[i + 1] <= x) ++i;
  return i;
}

void TableFunction::eval(double x, double& f, double& df) const {
  const int i = interval(x);
  const double h = x_[i + 1] - x_[i], t = (x - x_[i]) / h;
  const double t2 = t * t, t3 = t2 * t;
  const double h00 = 2 * t3 - 3 * t2 + 1, h10 = t3 - 2 * t2 + t, h01 = -2 * t3 + 3 * t2, h11 = t3 - t2;
  f = h00 * y_[i] + h * h10 * s_[i] + h01 * y_[i + 1] + h * h11 * s_[i + 1];
  const double d00 = (6 * t2 - 6 * t) / h, d10 = 3 * t2 - 4 * t + 1, d01 = (-6 * t2 + 6 * t) / h, d11 = 3 * t2 - 2 * t;
  df = d00 * y_[i] + d10 * s_[i] + d01 * y_[i + 1] + d11 * s_[i + 1];
}

double TableFunction::operator()(double x) const {
  double f, df;
  eval(x, f, df);
  return f;
}

AD TableFunction::operator()(const AD& x) const {
  double f, df;
  eval(x.value(), f, df);
  return AD(f, df * x.derivatives());
}


}  // namespace packlife
