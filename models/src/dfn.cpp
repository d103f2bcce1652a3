/// @file dfn.cpp
/// Doyle-Fuller-Newman (pseudo-two-dimensional) model: Doyle, Fuller and Newman, J. Electrochem. Soc.
/// 140 (1993) 1526, in the dimensional form of Marquis et al. (2019), J. Electrochem. Soc. 166 A3693,
/// sec. 2. Finite volumes across negative electrode, separator and positive electrode (x) and in r
/// inside one particle per electrode cell; the equations are listed in docs/models.md ("DFN").
///
/// Unknowns: particle concentrations c_s[e][0..Nr) for each electrode cell e, electrolyte
/// concentration c_e and potential phi_e in every x cell, solid potential phi_s and interfacial
/// current density j in every electrode cell, then [T], q, I. phi_s, phi_e, j and I are algebraic.
/// The Jacobian is exact: each residual is a sum of local pieces (a cell's reaction, a face's fluxes)
/// differentiated by forward automatic differentiation over their few local inputs.
#include <Eigen/Sparse>
#include <Eigen/SparseLU>

#include <algorithm>
#include <array>
#include <cmath>
#include <type_traits>

#include "packlife/core/error.hpp"
#include "packlife/models/cell_model.hpp"
#include "particle.hpp"

namespace packlife {

namespace {

/// Arrhenius factor exp(E/R (1/T_ref - 1/T)) for a plain or an AD temperature.
template <class S>
S arrhenius_s(double E, double Tref, const S& T) {
  using std::exp;
  if constexpr (std::is_same_v<S, double>)
    if (E == 0.0) return 1.0;
  return exp(E / kGasConstant * (1.0 / Tref - 1.0 / T));
}

AD seed(double v, int k) { return AD(v, kTerminalInputs, k); }

class DfnModel final : public CellModel {
  /// Constants of one electrode.
  struct Electrode {
    const ElectrodeParameters* p = nullptr;
    double cmax = 0, a = 0, sigma_eff = 0;
  };

 public:
  DfnModel(const ParameterSet& p, const ModelOptions& o) : p_(p), o_(o) {
    // 20 radial cells per particle by default (one particle per electrode cell): within 1.4 mV RMS of
    // the COMSOL reference up to 3C, ~30 % faster than 30 (convergence study in docs/models.md).
    if (o_.particle_cells == 0) o_.particle_cells = 20;
    if (o_.particle_cells < 3)
      throw InputError(fmt::format("DFN mesh too coarse: {} particle cells (at least 3)", o_.particle_cells));
    if (o_.electrolyte_cells < 3)
      throw InputError(fmt::format("DFN mesh too coarse: {} electrolyte cells per region (at least 3)", o_.electrolyte_cells));
    if (o_.particle_cells > 400 || o_.electrolyte_cells > 400)
      throw InputError(fmt::format("DFN mesh {}x{} too fine (at most 400 cells per region and per particle)",
                                   o_.electrolyte_cells, o_.particle_cells));
    if (!(o_.particle_mesh_stretch >= 1.0 && o_.particle_mesh_stretch <= 3.0))
      throw InputError(fmt::format("particle mesh stretch {} must lie in [1, 3]", o_.particle_mesh_stretch));
    check_ambient_temperature(o_.ambient_K);
    if (o_.ageing.any())
      throw InputError(fmt::format("the dfn model has no degradation mechanisms yet (asked for: {}); use --model spm "
                                   "or spme for ageing runs", o_.ageing.names()));
    eb_ = electrode_balance(p_, p_.cell.reference_temperature_K);
    area_ = p_.cell.electrode_area_m2();
    Tref_ = p_.cell.reference_temperature_K;
    const int n = o_.electrolyte_cells;
    Nn_ = Np_ = Ns_ = n;
    Nx_ = Nn_ + Ns_ + Np_;
    Ne_ = Nn_ + Np_;
    Nr_ = o_.particle_cells;
    auto electrode = [](const ElectrodeParameters& e) {
      Electrode c;
      c.p = &e;
      c.cmax = e.max_concentration_mol_m3;
      c.a = e.surface_area_per_volume();
      // Bruggeman: sigma_eff = sigma (1 - eps)^b_s (Marquis et al. 2019, table 1 and eq. 2.6).
      c.sigma_eff = e.conductivity_S_m * std::pow(1.0 - e.porosity, e.bruggeman_electrode);
      return c;
    };
    el_[0] = electrode(p_.negative);
    el_[1] = electrode(p_.positive);
    mesh_[0].build(0, Nr_, p_.negative.particle_radius_m, o_.particle_mesh_stretch);
    mesh_[1].build(0, Nr_, p_.positive.particle_radius_m, o_.particle_mesh_stretch);
    const double L[3] = {p_.negative.thickness_m, p_.separator.thickness_m, p_.positive.thickness_m};
    const double eps[3] = {p_.negative.porosity, p_.separator.porosity, p_.positive.porosity};
    const double b[3] = {p_.negative.bruggeman_electrolyte, p_.separator.bruggeman_electrolyte,
                         p_.positive.bruggeman_electrolyte};
    for (int r = 0; r < 3; ++r)
      for (int i = 0; i < n; ++i) {
        h_.push_back(L[r] / n);
        eps_.push_back(eps[r]);
        tor_.push_back(std::pow(eps[r], b[r]));  // Bruggeman: eps^b
      }
    iCe_ = Ne_ * Nr_;
    iPe_ = iCe_ + Nx_;
    iPs_ = iPe_ + Nx_;
    iJ_ = iPs_ + Ne_;
    int off = iJ_ + Ne_;
    if (o_.thermal == Thermal::Lumped) iT_ = off++;
    iQ_ = off++;
    iI_ = off++;
    n_ = off;
    heat_capacity_ = p_.volumetric_heat_capacity();
    build_pattern();
  }

