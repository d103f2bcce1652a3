#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "helpers.hpp"
#include "packlife/core/error.hpp"

using namespace packlife;

namespace {
const ParameterSet& okane() {
  static const ParameterSet p = load_parameter_set("okane2022");
  return p;
}

ModelOptions with_ageing(const std::string& list, Thermal th = Thermal::Isothermal) {
  ModelOptions o;
  o.ageing = parse_ageing(list, okane());
  o.thermal = th;
  return o;
}

int index_of(const CellModel& m, const std::string& name) {
  const auto v = m.unknown_names();
  return static_cast<int>(std::find(v.begin(), v.end(), name) - v.begin());
}

/// Lithium everywhere: particles, electrolyte and every degradation sink [mol].
double total_lithium(const CellModel& m, const double* y) {
  return m.particle_lithium_mol(y) + m.electrolyte_lithium_mol(y) + m.degradation(y).lithium_lost_mol();
}

/// Cyclable lithium lost after resting `days` at `soc` and temperature T.
double storage_loss_pct(double days, double soc, double T_C) {
  ModelOptions o = with_ageing("sei");
  o.ambient_K = 273.15 + T_C;
  auto m = make_model("spm", okane(), o);
  SimulationOptions so;
  so.initial_soc = soc;
  so.output_dt_s = 3600;
  Experiment e = parse_experiment(fmt::format("Rest for {} days", days));
  return simulate(*m, e, so).cycles.back().lli_pct;
}
}  // namespace

TEST_CASE("ageing: analytic Jacobian matches finite differences", "[ageing][jacobian]") {
  for (const std::string name : {"spm", "spme"})
    for (const std::string list :
         {"sei,plating,lam", "sei-reaction,plating", "sei,plating-irreversible,lam", "sei-reaction-diffusion,plating",
          "sei-interstitial-diffusion,plating"})
      for (Control c : {Control::Current, Control::Voltage}) {
        static const ParameterSet storage = load_parameter_set("okane2022-storage");  // has k_sei
        static const ParameterSet lfp = load_parameter_set("prada2013-storage");      // has D_li, c_li0
        const ParameterSet& ps = list.find("reaction-diffusion") != std::string::npos     ? storage
                                 : list.find("interstitial-diffusion") != std::string::npos ? lfp
                                                                                            : okane();
        ModelOptions o;
        o.thermal = Thermal::Lumped;
        o.ageing = parse_ageing(list, ps);
        o.particle_cells = 6;
        o.electrolyte_cells = 4;
        auto m = make_model(name, ps, o);
        const int n = m->size();
        std::vector<double> y = m->initial_state(0.6, 298.15), yp(n, 0.0);
        const int iT = index_of(*m, "T");
        for (int i = 0; i < iT; ++i) y[i] *= 1.0 + 0.01 * std::sin(1.3 * i);
        y[index_of(*m, "c_plated")] = 5.0;
        y[index_of(*m, "j_side")] = -1e-3;
        y[iT] = 290.0;
        y[n - 1] = -4.0;  // charging: plating is active
        for (int i = 0; i < n; ++i) yp[i] = 1e-3 * std::cos(0.7 * i);
        m->set_control(c, c == Control::Current ? -4.0 : 4.1);
        // Entries far below the row's largest are lost in finite-difference noise (floor 1e-6 x row;
        // e.g. the lithium lost with cracked negative particles through j_side, 1e-10 of that row's
        // cj entry, which a 1e-9 step in j_side cannot resolve).
        const auto check = test::check_jacobian(*m, y, yp, 0.37, 1e-6, 1e-300, 1e-6);
        REQUIRE(check.unlisted_rel < 1e-9);  // pattern must cover every dependency
        const double worst = check.worst;
        INFO(name << " " << list << " control=" << int(c) << " worst at row " << check.worst_row << " ("
                  << m->unknown_names()[check.worst_row] << ") col " << check.worst_col << " ("
                  << m->unknown_names()[check.worst_col] << "): fd " << check.worst_fd << " analytic " << check.worst_analytic);
        CHECK(worst < 5e-4);  // exp-heavy side reactions: central differences are good to ~1e-4 here
      }
}

