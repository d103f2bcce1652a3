/// @file spm.cpp
/// Single particle model (SPM) and single particle model with electrolyte (SPMe), in the
/// formulation of Marquis et al. (2019), J. Electrochem. Soc. 166 A3693, sharing one
/// finite-volume discretisation. Equations are listed in docs/models.md.
#include <array>
#include <type_traits>
#include <cmath>
#include <optional>
#include <span>
#include <limits>

#include "packlife/core/error.hpp"
#include "packlife/core/roots.hpp"
#include "packlife/models/cell_model.hpp"
#include "particle.hpp"

namespace packlife {

namespace {

/// Electrode constants used in the residual.
struct ElectrodeConst {
  double cmax, L, a, k0, Ek, D0, ED, sign;  ///< sign: +1 negative, -1 positive (j = sign I /(A a L))
  double djdI;                              ///< dj/dI [1/m2]
};

class SingleParticleModel final : public CellModel {
  /// One term of the chain rule dz_k/dy_col from the terminal inputs to the unknowns.
  struct ChainEntry {
    int col, k;
    double d;
  };

 public:
  SingleParticleModel(const ParameterSet& p, const ModelOptions& o, bool electrolyte)
      : p_(p), o_(o), electrolyte_(electrolyte) {
    // 30 radial cells refined towards the surface: voltage converged to ~0.1 mV at 1C (docs/models.md).
    if (o_.particle_cells == 0) o_.particle_cells = 30;
    if (o_.particle_cells < 3) throw InputError("particle mesh needs at least 3 cells");
    if (!(o_.particle_mesh_stretch >= 1.0 && o_.particle_mesh_stretch <= 3.0))
      throw InputError(fmt::format("particle mesh stretch {} must lie in [1, 3]", o_.particle_mesh_stretch));
    if (electrolyte_ && o_.electrolyte_cells < 2) throw InputError("electrolyte mesh needs at least 2 cells per region");
    check_ambient_temperature(o_.ambient_K);
    eb_ = electrode_balance(p_, p_.cell.reference_temperature_K);
    area_ = p_.cell.electrode_area_m2();
    Tref_ = p_.cell.reference_temperature_K;
    int off = 0;
    pn_.build(off, o_.particle_cells, p_.negative.particle_radius_m, o_.particle_mesh_stretch);
    off += pn_.N;
    pp_.build(off, o_.particle_cells, p_.positive.particle_radius_m, o_.particle_mesh_stretch);
    off += pp_.N;
    auto ec = [&](const ElectrodeParameters& e, double sign) {
      if (e.diffusivity_m2_s.fn || e.diffusivity_m2_s.table)
        throw InputError(fmt::format("the {} model needs a constant particle diffusivity; set {} gives {} as a "
                                     "function of stoichiometry (use --model dfn, or --set {}=<value>)",
                                     electrolyte ? "spme" : "spm", p.name,
                                     sign > 0 ? "negative.diffusivity_m2_s" : "positive.diffusivity_m2_s",
                                     sign > 0 ? "negative.diffusivity_m2_s" : "positive.diffusivity_m2_s"));
      ElectrodeConst c{e.max_concentration_mol_m3, e.thickness_m, e.surface_area_per_volume(),
                       e.exchange_current_coefficient, e.exchange_current_activation_J_mol,
                       e.diffusivity_m2_s.constant, e.diffusivity_activation_J_mol, sign, 0.0};
      c.djdI = sign / (area_ * c.a * c.L);
      return c;
    };
    // The SPMe's composite electrolyte solution takes a constant thermodynamic factor and laws of the
    // concentration alone (Arrhenius in T); sets with temperature-dependent laws need the DFN.
    const ElectrolyteParameters& el = p_.electrolyte;
    for (const auto& [key, f] : {std::pair{"electrolyte.diffusivity_m2_s", &el.diffusivity_m2_s},
                                 std::pair{"electrolyte.conductivity_S_m", &el.conductivity_S_m}})
      if (electrolyte_ && f->temperature_dependent())
        throw InputError(fmt::format("the {} model needs {} as a function of concentration alone; set {} gives a "
                                     "function of concentration and temperature (use --model dfn)", name(), key, p_.name));
    if (electrolyte_ && el.thermodynamic_factor.varies())
      throw InputError(fmt::format("the {} model needs a constant electrolyte.thermodynamic_factor; set {} gives a "
                                   "function (use --model dfn)", name(), p_.name));
    en_ = ec(p_.negative, +1.0);
    ep_ = ec(p_.positive, -1.0);
    if (electrolyte_) {
      iE_ = off;
      build_electrolyte_mesh();
      off += Nx_;
    }
    ag_ = o_.ageing;
    if (ag_.any()) {
      // Degradation unknowns (x-averaged): SEI thickness, plated and dead lithium, active fractions,
      // lithium in SEI and lost with LAM (ledger integrals), and the algebraic side-reaction current.
      iL_ = off++;
      iPl_ = off++;
      iDead_ = off++;
      iFn_ = off++;
      iFp_ = off++;
      iNsei_ = off++;
      iNlamN_ = off++;
      iNlamP_ = off++;
      iJs_ = off++;
    }
    if (o_.thermal == Thermal::Lumped) iT_ = off++;
    iQ_ = off++;
    iI_ = off++;
    n_ = off;
    sigma_n_eff_ = p_.negative.conductivity_S_m * std::pow(1.0 - p_.negative.porosity, p_.negative.bruggeman_electrode);
    sigma_p_eff_ = p_.positive.conductivity_S_m * std::pow(1.0 - p_.positive.porosity, p_.positive.bruggeman_electrode);
    tor_n_ = std::pow(p_.negative.porosity, p_.negative.bruggeman_electrolyte);
    tor_s_ = std::pow(p_.separator.porosity, p_.separator.bruggeman_electrolyte);
    tor_p_ = std::pow(p_.positive.porosity, p_.positive.bruggeman_electrolyte);
    heat_capacity_ = p_.volumetric_heat_capacity();
    build_pattern();
  }

  std::string name() const override { return electrolyte_ ? "spme" : "spm"; }
  const ParameterSet& parameters() const override { return p_; }
  const ModelOptions& options() const override { return o_; }
  const ElectrodeBalance& balance() const override { return eb_; }
  int size() const override { return n_; }
  const SparsityPattern& jacobian_pattern() const override { return pattern_; }
  void set_control(Control c, double v) override { control_ = c; control_value_ = v; }
  int jacobian_variant() const override { return static_cast<int>(control_); }
  void set_ambient(double T_K) override {
    check_ambient_temperature(T_K);
    o_.ambient_K = T_K;
  }
  void set_rest_state(double* y, double x, double ysto, double T_K) const override {
    for (int i = 0; i < pn_.N; ++i) y[pn_.offset + i] = x * en_.cmax;
    for (int i = 0; i < pp_.N; ++i) y[pp_.offset + i] = ysto * ep_.cmax;
    for (int i = 0; i < Nx_; ++i) y[iE_ + i] = p_.electrolyte.initial_concentration_mol_m3;
    if (iT_ >= 0) y[iT_] = T_K;
    if (iJs_ >= 0) y[iJs_] = 0.0;
    y[iI_] = 0.0;
  }

  void differential_ids(double* id) const override {
    for (int i = 0; i < n_; ++i) id[i] = 1.0;
    id[iI_] = 0.0;
    if (iJs_ >= 0) id[iJs_] = 0.0;
  }