  std::string name() const override { return "dfn"; }
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

  void differential_ids(double* id) const override {
    for (int i = 0; i < n_; ++i) id[i] = 1.0;
    for (int i = iPe_; i < iJ_ + Ne_; ++i) id[i] = 0.0;  // phi_e, phi_s, j
    id[iI_] = 0.0;
  }

  std::vector<std::string> unknown_names() const override {
    std::vector<std::string> v;
    for (int e = 0; e < Ne_; ++e)
      for (int i = 0; i < Nr_; ++i) v.push_back(fmt::format("c_s_{}[x{}][r{}]", e < Nn_ ? 'n' : 'p', xcell(e), i));
    for (int k = 0; k < Nx_; ++k) v.push_back(fmt::format("c_e[x{}]", k));
    for (int k = 0; k < Nx_; ++k) v.push_back(fmt::format("phi_e[x{}]", k));
    for (int e = 0; e < Ne_; ++e) v.push_back(fmt::format("phi_s[x{}]", xcell(e)));
    for (int e = 0; e < Ne_; ++e) v.push_back(fmt::format("j[x{}]", xcell(e)));
    if (iT_ >= 0) v.push_back("T");
    v.push_back("q");
    v.push_back("I");
    return v;
  }

  std::vector<double> absolute_tolerances() const override {
    const double r = o_.rtol;
    std::vector<double> a(n_);
    for (int e = 0; e < Ne_; ++e)
      for (int i = 0; i < Nr_; ++i) a[e * Nr_ + i] = r * el_[side(e)].cmax;
    for (int k = 0; k < Nx_; ++k) {
      a[iCe_ + k] = r * p_.electrolyte.initial_concentration_mol_m3;
      a[iPe_ + k] = r * 1.0;  // V
    }
    for (int e = 0; e < Ne_; ++e) {
      a[iPs_ + e] = r * 1.0;
      // The potentials and interfacial currents stay in the local error test (the simulation leaves
      // algebraic unknowns out only with ageing, which the DFN has not): leaving them out took 118
      // instead of 191 steps for a 1C discharge but cost 1.1 % of the C/20 capacity, the error in j
      // driving the particles unchecked (docs/models.md, "DFN").
      // Interfacial currents on the scale of a 10C reaction: with the 1C scale the local error test
      // on j alone set the step (184 instead of 130 steps for a 1C discharge) for no change in the
      // voltage (0.02 mV) or the C/20 capacity (docs/benchmarks.md).
      a[iJ_ + e] = r * 10.0 * j_scale(side(e));
    }
    if (iT_ >= 0) a[iT_] = r * 10.0;
    a[iQ_] = r * p_.cell.nominal_capacity_Ah;
    a[iI_] = r * p_.cell.nominal_capacity_Ah;
    return a;
  }

  std::vector<double> initial_state(double soc, double T_K) const override {
    if (!(soc >= 0.0 && soc <= 1.0)) throw InputError(fmt::format("initial SOC {} must be between 0 and 1", soc));
    std::vector<double> y(n_, 0.0);
    set_rest_state(y.data(), eb_.x_at(soc), eb_.y_at(soc), T_K);
    return y;
  }

  void set_rest_state(double* y, double x, double ysto, double T_K) const override {
    for (int e = 0; e < Ne_; ++e)
      for (int i = 0; i < Nr_; ++i) y[e * Nr_ + i] = (e < Nn_ ? x * el_[0].cmax : ysto * el_[1].cmax);
    // Potentials of the rest state (phi_s = 0 at the negative collector): the algebraic unknowns
    // are exact at rest; consistent_init re-solves them for any other operating point.
    const double Un = electrode_ocp(p_.negative, x, T_K, Tref_), Up = electrode_ocp(p_.positive, ysto, T_K, Tref_);
    for (int k = 0; k < Nx_; ++k) {
      y[iCe_ + k] = p_.electrolyte.initial_concentration_mol_m3;
      y[iPe_ + k] = -Un;
    }
    for (int e = 0; e < Ne_; ++e) {
      y[iPs_ + e] = e < Nn_ ? 0.0 : Up - Un;
      y[iJ_ + e] = 0.0;
    }
    if (iT_ >= 0) y[iT_] = T_K;
    y[iI_] = 0.0;
  }

  // ------------------------------------------------------------------ residual

