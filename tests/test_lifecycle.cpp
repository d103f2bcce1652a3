// Lifecycle: scenario keys and errors, physical trends (each compares two runs differing in one key),
// hand-off continuity, recycling totals, and the command line's error paths.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "packlife/core/error.hpp"
#include "packlife/models/lifecycle.hpp"
#include "packlife/models/parameters.hpp"
#include "helpers.hpp"

using namespace packlife;
namespace fs = std::filesystem;

namespace {

/// A short lifecycle (3 years of first life, no second life unless asked) with overrides.
LifecycleResult life(std::vector<std::string> set, double first_years = 3, double second_years = 0) {
  Scenario s;
  set.insert(set.begin(), fmt::format("retire.max_first_life_years={}", first_years));
  set.insert(set.begin(), fmt::format("retire.max_second_life_years={}", second_years));
  apply_scenario_overrides(s, set);
  return run_lifecycle(s);
}

double fade_end(const LifecycleResult& r) { return r.fade_by_year.back(); }

using Cli = test::CliResult;
Cli cli(const std::string& args) { return test::run_cli(args); }

}  // namespace

TEST_CASE("scenario: shipped default.yaml holds every key at its default", "[lifecycle]") {
  const Scenario shipped = load_scenario(data_dir() + "/scenarios/default.yaml");
  const Scenario defaults;
  for (const auto& k : scenario_keys()) CHECK(scenario_value(shipped, k.key) == scenario_value(defaults, k.key));
  // Written out and read back, a scenario is unchanged.
  Scenario s;
  apply_scenario_overrides(s, {"climate.city=harbin", "pack.energy_kWh=100", "seed=42"});
  const Scenario back = parse_scenario(scenario_yaml(s), "round trip");
  for (const auto& k : scenario_keys()) CHECK(scenario_value(back, k.key) == scenario_value(s, k.key));
}

TEST_CASE("scenario: bad keys and values name file, line, column and key", "[lifecycle]") {
  Scenario s;
  REQUIRE_THROWS_WITH(apply_scenario_overrides(s, {"climate.cty=harbin"}),
                      Catch::Contains("climate.cty") && Catch::Contains("did you mean 'climate.city'"));
  REQUIRE_THROWS_WITH(apply_scenario_overrides(s, {"usage.km_per_day=-5"}),
                      Catch::Contains("usage.km_per_day") && Catch::Contains("out of range"));
  REQUIRE_THROWS_WITH(apply_scenario_overrides(s, {"usage.km_per_day=far"}), Catch::Contains("expected a number"));
  REQUIRE_THROWS_WITH(apply_scenario_overrides(s, {"retire.first_life_soh=1.2"}), Catch::Contains("out of range"));
  REQUIRE_THROWS_WITH(apply_scenario_overrides(s, {"climate.city=atlantis"}),
                      Catch::Contains("unknown city 'atlantis'") && Catch::Contains("harbin"));
  REQUIRE_THROWS_WITH(apply_scenario_overrides(s, {"pack.chemistry=lco"}), Catch::Contains("nmc811, lfp"));
  REQUIRE_THROWS_WITH(apply_scenario_overrides(s, {"seed=-1"}), Catch::Contains("non-negative integer"));
  REQUIRE_THROWS_WITH(apply_scenario_overrides(s, {"simulation.particle_cells=7.5"}), Catch::Contains("whole number"));
  REQUIRE_THROWS_WITH(apply_scenario_overrides(s, {"simulation.landings_per_year=2.5"}),
                      Catch::Contains("simulation.landings_per_year") && Catch::Contains("whole number"));
  REQUIRE_THROWS_WITH(apply_scenario_overrides(s, {"simulation.resolved_per_landing=1.5"}),
                      Catch::Contains("simulation.resolved_per_landing") && Catch::Contains("whole number"));
  REQUIRE_THROWS_WITH(apply_scenario_overrides(s, {"simulation.seasonal_extrapolation=quadratic"}),
                      Catch::Contains("simulation.seasonal_extrapolation") && Catch::Contains("arrhenius, linear"));
  REQUIRE_THROWS_WITH(apply_scenario_overrides(s, {"simulation.resolved_per_landing=3"}),
                      Catch::Contains("simulation.resolved_per_landing") && Catch::Contains("out of range"));
  REQUIRE_THROWS_WITH(apply_scenario_overrides(s, {"simulation.rtol=0.5"}),
                      Catch::Contains("simulation.rtol") && Catch::Contains("out of range"));
  REQUIRE_THROWS_WITH(apply_scenario_overrides(s, {"climate.city"}), Catch::Contains("KEY=VALUE"));
  REQUIRE_THROWS_WITH(parse_scenario("pack:\n  energy_kwh: 80\n", "s.yaml"),
                      Catch::Contains("s.yaml:2:3") && Catch::Contains("did you mean 'pack.energy_kWh'"));
  REQUIRE_THROWS_WITH(parse_scenario("usage:\n  mode: [swap]\n", "s.yaml"), Catch::Contains("s.yaml:2:9") &&
                                                                            Catch::Contains("usage.mode"));
  REQUIRE_THROWS_WITH(parse_scenario("usage:\n  mode: swap\n   km_per_day: 4\n", "bad.yaml"),
                      Catch::Contains("bad.yaml:3") && Catch::Contains("malformed YAML"));
  // Combinations of keys: each rule names its key.
  const std::pair<std::vector<std::string>, const char*> combos[] = {
      {{"second_life.soc_min=0.8", "second_life.soc_max=0.5"}, "second_life.soc_min"},
      {{"station.storage_soc=0.5", "station.swap_below_soc=0.48"}, "station.swap_below_soc"},
      {{"usage.charge_to_soc=0.5", "usage.recharge_below_soc=0.5"}, "usage.recharge_below_soc"},
      {{"thermal.heating_below_C=20", "thermal.cooling_above_C=18"}, "thermal.heating_below_C"},
      {{"thermal.fast_charge_preheat_C=40", "thermal.cooling_above_C=35"}, "thermal.fast_charge_preheat_C"},
      {{"second_life.hvac_low_C=30", "second_life.hvac_high_C=20"}, "second_life.hvac_low_C"},
      {{"retire.first_life_soh=0.6", "retire.second_life_soh=0.7"}, "retire.second_life_soh"},
  };
  for (const auto& [set, key] : combos) {
    Scenario c;
    apply_scenario_overrides(c, set);
    REQUIRE_THROWS_WITH(check_scenario(c), Catch::Contains(key));
  }
}