  std::vector<std::string> unknown_names() const override {
    std::vector<std::string> v;
    for (int i = 0; i < pn_.N; ++i) v.push_back(fmt::format("c_s_n[{}]", i));
    for (int i = 0; i < pp_.N; ++i) v.push_back(fmt::format("c_s_p[{}]", i));
    for (int i = 0; i < Nx_; ++i) v.push_back(fmt::format("c_e[{}]", i));
    if (ag_.any())
      for (const char* a : {"L_sei", "c_plated", "c_dead", "f_am_n", "f_am_p", "n_li_sei", "n_li_lam_n", "n_li_lam_p",
                            "j_side"})
        v.push_back(a);
    if (iT_ >= 0) v.push_back("T");
    v.push_back("q");
    v.push_back("I");
    return v;
  }

  /// Absolute tolerances: rtol times the natural scale of each unknown, so that rtol alone sets accuracy.
  std::vector<double> absolute_tolerances() const override {
    const double r = o_.rtol;
    std::vector<double> a(n_);
    for (int i = 0; i < pn_.N; ++i) a[pn_.offset + i] = r * en_.cmax;
    for (int i = 0; i < pp_.N; ++i) a[pp_.offset + i] = r * ep_.cmax;
    for (int i = 0; i < Nx_; ++i) a[iE_ + i] = r * p_.electrolyte.initial_concentration_mol_m3;
    if (iT_ >= 0) a[iT_] = r * 10.0;
    if (ag_.any()) {
      // Degradation states change by tiny amounts per cycle; their absolute tolerances are set far
      // below one cycle's change so that long runs accumulate it accurately.
      const double nli = particle_lithium_scale();
      a[iL_] = 1e-3 * r * std::max(p_.ageing.sei_initial_thickness_m, 1e-9);
      // Reversible plated lithium [mol/m3 of electrode] follows a fast quasi-equilibrium
      // c_e exp(-F eta/RT) that tracks the mV-level noise of a measured graphite OCP. Its scale here is
      // a tenth of O'Kane's typical plated concentration (1000 mol/m3): 1 mol/m3 resolved that noise
      // at 2.1x the steps; 1000 mol/m3 biased dead lithium by 0.35 % in 300 cycles, 100 by 0.08 %
      // (docs/models.md, "Numerics with ageing").
      a[iPl_] = r * 100.0;
      a[iDead_] = 1e-3 * r * 1.0;  // accumulates
      a[iFn_] = a[iFp_] = 1e-3 * r;
      a[iNsei_] = a[iNlamN_] = a[iNlamP_] = 1e-3 * r * nli;
      // The side current is an algebraic function of the differential states; with plating it is a
      // small difference of two exchange fluxes of order F k c_e, whose rounding sets its scale.
      a[iJs_] = ag_.plating ? r * kFaraday * p_.ageing.plating_rate_constant_m_s * p_.electrolyte.initial_concentration_mol_m3
                            : 1e-3 * r * 1e-3;  // A/m2
    }
    a[iQ_] = r * p_.cell.nominal_capacity_Ah;
    a[iI_] = r * p_.cell.nominal_capacity_Ah;
    return a;
  }

  std::vector<double> initial_state(double soc, double T_K) const override {
    if (!(soc >= 0.0 && soc <= 1.0)) throw InputError(fmt::format("initial SOC {} must be between 0 and 1", soc));
    std::vector<double> y(n_, 0.0);
    const double cn = eb_.x_at(soc) * en_.cmax, cp = eb_.y_at(soc) * ep_.cmax;
    for (int i = 0; i < pn_.N; ++i) y[pn_.offset + i] = cn;
    for (int i = 0; i < pp_.N; ++i) y[pp_.offset + i] = cp;
    for (int i = 0; i < Nx_; ++i) y[iE_ + i] = p_.electrolyte.initial_concentration_mol_m3;
    if (ag_.any()) {
      y[iL_] = p_.ageing.sei_initial_thickness_m;
      y[iPl_] = ag_.plating && !ag_.plating_irreversible ? p_.ageing.plating_initial_mol_m3 : 0.0;
      y[iFn_] = y[iFp_] = 1.0;
    }
    if (iT_ >= 0) y[iT_] = T_K;
    return y;
  }

  double temperature(const double* y) const { return iT_ >= 0 ? y[iT_] : o_.ambient_K; }

  /// Terminal inputs z = [cs_n, cs_p, T, I, ce_av, ce_n, ce_p, <ln ce>_n, <ln ce>_p].
  std::array<double, kTerminalInputs> terminal_inputs(const double* y) const {
    std::array<double, kTerminalInputs> z{};
    const double T = temperature(y), I = y[iI_];
    z[0] = surface_concentration(pn_, en_, y, interface_current(y, true), T);
    z[1] = surface_concentration(pp_, ep_, y, interface_current(y, false), T);
    z[2] = T;
    z[3] = I;
    if (electrolyte_) {
      double sav = 0, sn = 0, sp = 0, ln_n = 0, ln_p = 0;
      for (int i = 0; i < Nx_; ++i) {
        const double c = y[iE_ + i], h = h_[i];
        sav += c * h;
        if (region_[i] == 0) { sn += c * h; ln_n += std::log(c) * h; }
        if (region_[i] == 2) { sp += c * h; ln_p += std::log(c) * h; }
      }
      z[4] = sav / Lx_;
      z[5] = sn / p_.negative.thickness_m;
      z[6] = sp / p_.positive.thickness_m;
      z[7] = ln_n / p_.negative.thickness_m;
      z[8] = ln_p / p_.positive.thickness_m;
    } else {
      const double ce = p_.electrolyte.initial_concentration_mol_m3;
      z[4] = z[5] = z[6] = ce;
      z[7] = z[8] = std::log(ce);
    }
    if (ag_.any()) {
      z[9] = y[iFn_];
      z[10] = y[iFp_];
      z[11] = y[iL_];
      z[12] = y[iJs_];
      z[13] = y[iPl_];
      z[14] = mean_concentration(pn_, y);
      z[15] = mean_concentration(pp_, y);
    } else {
      z[9] = z[10] = 1.0;
      z[11] = p_.ageing.sei_initial_thickness_m;
    }
    return z;
  }

  /// Volume-averaged concentration in one particle [mol/m3].
  double mean_concentration(const ParticleMesh& m, const double* y) const { return m.mean(y + m.offset); }