  void residual(double t, const double* y, const double* yp, double* F) override {
    const double T = temperature(y), I = y[iI_];
    if (!(T > 100.0 && T < 1000.0)) throw RecoverableError("temperature {} K out of range", T);
    for (int k = 0; k < Nx_; ++k)
      if (!(y[iCe_ + k] > 0.0)) throw RecoverableError("electrolyte depleted (c_e[x{}] = {:.3g} mol/m3)", k, y[iCe_ + k]);
    const double tp = p_.electrolyte.transference_number;
    double heat = 0.0;  // W per m2 of electrode
    // Particles and the reaction of each electrode cell.
    for (int e = 0; e < Ne_; ++e) {
      const int s = side(e), k = xcell(e);
      const ParticleMesh& m = mesh_[s];
      const double j = y[iJ_ + e];
      face_diffusivities(s, y + e * Nr_, T, face_D_, nullptr);
      m.residual(y + e * Nr_, yp + e * Nr_, F + e * Nr_, face_D_.data(), j);
      const double* c = y + e * Nr_;
      double res = 0, q = 0, cs = 0;
      reaction(s, c[Nr_ - 1], c[Nr_ - 2], j, y[iCe_ + k], y[iPs_ + e], y[iPe_ + k], T, res, q, cs);
      F[iJ_ + e] = res;
      heat += h_[k] * q;
      const double aj = el_[s].a * j;
      F[iCe_ + k] = yp[iCe_ + k] - (1.0 - tp) * aj / (kFaraday * eps_[k]);
      F[iPe_ + k] = -aj;
      F[iPs_ + e] = aj;
    }
    for (int k = Nn_; k < Nn_ + Ns_; ++k) {
      F[iCe_ + k] = yp[iCe_ + k];
      F[iPe_ + k] = 0.0;
    }
    // Electrolyte faces: molar flux N and ionic current i leave cell l and enter cell l+1.
    for (int l = 0; l + 1 < Nx_; ++l) {
      const int r = l + 1;
      double N = 0, i = 0, q = 0;
      electrolyte_face(l, y[iCe_ + l], y[iCe_ + r], y[iPe_ + l], y[iPe_ + r], T, N, i, q);
      F[iCe_ + l] += N / (h_[l] * eps_[l]);
      F[iCe_ + r] -= N / (h_[r] * eps_[r]);
      F[iPe_ + l] += i / h_[l];
      F[iPe_ + r] -= i / h_[r];
      heat += q;
    }
    // Solid phase: i_s = -sigma_eff dphi_s/dx; phi_s = 0 at x = 0, i_s = 0 at the separator,
    // i_s = I/A at x = L. Row: di_s/dx + a j = 0 (times h).
    heat += solid_phase(y, I, F);
    if (iT_ >= 0) F[iT_] = yp[iT_] - thermal_rhs(heat, T);
    F[iQ_] = yp[iQ_] - I / 3600.0;
    const double V = voltage(y);
    F[iI_] = control_residual(control_, control_value_, I, V);
  }

  void jacobian(double t, double cj, const double* y, const double* yp, SparseJacobian& J) override {
    const double T = temperature(y), I = y[iI_];
    const double tp = p_.electrolyte.transference_number;
    const double heat_row = iT_ >= 0 ? -1.0 / (heat_capacity_ * p_.stack_thickness_m()) : 0.0;  // d rhs / d heat
    for (int e = 0; e < Ne_; ++e) {
      const int s = side(e), k = xcell(e);
      const ParticleMesh& m = mesh_[s];
      const ElectrodeParameters& ep = *el_[s].p;
      const double* c = y + e * Nr_;
      face_diffusivities(s, c, T, face_D_, &face_dD_);
      m.jacobian(e * Nr_, c, face_D_.data(), face_dD_.data(), ep.diffusivity_activation_J_mol / (kGasConstant * T * T),
                 iT_, cj, J);
      J.add(e * Nr_ + Nr_ - 1, iJ_ + e, m.surface_row_per_j());
      // Reaction: local inputs [c_{N-1}, c_{N-2}, j, c_e, phi_s, phi_e, T].
      const std::array<int, 7> cols = {e * Nr_ + Nr_ - 1, e * Nr_ + Nr_ - 2, iJ_ + e, iCe_ + k, iPs_ + e, iPe_ + k, iT_};
      AD res, q, cs;
      reaction(s, seed(c[Nr_ - 1], 0), seed(c[Nr_ - 2], 1), seed(y[iJ_ + e], 2), seed(y[iCe_ + k], 3),
               seed(y[iPs_ + e], 4), seed(y[iPe_ + k], 5), seed(T, 6), res, q, cs);
      for (int v = 0; v < 7; ++v) {
        if (cols[v] < 0) continue;
        J.add(iJ_ + e, cols[v], res.derivatives()[v]);
        if (iT_ >= 0) J.add(iT_, cols[v], heat_row * h_[k] * q.derivatives()[v]);
      }
      const double a = el_[s].a;
      J.add(iCe_ + k, iJ_ + e, -(1.0 - tp) * a / (kFaraday * eps_[k]));
      J.add(iPe_ + k, iJ_ + e, -a);
      J.add(iPs_ + e, iJ_ + e, a);
    }
    for (int k = 0; k < Nx_; ++k) J.add(iCe_ + k, iCe_ + k, cj);
    for (int l = 0; l + 1 < Nx_; ++l) {
      const int r = l + 1;
      const std::array<int, 5> cols = {iCe_ + l, iCe_ + r, iPe_ + l, iPe_ + r, iT_};
      AD N, i, q;
      electrolyte_face(l, seed(y[iCe_ + l], 0), seed(y[iCe_ + r], 1), seed(y[iPe_ + l], 2), seed(y[iPe_ + r], 3),
                       seed(T, 4), N, i, q);
      for (int v = 0; v < 5; ++v) {
        if (cols[v] < 0) continue;
        const double dN = N.derivatives()[v], di = i.derivatives()[v];
        J.add(iCe_ + l, cols[v], dN / (h_[l] * eps_[l]));
        J.add(iCe_ + r, cols[v], -dN / (h_[r] * eps_[r]));
        J.add(iPe_ + l, cols[v], di / h_[l]);
        J.add(iPe_ + r, cols[v], -di / h_[r]);
        if (iT_ >= 0) J.add(iT_, cols[v], heat_row * q.derivatives()[v]);
      }
    }
    solid_jacobian(y, I, heat_row, J);
    if (iT_ >= 0) J.add(iT_, iT_, cj + cooling_rate());
    J.add(iQ_, iQ_, cj);
    J.add(iQ_, iI_, -1.0 / 3600.0);
    const double dV_dI = -end_resistance();  // V = phi_s[last] - I R_end
    switch (control_) {
      case Control::Current: J.add(iI_, iI_, 1.0); break;
      case Control::Voltage:
        J.add(iI_, iPs_ + Ne_ - 1, 1.0);
        J.add(iI_, iI_, dV_dI);
        break;
      case Control::Power:
        J.add(iI_, iPs_ + Ne_ - 1, I);
        J.add(iI_, iI_, voltage(y) + I * dV_dI);
        break;
    }
  }

