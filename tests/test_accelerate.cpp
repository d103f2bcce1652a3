#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>

#include "helpers.hpp"
#include "packlife/core/error.hpp"
#include "packlife/models/output.hpp"
#include <fmt/format.h>
#include <nlohmann/json.hpp>

using namespace packlife;

namespace {
const ParameterSet& okane() {
  static const ParameterSet p = load_parameter_set("okane2022");
  return p;
}
std::unique_ptr<CellModel> aged_spm(const std::string& list = "sei") {
  ModelOptions o;
  o.ageing = parse_ageing(list, okane());
  return make_model("spm", okane(), o);
}
double total_lithium(const CellModel& m, const double* y) {
  return m.particle_lithium_mol(y) + m.electrolyte_lithium_mol(y) + m.degradation(y).lithium_lost_mol();
}
const char* kCycle = "Discharge at 1C until 2.5 V; Charge at 1C until 4.2 V; Hold at 4.2 V until C/20";
constexpr double kSeasonPeriod_s = 60 * 86400.0;  ///< a 60-day "year"
/// 240 day-long cycles of `steps` under an ambient swinging +-swing_K around mean_K over kSeasonPeriod_s.
Segment seasonal(const char* steps, double mean_K, double swing_K) {
  Experiment e = parse_experiment(steps);
  e.cycles = 240;
  return {e, mean_K, [=](size_t, double t) { return mean_K + swing_K * std::sin(2 * M_PI * t / kSeasonPeriod_s); }};
}
}  // namespace

TEST_CASE("cycle jumping follows the resolved run, conserves lithium and writes every cycle", "[ageing][accelerate]") {
  Experiment e = parse_experiment(kCycle);
  e.cycles = 300;
  SimulationOptions so;
  so.keep_time_series = false;
  auto m = aged_spm();
  const Solution full = simulate(*m, e, so);
  so.accelerate.enabled = true;
  auto ma = aged_spm();
  const Solution acc = simulate(*ma, e, so);
  REQUIRE(acc.cycles.size() == 300);
  REQUIRE(acc.stopped.empty());
  CHECK(acc.resolved_cycles < 60);
  CHECK(acc.jumps > 3);
  for (size_t i = 0; i < acc.cycles.size(); ++i) {
    CHECK(acc.cycles[i].cycle == static_cast<int>(i) + 1);
    if (i > 0) CHECK(acc.cycles[i].lli_pct > acc.cycles[i - 1].lli_pct);  // SEI only grows
  }
  const CycleSummary &rf = full.cycles.back(), &ra = acc.cycles.back();
  // Error control: 2e-4 (0.02 points) per jump bounds the first-order landing's error; the landing is
  // then corrected to second order, so the run ends far closer than 0.02 points times the jumps.
  CHECK(std::abs(ra.lli_pct - rf.lli_pct) < 0.005);
  CHECK(ra.discharge_capacity_Ah == Approx(rf.discharge_capacity_Ah).epsilon(1e-3));
  CHECK(ra.esoh_capacity_Ah == Approx(rf.esoh_capacity_Ah).epsilon(1e-3));
  CHECK(ra.time_s == Approx(rf.time_s).epsilon(2e-3));
  CHECK(ra.charge_throughput_Ah == Approx(rf.charge_throughput_Ah).epsilon(2e-3));
  // The extrapolation moves lithium between the particles and the sinks only.
  const double li0 = total_lithium(*ma, ma->initial_state(1.0, 298.15).data());
  CHECK(total_lithium(*ma, acc.final_state.data()) == Approx(li0).epsilon(1e-9));
  // A 16 times looser tolerance takes fewer resolved cycles and stays close.
  so.accelerate.tol *= 16;
  auto mb = aged_spm();
  const Solution loose = simulate(*mb, e, so);
  CHECK(loose.resolved_cycles <= acc.resolved_cycles);
  CHECK(std::abs(loose.cycles.back().lli_pct - rf.lli_pct) < 0.1);
}