  /// Terminal voltage and heat generation from the terminal inputs (generic in the scalar type so
  /// that the Jacobian comes from forward automatic differentiation).
  template <class S>
  void terminal(const std::array<S, kTerminalInputs>& z, S& V, S& Q, S* eta = nullptr, S* dphi_n = nullptr) const {
    using std::exp;
    using std::sqrt;
    const S& csn = z[0];
    const S& csp = z[1];
    const S& T = z[2];
    const S& I = z[3];
    const S xn = csn / en_.cmax, yp = csp / ep_.cmax;
    const S dUn = p_.negative.entropic_V_K(xn), dUp = p_.positive.entropic_V_K(yp);
    const S Un = p_.negative.ocp_V(xn) + (T - Tref_) * dUn;
    const S Up = p_.positive.ocp_V(yp) + (T - Tref_) * dUp;
    const S RT_F = kGasConstant * T / kFaraday;
    // Arrhenius factor; exact 1 at the reference temperature (skipped for plain doubles only, the
    // AD type needs its temperature derivative).
    auto arr = [&](double E) -> S {
      if constexpr (std::is_same_v<S, double>)
        if (E == 0.0 || T == Tref_) return 1.0;
      return exp(E / kGasConstant * (1.0 / Tref_ - 1.0 / T));
    };
    // Exchange current densities (symmetric Butler-Volmer, alpha = 0.5), Arrhenius in T.
    const S j0n = en_.k0 * arr(en_.Ek) * sqrt(z[5] * csn * (en_.cmax - csn));
    const S j0p = ep_.k0 * arr(ep_.Ek) * sqrt(z[6] * csp * (ep_.cmax - csp));
    // Interfacial current densities: total I/(a f A L) with the active fraction f (LAM); the
    // negative's intercalation part excludes the side reactions (SEI, plating), z[12].
    const S jn_tot = I * en_.djdI / z[9];
    const S jn = jn_tot - z[12], jp = I * ep_.djdI / z[10];
    const S eta_n = 2.0 * RT_F * asinh_s(jn / (2.0 * j0n));
    const S eta_p = 2.0 * RT_F * asinh_s(jp / (2.0 * j0p));
    V = Up - Un + eta_p - eta_n;
    Q = I * (eta_n - eta_p) + I * T * (dUn - dUp);
    if (ag_.sei) {
      // Ohmic drop across the SEI film, rho_sei L_sei j_tot (O'Kane et al. 2022).
      const S film = jn_tot * z[11] * p_.ageing.sei_resistivity_ohm_m;
      V = V - film;
      Q = Q + I * film;
    }
    if (eta) { eta[0] = eta_n; eta[1] = eta_p; }
    if (dphi_n) *dphi_n = Un + eta_n;
    if (electrolyte_) {
      // Composite electrolyte potential of Marquis et al. (2019): conductivity at the mean
      // concentration, concentration overpotential from the x-averaged log-concentrations.
      const S kappa = p_.electrolyte.conductivity_S_m(z[4]) * arr(p_.electrolyte.conductivity_activation_J_mol);
      const S i = I / area_;
      const S dphi_e = -i * (p_.negative.thickness_m / (3.0 * kappa * tor_n_) +
                             p_.separator.thickness_m / (kappa * tor_s_) +
                             p_.positive.thickness_m / (3.0 * kappa * tor_p_));
      const S eta_c = 2.0 * (1.0 - p_.electrolyte.transference_number) * p_.electrolyte.thermodynamic_factor.constant *
                      RT_F * (z[8] - z[7]);
      const S dphi_s = -i * (p_.negative.thickness_m / (3.0 * sigma_n_eff_) +
                             p_.positive.thickness_m / (3.0 * sigma_p_eff_));
      V = V + eta_c + dphi_e + dphi_s;
      Q = Q - I * (eta_c + dphi_e + dphi_s);
    }
  }

  CellOutputs outputs(const double* y) const override {
    return outputs_from(consistent(terminal_inputs(y)), y[iQ_], mean_concentration(pn_, y) / en_.cmax);
  }

  /// Under voltage or power control, states that come from interpolation (output samples, IDA's
  /// root search) satisfy the control equation only to the interpolation error. The current is
  /// algebraic, so it is re-solved from the differential state (a few Newton iterations): outputs
  /// and root functions then see the set-point exactly.
  std::array<double, kTerminalInputs> consistent(const std::array<double, kTerminalInputs>& z) const {
    if (control_ == Control::Current) return z;
    const auto I = solve_current(z, z[3], 8);
    return I ? at_current(z, *I) : z;
  }

  // Observables: the terminal inputs z, then q and the negative electrode's mean stoichiometry.
  int num_observables() const override { return kTerminalInputs + 2; }

  void observables(const double* y, const double* yp, double* v, double* vdot) const override {
    const double T = temperature(y), I = y[iI_];
    const auto z = terminal_inputs(y);
    for (int k = 0; k < kTerminalInputs; ++k) { v[k] = z[k]; vdot[k] = 0.0; }
    // The current is algebraic: IDA's y' for it is only a BDF difference, not controlled by the error
    // test. Its consistent rate follows from differentiating the control equation along the solution
    // (dI/dt = 0; d(V)/dt = 0; d(IV)/dt = 0), so that samples between steps keep the set-point.
    const auto& chain = terminal_chain(y, I, T);
    const double Idot = algebraic_current_rate(y, yp, z, chain);
    for (const auto& [col, k, d] : chain) vdot[k] += d * (col == iI_ ? Idot : yp[col]);
    v[kTerminalInputs] = y[iQ_];
    vdot[kTerminalInputs] = yp[iQ_];
    v[kTerminalInputs + 1] = mean_concentration(pn_, y) / en_.cmax;
    vdot[kTerminalInputs + 1] = mean_concentration(pn_, yp) / en_.cmax;
  }

  /// dI/dt consistent with the control equation, given the rates of the other unknowns.
  double algebraic_current_rate(const double* y, const double* yp, const std::array<double, kTerminalInputs>& zd,
                                std::span<const ChainEntry> chain) const {
    if (control_ == Control::Current) return 0.0;
    std::array<AD, kTerminalInputs> z;
    for (int k = 0; k < kTerminalInputs; ++k) z[k] = AD(zd[k], kTerminalInputs, k);
    AD V, Q;
    terminal(z, V, Q);
    const ADVec& dV = V.derivatives();
    double dV_dI = 0.0, dV_rest = 0.0;  // dV/dI and dV/dt at fixed I
    for (const auto& [col, k, d] : chain) (col == iI_ ? dV_dI : dV_rest) += dV[k] * d * (col == iI_ ? 1.0 : yp[col]);
    const double I = y[iI_];
    if (control_ == Control::Voltage) return dV_dI != 0.0 ? -dV_rest / dV_dI : 0.0;
    const double den = V.value() + I * dV_dI;  // power: V dI + I dV = 0
    return den != 0.0 ? -I * dV_rest / den : 0.0;
  }

  CellOutputs outputs_from_observables(const double* v) const override {
    std::array<double, kTerminalInputs> z;
    std::copy(v, v + kTerminalInputs, z.begin());
    return outputs_from(consistent(z), v[kTerminalInputs], v[kTerminalInputs + 1]);
  }

  CellOutputs outputs_from(const std::array<double, kTerminalInputs>& z, double q, double x_avg) const {
    double V = 0, Q = 0;
    terminal(z, V, Q);
    CellOutputs o{};
    o.voltage_V = V;
    o.current_A = z[3];
    o.temperature_K = z[2];
    o.discharge_capacity_Ah = q;
    o.heat_W = Q;
    o.negative_surface_stoichiometry = z[0] / en_.cmax;
    o.positive_surface_stoichiometry = z[1] / ep_.cmax;
    o.soc = (x_avg - eb_.x0) / (eb_.x100 - eb_.x0);
    return o;
  }

  double particle_lithium_mol(const double* y) const override {
    auto content = [&](const ParticleMesh& m, const ElectrodeParameters& e, int iF) {
      const double f = iF >= 0 ? y[iF] : 1.0;
      return mean_concentration(m, y) * f * e.active_material_fraction * e.thickness_m * area_;
    };
    return content(pn_, p_.negative, iFn_) + content(pp_, p_.positive, iFp_);
  }