  /// Consistent initial values: Newton's method on the algebraic equations (solid and electrolyte
  /// charge conservation, Butler-Volmer, control) for phi_s, phi_e, j and I at the given particle
  /// and electrolyte concentrations and temperature, with the exact Jacobian's algebraic block
  /// (sparse LU); then y' = f(y) for the differential unknowns.
  void consistent_init(double t, double* y, double* yp) override {
    if (control_ == Control::Current) y[iI_] = control_value_;
    else if (control_ == Control::Power && y[iI_] == 0.0)
      y[iI_] = control_value_ / std::max(1.0, voltage(y));
    std::vector<int> alg;
    for (int i = iPe_; i < iJ_ + Ne_; ++i) alg.push_back(i);
    alg.push_back(iI_);
    const int na = static_cast<int>(alg.size());
    std::vector<int> pos(n_, -1);
    for (int a = 0; a < na; ++a) pos[alg[a]] = a;
    const std::vector<double> atol = absolute_tolerances();
    std::vector<double> zero(n_, 0.0), F(n_), Jv(pattern_.nnz()), trial(n_);
    auto norm = [&](const double* yy, std::vector<double>& FF) {
      residual(t, yy, zero.data(), FF.data());
      double s = 0;
      for (int a = 0; a < na; ++a) s = std::max(s, std::abs(FF[alg[a]]) * row_scale(alg[a]));
      return s;
    };
    double f0 = norm(y, F);
    Eigen::SparseLU<Eigen::SparseMatrix<double>> lu;
    bool converged = false;
    for (int it = 0; it < 60 && !converged; ++it) {
      std::fill(Jv.begin(), Jv.end(), 0.0);
      SparseJacobian sj(pattern_, Jv.data());
      jacobian(t, 0.0, y, zero.data(), sj);
      std::vector<Eigen::Triplet<double>> trip;
      for (int c = 0; c < n_; ++c) {
        if (pos[c] < 0) continue;
        for (int k = pattern_.col_ptr()[c]; k < pattern_.col_ptr()[c + 1]; ++k) {
          const int r = pattern_.row_idx()[k];
          if (pos[r] >= 0 && Jv[k] != 0.0) trip.emplace_back(pos[r], pos[c], Jv[k]);
        }
      }
      Eigen::SparseMatrix<double> A(na, na);
      A.setFromTriplets(trip.begin(), trip.end());
      lu.compute(A);
      if (lu.info() != Eigen::Success) throw Error("DFN consistent initial values: singular algebraic Jacobian");
      Eigen::VectorXd rhs(na);
      for (int a = 0; a < na; ++a) rhs[a] = -F[alg[a]];
      const Eigen::VectorXd d = lu.solve(rhs);
      double dmax = 0;
      for (int a = 0; a < na; ++a) dmax = std::max(dmax, std::abs(d[a]) * o_.rtol / atol[alg[a]]);
      // Damped step: halve until the scaled residual decreases (or the state leaves the domain). An
      // update below 1e-9 of the unknowns' scales is taken whole; one below 1e-6 that no longer
      // lowers the residual has reached its round-off floor (1 uV in the potentials, far inside the
      // integrator's tolerances): both end the iteration.
      double lambda = 1.0;
      bool decreased = dmax < 1e-9;
      for (int ls = 0; ls < 30 && !decreased; ++ls, lambda *= 0.5) {
        std::copy(y, y + n_, trial.begin());
        for (int a = 0; a < na; ++a) trial[alg[a]] += lambda * d[a];
        try {
          const double f1 = norm(trial.data(), F);
          decreased = f1 < f0 || f1 < 1e-12;
        } catch (const RecoverableError&) {
        }
        if (decreased) break;
      }
      if (dmax < 1e-9) {
        std::copy(y, y + n_, trial.begin());
        for (int a = 0; a < na; ++a) trial[alg[a]] += d[a];
      }
      if (decreased) std::copy(trial.begin(), trial.end(), y);
      f0 = norm(y, F);
      converged = dmax < 1e-9 || f0 < 1e-12 || (!decreased && dmax < 1e-6);
      if (!decreased && !converged) break;
    }
    if (!converged) {
      const char* what = control_ == Control::Voltage ? "voltage" : control_ == Control::Power ? "power" : "current";
      throw Error("could not find consistent potentials and currents for {} control at {:.6g} (scaled residual "
                  "{:.3g})", what, control_value_, f0);
    }
    check_control_current(y[iI_], p_.cell.nominal_capacity_Ah);
    residual(t, y, zero.data(), yp);
    for (int i = 0; i < n_; ++i) yp[i] = -yp[i];
    for (int a = 0; a < na; ++a) yp[alg[a]] = 0.0;
  }

  // ------------------------------------------------------------------ outputs

  CellOutputs outputs(const double* y) const override { return outputs(y, true); }

