#include "packlife/models/cell_model.hpp"

#include <sstream>

#include <cmath>
#include <map>
#include <mutex>

#include "packlife/core/error.hpp"

namespace packlife {

double CellModel::event_quantity(const Event& e, const CellOutputs& o) const {
  switch (e.quantity) {
    case Event::Quantity::Voltage: return o.voltage_V;
    case Event::Quantity::CurrentMagnitude: return std::abs(o.current_A);
    case Event::Quantity::Soc: return o.soc;
    case Event::Quantity::NegativeSurfaceStoichiometry: return o.negative_surface_stoichiometry;
    case Event::Quantity::PositiveSurfaceStoichiometry: return o.positive_surface_stoichiometry;
  }
  return 0.0;
}

void CellModel::roots(double, const double* y, const double*, double* g) {
  const CellOutputs o = outputs(y);
  for (size_t k = 0; k < events_.size(); ++k) g[k] = event_quantity(events_[k], o) - events_[k].threshold;
}

namespace {
struct Entry {
  std::string description;
  ModelFactory factory;
};
std::map<std::string, Entry>& registry() {
  static std::map<std::string, Entry> r;
  return r;
}
std::mutex& registry_mutex() {
  static std::mutex m;
  return m;
}
}  // namespace

void register_builtin_models();  // spm.cpp

void register_model(const std::string& name, const std::string& description, ModelFactory f) {
  std::lock_guard<std::mutex> lock(registry_mutex());
  registry()[name] = Entry{description, std::move(f)};
}

static void ensure_builtins() {
  static std::once_flag once;
  std::call_once(once, register_builtin_models);
}

std::unique_ptr<CellModel> make_model(const std::string& name, const ParameterSet& p, const ModelOptions& o) {
  ensure_builtins();
  ModelFactory f;
  {
    std::lock_guard<std::mutex> lock(registry_mutex());
    auto it = registry().find(name);
    if (it == registry().end()) {
      std::string known;
      for (const auto& [n, e] : registry()) known += (known.empty() ? "" : ", ") + n;
      throw InputError(fmt::format("unknown model '{}'; known models: {}", name, known));
    }
    f = it->second.factory;
  }
  return f(p, o);
}

std::vector<std::pair<std::string, std::string>> model_names() {
  ensure_builtins();
  std::lock_guard<std::mutex> lock(registry_mutex());
  std::vector<std::pair<std::string, std::string>> v;
  for (const auto& [n, e] : registry()) v.emplace_back(n, e.description);
  return v;
}

std::string CellModel::component_name(int i) const {
  const auto names = unknown_names();  // only on failures: no cache needed
  return i >= 0 && i < static_cast<int>(names.size()) ? names[static_cast<size_t>(i)] : DaeSystem::component_name(i);
}

void check_ambient_temperature(double T_K) {
  if (!(T_K > 150 && T_K < 450))
    throw InputError(fmt::format("ambient temperature {:.2f} K is outside the supported range (150 to 450 K)", T_K));
}

void check_control_current(double I, double nominal_Ah) {
  constexpr double kMaxControlCRate = 50.0;
  const double c_rate = std::abs(I) / nominal_Ah;
  if (c_rate > kMaxControlCRate)
    throw Error("it needs {:.4g} A ({:.0f}C), beyond the {:.0f}C the model is meant for", I, c_rate, kMaxControlCRate);
}

double control_residual(Control c, double value, double I, double V) {
  switch (c) {
    case Control::Current: return I - value;
    case Control::Voltage: return V - value;
    case Control::Power: return I * V - value;
  }
  return I - value;
}

void apply_mesh(const std::string& spec, ModelOptions& o, const std::string& what) {
  if (spec == "coarse") {
    o.electrolyte_cells = 10;
    o.particle_cells = 10;
    return;
  }
  if (spec == "default") {
    o.electrolyte_cells = ModelOptions{}.electrolyte_cells;
    o.particle_cells = ModelOptions{}.particle_cells;
    return;
  }
  if (spec == "fine") {
    o.electrolyte_cells = 40;
    o.particle_cells = 60;
    return;
  }
  const auto comma = spec.find(',');
  auto count = [&](const std::string& t) {
    size_t used = 0;
    int v = 0;
    try {
      v = std::stoi(t, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != t.size())
      throw InputError("", 0, 0, what,
                       fmt::format("mesh '{}': expected coarse, default, fine or E,P (cells per electrolyte region, "
                                   "cells per particle), e.g. 20,30", spec));
    return v;
  };
  if (comma == std::string::npos) count("");  // malformed: throws
  o.electrolyte_cells = count(spec.substr(0, comma));
  o.particle_cells = count(spec.substr(comma + 1));
}

std::string AgeingOptions::names() const {
  std::string s;
  auto add = [&](const char* n) {
    if (!s.empty()) s += ',';
    s += n;
  };
  if (sei)
    add(sei_form == SeiForm::Reaction                ? "sei-reaction"
        : sei_form == SeiForm::ReactionDiffusion     ? "sei-reaction-diffusion"
        : sei_form == SeiForm::InterstitialDiffusion ? "sei-interstitial-diffusion"
                                                     : "sei-solvent-diffusion");
  if (plating) add(plating_irreversible ? "plating-irreversible" : "plating");
  if (lam_negative && lam_positive)
    add("lam");
  else if (lam_negative)
    add("lam-negative");
  else if (lam_positive)
    add("lam-positive");
  return s.empty() ? "none" : s;
}

AgeingOptions parse_ageing(const std::string& text, const ParameterSet& p) {
  AgeingOptions a;
  std::string list = text;
  if (list == "none" || list.empty()) return a;
  if (list == "default") {
    if (!p.present.count("ageing.default_mechanisms"))
      throw InputError(fmt::format("--ageing default: parameter set '{}' recommends no mechanisms "
                                   "(no ageing.default_mechanisms); name them instead", p.name));
    list = p.ageing.default_mechanisms;
  }
  std::stringstream ss(list);
  std::string item;
  while (std::getline(ss, item, ',')) {
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    std::string mech = item;
    if (item == "sei") {
      if (!p.present.count("ageing.sei.form"))
        throw InputError(fmt::format("--ageing sei: parameter set '{}' names no SEI form (ageing.sei.form); "
                                     "use sei-solvent-diffusion, sei-reaction, sei-reaction-diffusion or "
                                     "sei-interstitial-diffusion", p.name));
      mech = "sei-" + p.ageing.sei_form;
    }
    if (mech == "sei-solvent-diffusion" || mech == "sei-reaction" || mech == "sei-reaction-diffusion" ||
        mech == "sei-interstitial-diffusion") {
      using Form = AgeingOptions::SeiForm;
      const auto form = mech == "sei-reaction"               ? Form::Reaction
                        : mech == "sei-reaction-diffusion"     ? Form::ReactionDiffusion
                        : mech == "sei-interstitial-diffusion" ? Form::InterstitialDiffusion
                                                               : Form::SolventDiffusion;
      if (a.sei && a.sei_form != form) throw InputError(fmt::format("--ageing '{}': choose one SEI form", text));
      a.sei = true;
      a.sei_form = form;
    } else if (mech == "plating" || mech == "plating-irreversible") {
      if (a.plating && a.plating_irreversible != (mech == "plating-irreversible"))
        throw InputError(fmt::format("--ageing '{}': choose one plating form", text));
      a.plating = true;
      a.plating_irreversible = mech == "plating-irreversible";
    } else if (mech == "lam" || mech == "lam-negative" || mech == "lam-positive") {
      a.lam_negative = a.lam_negative || mech != "lam-positive";
      a.lam_positive = a.lam_positive || mech != "lam-negative";
    } else {
      throw InputError(fmt::format("--ageing: unknown mechanism '{}'; expected none, default, or a comma list of "
                                   "sei, sei-solvent-diffusion, sei-reaction, sei-reaction-diffusion, "
                                   "sei-interstitial-diffusion, plating, plating-irreversible, lam, "
                                   "lam-negative, lam-positive",
                                   item));
    }
    std::string missing;
    for (const auto& k : required_ageing_keys(mech))
      if (!p.present.count(k)) missing += (missing.empty() ? "" : ", ") + k;
    if (!missing.empty())
      throw InputError(fmt::format("--ageing {}: parameter set '{}' ({}) lacks {}", mech, p.name, p.origin, missing));
  }
  return a;
}

}  // namespace packlife