  std::vector<double> extrapolate(const double* y_prev, const double* y, double k) const override {
    std::vector<double> out(y, y + n_);
    out[iQ_] = y[iQ_] + k * (y[iQ_] - y_prev[iQ_]);
    if (!ag_.any()) return out;  // nothing ages: the cycle repeats itself
    // The reversible plated lithium is not extrapolated: it plates and strips within a cycle, so at a
    // cycle's end it sits on the cycle's orbit; the dead lithium it feeds is (docs/models.md, step 2).
    for (int i : {iL_, iDead_, iFn_, iFp_, iNsei_, iNlamN_, iNlamP_}) out[i] = y[i] + k * (y[i] - y_prev[i]);
    // The particles lose exactly the lithium the sinks gain (total lithium is conserved). The
    // split between the electrodes keeps the open-circuit voltage of y's mean stoichiometries: cycle
    // ends are set by voltage limits, and the split of one cycle's change is too noisy to scale up.
    const double Vn = p_.negative.active_material_fraction * p_.negative.thickness_m * area_;
    const double Vp = p_.positive.active_material_fraction * p_.positive.thickness_m * area_;
    const double cn = mean_concentration(pn_, y), cp = mean_concentration(pp_, y);
    const double N_target = particle_lithium_mol(y) - (degradation(out.data()).lithium_lost_mol() -
                                                        degradation(y).lithium_lost_mol());
    const double fn = out[iFn_], fp = out[iFp_];
    auto ocv = [&](double xn, double yp) {
      return electrode_ocp(p_.positive, yp, Tref_, Tref_) - electrode_ocp(p_.negative, xn, Tref_, Tref_);
    };
    const double target = ocv(cn / en_.cmax, cp / ep_.cmax);
    // Lithium in the negative particles nn: x = nn / (fn Vn cmax_n), y = (N - nn) / (fp Vp cmax_p).
    auto sto = [&](double nn, double& xn, double& yp) {
      xn = nn / (fn * Vn * en_.cmax);
      yp = (N_target - nn) / (fp * Vp * ep_.cmax);
    };
    const double eps = 1e-6;
    double lo = std::max(eps * fn * Vn * en_.cmax, N_target - (1 - eps) * fp * Vp * ep_.cmax);
    double hi = std::min((1 - eps) * fn * Vn * en_.cmax, N_target - eps * fp * Vp * ep_.cmax);
    if (!(lo < hi)) throw RecoverableError("extrapolated lithium inventory does not fit the electrodes");
    double xn, yp;
    auto g = [&](double nn) {  // rises with the negative's lithium
      sto(nn, xn, yp);
      return ocv(xn, yp) - target;
    };
    const double g_lo = g(lo), g_hi = g(hi);
    const double nn = g_lo >= 0 ? lo : g_hi <= 0 ? hi  // the target beyond an end: that end (as bisection gave)
                                 : illinois_root(g, lo, hi, g_lo, g_hi, 1e-15 * N_target, 1e-13);
    sto(nn, xn, yp);
    const double dcn = xn * en_.cmax - cn, dcp = yp * ep_.cmax - cp;
    for (int i = 0; i < pn_.N; ++i) out[pn_.offset + i] += dcn;
    for (int i = 0; i < pp_.N; ++i) out[pp_.offset + i] += dcp;
    return out;
  }

  std::vector<std::pair<int, double>> arrhenius_states() const override {
    if (!ag_.sei) return {};
    const double E = p_.ageing.sei_activation_J_mol;  // the SEI rate's Arrhenius factor (ageing_rates)
    return {{iL_, E}, {iNsei_, E}};
  }

  Degradation degradation(const double* y) const override {
    Degradation d;
    if (!ag_.any()) return d;
    const double V_n = p_.negative.thickness_m * area_;
    d.sei_thickness_m = y[iL_];
    d.lithium_sei_mol = y[iNsei_];
    d.lithium_plated_mol = y[iPl_] * V_n;
    d.lithium_dead_mol = y[iDead_] * V_n;
    d.lithium_lam_negative_mol = y[iNlamN_];
    d.lithium_lam_positive_mol = y[iNlamP_];
    d.active_fraction_negative = y[iFn_];
    d.active_fraction_positive = y[iFp_];
    const double a_tot = en_.a * y[iFn_] * p_.negative.thickness_m * area_;  // reacting surface [m2]
    d.film_resistance_ohm = ag_.sei ? y[iL_] * p_.ageing.sei_resistivity_ohm_m / a_tot : 0.0;
    return d;
  }

  /// Lithium in the particles of a fresh cell at SOC 1 (scale of the ledger's lithium amounts) [mol].
  double particle_lithium_scale() const {
    return (eb_.x100 * en_.cmax * p_.negative.active_material_fraction * p_.negative.thickness_m +
            eb_.y100 * ep_.cmax * p_.positive.active_material_fraction * p_.positive.thickness_m) * area_;
  }

  double electrolyte_lithium_mol(const double* y) const override {
    if (!electrolyte_)
      return p_.electrolyte.initial_concentration_mol_m3 * area_ *
             (p_.negative.porosity * p_.negative.thickness_m + p_.separator.porosity * p_.separator.thickness_m +
              p_.positive.porosity * p_.positive.thickness_m);
    double s = 0;
    for (int i = 0; i < Nx_; ++i) s += eps_[i] * y[iE_ + i] * h_[i];
    return s * area_;
  }

  void residual(double t, const double* y, const double* yp, double* F) override {
    const double T = temperature(y), I = y[iI_];
    if (!(T > 100.0 && T < 1000.0)) throw RecoverableError("temperature {} K out of range", T);
    particle_residual(pn_, en_, y, yp, F, interface_current(y, true), T);
    particle_residual(pp_, ep_, y, yp, F, interface_current(y, false), T);
    if (electrolyte_) electrolyte_residual(y, yp, F, I, T);
    const auto z = terminal_inputs(y);
    check_domain(z);
    double V = 0, Q = 0, dphi = 0;
    if (iT_ >= 0 || control_ != Control::Current || ag_.any()) terminal(z, V, Q, static_cast<double*>(nullptr), &dphi);  // else unused
    if (iT_ >= 0) F[iT_] = yp[iT_] - thermal_rhs(Q, T);
    if (ag_.any()) {
      const auto r = ageing_rates(z, dphi);
      for (int k = 0; k < kAgeingRates; ++k) F[ageing_row(k)] = yp[ageing_row(k)] - r[k];
      F[iJs_] = y[iJs_] - r[kSideCurrent];
    }
    F[iQ_] = yp[iQ_] - I / 3600.0;
    F[iI_] = packlife::control_residual(control_, control_value_, I, V);
  }

  void jacobian(double t, double cj, const double* y, const double* yp, SparseJacobian& J) override {
    const double T = temperature(y), I = y[iI_];
    particle_jacobian(pn_, en_, y, J, cj, I, T);
    particle_jacobian(pp_, ep_, y, J, cj, I, T);
    if (electrolyte_) electrolyte_jacobian(y, J, cj, I, T);
    // Terminal relations by forward AD over the terminal inputs, chained to the unknowns.
    const auto z = seeded_inputs(y);
    AD V, Q, dphi;
    terminal(z, V, Q, static_cast<AD*>(nullptr), &dphi);
    const auto& chain = terminal_chain(y, I, T);  // (column, k, dz_k/dy_col)
    auto add_row = [&](int row, const ADVec& dout, double scale) {
      for (const auto& [col, k, d] : chain) J.add(row, col, scale * dout[k] * d);
    };
    if (iT_ >= 0) {
      const double C = heat_capacity_ * area_ * p_.stack_thickness_m();
      J.add(iT_, iT_, cj + cooling_rate());
      add_row(iT_, Q.derivatives(), -1.0 / C);
    }
    J.add(iQ_, iQ_, cj);
    J.add(iQ_, iI_, -1.0 / 3600.0);
    switch (control_) {
      case Control::Current: J.add(iI_, iI_, 1.0); break;
      case Control::Voltage: add_row(iI_, V.derivatives(), 1.0); break;
      case Control::Power:
        add_row(iI_, V.derivatives(), I);
        J.add(iI_, iI_, V.value());
        break;
    }
    if (ag_.any()) {
      const auto r = ageing_rates(z, dphi);
      for (int k = 0; k < kAgeingRates; ++k) {
        J.add(ageing_row(k), ageing_row(k), cj);
        add_row(ageing_row(k), r[k].derivatives(), -1.0);
      }
      J.add(iJs_, iJs_, 1.0);
      add_row(iJs_, r[kSideCurrent].derivatives(), -1.0);
    }
  }