TEST_CASE("lifecycle trend: a hotter city ages the pack faster", "[lifecycle]") {
  const double harbin = fade_end(life({"climate.city=harbin"}));
  const double guangzhou = fade_end(life({"climate.city=guangzhou"}));
  CHECK(guangzhou > harbin + 0.002);
}

TEST_CASE("lifecycle trend: more DC fast charging ages the pack faster", "[lifecycle]") {
  // An owned car charged at 2C for 0, 30 and 80 % of its energy: the graphite's stress-driven LAM grows
  // with the charge rate (exponent m ~ 4.8, per charge ~ C^(m-1)), so DC sessions cost active material.
  auto dc = [](const char* share) {
    return life({"usage.mode=owned", "usage.fast_charge_c_rate=2", fmt::format("usage.fast_charge_share={}", share)});
  };
  const LifecycleResult none = dc("0"), some = dc("0.3"), most = dc("0.8");
  CHECK(fade_end(some) > fade_end(none) + 0.002);
  CHECK(fade_end(most) > fade_end(some) + 0.002);
  // The extra fade comes with lost graphite: LAM of the negative grows with the DC share.
  CHECK(most.samples.back().lam_ne_pct > some.samples.back().lam_ne_pct);
  CHECK(some.samples.back().lam_ne_pct > none.samples.back().lam_ne_pct);
}

TEST_CASE("lifecycle trend: a swap pack charged before it has taken the room's temperature ages faster", "[lifecycle]") {
  // Harbin: a pack swapped out of a car arrives near the car's heating threshold (10 C); charged at once it
  // charges cold (slower graphite diffusion, larger stress), after an hour in the 25 C room it charges warm.
  const double conditioned = fade_end(life({"climate.city=harbin", "station.condition_h=1"}));
  const double cold = fade_end(life({"climate.city=harbin", "station.condition_h=0"}));
  CHECK(cold > conditioned + 0.001);
}

TEST_CASE("lifecycle trend: a higher station storage SOC ages the pack faster", "[lifecycle]") {
  const double low = fade_end(life({"station.storage_soc=0.6"}));
  const double high = fade_end(life({"station.storage_soc=0.95"}));
  CHECK(high > low + 0.002);
}