  /// Outputs; without `with_heat` the heat (which needs every overpotential and face flux) is left 0.
  CellOutputs outputs(const double* y, bool with_heat) const {
    const double T = temperature(y);
    CellOutputs o{};
    o.voltage_V = voltage(y);
    o.current_A = y[iI_];
    o.temperature_K = T;
    o.discharge_capacity_Ah = y[iQ_];
    double xs[2] = {0, 0};
    for (int e = 0; e < Ne_; ++e) {
      const int s = side(e);
      xs[s] += mesh_[s].surface(y + e * Nr_, y[iJ_ + e], surface_diffusivity(s, y + e * Nr_, T)) * h_[xcell(e)];
    }
    o.negative_surface_stoichiometry = xs[0] / (el_[0].cmax * electrode_thickness(0));
    o.positive_surface_stoichiometry = xs[1] / (el_[1].cmax * electrode_thickness(1));
    o.soc = (mean_stoichiometry(y, 0) - eb_.x0) / (eb_.x100 - eb_.x0);
    if (with_heat) o.heat_W = heat_W(y);
    return o;
  }

  /// Heat generated in the cell [W]: reaction (irreversible and reversible) and ohmic heat in
  /// electrolyte and solid, summed over cells and faces as in the residual's energy balance.
  double heat_W(const double* y) const {
    const double T = temperature(y);
    double heat = 0;
    for (int e = 0; e < Ne_; ++e) {
      const int s = side(e), k = xcell(e);
      const double* c = y + e * Nr_;
      double res = 0, q = 0, cs = 0;
      reaction(s, c[Nr_ - 1], c[Nr_ - 2], y[iJ_ + e], y[iCe_ + k], y[iPs_ + e], y[iPe_ + k], T, res, q, cs, false);
      heat += h_[k] * q;
    }
    for (int l = 0; l + 1 < Nx_; ++l) {
      double N = 0, i = 0, q = 0;
      electrolyte_face(l, y[iCe_ + l], y[iCe_ + l + 1], y[iPe_ + l], y[iPe_ + l + 1], T, N, i, q);
      heat += q;
    }
    return (heat + solid_heat(y, y[iI_])) * area_;
  }

  /// Root functions need no heat: the event quantities come from the cheap outputs.
  void roots(double, const double* y, const double*, double* g) override {
    const CellOutputs o = outputs(y, false);
    for (size_t k = 0; k < events_.size(); ++k) g[k] = event_quantity(events_[k], o) - events_[k].threshold;
  }

  // Observables: the outputs themselves. Their rates along y' are exact for the outputs linear in the
  // state (voltage, current, temperature, charge, mean and surface stoichiometries at fixed D; the
  // dependence of the surface value on T and c through D is neglected, below 1e-6 per K); the
  // heat's rate is a forward difference over d = 10 ms.
  int num_observables() const override { return 8; }
  void observables(const double* y, const double* yp, double* v, double* vdot) const override {
    pack(outputs(y, true), mean_stoichiometry(y, 0), v);
    // Linear outputs: the same functions applied to y' (with the constant parts removed).
    std::vector<double>& w = work_;
    w.resize(n_);
    const double T = temperature(y);
    vdot[0] = yp[iPs_ + Ne_ - 1] - yp[iI_] * end_resistance();
    vdot[1] = yp[iI_];
    vdot[2] = iT_ >= 0 ? yp[iT_] : 0.0;
    vdot[3] = yp[iQ_];
    double xs[2] = {0, 0};
    for (int e = 0; e < Ne_; ++e) {
      const int s = side(e);
      xs[s] += mesh_[s].surface(yp + e * Nr_, yp[iJ_ + e], surface_diffusivity(s, y + e * Nr_, T)) * h_[xcell(e)];
    }
    vdot[5] = xs[0] / (el_[0].cmax * electrode_thickness(0));
    vdot[6] = xs[1] / (el_[1].cmax * electrode_thickness(1));
    vdot[7] = mean_stoichiometry(yp, 0);
    const double d = 1e-2;
    for (int i = 0; i < n_; ++i) w[i] = y[i] + d * yp[i];
    vdot[4] = (heat_W(w.data()) - v[4]) / d;
  }
  CellOutputs outputs_from_observables(const double* v) const override {
    CellOutputs o{};
    o.voltage_V = v[0];
    o.current_A = v[1];
    o.temperature_K = v[2];
    o.discharge_capacity_Ah = v[3];
    o.heat_W = v[4];
    o.negative_surface_stoichiometry = v[5];
    o.positive_surface_stoichiometry = v[6];
    o.soc = (v[7] - eb_.x0) / (eb_.x100 - eb_.x0);
    return o;
  }

  double particle_lithium_mol(const double* y) const override {
    double s = 0;
    for (int e = 0; e < Ne_; ++e) {
      const int sd = side(e);
      s += mesh_[sd].mean(y + e * Nr_) * el_[sd].p->active_material_fraction * h_[xcell(e)];
    }
    return s * area_;
  }
  double electrolyte_lithium_mol(const double* y) const override {
    double s = 0;
    for (int k = 0; k < Nx_; ++k) s += eps_[k] * y[iCe_ + k] * h_[k];
    return s * area_;
  }
  std::vector<double> extrapolate(const double* y_prev, const double* y, double k) const override {
    std::vector<double> out(y, y + n_);
    out[iQ_] = y[iQ_] + k * (y[iQ_] - y_prev[iQ_]);
    return out;  // nothing ages in this model: the cycle repeats itself
  }
  Degradation degradation(const double*) const override { return {}; }