TEST_CASE("without ageing a jump repeats the cycle exactly", "[accelerate]") {
  Experiment e = parse_experiment(kCycle);
  e.cycles = 40;
  SimulationOptions so;
  so.keep_time_series = false;
  so.accelerate.enabled = true;
  auto m = make_model("spm", test::chen(), {});
  const Solution s = simulate(*m, e, so);
  REQUIRE(s.cycles.size() == 40);
  CHECK(s.rejected_jumps == 0);
  CHECK(s.resolved_cycles < 15);
  CHECK(s.cycles.back().discharge_capacity_Ah == Approx(s.cycles[1].discharge_capacity_Ah).epsilon(1e-5));
  CHECK(s.cycles.back().lli_pct == 0.0);
}

TEST_CASE("a checkpoint restores the ledger exactly", "[ageing][checkpoint]") {
  Experiment e = parse_experiment(kCycle);
  e.cycles = 4;
  SimulationOptions so;
  so.output_dt_s = 60;
  auto m = aged_spm("sei,plating");
  const Solution whole = simulate(*m, e, so);
  e.cycles = 2;
  auto m1 = aged_spm("sei,plating");
  const Solution first = simulate(*m1, e, so);
  const std::string dir = test::temp_dir("checkpoint");
  write_checkpoint(first.checkpoint, dir + "/c.json");
  const Checkpoint back = read_checkpoint(dir + "/c.json");
  REQUIRE(back.state == first.checkpoint.state);  // bit for bit through the file
  CHECK(back.time_s == first.checkpoint.time_s);
  CHECK(back.initial_lithium_mol == first.checkpoint.initial_lithium_mol);
  so.restart = &back;
  auto m2 = aged_spm("sei,plating");
  const Solution second = simulate(*m2, e, so);
  REQUIRE(second.cycles.size() == 2);
  CHECK(second.cycles[0].cycle == 3);
  CHECK(second.final_state == whole.final_state);
  const CycleSummary &a = second.cycles.back(), &b = whole.cycles.back();
  CHECK(a.lli_pct == b.lli_pct);
  CHECK(a.ledger.lithium_dead_mol == b.ledger.lithium_dead_mol);
  CHECK(a.charge_throughput_Ah == b.charge_throughput_Ah);
  CHECK(a.energy_throughput_Wh == b.energy_throughput_Wh);
  CHECK(a.time_s == b.time_s);
  CHECK(second.steps.front().cycle == 2);

  // Wrong size and malformed files are input errors naming the key.
  auto fresh = make_model("spm", okane(), {});
  CHECK_THROWS_AS(simulate(*fresh, e, so), InputError);
  auto write = [&](const std::string& text) {
    std::ofstream(dir + "/bad.json") << text;
    return dir + "/bad.json";
  };
  CHECK_THROWS_WITH(read_checkpoint(dir + "/none.json"), Catch::Contains("cannot open"));
  CHECK_THROWS_WITH(read_checkpoint(write("{")), Catch::Contains("not a JSON checkpoint"));
  CHECK_THROWS_WITH(read_checkpoint(write(R"({"format":"other"})")), Catch::Contains("format"));
  nlohmann::json j = nlohmann::json::parse(std::ifstream(dir + "/c.json"));
  j.erase("time_s");
  CHECK_THROWS_WITH(read_checkpoint(write(j.dump())), Catch::Contains("time_s") && Catch::Contains("missing"));
  j = nlohmann::json::parse(std::ifstream(dir + "/c.json"));
  j["state"][3] = "zebra";
  CHECK_THROWS_WITH(read_checkpoint(write(j.dump())), Catch::Contains("state") && Catch::Contains("zebra"));
}