TEST_CASE("lifecycle trend: cell spread puts the pack below its median cell", "[lifecycle]") {
  const LifecycleResult none = life({"pack.cell_spread_cv=0"}, 2);
  const LifecycleResult spread = life({"pack.cell_spread_cv=0.03"}, 2);
  CHECK(none.weakest_block_deviation == 0.0);
  for (const auto& s : none.samples) CHECK(s.pack_soh == Approx(s.median_soh).epsilon(1e-12));
  // The weakest of 96 blocks of 2 cells: Blom's expected maximum of 96 normals (2.48) x 3 % / sqrt(2).
  CHECK(expected_max_standard_normal(96) == Approx(2.48).margin(0.01));
  CHECK(spread.weakest_block_deviation == Approx(0.03 / std::sqrt(2.0) * expected_max_standard_normal(96)).epsilon(1e-12));
  for (const auto& s : spread.samples) CHECK(s.pack_soh < s.median_soh - 0.04);
  // Ageing rate spread too: the weakest cell loses lithium faster than the median one.
  CHECK(spread.samples.back().weakest_lli_pct > spread.samples.back().lli_pct);
  // Fade is against rated capacity, so the spread pack starts lower and stays lower.
  CHECK(fade_end(spread) > fade_end(none) + 0.04);
}

TEST_CASE("lifecycle trend: in a hot city with 30 % DC fast charging at 2C, swap outlives owned", "[lifecycle]") {
  const std::vector<std::string> hot = {"climate.city=guangzhou", "usage.fast_charge_share=0.3",
                                        "usage.fast_charge_c_rate=2"};
  auto with = [&](const char* mode) {
    auto v = hot;
    v.push_back(mode);
    return v;
  };
  const double swap = fade_end(life(with("usage.mode=swap")));
  const double owned = fade_end(life(with("usage.mode=owned")));
  CHECK(owned > swap);
}

TEST_CASE("lifecycle trend: in calendar-heavy duty LFP outlives NMC811", "[lifecycle]") {
  // An owned car in Shanghai driven 15 km a day: storage dominates. The pack cells' SEI is fitted to the
  // storage laws of the LG M50 (NMC811) and of a large-format LFP (docs/fitting.md, "Storage (calendar)
  // fits"), which in a year at 25 C lose about 4 % and 1.5 %; the NMC811 pack reaches 80 % first.
  auto run = [](const char* chemistry) {
    return life({fmt::format("pack.chemistry={}", chemistry), "usage.mode=owned", "usage.km_per_day=15"}, 15);
  };
  const LifecycleResult nmc = run("nmc811"), lfp = run("lfp");
  INFO("first life: nmc811 " << nmc.first.years << " y (" << nmc.first.end_reason << "), lfp " << lfp.first.years
                              << " y (" << lfp.first.end_reason << ")");
  REQUIRE(nmc.fade_by_year.size() >= 12);
  REQUIRE(lfp.fade_by_year.size() >= 12);
  CHECK(lfp.fade_by_year[11] < nmc.fade_by_year[11] - 0.05);
  // In 35 C the NMC811's more strongly activated SEI ends its first life within the 15 years.
  auto hot = [](const char* chemistry) {
    return life({fmt::format("pack.chemistry={}", chemistry), "climate.city=constant", "climate.constant_C=35",
                 "usage.mode=owned", "usage.km_per_day=15"},
                15);
  };
  const LifecycleResult hot_nmc = hot("nmc811"), hot_lfp = hot("lfp");
  CHECK_THAT(hot_nmc.first.end_reason, Catch::Contains("retire.first_life_soh"));
  CHECK(hot_lfp.first.years > hot_nmc.first.years + 0.5);
}

TEST_CASE("lifecycle trend: preheating the pack for DC fast charging in the cold plates less lithium",
          "[lifecycle]") {
  // A Harbin car taking half its energy through 1.5C DC charging: charged at the thermal management's 10 C
  // floor the graphite drops further below 0 V against lithium near the end of charge than preheated to 25 C
  // (faster solid diffusion and kinetics), and its particles crack more (steeper gradients).
  auto run = [](const char* preheat) {
    return life({"climate.city=harbin", "usage.mode=owned", "usage.fast_charge_share=0.5",
                 fmt::format("thermal.fast_charge_preheat_C={}", preheat)},
                1);
  };
  const LifecycleResult cold = run("10"), warm = run("25");
  const double pc = cold.samples.back().plated_lithium_pct, pw = warm.samples.back().plated_lithium_pct;
  INFO("plated lithium after a year: " << pc << " % charged at 10 C, " << pw << " % preheated to 25 C");
  CHECK(pc > 0.2);
  CHECK(pw < 0.75 * pc);
  CHECK(warm.samples.back().lam_ne_pct < cold.samples.back().lam_ne_pct);
  CHECK(fade_end(warm) < fade_end(cold));
}