  void consistent_init(double t, double* y, double* yp) override {
    // The side-reaction current and the current are coupled weakly (through the negative's
    // overpotential); alternate the two scalar solves until both hold.
    for (int pass = 0; pass < (ag_.any() ? 4 : 1); ++pass) {
      solve_side_current(y);
      switch (control_) {
        case Control::Current: y[iI_] = control_value_; break;
        case Control::Voltage:
        case Control::Power: solve_control(y); break;
      }
    }
    solve_side_current(y);
    std::vector<double> zero(n_, 0.0);
    residual(t, y, zero.data(), yp);
    for (int i = 0; i < n_; ++i) yp[i] = -yp[i];
    yp[iI_] = 0.0;
    if (iJs_ >= 0) yp[iJs_] = 0.0;
  }

  /// Terminal inputs of y (domain-checked) as AD variables seeded with their own derivatives.
  std::array<AD, kTerminalInputs> seeded_inputs(const double* y) const {
    const auto zd = terminal_inputs(y);
    check_domain(zd);
    std::array<AD, kTerminalInputs> z;
    for (int k = 0; k < kTerminalInputs; ++k) z[k] = AD(zd[k], kTerminalInputs, k);
    return z;
  }

  /// Newton on the algebraic side-reaction current j_side = j_sei + j_pl at fixed other unknowns.
  void solve_side_current(double* y) const {
    if (iJs_ < 0) return;
    for (int it = 0; it < 60; ++it) {
      const auto z = seeded_inputs(y);
      AD V, Q, dphi;
      terminal(z, V, Q, static_cast<AD*>(nullptr), &dphi);
      const AD r = ageing_rates(z, dphi)[kSideCurrent];
      const double f = y[iJs_] - r.value(), df = 1.0 - r.derivatives()[12];
      if (std::abs(f) <= 1e-13 + 1e-10 * std::abs(y[iJs_])) return;
      if (!(df != 0.0) || !std::isfinite(df)) break;
      y[iJs_] -= f / df;
    }
    throw Error("could not find a consistent side-reaction current");
  }

 private:
  // ---------------------------------------------------------------- particles
  double surface_concentration(const ParticleMesh& m, const ElectrodeConst& e, const double* y, double j,
                               double T) const {
    return m.surface(y + m.offset, j, e.D0 * arrhenius(e.ED, Tref_, T));
  }

  /// Intercalation current density at the particle surface [A/m2]: the total interfacial current
  /// I/(a A L) with the active fraction f of the electrode (LAM), minus the negative electrode's side
  /// reactions (SEI, plating).
  double interface_current(const double* y, bool negative) const {
    const double I = y[iI_];
    if (!ag_.any()) return I * (negative ? en_.djdI : ep_.djdI);
    return negative ? I * en_.djdI / y[iFn_] - y[iJs_] : I * ep_.djdI / y[iFp_];
  }

  void particle_residual(const ParticleMesh& m, const ElectrodeConst& e, const double* y, const double* yp,
                         double* F, double j, double T) const {
    face_D_.assign(m.N - 1, e.D0 * arrhenius(e.ED, Tref_, T));
    m.residual(y + m.offset, yp + m.offset, F + m.offset, face_D_.data(), j);
  }

  void particle_jacobian(const ParticleMesh& m, const ElectrodeConst& e, const double* y, SparseJacobian& J,
                         double cj, double I, double T) const {
    face_D_.assign(m.N - 1, e.D0 * arrhenius(e.ED, Tref_, T));
    m.jacobian(m.offset, y + m.offset, face_D_.data(), nullptr, e.ED / (kGasConstant * T * T), iT_, cj, J);
    // Surface flux -R^2 j / F with j = I djdI / f - j_side (negative) or I djdI / f (positive).
    const int r = m.offset + m.N - 1;
    const double k = m.surface_row_per_j();
    if (!ag_.any()) {
      J.add(r, iI_, k * e.djdI);
      return;
    }
    const bool neg = &m == &pn_;
    const double f = y[neg ? iFn_ : iFp_];
    J.add(r, iI_, k * e.djdI / f);
    J.add(r, neg ? iFn_ : iFp_, -k * y[iI_] * e.djdI / (f * f));
    if (neg) J.add(r, iJs_, -k);
  }

  // ---------------------------------------------------------------- electrolyte
  void build_electrolyte_mesh() {
    const int n = o_.electrolyte_cells;
    Nx_ = 3 * n;
    const double L[3] = {p_.negative.thickness_m, p_.separator.thickness_m, p_.positive.thickness_m};
    const double eps[3] = {p_.negative.porosity, p_.separator.porosity, p_.positive.porosity};
    const double b[3] = {p_.negative.bruggeman_electrolyte, p_.separator.bruggeman_electrolyte,
                         p_.positive.bruggeman_electrolyte};
    const double t_plus = p_.electrolyte.transference_number;
    // Source (1 - t+) a j / F per unit current: j = sign I / (A a L)  =>  (1-t+) sign / (F A L).
    const double src[3] = {(1.0 - t_plus) / (kFaraday * area_ * L[0]), 0.0, -(1.0 - t_plus) / (kFaraday * area_ * L[2])};
    Lx_ = L[0] + L[1] + L[2];
    for (int r = 0; r < 3; ++r)
      for (int i = 0; i < n; ++i) {
        h_.push_back(L[r] / n);
        eps_.push_back(eps[r]);
        tor_.push_back(std::pow(eps[r], b[r]));
        region_.push_back(r);
        src_.push_back(src[r]);
      }
  }

  /// Effective diffusivity tor * D_e(c) * Arrhenius at each cell and its derivative in c.
  void electrolyte_diffusivities(const double* c, double T, std::vector<double>& De, std::vector<double>& dDe) const {
    const double arr = arrhenius(p_.electrolyte.diffusivity_activation_J_mol, Tref_, T);
    De.resize(Nx_);
    dDe.resize(Nx_);
    for (int i = 0; i < Nx_; ++i) {
      if (p_.electrolyte.diffusivity_m2_s.fn) {
        const AD a = p_.electrolyte.diffusivity_m2_s(AD(c[i], kTerminalInputs, 0));
        De[i] = tor_[i] * arr * a.value();
        dDe[i] = tor_[i] * arr * a.derivatives()[0];
      } else {
        De[i] = tor_[i] * arr * p_.electrolyte.diffusivity_m2_s.constant;
        dDe[i] = 0.0;
      }
    }
  }

  void electrolyte_residual(const double* y, const double* yp, double* F, double I, double T) const {
    const double* c = y + iE_;
    for (int i = 0; i < Nx_; ++i)
      if (!(c[i] > 0.0)) throw RecoverableError("electrolyte depleted (c_e[{}] = {:.3g} mol/m3)", i, c[i]);
    const double arr = arrhenius(p_.electrolyte.diffusivity_activation_J_mol, Tref_, T);
    std::vector<double>& De = scratch_;
    De.resize(Nx_);
    for (int i = 0; i < Nx_; ++i) De[i] = tor_[i] * arr * p_.electrolyte.diffusivity_m2_s(c[i]);
    double N_in = 0.0;  // molar flux through the left face (zero at x = 0)
    for (int i = 0; i < Nx_; ++i) {
      // Face flux with the series resistance of the two half cells (exact for a jump in porosity).
      const double N_out = (i < Nx_ - 1) ? -(c[i + 1] - c[i]) / (0.5 * h_[i] / De[i] + 0.5 * h_[i + 1] / De[i + 1]) : 0.0;
      F[iE_ + i] = yp[iE_ + i] - (-(N_out - N_in) / h_[i] + src_[i] * I) / eps_[i];
      N_in = N_out;
    }
  }