  /// c_e [mol/m3] and phi_e [V] in every cell; phi_s [V] and the particle surface concentration
  /// c_s,surf [mol/m3] in each electrode's cells.
  std::vector<Profile> profiles(const double* y) const override {
    const double T = temperature(y);
    std::vector<double> xc(Nx_);
    for (int k = 0; k < Nx_; ++k) xc[k] = (k == 0 ? 0.5 * h_[0] : xc[k - 1] + 0.5 * (h_[k - 1] + h_[k]));
    Profile ce{"c_e", "mol/m3", xc, {}}, pe{"phi_e", "V", xc, {}};
    for (int k = 0; k < Nx_; ++k) {
      ce.values.push_back(y[iCe_ + k]);
      pe.values.push_back(y[iPe_ + k]);
    }
    Profile ps[2] = {{"phi_s_n", "V", {}, {}}, {"phi_s_p", "V", {}, {}}};
    Profile cs[2] = {{"c_s_surf_n", "mol/m3", {}, {}}, {"c_s_surf_p", "mol/m3", {}, {}}};
    for (int e = 0; e < Ne_; ++e) {
      const int s = side(e), k = xcell(e);
      const double* c = y + e * Nr_;
      double res = 0, q = 0, csurf = 0;
      reaction(s, c[Nr_ - 1], c[Nr_ - 2], y[iJ_ + e], y[iCe_ + k], y[iPs_ + e], y[iPe_ + k], T, res, q, csurf, false);
      ps[s].x_m.push_back(xc[k]);
      ps[s].values.push_back(y[iPs_ + e]);
      cs[s].x_m.push_back(xc[k]);
      cs[s].values.push_back(csurf);
    }
    return {ce, pe, ps[0], ps[1], cs[0], cs[1]};
  }

  /// Terminal voltage phi_s(L) - phi_s(0), phi_s(0) = 0 [V].
  double voltage(const double* y) const { return y[iPs_ + Ne_ - 1] - y[iI_] * end_resistance(); }

 private:
  int side(int e) const { return e < Nn_ ? 0 : 1; }
  int xcell(int e) const { return e < Nn_ ? e : e + Ns_; }
  double electrode_thickness(int s) const { return s == 0 ? p_.negative.thickness_m : p_.positive.thickness_m; }
  double temperature(const double* y) const { return iT_ >= 0 ? y[iT_] : o_.ambient_K; }
  /// Particle diffusivity at the outer cell of a particle (used for its surface concentration).
  double surface_diffusivity(int s, const double* c, double T) const {
    const ElectrodeParameters& e = *el_[s].p;
    return e.diffusivity_m2_s(c[Nr_ - 1] / el_[s].cmax) * arrhenius(e.diffusivity_activation_J_mol, Tref_, T);
  }
  /// Diffusivities at the particle's internal faces, from the face concentration (c_i + c_i+1)/2 when
  /// the set gives D as a function of stoichiometry, and (with dD) their derivatives in it.
  void face_diffusivities(int s, const double* c, double T, std::vector<double>& D, std::vector<double>* dD) const {
    const ElectrodeParameters& e = *el_[s].p;
    const double arr = arrhenius(e.diffusivity_activation_J_mol, Tref_, T), cmax = el_[s].cmax;
    D.resize(Nr_ - 1);
    if (dD) dD->assign(Nr_ - 1, 0.0);
    const bool varies = e.diffusivity_m2_s.fn || e.diffusivity_m2_s.table;
    for (int f = 0; f < Nr_ - 1; ++f) {
      if (!varies) {
        D[f] = e.diffusivity_m2_s.constant * arr;
        continue;
      }
      const double x = 0.5 * (c[f] + c[f + 1]) / cmax;
      if (dD) {
        const AD a = e.diffusivity_m2_s(seed(x, 0));
        D[f] = a.value() * arr;
        (*dD)[f] = a.derivatives()[0] * arr / cmax;
      } else {
        D[f] = e.diffusivity_m2_s(x) * arr;
      }
    }
  }
  /// Interfacial current density of a uniform 1C reaction in the electrode [A/m2].
  double j_scale(int s) const { return p_.cell.nominal_capacity_Ah / (area_ * el_[s].a * electrode_thickness(s)); }
  /// Resistance between the last positive cell's centre and the collector, per cell [ohm].
  double end_resistance() const { return 0.5 * h_[Nx_ - 1] / (el_[1].sigma_eff * area_); }
  /// Weights that make the algebraic residuals comparable (V for potentials and Butler-Volmer).
  double row_scale(int row) const {
    if (row >= iPe_ && row < iPs_) return 1.0 / (el_[0].a * j_scale(0));
    if (row >= iPs_ && row < iJ_) return 1.0 / (el_[side(row - iPs_)].a * j_scale(side(row - iPs_)));
    if (row == iI_) return control_ == Control::Voltage ? 1.0 : 1.0 / p_.cell.nominal_capacity_Ah;
    return 1.0;  // Butler-Volmer rows are in volts
  }
  double mean_stoichiometry(const double* y, int s) const {
    double sum = 0;
    for (int e = s == 0 ? 0 : Nn_; e < (s == 0 ? Nn_ : Ne_); ++e) sum += mesh_[s].mean(y + e * Nr_) * h_[xcell(e)];
    return sum / (el_[s].cmax * electrode_thickness(s));
  }
  static void pack(const CellOutputs& o, double x_avg, double* v) {
    v[0] = o.voltage_V;
    v[1] = o.current_A;
    v[2] = o.temperature_K;
    v[3] = o.discharge_capacity_Ah;
    v[4] = o.heat_W;
    v[5] = o.negative_surface_stoichiometry;
    v[6] = o.positive_surface_stoichiometry;
    v[7] = x_avg;
  }