TEST_CASE("lifecycle: second life continues the first life's ledger, and recycling adds up", "[lifecycle]") {
  const LifecycleResult r = life({"retire.first_life_soh=0.975", "second_life.application=peak_shaving"}, 6, 1);
  // First life ended on the SOH criterion, at a monthly check-up.
  REQUIRE_THAT(r.first.end_reason, Catch::Contains("retire.first_life_soh"));
  CHECK(r.first.end_soh < 0.975);
  CHECK(r.first.end_soh > 0.96);
  // Health is continuous across the hand-off: second life starts where first life ended.
  CHECK(r.second.start_soh == r.first.end_soh);
  const double t1 = r.first.years;
  const LifecycleSample* before = nullptr;
  const LifecycleSample* after = nullptr;
  for (const auto& s : r.samples) {
    if (s.stage == 1) before = &s;
    if (s.stage == 2 && !after) after = &s;
  }
  REQUIRE(before);
  REQUIRE(after);
  CHECK(after->time_years - before->time_years < 7.5 / 365.25);
  CHECK(std::abs(after->pack_soh - before->pack_soh) < 0.002);
  // SEI keeps growing through the hand-off (reversible plated lithium may strip back, so LLI may dip).
  CHECK(after->sei_thickness_nm >= before->sei_thickness_nm);
  CHECK(r.second.years > 0);
  CHECK(r.second.throughput_MWh > 0);
  CHECK(r.events.front().event == "first life start");
  CHECK(r.events.back().event == "recycling");
  CHECK(r.events.back().time_years == Approx(t1 + r.second.years).epsilon(1e-9));
  // Materials: recovered never exceeds contained; the NMC811 elements are there, the LFP ones are not.
  for (const auto& m : r.materials) {
    CHECK(m.recovered_kg <= m.contained_kg);
    CHECK(m.recovered_kg >= 0);
  }
  auto mass = [&](const char* e) {
    for (const auto& m : r.materials)
      if (m.element == e) return m.contained_kg;
    return -1.0;
  };
  CHECK(mass("Ni") > 0);
  CHECK(mass("Co") > 0);
  CHECK(mass("Fe") == 0);
  // Ni : Co : Mn follow LiNi0.8Mn0.1Co0.1O2.
  CHECK(mass("Ni") / mass("Co") == Approx(8 * 58.693 / 58.933).epsilon(1e-9));
  // About 0.1 kg of lithium and 0.8 kg of nickel per kWh, as NMC811 packs hold.
  CHECK(mass("Li") / 75.0 == Approx(0.12).margin(0.04));
  CHECK(mass("Ni") / 75.0 == Approx(0.8).margin(0.2));
}

TEST_CASE("lifecycle: a pack past the plated-lithium limit at the hand-off goes to recycling", "[lifecycle]") {
  // A Harbin car that does not preheat its pack for DC and takes half its energy through 2C fast charging
  // plates lithium in its first winter.
  const std::vector<std::string> cold_fast = {"climate.city=harbin",         "usage.mode=owned",
                                              "usage.fast_charge_share=0.5", "usage.fast_charge_c_rate=2",
                                              "thermal.fast_charge_preheat_C=10"};
  auto with = [&](const char* limit) {
    auto a = cold_fast;
    a.push_back(limit);
    return a;
  };
  const LifecycleResult r = life(with("retire.plated_lithium=0.003"), 1, 2);
  CHECK(r.second.years == 0.0);
  CHECK_THAT(r.second.end_reason, Catch::Contains("at the hand-off") && Catch::Contains("retire.plated_lithium"));
  CHECK(r.first.years > 0.9);
  for (const auto& e : r.events) CHECK(e.event != "second life start");
  // With a higher limit the same pack does enter second life.
  const LifecycleResult ok = life(with("retire.plated_lithium=0.05"), 1, 0.5);
  CHECK(ok.second.years > 0.4);
}