  void electrolyte_jacobian(const double* y, SparseJacobian& J, double cj, double I, double T) const {
    const double* c = y + iE_;
    std::vector<double> De, dDe;
    electrolyte_diffusivities(c, T, De, dDe);
    const double dlnD_dT = p_.electrolyte.diffusivity_activation_J_mol / (kGasConstant * T * T);
    for (int i = 0; i < Nx_; ++i) J.add(iE_ + i, iE_ + i, cj);
    for (int f = 0; f < Nx_ - 1; ++f) {
      // N = -(c_r - c_l)/Rf, Rf = h_l/(2 De_l) + h_r/(2 De_r)
      const int l = f, r = f + 1;
      const double Rf = 0.5 * h_[l] / De[l] + 0.5 * h_[r] / De[r];
      const double dc = c[r] - c[l];
      const double N = -dc / Rf;
      const double dN_dcl = 1.0 / Rf + dc / (Rf * Rf) * (-0.5 * h_[l] * dDe[l] / (De[l] * De[l]));
      const double dN_dcr = -1.0 / Rf + dc / (Rf * Rf) * (-0.5 * h_[r] * dDe[r] / (De[r] * De[r]));
      // Cell l loses N (term -N/h_l in its rhs), cell r gains it (+N/h_r).
      // F = yp - rhs/eps  =>  dF_l/dc = +(dN/dc)/(h_l eps_l), dF_r/dc = -(dN/dc)/(h_r eps_r)
      J.add(iE_ + l, iE_ + l, dN_dcl / (h_[l] * eps_[l]));
      J.add(iE_ + l, iE_ + r, dN_dcr / (h_[l] * eps_[l]));
      J.add(iE_ + r, iE_ + l, -dN_dcl / (h_[r] * eps_[r]));
      J.add(iE_ + r, iE_ + r, -dN_dcr / (h_[r] * eps_[r]));
      if (iT_ >= 0 && dlnD_dT != 0.0) {
        J.add(iE_ + l, iT_, N * dlnD_dT / (h_[l] * eps_[l]));
        J.add(iE_ + r, iT_, -N * dlnD_dT / (h_[r] * eps_[r]));
      }
    }
    for (int i = 0; i < Nx_; ++i)
      if (src_[i] != 0.0) J.add(iE_ + i, iI_, -src_[i] / eps_[i]);
  }

  // ---------------------------------------------------------------- terminal and thermal

  /// Derivatives of the terminal inputs z_k with respect to the unknowns, built in a buffer the
  /// model keeps (valid until the next call; sized once for the longest chain: at most 6 entries per
  /// electrode surface, 5 ageing unknowns, the particle volumes, T, I and 3 per electrolyte cell).
  std::span<const ChainEntry> terminal_chain(const double* y, double I, double T) const {
    const size_t most = 12 + 5 + static_cast<size_t>(pn_.N + pp_.N) + 2 + 3 * static_cast<size_t>(electrolyte_ ? Nx_ : 0);
    if (chain_.size() < most) chain_.resize(most);
    ChainEntry* const buf = chain_.data();
    size_t n = 0;
    auto put = [&](int col, int k, double d) { buf[n++] = ChainEntry{col, k, d}; };
    auto surf = [&](const ParticleMesh& m, const ElectrodeConst& e, int k) {
      const bool neg = k == 0;
      const double D = e.D0 * arrhenius(e.ED, Tref_, T);
      const double j = interface_current(y, neg);
      const double g = -j / (kFaraday * D);
      const double f = ag_.any() ? y[neg ? iFn_ : iFp_] : 1.0;
      put(m.offset + m.N - 1, k, m.w1);
      put(m.offset + m.N - 2, k, m.w2);
      put(iI_, k, -m.wg * e.djdI / (f * kFaraday * D));
      if (ag_.any()) {
        put(neg ? iFn_ : iFp_, k, m.wg * I * e.djdI / (f * f * kFaraday * D));
        if (neg) put(iJs_, k, m.wg / (kFaraday * D));
      }
      if (iT_ >= 0 && e.ED != 0.0) put(iT_, k, -m.wg * g * e.ED / (kGasConstant * T * T));
    };
    surf(pn_, en_, 0);
    surf(pp_, ep_, 1);
    if (ag_.any()) {
      put(iFn_, 9, 1.0);
      put(iFp_, 10, 1.0);
      put(iL_, 11, 1.0);
      put(iJs_, 12, 1.0);
      put(iPl_, 13, 1.0);
      for (const auto* m : {&pn_, &pp_}) {
        const int k = m == &pn_ ? 14 : 15;
        const double w = 3.0 / (m->R * m->R * m->R);  // volume average over the particle
        for (int i = 0; i < m->N; ++i) put(m->offset + i, k, m->volume[i] * w);
      }
    }
    if (iT_ >= 0) put(iT_, 2, 1.0);
    put(iI_, 3, 1.0);
    if (electrolyte_) {
      for (int i = 0; i < Nx_; ++i) {
        const int col = iE_ + i;
        const double c = y[col];
        put(col, 4, h_[i] / Lx_);
        if (region_[i] == 0) {
          put(col, 5, h_[i] / p_.negative.thickness_m);
          put(col, 7, h_[i] / (p_.negative.thickness_m * c));
        } else if (region_[i] == 2) {
          put(col, 6, h_[i] / p_.positive.thickness_m);
          put(col, 8, h_[i] / (p_.positive.thickness_m * c));
        }
      }
    }
    return {buf, n};
  }

  // ---------------------------------------------------------------- degradation
  static constexpr int kAgeingRates = 8;   ///< rates of L, c_pl, c_dead, f_n, f_p, n_sei, n_lam_n, n_lam_p
  static constexpr int kSideCurrent = 8;   ///< index of j_sei + j_pl in the rates array
  int ageing_row(int k) const { return iL_ + k; }