TEST_CASE("ageing: lithium is conserved including every degradation sink", "[ageing][conservation]") {
  for (const std::string name : {"spm", "spme"})
  for (const std::string list : {"sei", "plating", "sei,plating-irreversible", "lam", "sei,plating,lam"}) {
    // Lithium lost with cracked particles is c_avg d(eps): the product f c_avg is not a linear
    // invariant of the discretisation, so with LAM the balance holds to the integrator tolerance.
    ModelOptions o = with_ageing(list);
    if (list.find("lam") != std::string::npos) o.rtol = 1e-8;
    auto m = make_model(name, okane(), o);
    const std::vector<double> y0 = m->initial_state(1.0, 298.15);
    const Solution s = simulate(*m, parse_experiment("Discharge at 1C until 2.5 V; Rest for 1 hour; "
                                                     "Charge at 2C until 4.2 V; Hold at 4.2 V until C/20"),
                                SimulationOptions{});
    const double l0 = total_lithium(*m, y0.data()), l1 = total_lithium(*m, s.final_state.data());
    INFO(name << " " << list);
    CHECK(std::abs(l1 - l0) / l0 < 1e-6);
    CHECK(m->degradation(s.final_state.data()).lithium_lost_mol() > 0);
  }
}

TEST_CASE("ageing: nothing ages with every mechanism off", "[ageing]") {
  auto m = make_model("spme", okane(), with_ageing("none"));
  const Solution s =
      simulate(*m, parse_experiment("Discharge at 1C until 2.5 V; Charge at C/2 until 4.2 V; Rest for 30 days"), {});
  const CycleSummary& r = s.cycles.back();
  CHECK(r.lli_pct == 0.0);
  CHECK(r.lam_ne_pct == 0.0);
  CHECK(r.lam_pe_pct == 0.0);
  CHECK(r.ledger.lithium_lost_mol() == 0.0);
}

TEST_CASE("ageing: calendar loss grows with temperature and storage SOC, close to sqrt(t)", "[ageing][calendar]") {
  const double base = storage_loss_pct(30, 0.5, 25);
  CHECK(base > 0);
  CHECK(storage_loss_pct(30, 0.5, 45) > 1.5 * base);  // Arrhenius, E = 38 kJ/mol: x2.7 per 20 K
  // Solvent-diffusion-limited growth: L^2 - L0^2 grows linearly in time, so loss(4t)/loss(t) -> 2
  // once L >> L0; from L0 = 5 nm it lies between 2 and 4.
  const double r = storage_loss_pct(120, 0.5, 25) / base;
  CHECK(r > 2.0);
  CHECK(r < 4.0);
  // Reaction-limited SEI depends on the negative's potential: more loss at high SOC.
  auto loss_reaction = [](double soc) {
    auto m = make_model("spm", okane(), with_ageing("sei-reaction"));
    SimulationOptions so;
    so.initial_soc = soc;
    so.output_dt_s = 3600;
    return simulate(*m, parse_experiment("Rest for 30 days"), so).cycles.back().lli_pct;
  };
  CHECK(loss_reaction(0.9) > loss_reaction(0.3));
}

namespace {
/// Cyclable lithium lost [%] after resting `days` at SOC `soc`, 25 C, set `p` with mechanisms `list`.
double rest_loss_pct(const ParameterSet& p, const std::string& list, double days, double soc) {
  ModelOptions o;
  o.ageing = parse_ageing(list, p);
  auto m = make_model("spm", p, o);
  SimulationOptions so;
  so.initial_soc = soc;
  so.output_dt_s = 3600;
  return simulate(*m, parse_experiment(fmt::format("Rest for {} days", days)), so).cycles.back().lli_pct;
}
}  // namespace