TEST_CASE("a run continues from the state kept at the end of any cycle, as from its checkpoint", "[ageing][checkpoint]") {
  // The lifecycle cuts a run at the cycle that ends by a retirement check-up and continues from there
  // (instead of re-running): the kept state must continue exactly as the whole run did.
  Experiment e = parse_experiment(kCycle);
  e.cycles = 4;
  SimulationOptions so;
  so.keep_time_series = false;
  so.keep_cycle_states = true;
  auto m = aged_spm("sei,plating");
  const Solution whole = simulate(*m, e, so);
  REQUIRE(whole.cycle_states.size() == whole.cycles.size());
  CHECK(whole.cycle_states.back() == whole.final_state);
  const Checkpoint at2 = cycle_checkpoint(whole, 1);
  CHECK(at2.cycles_done == 2);
  CHECK(at2.time_s == whole.cycles[1].time_s);
  e.cycles = 2;
  so.restart = &at2;
  auto m2 = aged_spm("sei,plating");
  const Solution rest = simulate(*m2, e, so);
  REQUIRE(rest.cycles.size() == 2);
  CHECK(rest.cycles.front().cycle == 3);
  CHECK(rest.final_state == whole.final_state);
  CHECK(rest.cycles.back().charge_throughput_Ah == whole.cycles.back().charge_throughput_Ah);
  CHECK(rest.cycles.back().time_s == whole.cycles.back().time_s);
  // Rows without kept states, or past the end, are errors.
  CHECK_THROWS_WITH(cycle_checkpoint(whole, 4), Catch::Contains("no state kept"));
  so.keep_cycle_states = false;
  so.restart = nullptr;
  auto m3 = aged_spm("sei,plating");
  const Solution plain = simulate(*m3, e, so);
  CHECK(plain.cycle_states.empty());
  CHECK_THROWS_WITH(cycle_checkpoint(plain, 0), Catch::Contains("keep_cycle_states"));
}

TEST_CASE("cycle jumping with one resolved cycle per landing follows the resolved run with plating in a cold season",
          "[ageing][accelerate]") {
  // SEI and partially reversible plating under a 60-day "year" around 10 C: the reversible plated
  // lithium swings with the season and is treated as a fast state (not extrapolated); the dead lithium
  // it feeds accumulates and is. One resolved cycle per landing must follow the resolved run as closely
  // as two, with fewer resolved cycles (docs/models.md, "Cycle jumping").
  ModelOptions o;
  o.thermal = Thermal::Lumped;
  o.ageing = parse_ageing("sei,plating", okane());
  const double period_s = kSeasonPeriod_s;
  const Segment seg = seasonal(
      "Discharge at 0.5C for 60 minutes; Charge at 1C with CV at 4.2 V until 90% SOC; Rest to fill 24 hours", 283.15, 10.0);
  SimulationOptions so;
  so.keep_time_series = false;
  so.initial_soc = 0.9;
  auto run = [&](bool accelerate, int m) {
    auto model = make_model("spm", okane(), o);
    so.accelerate.enabled = accelerate;
    so.accelerate.tol = 1e-3;
    so.accelerate.forcing_period_s = period_s;
    so.accelerate.resolved_per_landing = m;
    return simulate(*model, std::vector<Segment>{seg}, so);
  };
  const Solution full = run(false, 2), two = run(true, 2), one = run(true, 1);
  REQUIRE(one.cycles.size() == 240);
  REQUIRE(one.stopped.empty());
  const CycleSummary &f = full.cycles.back(), &a = one.cycles.back(), &b = two.cycles.back();
  INFO("LLI full " << f.lli_pct << " %, two per landing " << b.lli_pct << ", one " << a.lli_pct << "; dead lithium "
                   << f.ledger.lithium_dead_mol << " / " << b.ledger.lithium_dead_mol << " / " << a.ledger.lithium_dead_mol
                   << " mol; resolved " << two.resolved_cycles << " / " << one.resolved_cycles);
  REQUIRE(f.ledger.lithium_dead_mol > 0.05 * f.ledger.lithium_lost_mol());  // plating matters here
  CHECK(std::abs(a.lli_pct - f.lli_pct) < 0.03 * f.lli_pct);
  CHECK(std::abs(a.ledger.lithium_dead_mol - f.ledger.lithium_dead_mol) < 0.05 * f.ledger.lithium_dead_mol);
  CHECK(one.resolved_cycles < 0.75 * two.resolved_cycles);
  // Every landing is followed by its one resolved cycle, at most a third of the period apart.
  int last = 0;
  for (const auto& c : one.cycles)
    if (c.resolved) {
      CHECK(c.cycle - last <= 20);
      last = c.cycle;
    }
  so.accelerate.resolved_per_landing = 3;
  auto model = make_model("spm", okane(), o);
  CHECK_THROWS_WITH(simulate(*model, std::vector<Segment>{seg}, so), Catch::Contains("1 or 2"));
}