  /// Degradation rates from the terminal inputs (x-averaged negative electrode):
  ///  SEI (Marquis 2020 thesis, sec. 5.6.4; O'Kane et al. 2022):
  ///   solvent-diffusion limited  j_sei = -F c_sol D_sol / L_sei,
  ///   reaction limited           j_sei = -j0_sei exp(-F (dphi - U_sei - rho L j_tot) / (2RT)),
  ///   reaction and solvent diffusion in series (Single, Latz, Horstmann 2018, ChemSusChem 11 1950,
  ///   eq. for the mixed regime):  j_sei = -F c_sol k e / (1 + k e L / D_sol),
  ///   e = exp(-F (dphi - U_sei - rho L j_tot) / (2RT)),
  ///   limited by diffusion of neutral lithium interstitials through the film (Single, Latz, Horstmann
  ///   2018; Marquis 2020 thesis, eq. 5.96), whose concentration at the electrode follows its potential:
  ///   j_sei = -F D_li c_li0 exp(-s F (dphi - rho L j_tot) / RT) / L_sei, s = 1 unless the set gives a share,
  ///   all times exp(E_sei/R (1/T_ref - 1/T));  dL/dt = -V_sei j_sei / (F z_sei).
  ///  Plating, partially reversible (O'Kane et al. 2020, 2022), eta_Li = dphi - rho L j_tot:
  ///   j_pl = F k_pl [c_pl exp(a_s F eta_Li/RT) - c_e exp(-a_p F eta_Li/RT)], a_s = 1 - a_p,
  ///   dc_pl/dt = -a j_pl/F - gamma c_pl, dc_dead/dt = gamma c_pl, gamma = gamma_0 L_sei,0 / L_sei.
  ///  Plating, irreversible (Yang et al. 2017, J. Power Sources 360 28), cathodic branch only:
  ///   j_pl = -F k_pl c_e [exp(-a_p F eta_Li/RT) - 1] for eta_Li < 0, else 0; dc_dead/dt = -a j_pl/F.
  ///  Stress-driven LAM (Reniers et al. 2019; stresses of Zhang et al. 2007 / Ai et al. 2020), driven by
  ///  the peak tensile hydrostatic stress: at the surface on delithiation,
  ///   sigma_h = 2 Omega E (c_avg - c_surf) / (9 (1 - nu)), at the centre on lithiation,
  ///   sigma_h(0) = 2 Omega E (c_avg - c_0) / (9 (1 - nu)) with c_avg - c_0 = 1.5 (c_surf - c_avg)
  ///   (quasi-steady parabolic profile); d eps/dt = -beta (sigma_h / sigma_c)^m, lithium in lost
  ///   particles c_avg L A d eps.
  /// dphi = U_n + eta_n is the negative's surface potential difference without the film, as
  /// terminal() returns it (the caller has evaluated terminal() already).
  template <class S>
  std::array<S, kAgeingRates + 1> ageing_rates(const std::array<S, kTerminalInputs>& z, const S& dphi) const {
    using std::exp;
    using std::pow;
    const AgeingParameters& g = p_.ageing;
    const S& T = z[2];
    const S& I = z[3];
    const S& L = z[11];
    // Plated lithium strips and turns dead only where there is some: the integrator can leave c_pl a
    // round-off below zero once it is stripped, and c_pl exp(a_s F eta / RT) at a delithiated
    // negative (eta ~ 1.4 V, exp ~ 1e8) would turn that into a large spurious plating current.
    const S cpl = val(z[13]) > 0.0 ? z[13] : S(0.0 * z[13]);
    const S jn_tot = I * en_.djdI / z[9];
    const S film = ag_.sei ? S(jn_tot * L * g.sei_resistivity_ohm_m) : S(0.0 * I);
    const S RT_F = kGasConstant * T / kFaraday;
    S jsei = 0.0 * I, jpl = 0.0 * I;
    if (ag_.sei) {
      const S arr = exp(g.sei_activation_J_mol / kGasConstant * (1.0 / Tref_ - 1.0 / T));
      using Form = AgeingOptions::SeiForm;
      const S eta_sei = dphi - g.sei_open_circuit_potential_V - film;
      if (ag_.sei_form == Form::Reaction) {
        jsei = -g.sei_exchange_current_A_m2 * arr * exp(-0.5 * eta_sei / RT_F);
      } else if (ag_.sei_form == Form::ReactionDiffusion) {
        // Solvent reduction at the electrode-film interface fed by solvent diffusion through the film,
        // in series: the interface concentration c_0 solves k e c_0 = D (c_sol - c_0) / L.
        const S ke = g.sei_rate_constant_m_s * exp(-0.5 * eta_sei / RT_F);
        jsei = -kFaraday * g.sei_bulk_solvent_concentration_mol_m3 * ke /
               (1.0 + ke * L / g.sei_solvent_diffusivity_m2_s) * arr;
      } else if (ag_.sei_form == Form::InterstitialDiffusion) {
        jsei = -kFaraday * g.sei_interstitial_diffusivity_m2_s * g.sei_interstitial_concentration_mol_m3 / L *
               exp(-g.sei_interstitial_potential_share * (dphi - film) / RT_F) * arr;
      } else {
        jsei = -kFaraday * g.sei_bulk_solvent_concentration_mol_m3 * g.sei_solvent_diffusivity_m2_s / L * arr;
      }
    }
    if (ag_.plating) {
      const S eta = dphi - film;
      const double ap = g.plating_transfer_coefficient, as = 1.0 - ap;
      if (!ag_.plating_irreversible)
        jpl = kFaraday * g.plating_rate_constant_m_s * (cpl * exp(as * eta / RT_F) - z[5] * exp(-ap * eta / RT_F));
      else if (val(eta) < 0.0)  // cathodic branch only, zero at eta = 0 so the rate is continuous
        jpl = -kFaraday * g.plating_rate_constant_m_s * z[5] * (exp(-ap * eta / RT_F) - 1.0);
    }
    const S a = en_.a * z[9];
    std::array<S, kAgeingRates + 1> r;
    r[0] = -g.sei_partial_molar_volume_m3_mol * jsei / (kFaraday * g.sei_lithium_per_sei);
    if (ag_.plating_irreversible) {  // every plated atom is lost at once (Yang et al. 2017)
      r[1] = 0.0 * I;
      r[2] = -a * jpl / kFaraday;
    } else if (ag_.plating) {
      const S gamma = g.plating_dead_decay_s * g.sei_initial_thickness_m / L;
      r[1] = -a * jpl / kFaraday - gamma * cpl;
      r[2] = gamma * cpl;
    } else {
      r[1] = r[2] = 0.0 * I;
    }
    auto lam = [&](bool on, const LamParameters& m, const S& cav, const S& cs) -> S {
      if (!on) return 0.0 * I;
      // Peak tensile hydrostatic stress: at the surface while the particle delithiates (c_avg > c_s);
      // at the centre while it lithiates, where sigma_h(0) = 2 Omega E (c_avg - c_0) / (9 (1 - nu))
      // (Zhang et al. 2007) and the quasi-steady parabolic profile gives c_avg - c_0 = 1.5 (c_s - c_avg).
      const S d = val(cav - cs) > 0.0 ? S(cav - cs) : S(1.5 * (cs - cav));
      if (!(val(d) > 0.0)) return 0.0 * I;
      const S sh = 2.0 * m.partial_molar_volume_m3_mol * m.youngs_modulus_Pa * d / (9.0 * (1.0 - m.poisson_ratio));
      return -m.rate_s * pow(sh / m.critical_stress_Pa, m.exponent);
    };
    const S deps_n = lam(ag_.lam_negative, g.lam_negative, z[14], z[0]);
    const S deps_p = lam(ag_.lam_positive, g.lam_positive, z[15], z[1]);
    r[3] = deps_n / p_.negative.active_material_fraction;
    r[4] = deps_p / p_.positive.active_material_fraction;
    r[5] = -a * p_.negative.thickness_m * area_ * jsei / kFaraday;
    r[6] = -z[14] * p_.negative.thickness_m * area_ * deps_n;
    r[7] = -z[15] * p_.positive.thickness_m * area_ * deps_p;
    r[kSideCurrent] = jsei + jpl;
    return r;
  }

  void check_domain(const std::array<double, kTerminalInputs>& z) const {
    if (!(z[0] > 0.0 && z[0] < en_.cmax))
      throw RecoverableError("negative particle surface stoichiometry {:.6f} outside (0, 1)", z[0] / en_.cmax);
    if (!(z[1] > 0.0 && z[1] < ep_.cmax))
      throw RecoverableError("positive particle surface stoichiometry {:.6f} outside (0, 1)", z[1] / ep_.cmax);
  }

  /// Newton-Raphson cooling coefficient h A_cool / (rho c_p V_cell) [1/s].
  double cooling_rate() const {
    return p_.cell.heat_transfer_coefficient_W_m2K * p_.cell.cooling_area_m2 / (heat_capacity_ * p_.cell.volume_m3);
  }

  /// Lumped energy balance (Timms et al. 2021, J. Electrochem. Soc. 168 020505):
  /// rho c_p dT/dt = Q / (A L) - h A_cool (T - T_amb) / V_cell.
  double thermal_rhs(double Q_W, double T) const {
    return Q_W / (heat_capacity_ * area_ * p_.stack_thickness_m()) - cooling_rate() * (T - o_.ambient_K);
  }

  // ---------------------------------------------------------------- voltage and power control