TEST_CASE("ageing: reaction-diffusion SEI tends to its two limits and grows between t and sqrt(t)",
          "[ageing][calendar]") {
  // j_sei = -F c_sol k e / (1 + k e L / D_sol) (Single et al. 2018): fast solvent diffusion leaves the
  // reaction-limited law with j0 = F c_sol k; a fast reaction leaves the diffusion-limited law.
  const ParameterSet& base = okane();
  const double k = 4e-16, c = base.ageing.sei_bulk_solvent_concentration_mol_m3;
  auto with = [&](std::vector<std::string> a) {
    ParameterSet p = base;
    apply_parameter_overrides(p, a, "test");
    return p;
  };
  const ParameterSet fast_diffusion =
      with({fmt::format("ageing.sei.rate_constant_m_s={}", k), "ageing.sei.solvent_diffusivity_m2_s=1e-10",
            fmt::format("ageing.sei.exchange_current_A_m2={:.17g}", kFaraday * c * k)});
  CHECK(rest_loss_pct(fast_diffusion, "sei-reaction-diffusion", 60, 0.5) ==
        Approx(rest_loss_pct(fast_diffusion, "sei-reaction", 60, 0.5)).epsilon(1e-3));
  const ParameterSet fast_reaction = with({"ageing.sei.rate_constant_m_s=1"});
  CHECK(rest_loss_pct(fast_reaction, "sei-reaction-diffusion", 60, 0.5) ==
        Approx(rest_loss_pct(fast_reaction, "sei-solvent-diffusion", 60, 0.5)).epsilon(1e-3));
  // The fitted storage set: reaction-limited while the film is thin (near-linear), diffusion-limited
  // later: four times the time gives between sqrt(4) and 4 times the loss, less so the longer it runs.
  const ParameterSet p = load_parameter_set("okane2022-storage");
  REQUIRE(parse_ageing("sei", p).sei_form == AgeingOptions::SeiForm::ReactionDiffusion);
  const double l10 = rest_loss_pct(p, "sei", 10, 0.5), l40 = rest_loss_pct(p, "sei", 40, 0.5),
               l160 = rest_loss_pct(p, "sei", 160, 0.5);
  INFO(l10 << " " << l40 << " " << l160 << " % after 10, 40, 160 days");
  CHECK(l40 / l10 > 2.0);
  CHECK(l40 / l10 < 4.0);
  CHECK(l160 / l40 < l40 / l10);
  CHECK(l160 / l40 > 2.0);
  // The reaction depends on the negative's potential: more loss at high storage SOC.
  CHECK(rest_loss_pct(p, "sei", 30, 0.9) > 1.1 * rest_loss_pct(p, "sei", 30, 0.3));
  CHECK_THROWS_WITH(parse_ageing("sei-reaction-diffusion", okane()),
                    Catch::Contains("ageing.sei.rate_constant_m_s"));
  CHECK_THROWS_WITH(parse_ageing("sei-reaction-diffusion,sei-reaction", p), Catch::Contains("one SEI form"));
}

TEST_CASE("ageing: interstitial-diffusion SEI grows as sqrt(t) and faster at high SOC", "[ageing][calendar]") {
  // j_sei = -F D_li c_li0 exp(-s F dphi / RT) / L (Single et al. 2018): diffusion-limited from the start,
  // so L^2 - L0^2 grows linearly; the interstitial concentration follows the graphite potential.
  const ParameterSet p = load_parameter_set("prada2013-storage");
  REQUIRE(parse_ageing("sei", p).sei_form == AgeingOptions::SeiForm::InterstitialDiffusion);
  REQUIRE(parse_ageing("sei", p).names() == "sei-interstitial-diffusion");
  const double l40 = rest_loss_pct(p, "sei", 40, 0.5), l160 = rest_loss_pct(p, "sei", 160, 0.5),
               l640 = rest_loss_pct(p, "sei", 640, 0.5);
  INFO(l40 << " " << l160 << " " << l640 << " % after 40, 160, 640 days");
  // Loss ~ L - L0 = sqrt(L0^2 + c t) - L0: four times the time, a little more than twice the loss while
  // the initial film L0 still counts, tending to twice.
  CHECK(l160 / l40 > 2.0);
  CHECK(l160 / l40 < 2.5);
  CHECK(l640 / l160 > 2.0);
  CHECK(l640 / l160 < l160 / l40);
  // The SOC dependence is the share s of the potential: with s = 0 it vanishes.
  const double hi = rest_loss_pct(p, "sei", 60, 0.9), lo = rest_loss_pct(p, "sei", 60, 0.3);
  CHECK(hi > 1.2 * lo);
  ParameterSet flat = p;
  apply_parameter_overrides(flat, {"ageing.sei.interstitial_potential_share=0"}, "test");
  CHECK(rest_loss_pct(flat, "sei", 60, 0.9) == Approx(rest_loss_pct(flat, "sei", 60, 0.3)).epsilon(0.02));
  // A set without the interstitial keys names them; the share is bounded to [0, 1].
  CHECK_THROWS_WITH(parse_ageing("sei-interstitial-diffusion", okane()),
                    Catch::Contains("ageing.sei.interstitial_diffusivity_m2_s"));
  ParameterSet bad = p;
  CHECK_THROWS_WITH(apply_parameter_overrides(bad, {"ageing.sei.interstitial_potential_share=1.5"}, "test"),
                    Catch::Contains("interstitial_potential_share"));
}

namespace {
/// Ledger after charging from SOC 0.1 at `c_rate` and `T_C` until `until` (e.g. "60% SOC"), and the
/// charge passed [A h].
std::pair<Degradation, double> after_charge(const std::string& mechanisms, const std::string& model, double c_rate,
                                            double T_C, const std::string& until) {
  ModelOptions o = with_ageing(mechanisms);
  o.ambient_K = 273.15 + T_C;
  auto m = make_model(model, okane(), o);
  SimulationOptions so;
  so.initial_soc = 0.1;
  const Solution s = simulate(*m, parse_experiment(fmt::format("Charge at {}C until {}", c_rate, until)), so);
  return {s.cycles.back().ledger, -s.steps.back().discharge_Ah};
}
}  // namespace