TEST_CASE("lifecycle: the plated-lithium limit judges the mean of the last 12 months, not the first month past it",
          "[lifecycle]") {
  // Cold winters, no preheating and half the energy through 2C fast charging: most of the plated lithium
  // comes in weeks of the first winter (the pack cells plate irreversibly, below 0 V against lithium only).
  const double limit_pct = 0.55;
  const LifecycleResult r = life({"retire.plated_lithium=0.0055", "thermal.fast_charge_preheat_C=10",
                                  "climate.city=harbin", "usage.mode=owned",
                                  "usage.fast_charge_share=0.5", "usage.fast_charge_c_rate=2",
                                  "second_life.application=low_speed_ev"},
                                 1, 4);
  REQUIRE_THAT(r.second.end_reason, Catch::Contains("mean of the last 12 months"));
  const double t_end = r.first.years + r.second.years;
  double peak_before = 0, mean_last = 0;
  int n = 0;
  for (const auto& s : r.samples) {
    if (s.time_years < t_end - 0.25) peak_before = std::max(peak_before, s.plated_lithium_pct);
    if (s.time_years > t_end - 1.0 && s.time_years <= t_end + 1e-9) {
      mean_last += s.plated_lithium_pct;
      ++n;
    }
  }
  REQUIRE(n > 40);
  // The plated lithium passed the limit months before the end, which came when the year's mean did
  // (weekly samples here, monthly check-ups in the rule).
  CHECK(peak_before > limit_pct);
  CHECK(mean_last / n == Approx(limit_pct).margin(0.03));
}

TEST_CASE("materials: LFP pack holds iron and phosphate, pyrometallurgy loses lithium", "[lifecycle]") {
  const PackDesign d = design_pack("lfp", 75);
  const ParameterSet cell = scaled_cell(load_parameter_set(d.parameter_set), d.area_scale);
  const auto hydro = pack_materials(d, cell, "hydrometallurgy");
  const auto pyro = pack_materials(d, cell, "pyrometallurgy");
  for (size_t i = 0; i < hydro.size(); ++i) {
    CHECK(hydro[i].contained_kg == pyro[i].contained_kg);
    CHECK(hydro[i].recovered_kg <= hydro[i].contained_kg);
    if (hydro[i].element == "Ni" || hydro[i].element == "Co") CHECK(hydro[i].contained_kg == 0);
    if (hydro[i].element == "Fe") CHECK(hydro[i].contained_kg > 0);
    if (hydro[i].element == "Li") {
      CHECK(pyro[i].recovered_kg == 0);
      CHECK(hydro[i].recovered_kg > 0);
    }
  }
  CHECK_THROWS_AS(pack_materials(d, cell, "composting"), InputError);
}

TEST_CASE("cli: lifecycle JSON, HDF5 and bad input (exit 2, nothing written)", "[lifecycle][cli]") {
  fs::remove("life_ok.h5");
  const Cli ok = cli("lifecycle --json --set retire.max_first_life_years=1 --set retire.max_second_life_years=0.5 "
                     "--out life_ok.h5");
  REQUIRE(ok.code == 0);
  const auto j = nlohmann::json::parse(ok.out.substr(ok.out.find('{')));
  for (const char* k : {"first_life_years", "second_life_years", "fade_by_year", "fade_12y", "materials_recovered_kg",
                        "throughput_MWh"})
    CHECK(j.contains(k));
  CHECK(j["fade_12y"].is_null());  // first life capped at 1 year
  CHECK(j["first_life_years"].get<double>() == Approx(1.0).margin(0.02));
  CHECK(j["throughput_MWh"].contains("first_life"));
  CHECK(j["materials_recovered_kg"].contains("Li"));
  CHECK(fs::exists("life_ok.h5"));

  struct Bad {
    std::string args, expect;
  };
  std::ofstream("life_bad.yaml") << "pack:\n  chemistry: nmc811\n  energy_kWh: [75\n";
  std::ofstream("life_typo.yaml") << "climate:\n  cty: harbin\n";
  const Bad bad[] = {
      {"--set usage.km_per_dya=40", "did you mean 'usage.km_per_day'"},
      {"--set usage.km_per_day=-40", "out of range"},
      {"--set retire.first_life_soh=1.5", "out of range"},
      {"--set climate.city=atlantis", "unknown city"},
      {"--set pack.energy_kWh=lots", "expected a number"},
      {"life_bad.yaml", "life_bad.yaml:4:1: malformed YAML"},
      {"life_typo.yaml", "life_typo.yaml:2:3"},
      {"no_such_scenario.yaml", "cannot open"},
  };
  for (const Bad& b : bad) {
    fs::remove("life_bad.h5");
    const Cli r = cli("lifecycle " + b.args + " --out life_bad.h5");
    INFO(b.args << "\n" << r.out);
    CHECK(r.code == 2);
    CHECK_THAT(r.out, Catch::Contains(b.expect));
    CHECK_FALSE(fs::exists("life_bad.h5"));
  }
  // An existing output is not clobbered by a failing run.
  const auto size = fs::file_size("life_ok.h5");
  CHECK(cli("lifecycle --set climate.city=atlantis --out life_ok.h5").code == 2);
  CHECK(fs::file_size("life_ok.h5") == size);
}