TEST_CASE("after a change of cycle, the first jump carries a share of the last one's span", "[ageing][accelerate]") {
  // Two stretches of a day-long cycle whose discharge differs by 10 % (a re-planned duty): starting the
  // second stretch's jumps at a quarter of the first's span saves resolved cycles and keeps the ledger.
  auto stretch = [](const char* rate) {
    Experiment e = parse_experiment(fmt::format(
        "Discharge at {} for 60 minutes; Charge at 0.5C with CV at 4.2 V until 90% SOC; Rest to fill 24 hours", rate));
    e.cycles = 150;
    return Segment{e, 298.15, {}};
  };
  const std::vector<Segment> segs = {stretch("0.5C"), stretch("0.55C")};
  SimulationOptions so;
  so.keep_time_series = false;
  so.initial_soc = 0.9;
  auto run = [&](bool accelerate, double carry) {
    auto m = aged_spm("sei");
    so.accelerate.enabled = accelerate;
    so.accelerate.tol = 2e-4;
    so.accelerate.carry_jump = carry;
    return simulate(*m, segs, so);
  };
  const Solution full = run(false, 0), fresh = run(true, 0), carried = run(true, 0.25);
  REQUIRE(carried.cycles.size() == 300);
  const double lli = full.cycles.back().lli_pct;
  INFO("LLI full " << lli << " %, restarted at 2 " << fresh.cycles.back().lli_pct << " (" << fresh.resolved_cycles
                   << " resolved), carried " << carried.cycles.back().lli_pct << " (" << carried.resolved_cycles << ")");
  CHECK(std::abs(carried.cycles.back().lli_pct - lli) < 0.01 * lli);
  CHECK(carried.resolved_cycles < fresh.resolved_cycles);
  so.accelerate.carry_jump = 1.5;
  auto m = aged_spm("sei");
  CHECK_THROWS_WITH(simulate(*m, segs, so), Catch::Contains("carried jump share"));
}

TEST_CASE("eSOH and reference check-up capacities", "[ageing][health]") {
  auto m = aged_spm();
  const std::vector<double> y0 = m->initial_state(1.0, 298.15);
  const ElectrodeBalance eb = aged_balance(*m, y0.data());
  CHECK(eb.capacity_Ah == Approx(m->balance().capacity_Ah).epsilon(1e-9));  // fresh cell, 25 C
  const double q0 = checkup_capacity_Ah(*m, y0.data());
  CHECK(q0 < eb.capacity_Ah);          // the C/3 discharge ends early by its overpotentials
  CHECK(q0 > 0.95 * eb.capacity_Ah);
  // After cycling both fall, and the check-up stays below the balance estimate.
  Experiment e = parse_experiment(kCycle);
  e.cycles = 30;
  SimulationOptions so;
  so.keep_time_series = false;
  so.checkup_every = 10;
  const Solution s = simulate(*m, e, so);
  for (const CycleSummary& r : s.cycles) {
    if (r.cycle % 10 == 0) {
      CHECK(r.checkup_capacity_Ah > 0.9 * q0);
      CHECK(r.checkup_capacity_Ah < r.esoh_capacity_Ah);
    } else {
      CHECK(r.checkup_capacity_Ah == -1);
    }
  }
  CHECK(s.cycles.back().esoh_capacity_Ah < eb.capacity_Ah);
  CHECK(s.cycles.back().checkup_capacity_Ah < q0);
}

TEST_CASE("a step that fails twice stops the run and keeps what came before", "[robustness]") {
  auto m = make_model("spm", test::chen(), {});
  Experiment rest = parse_experiment("Rest for 1 minute");
  rest.cycles = 2;
  Experiment hard = parse_experiment("Discharge at 1C until 2.5 V");
  SimulationOptions so;
  so.max_internal_steps = 30;  // enough for a rest, too few for a full discharge even at tight tolerances
  const Solution s = simulate(*m, {{rest, 298.15, {}}, {hard, 298.15, {}}}, so);
  REQUIRE(s.cycles.size() == 2);
  CHECK_THAT(s.stopped, Catch::Contains("cycle 3") && Catch::Contains("Discharge at 1C until 2.5 V") &&
                            Catch::Contains("V = ") && Catch::Contains("ten times tighter"));
  CHECK(s.checkpoint.cycles_done == 2);
  CHECK(!s.time_s.empty());
}