TEST_CASE("ageing: plating per charge grows with charge rate and falls with temperature", "[ageing][plating]") {
  // Lithium plated (reversible + dead) per A h charged from SOC 0.1 towards 60 % SOC (the same window
  // at every rate; above 3C the 4.2 V limit ends the charge a little earlier).
  auto plated_per_Ah = [](double c_rate, double T_C) {
    const auto [d, Ah] = after_charge("plating", "spm", c_rate, T_C, "60% SOC");
    return (d.lithium_plated_mol + d.lithium_dead_mol) / Ah;
  };
  double previous = 0.0;
  for (double c : {0.5, 1.0, 2.0, 3.0}) {
    const double v = plated_per_Ah(c, 25);
    CHECK(v > previous);
    previous = v;
  }
  CHECK(plated_per_Ah(1.0, 5) > 2.0 * plated_per_Ah(1.0, 25));
}

TEST_CASE("ageing: irreversible plating only below 0 V vs Li, growing with rate and cold", "[ageing][plating]") {
  // Yang et al. (2017) form: no plating while the plating overpotential is positive, all of it lost.
  auto dead_per_Ah = [](double c_rate, double T_C) {
    const auto [d, Ah] = after_charge("plating-irreversible", "spme", c_rate, T_C, "80% SOC");
    CHECK(d.lithium_plated_mol == 0.0);  // nothing reversible
    return d.lithium_dead_mol / Ah;
  };
  CHECK(dead_per_Ah(0.1, 25) == 0.0);
  const double half = dead_per_Ah(0.5, 0), one = dead_per_Ah(1.0, 0);
  INFO("0.5C " << half << " 1C " << one << " mol/Ah at 0 C");
  CHECK(half > 0.0);
  CHECK(one > 2.0 * half);
  CHECK(dead_per_Ah(1.0, 25) < 0.5 * one);
}

TEST_CASE("ageing: mechanism names and missing parameters are input errors", "[ageing][errors]") {
  CHECK_THROWS_WITH(parse_ageing("plating,plating-irreversible", okane()), Catch::Contains("one plating form"));
  CHECK(parse_ageing("sei,plating-irreversible", okane()).names() == "sei-solvent-diffusion,plating-irreversible");
  CHECK_THROWS_WITH(parse_ageing("sei,magic", okane()), Catch::Contains("unknown mechanism 'magic'"));
  CHECK_THROWS_WITH(parse_ageing("sei-reaction", test::chen()),
                    Catch::Contains("chen2020") && Catch::Contains("ageing.sei.exchange_current_A_m2"));
  CHECK_THROWS_WITH(parse_ageing("default", test::chen()), Catch::Contains("recommends no mechanisms"));
  CHECK_THROWS_WITH(parse_ageing("sei-reaction,sei-solvent-diffusion", okane()), Catch::Contains("one SEI form"));
  CHECK(parse_ageing("default", okane()).names() == "sei-solvent-diffusion,plating");
  CHECK(parse_ageing("none", okane()).names() == "none");
  // LAM per electrode: names round-trip, "lam" is both, and only the chosen electrode's keys are needed.
  CHECK(parse_ageing("sei,lam-negative", okane()).names() == "sei-solvent-diffusion,lam-negative");
  CHECK(parse_ageing("lam-positive", okane()).names() == "lam-positive");
  CHECK(parse_ageing("lam-negative,lam-positive", okane()).names() == "lam");
  ParameterSet no_positive = okane();
  no_positive.present.erase("ageing.positive.critical_stress_Pa");
  CHECK(parse_ageing("lam-negative", no_positive).lam_negative);
  CHECK_THROWS_WITH(parse_ageing("lam", no_positive), Catch::Contains("ageing.positive.critical_stress_Pa"));
  CHECK_THROWS_WITH(parse_ageing("lam-positive", no_positive), Catch::Contains("ageing.positive.critical_stress_Pa"));
}