  /// Butler-Volmer at one electrode cell (Marquis et al. 2019, eqs. 2.8-2.10; symmetric transfer):
  ///   eta = phi_s - phi_e - U(c_surf, T),  U = U_ref + (T - T_ref) dU/dT,
  ///   j = 2 j0 sinh(F eta / (2RT)),  j0 = k exp(E_k/R (1/T_ref - 1/T)) (c_e c_s (c_max - c_s))^1/2,
  /// written as the residual eta - (2RT/F) asinh(j / (2 j0)) [V]; c_s at the surface from the
  /// particle's flux condition. Heat per volume: a j (eta + T dU/dT) (irreversible + reversible).
  /// With `strict` false (outputs, profiles) a surface concentration outside (0, c_max) is clamped
  /// to its range for the OCP and j0 instead of raising a RecoverableError (which only the residual,
  /// called by the integrator, can recover from).
  template <class S>
  void reaction(int s, const S& c1, const S& c2, const S& j, const S& ce, const S& phis, const S& phie, const S& T,
                S& res, S& heat, S& cs, bool strict = true) const {
    using std::sqrt;
    const Electrode& E = el_[s];
    const ElectrodeParameters& ep = *E.p;
    const ParticleMesh& m = mesh_[s];
    const S D = ep.diffusivity_m2_s(c1 / E.cmax) * arrhenius_s(ep.diffusivity_activation_J_mol, Tref_, T);
    cs = m.w1 * c1 + m.w2 * c2 - m.wg * j / (kFaraday * D);
    if (!strict && !(val(cs) > 1e-9 * E.cmax && val(cs) < (1 - 1e-9) * E.cmax))
      cs = S(std::clamp(val(cs), 1e-9 * E.cmax, (1 - 1e-9) * E.cmax)) + 0.0 * cs;
    if (!(val(cs) > 0.0 && val(cs) < E.cmax))
      throw RecoverableError("{} particle surface stoichiometry {:.6f} outside (0, 1)", s == 0 ? "negative" : "positive",
                             val(cs) / E.cmax);
    const S x = cs / E.cmax;
    const S dU = ep.entropic_V_K(x);
    const S U = ep.ocp_V(x) + (T - Tref_) * dU;
    const S j0 = ep.exchange_current_coefficient * arrhenius_s(ep.exchange_current_activation_J_mol, Tref_, T) *
                 sqrt(ce * cs * (E.cmax - cs));
    const S eta = phis - phie - U;
    res = eta - 2.0 * kGasConstant * T / kFaraday * asinh_s(j / (2.0 * j0));
    heat = E.a * j * (eta + T * dU);
  }

  /// Fluxes through the face between electrolyte cells l and l+1 (Marquis et al. 2019, eqs. 2.3-2.5,
  /// Bruggeman tortuosity eps^b, Arrhenius in T): molar flux N = -D_eff dc_e/dx and ionic current
  ///   i_e = -kappa_eff (dphi_e/dx - 2 (1 - t+) (1 + dlnf/dlnc) (RT/F) d ln c_e/dx),
  /// with the face conductances of the two half cells in series (exact at a change of porosity);
  /// ohmic heat of the face -i_e (phi_e,r - phi_e,l) per m2.
  template <class S>
  void electrolyte_face(int l, const S& cl, const S& cr, const S& pl, const S& pr, const S& T, S& N, S& i,
                        S& heat) const {
    using std::log;
    const ElectrolyteParameters& el = p_.electrolyte;
    const int r = l + 1;
    const S aD = arrhenius_s(el.diffusivity_activation_J_mol, Tref_, T);
    const S aK = arrhenius_s(el.conductivity_activation_J_mol, Tref_, T);
    const S Dl = tor_[l] * el.diffusivity_m2_s(cl, T) * aD, Dr = tor_[r] * el.diffusivity_m2_s(cr, T) * aD;
    const S kl = tor_[l] * el.conductivity_S_m(cl, T) * aK, kr = tor_[r] * el.conductivity_S_m(cr, T) * aK;
    // Thermodynamic factor at the face (mean of the two cells' concentrations).
    const S tdf = el.thermodynamic_factor.varies() ? el.thermodynamic_factor(0.5 * (cl + cr), T)
                                                   : S(el.thermodynamic_factor.constant + 0.0 * cl);
    N = -(cr - cl) / (0.5 * h_[l] / Dl + 0.5 * h_[r] / Dr);
    const S G = 1.0 / (0.5 * h_[l] / kl + 0.5 * h_[r] / kr);
    const S dphi = pr - pl;
    i = -G * (dphi - 2.0 * (1.0 - el.transference_number) * tdf * kGasConstant * T / kFaraday *
                         (log(cr) - log(cl)));
    heat = -i * dphi;
  }

  /// Adds the solid-phase conduction terms (rows phi_s: (i_out - i_in)/h + a j, the a j part
  /// being added with the reaction) and returns their ohmic heat [W/m2].
  double solid_phase(const double* y, double I, double* F) const {
    const double* ph = y + iPs_;
    for (int e = 0; e < Ne_; ++e) {
      const int s = side(e), k = xcell(e);
      const double sg = el_[s].sigma_eff;
      const bool first = e == 0 || e == Nn_, last = e == Nn_ - 1 || e == Ne_ - 1;
      double in = 0.0, out = 0.0;
      if (e == 0) in = -sg * ph[0] / (0.5 * h_[k]);
      else if (!first) in = -sg * (ph[e] - ph[e - 1]) / h_[k];
      if (e == Ne_ - 1) out = I / area_;
      else if (!last) out = -sg * (ph[e + 1] - ph[e]) / h_[k];
      F[iPs_ + e] += (out - in) / h_[k];
    }
    return solid_heat(y, I);
  }