  /// Terminal inputs z0 (taken at the current z0[3]) moved to the current I: the surface
  /// concentrations shift linearly with I through the flux condition, the rest stays.
  std::array<double, kTerminalInputs> at_current(const std::array<double, kTerminalInputs>& z0, double I) const {
    const double T = z0[2];
    const double an = -pn_.wg * en_.djdI / (z0[9] * kFaraday * en_.D0 * arrhenius(en_.ED, Tref_, T));
    const double ap = -pp_.wg * ep_.djdI / (z0[10] * kFaraday * ep_.D0 * arrhenius(ep_.ED, Tref_, T));
    std::array<double, kTerminalInputs> z = z0;
    z[0] += an * (I - z0[3]);
    z[1] += ap * (I - z0[3]);
    z[3] = I;
    return z;
  }

  /// Control residual f(I) (V - V_set or I V - P_set) at the terminal inputs z0 moved to current I;
  /// RecoverableError outside the stoichiometry window.
  double control_residual(const std::array<double, kTerminalInputs>& z0, double I) const {
    const auto zd = at_current(z0, I);
    check_domain(zd);
    double V = 0, Q = 0;
    terminal(zd, V, Q);
    return control_ == Control::Voltage ? V - control_value_ : I * V - control_value_;
  }

  /// Newton-Raphson on the control equation from the guess I; nullopt when it does not converge.
  /// The residual is tested before any derivative is formed (output samples and root searches start
  /// within a step's interpolation error of the root, often inside the tolerance); df/dI is a forward
  /// difference with a step 1e-7 of the current scale (relative error ~1e-8, so Newton keeps its
  /// quadratic convergence down to the 1e-11 tolerance), two plain evaluations instead of one
  /// 16-direction AD evaluation.
  std::optional<double> solve_current(const std::array<double, kTerminalInputs>& z0, double I, int max_iter) const {
    if (control_ == Control::Current) return control_value_;
    const double tol = 1e-11 * std::max(1.0, std::abs(control_value_));
    const double cap = 10.0 * p_.cell.nominal_capacity_Ah;  // at most a 10C change per iteration
    for (int it = 0; it < max_iter; ++it) {
      double f = 0, df = 0;
      try {
        f = control_residual(z0, I);
        if (std::abs(f) < tol) return I;
        const double h = 1e-7 * (std::abs(I) + p_.cell.nominal_capacity_Ah);
        df = (control_residual(z0, I + h) - f) / h;
      } catch (const RecoverableError&) {
        I *= 0.5;  // stepped outside the stoichiometry window: back off towards rest
        continue;
      }
      if (!(df != 0.0) || !std::isfinite(df)) break;
      double dI = -f / df;
      if (std::abs(dI) > cap) dI = std::copysign(cap, dI);
      I += dI;
    }
    return std::nullopt;
  }

  void solve_control(double* y) {
    const double target = control_value_;
    const double I0 = (control_ == Control::Power) ? target / std::max(1.0, outputs_voltage_guess(y)) : y[iI_];
    y[iI_] = I0;
    const auto I = solve_current(terminal_inputs(y), I0, 100);
    if (!I)
      throw Error("could not find the current for {} control at {} {}",
                  control_ == Control::Voltage ? "voltage" : "power", target, control_ == Control::Voltage ? "V" : "W");
    check_control_current(*I, p_.cell.nominal_capacity_Ah);
    y[iI_] = *I;
  }

  double outputs_voltage_guess(double* y) const {
    const double I = y[iI_];
    y[iI_] = 0.0;
    const auto z = terminal_inputs(y);
    double V = 0, Q = 0;
    terminal(z, V, Q);
    y[iI_] = I;
    return V;
  }

  void build_pattern() {
    pattern_ = SparsityPattern(n_);
    auto particle = [&](const ParticleMesh& m) {
      m.pattern(m.offset, iT_, pattern_);
      pattern_.add(m.offset + m.N - 1, iI_);
    };
    particle(pn_);
    particle(pp_);
    for (int i = 0; i < Nx_; ++i) {
      const int r = iE_ + i;
      pattern_.add(r, r);
      if (i > 0) pattern_.add(r, r - 1);
      if (i < Nx_ - 1) pattern_.add(r, r + 1);
      if (iT_ >= 0) pattern_.add(r, iT_);
      pattern_.add(r, iI_);
    }
    // Rows that depend on the terminal inputs (current/voltage/power control and heat).
    std::vector<int> cols = {pn_.offset + pn_.N - 1, pn_.offset + pn_.N - 2, pp_.offset + pp_.N - 1,
                             pp_.offset + pp_.N - 2, iI_};
    for (int i = 0; i < Nx_; ++i) cols.push_back(iE_ + i);
    if (iT_ >= 0) cols.push_back(iT_);
    std::vector<int> rows = {iI_};
    if (iT_ >= 0) rows.push_back(iT_);
    if (ag_.any()) {
      // Degradation rows depend on every terminal input, including the particle means.
      for (int i = 0; i < pn_.N; ++i) cols.push_back(pn_.offset + i);
      for (int i = 0; i < pp_.N; ++i) cols.push_back(pp_.offset + i);
      for (int c : {iFn_, iFp_, iL_, iJs_, iPl_}) cols.push_back(c);
      for (int k = 0; k < kAgeingRates; ++k) {
        rows.push_back(ageing_row(k));
        pattern_.add(ageing_row(k), ageing_row(k));
      }
      rows.push_back(iJs_);
      pattern_.add(pn_.offset + pn_.N - 1, iFn_);
      pattern_.add(pn_.offset + pn_.N - 1, iJs_);
      pattern_.add(pp_.offset + pp_.N - 1, iFp_);
    }
    for (int r : rows)
      for (int c : cols) pattern_.add(r, c);
    pattern_.add(iQ_, iQ_);
    pattern_.add(iQ_, iI_);
    pattern_.finalize();
  }

  ParameterSet p_;
  ModelOptions o_;
  bool electrolyte_;
  ElectrodeBalance eb_{};
  double area_ = 0, Tref_ = 298.15, Lx_ = 0;
  ParticleMesh pn_, pp_;
  ElectrodeConst en_{}, ep_{};
  int Nx_ = 0, iE_ = 0, iT_ = -1, iQ_ = 0, iI_ = 0, n_ = 0;
  AgeingOptions ag_;
  mutable std::vector<ChainEntry> chain_;  ///< terminal_chain()'s buffer
  int iL_ = -1, iPl_ = -1, iDead_ = -1, iFn_ = -1, iFp_ = -1, iNsei_ = -1, iNlamN_ = -1, iNlamP_ = -1, iJs_ = -1;
  std::vector<double> h_, eps_, tor_, src_;
  std::vector<int> region_;
  double sigma_n_eff_ = 0, sigma_p_eff_ = 0, tor_n_ = 0, tor_s_ = 0, tor_p_ = 0, heat_capacity_ = 0;
  Control control_ = Control::Current;
  double control_value_ = 0.0;
  SparsityPattern pattern_;
  mutable std::vector<double> scratch_;  ///< per-cell effective diffusivity (residual work space)
  mutable std::vector<double> face_D_;   ///< particle face diffusivities (work space)
};

}  // namespace

std::unique_ptr<CellModel> make_dfn(const ParameterSet& p, const ModelOptions& o);  // dfn.cpp

void register_builtin_models() {
  register_model("spm", "single particle model (Marquis et al. 2019)",
                 [](const ParameterSet& p, const ModelOptions& o) {
                   return std::make_unique<SingleParticleModel>(p, o, false);
                 });
  register_model("spme", "single particle model with electrolyte (Marquis et al. 2019)",
                 [](const ParameterSet& p, const ModelOptions& o) {
                   return std::make_unique<SingleParticleModel>(p, o, true);
                 });
  register_model("dfn", "Doyle-Fuller-Newman pseudo-2D model (Doyle et al. 1993; Marquis et al. 2019)", make_dfn);
}

}  // namespace packlife