TEST_CASE("ageing: LAM in one electrode leaves the other's active material whole", "[ageing][lam]") {
  // A 2C charge after a 1C discharge stresses both electrodes' particles; each option acts on its own electrode.
  auto run = [](const std::string& list) {
    ModelOptions o;
    o.ageing = parse_ageing(list, okane());
    auto m = make_model("spm", okane(), o);
    const Solution s = simulate(*m, parse_experiment("Discharge at 1C until 2.5 V; Charge at 2C until 4.2 V"), {});
    return m->degradation(s.final_state.data());
  };
  const Degradation neg = run("lam-negative"), pos = run("lam-positive"), both = run("lam");
  CHECK(neg.active_fraction_negative < 1.0);
  CHECK(neg.active_fraction_positive == 1.0);
  CHECK(neg.lithium_lam_positive_mol == 0.0);
  CHECK(pos.active_fraction_positive < 1.0);
  CHECK(pos.active_fraction_negative == 1.0);
  CHECK(pos.lithium_lam_negative_mol == 0.0);
  // The electrodes do not interact through LAM at first order: "lam" is the two together.
  CHECK(both.active_fraction_negative == Approx(neg.active_fraction_negative).epsilon(1e-3));
  CHECK(both.active_fraction_positive == Approx(pos.active_fraction_positive).epsilon(1e-3));
}

TEST_CASE("ageing: stress-driven LAM produces an accelerating late-life fade (a knee)", "[ageing][lam][knee]") {
  // Daily-style cycles, cycle jumping. LAM's rate rises as active material is lost (the same current
  // on fewer particles: larger concentration gradients, larger stress), so the fade accelerates;
  // SEI alone decelerates (solvent diffusion through a thickening film). The published okane2022
  // positive LAM constant loses ~10 % per C/3 charge (docs/models.md); 1/1000 of it puts the knee
  // inside a few hundred cycles (tension at the particle centre on lithiation counts as well).
  ParameterSet p = okane();
  apply_parameter_override(p, "ageing.positive.lam_rate_s=2.7778e-10");
  auto fade = [&](const std::string& list) {
    ModelOptions o;
    o.ageing = parse_ageing(list, p);
    auto m = make_model("spm", p, o);
    Experiment e = parse_experiment("Discharge at 1C until 2.5 V; Charge at C/3 until 4.2 V; Hold at 4.2 V until C/20");
    e.cycles = 360;
    SimulationOptions so;
    so.keep_time_series = false;
    so.accelerate.enabled = true;
    const Solution s = simulate(*m, e, so);
    REQUIRE(s.stopped.empty());
    REQUIRE(s.cycles.size() == 360);
    std::vector<double> q;
    for (const auto& c : s.cycles) q.push_back(c.esoh_capacity_Ah);
    return q;
  };
  // Capacity lost over cycles 20-120 and 260-360.
  const auto sei = fade("sei");
  CHECK(sei[259] - sei[359] > 0.0);
  CHECK(sei[259] - sei[359] < sei[19] - sei[119]);  // decelerating
  const auto lam = fade("sei,lam");
  const double early = lam[19] - lam[119], late = lam[259] - lam[359];
  CHECK(early > 0.0);
  CHECK(late > 1.5 * early);  // accelerating: the knee
  // With 60 % of the positive lost it fills before the OCV reaches 2.5 V: the eSOH window ends there
  // (it read 0 Ah when the lower limit was required).
  CHECK(lam.back() > 2.0);
  for (size_t i = 1; i < lam.size(); ++i) CHECK(lam[i] <= lam[i - 1] + 1e-9);
}

TEST_CASE("ageing: an LFP cell survives a deep discharge and rest with plating on", "[ageing][lfp]") {
  // After a full discharge the graphite sits ~1.4 V above lithium; plated lithium left a round-off
  // below zero must not turn into a plating current (exp(a_s F eta / RT) ~ 1e8 there).
  const ParameterSet p = load_parameter_set("prada2013");
  ModelOptions o;
  o.ageing = parse_ageing("default", p);
  o.thermal = Thermal::Lumped;
  auto m = make_model("spme", p, o);
  Experiment e = parse_experiment(
      "Discharge at 1C until 2.0 V; Rest for 10 minutes; Charge at 1C until 3.6 V; Hold at 3.6 V until C/50; Rest for 2 hours");
  e.cycles = 3;
  const Solution s = simulate(*m, e, {});
  REQUIRE(s.stopped.empty());
  REQUIRE(s.cycles.size() == 3);
  const Degradation& d = s.cycles.back().ledger;
  CHECK(d.lithium_plated_mol >= 0.0);
  CHECK(d.lithium_dead_mol > 0.0);
  CHECK(d.lithium_sei_mol > 0.0);
  const double li0 = total_lithium(*m, m->initial_state(1.0, 298.15).data());
  CHECK(total_lithium(*m, s.final_state.data()) == Approx(li0).epsilon(1e-9));
  // Same cycles, less capacity each time.
  CHECK(s.cycles[2].esoh_capacity_Ah < s.cycles[1].esoh_capacity_Ah);
}