TEST_CASE("cycle jumping options are checked", "[accelerate][errors]") {
  auto m = aged_spm();
  Experiment e = parse_experiment(kCycle);
  SimulationOptions so;
  so.accelerate.enabled = true;
  for (double tol : {0.0, -1e-3, 0.5, std::nan("")}) {
    so.accelerate.tol = tol;
    CHECK_THROWS_AS(simulate(*m, e, so), InputError);
  }
  so.accelerate.tol = 1e-3;
  so.accelerate.max_jump = 1;
  CHECK_THROWS_AS(simulate(*m, e, so), InputError);
  so.accelerate.max_jump = 100;
  so.checkup_every = -1;
  CHECK_THROWS_AS(simulate(*m, e, so), InputError);
}

TEST_CASE("a step an aged cell cannot start stops the run, and a check-up it cannot run reads 0",
          "[robustness]") {
  // A hold the cell cannot reach: bad input in the first cycle, the end of the run afterwards.
  auto m = make_model("spm", test::chen(), {});
  Experiment rest = parse_experiment("Rest for 1 minute");
  Experiment hold = parse_experiment("Hold at 0.5 V until C/50");
  CHECK_THROWS_AS(simulate(*m, hold, SimulationOptions{}), InputError);
  const Solution s = simulate(*m, {{rest, 298.15, {}}, {hold, 298.15, {}}}, SimulationOptions{});
  REQUIRE(s.cycles.size() == 1);
  CHECK_THAT(s.stopped, Catch::Contains("cycle 2") && Catch::Contains("cannot start") && Catch::Contains("SOC = "));
  // The published okane2022 LAM constants empty the positive electrode within days (docs/models.md):
  // the run goes on, capacity collapsing, until a step can no longer start (cycle 27: 99.97 % of the
  // positive lost), which ends it with the cycles done kept.
  Experiment e = parse_experiment("Discharge at 1C until 2.5 V; Charge at C/3 until 4.2 V; Hold at 4.2 V until C/50");
  e.cycles = 30;
  SimulationOptions so;
  so.keep_time_series = false;
  so.checkup_every = 1;
  auto lam = aged_spm("sei,lam");
  const Solution t = simulate(*lam, e, so);
  REQUIRE(t.cycles.size() >= 20);
  if (t.cycles.size() < 30) CHECK_THAT(t.stopped, Catch::Contains("cannot start"));
  CHECK(t.cycles.front().checkup_capacity_Ah > 0);
  const double fresh_Ah = okane().cell.nominal_capacity_Ah;
  CHECK(t.cycles.back().checkup_capacity_Ah < 1e-3 * fresh_Ah);
  CHECK(t.cycles.back().esoh_capacity_Ah < 1e-2 * fresh_Ah);
  CHECK(t.checkpoint.cycles_done == static_cast<int>(t.cycles.size()));
  // A hundred times faster, the positive is gone within the first cycle: its check-up's voltage window
  // is unreachable (reported as 0 Ah with a warning, like eSOH) and the next cycle cannot start.
  ParameterSet fast = okane();
  fast.ageing.lam_positive.rate_s *= 100.0;
  ModelOptions fo;
  fo.ageing = parse_ageing("sei,lam", fast);
  auto dead = make_model("spm", fast, fo);
  const Solution u = simulate(*dead, e, so);
  REQUIRE(u.cycles.size() >= 1);
  CHECK(u.cycles.back().checkup_capacity_Ah == 0.0);
  CHECK(std::any_of(u.warnings.begin(), u.warnings.end(),
                    [](const std::string& w) { return w.find("check-up could not run") != std::string::npos; }));
  CHECK_THAT(u.stopped, Catch::Contains("cannot start"));
  CHECK(u.checkpoint.cycles_done == static_cast<int>(u.cycles.size()));
}

