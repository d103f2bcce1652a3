#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>

#include "packlife/core/error.hpp"
#include "helpers.hpp"
#include "packlife/models/experiment.hpp"

using namespace packlife;
using K = ExperimentStep::Kind;
using U = ExperimentStep::Until;

TEST_CASE("experiment steps in the cycler language", "[experiment]") {
  auto s = parse_step("Discharge at 1C until 2.5 V");
  CHECK(s.kind == K::Current);
  CHECK_FALSE(s.charge);
  CHECK(s.c_rate);
  CHECK(s.value == 1.0);
  CHECK(s.until == U::Voltage);
  CHECK(s.until_value == 2.5);
  s = parse_step("Charge at 0.5C until 4.2 V");
  CHECK(s.charge);
  CHECK(s.value == 0.5);
  s = parse_step("Hold at 4.2 V until C/50");
  CHECK(s.kind == K::Voltage);
  CHECK(s.value == 4.2);
  CHECK(s.until == U::Current);
  CHECK(s.until_c_rate);
  CHECK(s.until_value == Approx(0.02));
  s = parse_step("Rest for 1 hour");
  CHECK(s.kind == K::Rest);
  CHECK(*s.duration_s == 3600);
  s = parse_step("Discharge at 2 A for 10 minutes");
  CHECK(s.kind == K::Current);
  CHECK_FALSE(s.c_rate);
  CHECK(s.value == 2.0);
  CHECK(*s.duration_s == 600);
  s = parse_step("Discharge at 20 W until 3.0 V");
  CHECK(s.kind == K::Power);
  CHECK(s.value == 20);
  s = parse_step("Charge at 1C until 80% SOC");
  CHECK(s.until == U::Soc);
  CHECK(s.until_value == Approx(0.8));
  s = parse_step("  discharge AT C/20   until 2.5v ");
  CHECK(s.value == Approx(0.05));
  CHECK(s.text == "discharge AT C/20   until 2.5v");
  s = parse_step("Discharge at 1C for 2 hours or until 3.3 V");
  CHECK(*s.duration_s == 7200);
  CHECK(s.until_value == 3.3);
  s = parse_step("Hold at 4.1 V until 50 mA");
  CHECK(s.until_value == Approx(0.05));
  s = parse_step("Charge at 500 mA for 30 s");
  CHECK(s.value == Approx(0.5));
  CHECK(*s.duration_s == 30);
  CHECK_FALSE(s.cv_V);
  s = parse_step("Charge at 2C with CV at 4.2 V until 80% SOC");
  CHECK(s.kind == K::Current);
  CHECK(*s.cv_V == 4.2);
  CHECK(s.until == U::Soc);
  s = parse_step("Charge at 30 W with CV at 4150 mV for 1 hour or until C/20");
  CHECK(s.kind == K::Power);
  CHECK(*s.cv_V == Approx(4.15));
  CHECK(*s.duration_s == 3600);
  CHECK(s.until == U::Current);
}

TEST_CASE("experiment lists, cycles and files", "[experiment]") {
  const Experiment e = parse_experiment("Discharge at 1C until 2.5 V; Rest for 1 hour;\nCharge at 1C until 4.2 V # cc");
  REQUIRE(e.steps.size() == 3);
  CHECK(e.steps[2].until_value == 4.2);
  const std::string path = "experiment_test_file.txt";
  {
    std::ofstream f(path);
    f << "# protocol\nDischarge at 1C until 2.5 V\n\nRest for 10 minutes\nCharge at -1C until 4.2 V\n";
  }
  REQUIRE_THROWS_WITH(load_experiment_file(path), Catch::Contains("experiment_test_file.txt:5") &&
                                                      Catch::Contains("Charge at -1C until 4.2 V") &&
                                                      Catch::Contains("must be positive"));
  std::remove(path.c_str());
  REQUIRE_THROWS_WITH(load_experiment_file("no_such_experiment.txt"), Catch::Contains("cannot open"));
}

TEST_CASE("malformed experiment steps are rejected with the step text", "[experiment][errors]") {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"Discharge at -1C until 2.5 V", "must be positive"},
      {"Discharge at abcC until 2.5 V", "not a number"},
      {"Discharge at 1C until 2.5 V or so", "not understood"},
      {"Dance at 1C until 2.5 V", "not understood"},
      {"Discharge at 1C", "needs a duration"},
      {"Rest until 3 V", "can only last"},
      {"Rest", "needs a duration"},
      {"Discharge at 1C until C/50", "cannot end on current"},
      {"Hold at 4.2 V until 3 V", "ends on current"},
      {"Charge at 1C with CV at 4.2 V until 4.1 V", "not on voltage"},
      {"Charge at 1C with CV at -4.2 V until 80% SOC", "must be positive"},
      {"Hold at 4.2 V with CV at 4.2 V until C/50", "could not read"},
      {"Charge at 1C until 120% SOC", "above 100%"},
      {"Discharge at 0C until 2.5 V", "must be positive"},
      {"Discharge at 1C for 10 fortnights", "could not read"},
      {"", "no steps"},
  };
  for (const auto& [text, why] : bad) {
    INFO(text);
    REQUIRE_THROWS_AS(parse_experiment(text), InputError);
    REQUIRE_THROWS_WITH(parse_experiment(text), Catch::Contains(why));
    if (!text.empty()) REQUIRE_THROWS_WITH(parse_experiment(text), Catch::Contains(text));
  }
}

TEST_CASE("experiment: 'Rest to fill' makes a cycle last a fixed time", "[experiment]") {
  const ExperimentStep s = parse_step("Rest to fill 24 hours");
  CHECK(s.kind == ExperimentStep::Kind::Rest);
  REQUIRE(s.fill_s);
  CHECK(*s.fill_s == Approx(86400));
  CHECK_THROWS_WITH(parse_step("Rest to fill"), Catch::Contains("not understood") || Catch::Contains("could not read"));
  CHECK_THROWS_WITH(parse_step("Rest to fill -2 hours"), Catch::Contains("could not read") || Catch::Contains("positive"));
  CHECK_THROWS_WITH(parse_step("Rest to fill 2 fortnights"), Catch::Contains("Rest to fill 2 fortnights"));
  // Three cycles of a 1-hour pattern: each ends exactly on the hour; a pattern already longer than
  // its fill skips the rest.
  Experiment e = parse_experiment("Discharge at 1C for 10 minutes; Charge at 1C for 10 minutes; Rest to fill 1 hour");
  e.cycles = 3;
  SimulationOptions so;
  so.output_dt_s = 60;
  so.initial_soc = 0.5;
  auto m = make_model("spm", test::chen(), {});
  const Solution sol = simulate(*m, e, so);
  REQUIRE(sol.cycles.size() == 3);
  for (int c = 0; c < 3; ++c) CHECK(sol.cycles[c].time_s == Approx(3600.0 * (c + 1)).epsilon(1e-12));
  Experiment over = parse_experiment("Discharge at 1C for 10 minutes; Rest to fill 5 minutes");
  const Solution s2 = simulate(*m, over, so);
  CHECK(s2.steps.back().skipped);
  CHECK(s2.steps.back().end_reason == "cycle already filled");
}