  /// Ohmic heat of the solid phase [W/m2]: sigma (dphi)^2 / d on each face, including the half
  /// cells at the two collectors.
  double solid_heat(const double* y, double I) const {
    const double* ph = y + iPs_;
    double heat = ph[0] * ph[0] * el_[0].sigma_eff / (0.5 * h_[0]);
    for (int e = 0; e + 1 < Ne_; ++e) {
      if (e == Nn_ - 1) continue;  // separator: no solid phase
      const double sg = el_[side(e)].sigma_eff, d = ph[e + 1] - ph[e];
      heat += sg * d * d / h_[xcell(e)];
    }
    const double i = I / area_;
    heat += i * i * 0.5 * h_[Nx_ - 1] / el_[1].sigma_eff;
    return heat;
  }

  void solid_jacobian(const double* y, double I, double heat_row, SparseJacobian& J) const {
    const double* ph = y + iPs_;
    for (int e = 0; e < Ne_; ++e) {
      const int s = side(e), k = xcell(e);
      const double g = el_[s].sigma_eff / (h_[k] * h_[k]);
      const bool first = e == 0 || e == Nn_, last = e == Nn_ - 1 || e == Ne_ - 1;
      const int r = iPs_ + e;
      if (e == 0) J.add(r, r, 2.0 * g);
      else if (!first) { J.add(r, r, g); J.add(r, r - 1, -g); }
      if (e == Ne_ - 1) J.add(r, iI_, 1.0 / (area_ * h_[k]));
      else if (!last) { J.add(r, r, g); J.add(r, r + 1, -g); }
    }
    if (iT_ < 0) return;
    J.add(iT_, iPs_, heat_row * 2.0 * ph[0] * el_[0].sigma_eff / (0.5 * h_[0]));
    for (int e = 0; e + 1 < Ne_; ++e) {
      if (e == Nn_ - 1) continue;
      const double gd = 2.0 * el_[side(e)].sigma_eff * (ph[e + 1] - ph[e]) / h_[xcell(e)];
      J.add(iT_, iPs_ + e + 1, heat_row * gd);
      J.add(iT_, iPs_ + e, -heat_row * gd);
    }
    J.add(iT_, iI_, heat_row * 2.0 * I / (area_ * area_) * 0.5 * h_[Nx_ - 1] / el_[1].sigma_eff);
  }

  /// Lumped energy balance (as in the SPM family; Timms et al. 2021):
  /// rho c_p dT/dt = q / L_stack - h A_cool (T - T_amb) / V_cell, q the heat per electrode area.
  double cooling_rate() const {
    return p_.cell.heat_transfer_coefficient_W_m2K * p_.cell.cooling_area_m2 / (heat_capacity_ * p_.cell.volume_m3);
  }
  double thermal_rhs(double heat_W_m2, double T) const {
    return heat_W_m2 / (heat_capacity_ * p_.stack_thickness_m()) - cooling_rate() * (T - o_.ambient_K);
  }

  void build_pattern() {
    pattern_ = SparsityPattern(n_);
    auto& P = pattern_;
    for (int e = 0; e < Ne_; ++e) {
      const int k = xcell(e), top = e * Nr_ + Nr_ - 1;
      mesh_[side(e)].pattern(e * Nr_, iT_, P);
      P.add(top, iJ_ + e);
      for (int c : {top, top - 1, iJ_ + e, iCe_ + k, iPs_ + e, iPe_ + k, iT_}) {
        if (c < 0) continue;
        P.add(iJ_ + e, c);
        if (iT_ >= 0) P.add(iT_, c);
      }
      P.add(iCe_ + k, iJ_ + e);
      P.add(iPe_ + k, iJ_ + e);
      P.add(iPs_ + e, iJ_ + e);
      P.add(iPs_ + e, iPs_ + e);
      if (e > 0) P.add(iPs_ + e, iPs_ + e - 1);
      if (e + 1 < Ne_) P.add(iPs_ + e, iPs_ + e + 1);
      if (iT_ >= 0) P.add(iT_, iPs_ + e);
    }
    P.add(iPs_ + Ne_ - 1, iI_);
    for (int k = 0; k < Nx_; ++k) P.add(iCe_ + k, iCe_ + k);
    for (int l = 0; l + 1 < Nx_; ++l)
      for (int row : {l, l + 1})
        for (int c : {iCe_ + l, iCe_ + l + 1, iPe_ + l, iPe_ + l + 1, iT_}) {
          if (c < 0) continue;
          P.add(iCe_ + row, c);
          P.add(iPe_ + row, c);
          if (iT_ >= 0) P.add(iT_, c);
        }
    if (iT_ >= 0) {
      P.add(iT_, iT_);
      P.add(iT_, iI_);
    }
    P.add(iQ_, iQ_);
    P.add(iQ_, iI_);
    P.add(iI_, iI_);
    P.add(iI_, iPs_ + Ne_ - 1);
    P.finalize();
  }

  ParameterSet p_;
  ModelOptions o_;
  ElectrodeBalance eb_{};
  double area_ = 0, Tref_ = 298.15, heat_capacity_ = 0;
  int Nn_ = 0, Ns_ = 0, Np_ = 0, Nx_ = 0, Ne_ = 0, Nr_ = 0;
  int iCe_ = 0, iPe_ = 0, iPs_ = 0, iJ_ = 0, iT_ = -1, iQ_ = 0, iI_ = 0, n_ = 0;
  std::array<Electrode, 2> el_;
  std::array<ParticleMesh, 2> mesh_;
  std::vector<double> h_, eps_, tor_;
  Control control_ = Control::Current;
  double control_value_ = 0.0;
  SparsityPattern pattern_;
  mutable std::vector<double> work_, face_D_, face_dD_;  ///< work spaces
};

}  // namespace

std::unique_ptr<CellModel> make_dfn(const ParameterSet& p, const ModelOptions& o) {
  return std::make_unique<DfnModel>(p, o);
}

}  // namespace packlife