TEST_CASE("jump memory: a run continued with the same cycle jumps at once and follows one long run",
          "[ageing][accelerate]") {
  Experiment e = parse_experiment(kCycle);
  SimulationOptions so;
  so.keep_time_series = false;
  so.accelerate.enabled = true;
  e.cycles = 200;
  auto m1 = aged_spm();
  const Solution whole = simulate(*m1, e, so);
  e.cycles = 100;
  auto m2 = aged_spm();
  const Solution first = simulate(*m2, e, so);
  REQUIRE(first.checkpoint.jump.valid);
  CHECK(first.checkpoint.jump.previous_state.size() == first.checkpoint.state.size());
  SimulationOptions cont = so;
  cont.restart = &first.checkpoint;
  const Solution second = simulate(*m2, e, cont);
  REQUIRE(second.cycles.size() == 100);
  // No warm-up: the continued run starts with a jump (its first rows are extrapolated, not resolved).
  CHECK_FALSE(second.cycles.front().resolved);
  // Without the memory (a checkpoint from a file has none) it re-resolves two warm-up cycles.
  Checkpoint forgetful = first.checkpoint;
  forgetful.jump = {};
  cont.restart = &forgetful;
  auto m3 = aged_spm();
  const Solution again = simulate(*m3, e, cont);
  CHECK(again.cycles[0].resolved);
  CHECK(again.cycles[1].resolved);
  // Both continuations end where one 200-cycle run ends, within the jump tolerance.
  CHECK(second.cycles.back().lli_pct == Approx(whole.cycles.back().lli_pct).margin(100 * 4 * so.accelerate.tol));
  CHECK(second.cycles.back().time_s == Approx(whole.cycles.back().time_s).epsilon(1e-3));
  // A different cycle does not use the memory.
  Experiment other = parse_experiment("Discharge at 0.5C until 2.5 V; Charge at 1C until 4.2 V; Hold at 4.2 V until C/20");
  other.cycles = 10;
  cont.restart = &first.checkpoint;
  auto m4 = aged_spm();
  const Solution changed = simulate(*m4, other, cont);
  CHECK(changed.cycles[0].resolved);
}

TEST_CASE("segments: the ambient can be set step by step", "[accelerate]") {
  ModelOptions o;
  o.thermal = Thermal::Lumped;
  auto m = make_model("spm", okane(), o);
  Experiment e = parse_experiment("Rest for 10 hours; Rest for 10 hours");
  Segment seg{e, 298.15, [](size_t step, double) { return step == 0 ? 318.15 : 278.15; }};
  SimulationOptions so;
  so.keep_time_series = true;
  so.output_dt_s = 600;
  const Solution s = simulate(*m, std::vector<Segment>{seg}, so);
  REQUIRE(s.steps.size() == 2);
  // A 10-hour rest brings the cell to its surroundings: 45 C after the first step, 5 C after the second.
  double T_mid = 0;
  for (size_t i = 0; i < s.size(); ++i)
    if (std::abs(s.time_s[i] - 36000) < 1) T_mid = s.temperature_K[i];
  CHECK(T_mid == Approx(318.15).margin(0.5));
  CHECK(s.temperature_K.back() == Approx(278.15).margin(0.5));
  CHECK(s.cycles.back().temperature_max_K == Approx(318.15).margin(0.5));
  CHECK(s.cycles.back().temperature_mean_K > 285);
  CHECK(s.cycles.back().temperature_mean_K < 312);
}

