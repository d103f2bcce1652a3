/// Material inventory of a pack's cells and the masses a recycling process recovers
/// (docs/models.md, "Recycling hand-off").
#include <map>

#include "packlife/core/error.hpp"
#include "packlife/models/lifecycle.hpp"

namespace packlife {

namespace {

// Standard atomic weights [g/mol] (IUPAC 2021, conventional values).
constexpr double kLi = 6.94, kNi = 58.693, kCo = 58.933, kMn = 54.938, kFe = 55.845, kP = 30.974, kC = 12.011;

const std::vector<std::string> kElements = {"Li", "Ni", "Co", "Mn", "Fe", "P", "Cu", "Al", "graphite"};

/// Recovery yields by process (fractions of the contained mass; docs/models.md gives the sources and
/// the reasoning: hydrometallurgy leaches the black mass and recovers Li, Ni, Co, Mn and, for LFP, Fe
/// and P; foils are separated mechanically before; graphite is not recovered. Pyrometallurgy smelts the
/// cells: Ni, Co and Cu go to the alloy, Li, Mn, Al, Fe and P to the slag, graphite is burnt).
double yield(const std::string& process, const std::string& e) {
  static const std::map<std::string, double> hydro = {{"Li", 0.90}, {"Ni", 0.98}, {"Co", 0.98}, {"Mn", 0.95},
                                                      {"Fe", 0.90}, {"P", 0.90},  {"Cu", 0.95}, {"Al", 0.90},
                                                      {"graphite", 0.0}};
  static const std::map<std::string, double> pyro = {{"Li", 0.0}, {"Ni", 0.98}, {"Co", 0.98}, {"Mn", 0.0},
                                                     {"Fe", 0.0}, {"P", 0.0},   {"Cu", 0.95}, {"Al", 0.0},
                                                     {"graphite", 0.0}};
  if (process == "hydrometallurgy") return hydro.at(e);
  if (process == "pyrometallurgy") return pyro.at(e);
  throw InputError("", 0, 0, "recycling.process",
                   fmt::format("'{}': expected hydrometallurgy or pyrometallurgy", process));
}

}  // namespace

std::vector<MaterialMass> pack_materials(const PackDesign& d, const ParameterSet& p, const std::string& process) {
  const double A = p.cell.electrode_area_m2();
  std::map<std::string, double> g;  // grams per cell
  for (const auto& e : kElements) g[e] = 0;
  // Positive active material: formula units = c_max eps_am L A (one lithium site per formula unit).
  const double n_pos = p.positive.max_concentration_mol_m3 * p.positive.active_material_fraction *
                       p.positive.thickness_m * A;
  if (d.chemistry == "nmc811") {  // LiNi0.8Mn0.1Co0.1O2
    g["Li"] += n_pos * kLi;
    g["Ni"] += n_pos * 0.8 * kNi;
    g["Mn"] += n_pos * 0.1 * kMn;
    g["Co"] += n_pos * 0.1 * kCo;
  } else if (d.chemistry == "lfp") {  // LiFePO4
    g["Li"] += n_pos * kLi;
    g["Fe"] += n_pos * kFe;
    g["P"] += n_pos * kP;
  } else {
    throw InputError("", 0, 0, "pack.chemistry", fmt::format("no material formula for '{}'", d.chemistry));
  }
  // Negative: graphite, six carbon atoms per lithium site (LiC6); the SiOx share of the okane2022 /
  // chen2020 negative is neglected.
  g["graphite"] += 6.0 * p.negative.max_concentration_mol_m3 * p.negative.active_material_fraction *
                   p.negative.thickness_m * A * kC;
  // Electrolyte salt LiPF6 at its initial concentration in the pores of both electrodes and separator.
  const double pore = A * (p.negative.porosity * p.negative.thickness_m + p.separator.porosity * p.separator.thickness_m +
                           p.positive.porosity * p.positive.thickness_m);
  const double n_salt = p.electrolyte.initial_concentration_mol_m3 * pore;
  g["Li"] += n_salt * kLi;
  g["P"] += n_salt * kP;
  // Current collectors: electrodes are coated on both sides of their foil, so the foil area is half
  // the electrode area of the model (Cu under the negative, Al under the positive).
  g["Cu"] += 1e3 * p.cell.negative_collector_density_kg_m3 * p.cell.negative_collector_thickness_m * A / 2;
  g["Al"] += 1e3 * p.cell.positive_collector_density_kg_m3 * p.cell.positive_collector_thickness_m * A / 2;
  std::vector<MaterialMass> out;
  for (const auto& e : kElements) {
    MaterialMass m;
    m.element = e;
    m.contained_kg = g[e] * d.cells() / 1000.0;
    m.yield = yield(process, e);
    m.recovered_kg = m.yield * m.contained_kg;
    out.push_back(m);
  }
  return out;
}

}  // namespace packlife
