#pragma once
/// @file cell_model.hpp
/// Cell models as DAE systems for IDA, picked by name through a small registry ("spm", "spme").
/// Unknowns of every model end with [..., T (lumped thermal only), q (discharge capacity, A h), I];
/// current I is positive on discharge and is an algebraic unknown fixed by the control equation
/// (current, voltage or power), so every step type uses the same DAE.
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "packlife/core/dae.hpp"
#include "packlife/models/esoh.hpp"
#include "packlife/models/parameters.hpp"

namespace packlife {

enum class Thermal { Isothermal, Lumped };
enum class Control { Current, Voltage, Power };

/// Degradation mechanisms switched on (see parse_ageing and docs/models.md).
struct AgeingOptions {
  bool sei = false;           ///< SEI growth
  /// SEI growth law: limited by solvent diffusion through the film, by the reduction reaction, by
  /// both in series, or by diffusion of neutral lithium interstitials (docs/models.md, "Degradation").
  enum class SeiForm {
    SolventDiffusion,
    Reaction,
    ReactionDiffusion,
    InterstitialDiffusion
  } sei_form = SeiForm::SolventDiffusion;
  bool plating = false;       ///< lithium plating
  bool plating_irreversible = false;  ///< plating form: irreversible (Yang et al. 2017), else partially reversible
  bool lam_negative = false;  ///< stress-driven loss of active material in the negative electrode
  bool lam_positive = false;  ///< ... and in the positive electrode
  bool any() const { return sei || plating || lam_negative || lam_positive; }
  /// Canonical comma list ("none" if nothing is on).
  std::string names() const;
};

/// Parses "--ageing" text against a parameter set: "none", "default" (the set's recommended list),
/// or a comma list of sei-solvent-diffusion, sei-reaction, sei-reaction-diffusion, sei-interstitial-diffusion,
/// sei (the set's own form), plating (partially
/// reversible), plating-irreversible, lam (both electrodes), lam-negative, lam-positive.
/// InputError for unknown names and for mechanisms whose parameters the set lacks (named).
AgeingOptions parse_ageing(const std::string& text, const ParameterSet& p);

/// Degradation ledger quantities held in a state (a fresh cell's values without ageing).
struct Degradation {
  double sei_thickness_m = 0;
  double lithium_sei_mol = 0, lithium_plated_mol = 0, lithium_dead_mol = 0;
  double lithium_lam_negative_mol = 0, lithium_lam_positive_mol = 0;
  double active_fraction_negative = 1, active_fraction_positive = 1;  ///< eps / eps_0
  double film_resistance_ohm = 0;
  /// Cyclable lithium lost to every mechanism [mol].
  double lithium_lost_mol() const {
    return lithium_sei_mol + lithium_plated_mol + lithium_dead_mol + lithium_lam_negative_mol + lithium_lam_positive_mol;
  }
};

/// Run-time model options; every default lives here (no compile-time physics switches).
struct ModelOptions {
  Thermal thermal = Thermal::Isothermal;
  double ambient_K = 298.15;         ///< ambient (and, for isothermal runs, cell) temperature
  int particle_cells = 0;            ///< finite volumes per particle radius; 0: the model's default (30 spm/spme, 20 dfn)
  double particle_mesh_stretch = 2.0;  ///< radial edges R(1-(1-k/N)^p): 1 uniform, >1 refined at the surface
  int electrolyte_cells = 20;        ///< finite volumes per region (negative, separator, positive)
  double rtol = 1e-4;                ///< IDA relative tolerance (absolute ones scale with it)
  AgeingOptions ageing;              ///< degradation mechanisms (none by default)
};

/// InputError unless T_K lies in the range every model supports (150 to 450 K).
void check_ambient_temperature(double T_K);
/// Error unless current I [A] stays within the 50C (of `nominal_Ah`) that a voltage or power step
/// may call for: beyond it the models are outside what they are meant for.
void check_control_current(double I, double nominal_Ah);
/// Residual of the control equation for current I [A] and terminal voltage V [V]: I - value, V - value
/// or I V - value, by the control in force (the last row of every model).
double control_residual(Control c, double value, double I, double V);

/// Applies a mesh setting to o: a name ("coarse": 10 cells per region and per particle; "default":
/// the models' defaults; "fine": 40 per region, 60 per particle) or "E,P" (E finite volumes per
/// electrolyte region, P per particle radius). InputError naming `what` (e.g. "--mesh") and the
/// expected form when malformed; the model checks the counts' ranges when it is built.
void apply_mesh(const std::string& spec, ModelOptions& o, const std::string& what = "--mesh");

/// What a model reports about a state.
struct CellOutputs {
  double voltage_V, current_A, temperature_K, discharge_capacity_Ah, soc, heat_W;
  double negative_surface_stoichiometry, positive_surface_stoichiometry;
};

/// A quantity across the cell thickness at one instant (models resolved in x: the DFN).
struct Profile {
  std::string name, unit;
  std::vector<double> x_m;     ///< positions from the negative collector (cell centres) [m]
  std::vector<double> values;
};

/// A root function: quantity(y) - threshold, active in the given direction.
struct Event {
  enum class Quantity { Voltage, CurrentMagnitude, Soc, NegativeSurfaceStoichiometry, PositiveSurfaceStoichiometry };
  Quantity quantity;
  double threshold;
  int direction;       ///< -1: stop when falling through, +1: when rising through
  std::string reason;  ///< why the step ends when this fires
};

class CellModel : public DaeSystem {
 public:
  virtual std::string name() const = 0;
  virtual const ParameterSet& parameters() const = 0;
  virtual const ModelOptions& options() const = 0;
  virtual const ElectrodeBalance& balance() const = 0;
  /// State at rest with uniform concentrations at `soc` and temperature T (I = 0, q = 0).
  virtual std::vector<double> initial_state(double soc, double T_K) const = 0;
  virtual void set_control(Control c, double value) = 0;
  /// Changes the ambient temperature (the cell temperature of isothermal models).
  virtual void set_ambient(double T_K) = 0;
  /// Puts a state at rest in equilibrium: uniform particle stoichiometries x (negative) and ysto
  /// (positive), electrolyte at its initial concentration, temperature T, I = 0; degradation
  /// states and the charge counter are kept.
  virtual void set_rest_state(double* y, double x, double ysto, double T_K) const = 0;
  /// Makes (y, yp) consistent at time t: solves the control equation for I and sets y' = f(y).
  virtual void consistent_init(double t, double* y, double* yp) = 0;
  virtual CellOutputs outputs(const double* y) const = 0;
  /// Observables: a few smooth functionals of the state from which outputs() can be rebuilt
  /// (used to sample outputs between accepted steps by Hermite interpolation).
  virtual int num_observables() const = 0;
  /// Observables at y and their time derivatives given y'.
  virtual void observables(const double* y, const double* yp, double* v, double* vdot) const = 0;
  virtual CellOutputs outputs_from_observables(const double* v) const = 0;
  /// Lithium held in the particles and in the electrolyte [mol].
  virtual double particle_lithium_mol(const double* y) const = 0;
  virtual double electrolyte_lithium_mol(const double* y) const = 0;
  /// The state k cycles ahead of y, from the change over the last cycle (y_prev -> y), for cycle
  /// jumping: slow degradation states move linearly; each electrode's particle lithium moves
  /// linearly and shifts the concentration profile of y uniformly, so that the total lithium
  /// (particles plus every sink) is conserved exactly; the fast states keep y's values.
  virtual std::vector<double> extrapolate(const double* y_prev, const double* y, double k) const = 0;
  /// Degradation ledger held in the state.
  virtual Degradation degradation(const double* y) const = 0;
  /// The slow states whose growth follows an Arrhenius law in the cell's temperature, with its
  /// activation energy [J/mol] (SEI growth); cycle jumping under seasons weights their increments by
  /// it (docs/models.md, "Cycle jumping", step 8). None by default.
  virtual std::vector<std::pair<int, double>> arrhenius_states() const { return {}; }
  /// Absolute tolerances per unknown for IDA.
  virtual std::vector<double> absolute_tolerances() const = 0;
  virtual std::vector<std::string> unknown_names() const = 0;
  std::string component_name(int i) const override;
  /// Through-thickness profiles of the state (none for the single-particle models).
  virtual std::vector<Profile> profiles(const double* y) const { return {}; }

  void set_events(std::vector<Event> ev) { events_ = std::move(ev); }
  const std::vector<Event>& events() const { return events_; }
  double event_quantity(const Event& e, const CellOutputs& o) const;
  int num_roots() const override { return static_cast<int>(events_.size()); }
  void roots(double t, const double* y, const double* yp, double* g) override;

 protected:
  std::vector<Event> events_;
};

using ModelFactory = std::function<std::unique_ptr<CellModel>(const ParameterSet&, const ModelOptions&)>;

/// Registers a model under a name (lower case). Built-in: "spm", "spme".
void register_model(const std::string& name, const std::string& description, ModelFactory f);
/// Creates a model by name; throws InputError listing the known names when it is unknown.
std::unique_ptr<CellModel> make_model(const std::string& name, const ParameterSet& p, const ModelOptions& o);
/// Registered names with their one-line descriptions.
std::vector<std::pair<std::string, std::string>> model_names();

}  // namespace packlife