TEST_CASE("cycle jumping under a periodic ambient: Arrhenius-weighted SEI increments integrate the seasons",
          "[ageing][accelerate]") {
  // The same 60-day "year" of +-15 K: with the SEI increment across a jump weighted by the Arrhenius
  // factor of the seasons' temperatures (step 8 of "Cycle jumping"), two or three landings a period
  // follow the resolved run closer than the increment interpolated linearly between the landings.
  ModelOptions o;
  o.thermal = Thermal::Lumped;
  o.ageing = parse_ageing("sei", okane());
  const Segment seg = seasonal("Discharge at 0.5C for 30 minutes; Charge at 0.5C for 30 minutes; Rest to fill 24 hours",
                               298.15, 15.0);
  auto run = [&](bool accelerate, bool weighted, int landings) {
    SimulationOptions so;
    so.keep_time_series = false;
    so.accelerate.enabled = accelerate;
    so.accelerate.tol = 1e-3;
    so.accelerate.forcing_period_s = kSeasonPeriod_s;
    so.accelerate.landings_per_period = landings;
    so.accelerate.forcing_weighted = weighted;
    auto m = make_model("spm", okane(), o);
    return simulate(*m, std::vector<Segment>{seg}, so);
  };
  const Solution full = run(false, false, 3);
  const double lli = full.cycles.back().lli_pct;
  for (int landings : {2, 3}) {
    CAPTURE(landings);
    const Solution linear = run(true, false, landings), weighted = run(true, true, landings);
    REQUIRE(weighted.cycles.size() == 240);
    const double err_linear = std::abs(linear.cycles.back().lli_pct - lli);
    const double err_weighted = std::abs(weighted.cycles.back().lli_pct - lli);
    INFO("LLI full " << lli << " %, linear off by " << err_linear << ", weighted by " << err_weighted);
    CHECK(err_weighted < err_linear / 2);
    CHECK(err_weighted < 0.005 * lli);
    // Every row's ledger, jumped or resolved, follows the resolved run's (not only the end).
    double worst = 0;
    for (size_t i = 0; i < weighted.cycles.size(); ++i)
      worst = std::max(worst, std::abs(weighted.cycles[i].lli_pct - full.cycles[i].lli_pct));
    CHECK(worst < 0.01 * lli);
    CHECK(weighted.resolved_cycles < 240 / 3);
  }
}

TEST_CASE("cycle jumping under a periodic ambient: landings spread over the period follow the resolved run",
          "[ageing][accelerate]") {
  // A day-long cycle in a climate with a 60-day "year" (+-15 K): the SEI grows fastest in the warm
  // half. Jumps that ignore the period sample it unevenly; landings at most a third of it apart
  // integrate it (docs/models.md, "Cycle jumping").
  ModelOptions o;
  o.thermal = Thermal::Lumped;
  o.ageing = parse_ageing("sei", okane());
  const double period_s = kSeasonPeriod_s;
  const Segment seg = seasonal("Discharge at 0.5C for 30 minutes; Charge at 0.5C for 30 minutes; Rest to fill 24 hours",
                               298.15, 15.0);
  SimulationOptions so;
  so.keep_time_series = false;
  auto run = [&](bool accelerate, double forcing) {
    auto m = make_model("spm", okane(), o);
    so.accelerate.enabled = accelerate;
    so.accelerate.tol = 1e-3;
    so.accelerate.forcing_period_s = forcing;
    return simulate(*m, std::vector<Segment>{seg}, so);
  };
  const Solution full = run(false, 0), plain = run(true, 0), spread = run(true, period_s);
  REQUIRE(spread.cycles.size() == 240);
  const double lli = full.cycles.back().lli_pct;
  const double err_plain = std::abs(plain.cycles.back().lli_pct - lli);
  const double err_spread = std::abs(spread.cycles.back().lli_pct - lli);
  INFO("LLI full " << lli << " %, plain jumps off by " << err_plain << ", spread landings by " << err_spread);
  // Measured: plain 0.079 points (13 % of the LLI), spread 0.009 (1.5 %).
  CHECK(err_spread < 0.02 * lli);
  CHECK(err_spread < err_plain / 5);
  // No two resolved cycles more than a third of the period apart (20 cycles), none jumped before that.
  int last = 0;
  for (const auto& c : spread.cycles)
    if (c.resolved) {
      CHECK(c.cycle - last <= 20);
      last = c.cycle;
    }
  CHECK(spread.resolved_cycles < 240 / 2);
  // The option is checked.
  so.accelerate.landings_per_period = 0;
  auto m = make_model("spm", okane(), o);
  CHECK_THROWS_AS(simulate(*m, std::vector<Segment>{seg}, so), InputError);
}
