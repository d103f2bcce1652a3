#include <catch2/catch.hpp>

#include <fstream>
#include <nlohmann/json.hpp>

#include "helpers.hpp"
#include "packlife/core/error.hpp"
#include "packlife/models/labdata.hpp"
#include "packlife/models/pack.hpp"
#include "packlife/models/parameters.hpp"
#include "packlife/models/validation.hpp"

using namespace packlife;
using test::run_cli;
using test::temp_dir;

using test::write_file;

TEST_CASE("lab data: the three built-in formats are recognised by their header", "[labdata]") {
  const std::string d = temp_dir("labdata_formats");
  SECTION("plain cycle-level CSV with condition columns, several cells") {
    const auto p = write_file(d, "plain.csv", "cell,cycle,capacity_Ah,temperature_C\nA,0,2.0,25\nA,100,1.9,25\nB,0,2.1,45\nB,50,1.8,45\n");
    const auto cells = read_lab_cycles(p);
    REQUIRE(cells.size() == 2);
    CHECK(cells[0].id == "A");
    CHECK(cells[1].capacity_Ah == std::vector<double>{2.1, 1.8});
    CHECK(cells[1].conditions.at("temperature_C") == "45");
    // Interpolated crossing: 2.1 -> 1.8 over 50 cycles reaches 1.95 at cycle 25.
    CHECK(cycles_to(cells[1], 1.95) == Approx(25));
    CHECK(cycles_to(cells[0], 1.0) < 0);
  }
  SECTION("Battery Archive cycle-level export (one cell per file, id from the file name)") {
    const auto p = write_file(d, "CALCE_CS2_35.csv",
                         "Cycle_Index,Start_Time,End_Time,Test_Time (s),Min_Current (A),Max_Current (A),Min_Voltage (V),"
                         "Max_Voltage (V),Charge_Capacity (Ah),Discharge_Capacity (Ah),Charge_Energy (Wh),Discharge_Energy (Wh)\n"
                         "1,0,1,3600,-1,1,2.7,4.2,1.1,1.08,4,3.9\n2,1,2,7200,-1,1,2.7,4.2,1.1,1.07,4,3.8\n");
    const auto cells = read_lab_cycles(p);
    REQUIRE(cells.size() == 1);
    CHECK(cells[0].id == "CALCE_CS2_35");
    CHECK(cells[0].capacity_Ah == std::vector<double>{1.08, 1.07});
  }
  SECTION("Battery Archive time series: discharge capacity per cycle from the current") {
    // Charge positive in the export: 1 A discharge (written -1) for 1 h in cycle 1, 0.5 A for 1 h in cycle 2.
    const auto p = write_file(d, "ts.csv",
                         "Date_Time,Test_Time (s),Cycle_Index,Current (A),Voltage (V),Charge_Capacity (Ah),"
                         "Discharge_Capacity (Ah),Charge_Energy (Wh),Discharge_Energy (Wh),Environment_Temperature (C),"
                         "Cell_Temperature (C)\n"
                         "x,0,1,-1,3.9,0,0,0,0,25,25\nx,3600,1,-1,3.3,0,1,0,3.5,25,26\n"
                         "x,3601,2,-0.5,3.9,0,0,0,0,25,25\nx,7201,2,-0.5,3.4,0,0.5,0,1.8,25,25\n");
    const LabTimeSeries s = read_lab_time_series(p);
    CHECK(s.current_A[0] == 1.0);  // discharge positive inside packlife
    CHECK(s.temperature_C.size() == 4);
    const LabCell c = s.capacity_per_cycle();
    REQUIRE(c.cycle.size() == 2);
    CHECK(c.capacity_Ah[0] == Approx(1.0).epsilon(1e-3));
    CHECK(c.capacity_Ah[1] == Approx(0.5).epsilon(1e-3));
  }
  SECTION("a column map from datasets/lab/formats (the NASA table)") {
    const auto cells = read_lab_cycles(data_dir() + "/lab/nasa_pcoe/capacity_per_cycle.csv", "nasa-pcoe");
    REQUIRE(cells.size() == 4);
    CHECK(cells[0].id == "B0005");
    CHECK(cells[0].capacity_Ah.front() == Approx(1.85649));
  }
}

TEST_CASE("lab data: bad files name the file, line and column", "[labdata][errors]") {
  const std::string d = temp_dir("labdata_errors");
  auto throws = [](const std::function<void()>& f, const std::vector<std::string>& parts) {
    try {
      f();
      FAIL("no error");
    } catch (const InputError& e) {
      for (const auto& s : parts) CHECK_THAT(e.what(), Catch::Contains(s));
    }
  };
  const auto missing = write_file(d, "missing.csv", "cell,cycle,capacity\nA,1,2.0\n");
  throws([&] { read_lab_cycles(missing, "plain"); }, {"missing.csv:1", "capacity_Ah", "missing column"});
  throws([&] { read_lab_cycles(missing); }, {"missing.csv", "unknown lab data format", "cell,cycle,capacity"});
  const auto text = write_file(d, "text.csv", "cell,cycle,capacity_Ah\nA,1,2.0\nA,2,abc\n");
  throws([&] { read_lab_cycles(text); }, {"text.csv:3", "capacity_Ah", "'abc' is not a number"});
  const auto order = write_file(d, "order.csv", "cell,cycle,capacity_Ah\nA,5,2.0\nA,3,1.9\n");
  throws([&] { read_lab_cycles(order); }, {"order.csv:3", "non-decreasing cycle order"});
  // A blank capacity is an unmeasured check-up (skipped, not zero); a repeated cycle keeps both rows.
  const auto gaps = write_file(d, "gaps.csv", "cell,cycle,capacity_Ah\nA,0,\nA,100,1.9\nA,100,1.88\nA,200,1.8\n");
  const auto g = read_lab_cycles(gaps);
  REQUIRE(g.size() == 1);
  CHECK(g[0].cycle == std::vector<double>{100, 100, 200});
  CHECK(g[0].capacity_Ah == std::vector<double>{1.9, 1.88, 1.8});
  CHECK(cycles_to(g[0], 1.85) == Approx(137.5));
  const auto blank = write_file(d, "blank.csv", "cell,cycle,capacity_Ah\nA,0,2.0\nB,0,\nB,10,\n");
  throws([&] { read_lab_cycles(blank); }, {"blank.csv", "capacity_Ah", "cell 'B' has no measured capacity"});  // from the later of the two cycle-100 rows
  const auto back = write_file(d, "back.csv",
                          "Test_Time (s),Cycle_Index,Current (A),Voltage (V)\n0,1,1,3.9\n10,1,1,3.8\n5,1,1,3.7\n");
  throws([&] { read_lab_time_series(back); }, {"back.csv:4", "Test_Time (s)", "backwards"});
  throws([&] { read_lab_cycles(text, "no-such-cycler"); }, {"unknown lab data format 'no-such-cycler'", "arbin"});
  throws([&] { read_lab_cycles(text, "battery-archive-timeseries"); }, {"timeseries", "cycle"});
  const auto map = write_file(d, "map.yaml", "kind: cycle\ncolumns:\n  cycle: c\n  capacty_Ah: q\n");
  throws([&] { read_lab_cycles(text, map); }, {"map.yaml:4", "capacty_Ah", "unknown field"});
  const auto lacking = write_file(d, "lacking.yaml", "kind: timeseries\ncolumns:\n  time_s: t\n  cycle: c\n");
  throws([&] { read_lab_time_series(back, lacking); }, {"lacking.yaml", "current_A"});
  const auto kind = write_file(d, "kind.yaml", "kind: cycles\ncolumns:\n  cycle: c\n");
  throws([&] { read_lab_cycles(text, kind); }, {"kind.yaml:1", "'cycle' or 'timeseries'"});
  const auto negative = write_file(d, "negative.csv", "cell,cycle,capacity_Ah\nA,1,-2.0\n");
  throws([&] { read_lab_cycles(negative); }, {"negative.csv:2", "negative capacity"});
}

TEST_CASE("severson policies parse, and bad ones are input errors", "[labdata][validation]") {
  const ChargePolicy p = parse_charge_policy("5.6C(36%)-4.3C");
  CHECK(p.c1 == 5.6);
  CHECK(p.q1 == Approx(0.36));
  CHECK(p.c2 == 4.3);
  CHECK(parse_charge_policy("4.4c(55%)-6c").text == "4.4C(55%)-6C");
  for (const char* bad : {"5.6C-4.3C", "5.6C(90%)-4.3C", "0C(30%)-4C", "fast", "5.6C(36%)-4.3"}) {
    INFO(bad);
    CHECK_THROWS_AS(parse_charge_policy(bad), InputError);
  }
  const ValidationCurve c = compare_curves("x", "mV", {1, 2, 3}, {1, 2, 5});
  CHECK(c.rmse == Approx(std::sqrt(4.0 / 3)));
  CHECK(c.max_error == 2);
}

TEST_CASE("validate: one policy end to end, and bad input exits 2 before simulating", "[labdata][validation][cli]") {
  // The one small case of the quick suite: one policy with the calibrated set, judged like the cells
  // on the 4C discharge capacity, and a faster policy must not outlive it.
  const auto r = run_cli("validate severson2019 --policy '3.6C(80%)-3.6C' --json --quiet", false);
  REQUIRE(r.code == 0);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j["policy"] == "3.6C(80%)-3.6C");
  CHECK(j["parameter_set"] == "a123-apr18650");
  CHECK(j["end_of_life_criterion"] == "4C discharge capacity");
  CHECK(j["fresh_4C_discharge_Ah"].get<double>() > 1.0);
  REQUIRE(j["predicted_cycle_life"].is_number());
  const double slow = j["predicted_cycle_life"].get<double>();
  CHECK(slow > 500);
  CHECK(j["measured_cycle_life"] == nlohmann::json::array({2160}));
  const auto f = nlohmann::json::parse(run_cli("validate severson2019 --policy '7C(40%)-3C' --json --quiet", false).out);
  CHECK(f["predicted_cycle_life"].get<double>() < slow);
  // An uncalibrated set that cannot deliver 0.88 A h at 4C is judged on its electrode-balance capacity;
  // it lives beyond the simulated limit, which --json reports as null rather than a number.
  const auto u = nlohmann::json::parse(
      run_cli("validate severson2019 --params prada2013 --policy '3.6C(80%)-3.6C' --json --quiet", false).out);
  CHECK(u["end_of_life_criterion"] == "electrode-balance capacity");
  CHECK(u["predicted_cycle_life"].is_null());
  const std::string d = temp_dir("validate_errors");
  // An output directory that cannot be made (a file stands in its place) is reported before any run.
  const auto blocker = write_file(d, "blocker", "not a directory");
  const auto e = run_cli("validate nasa-pcoe --out-dir " + blocker + "/out");
  CHECK(e.code == 2);
  CHECK_THAT(e.out, Catch::Contains("cannot create the output directory"));
  for (const std::string args : {"validate nosuchcase", "validate severson2019 --policy '9C-1C'",
                                  "validate nasa-pcoe --policy '4C(80%)-4C'", "validate nasa-pcoe --params nosuchset",
                                  "validate nasa-pcoe --set nosuch.key=1"}) {
    INFO(args);
    const auto e = run_cli(args + " --out-dir " + d + "/out");
    CHECK(e.code == 2);
    CHECK_THAT(e.out, Catch::Contains("error"));
    CHECK_FALSE(std::filesystem::exists(d + "/out/nasa-pcoe.csv"));
  }
}

TEST_CASE("knee: the break of a two-line curve is found, a straight or flattening curve has none", "[labdata]") {
  LabCell c{"k", {}, {}, {}};
  for (int i = 0; i <= 20; ++i) {
    const double x = 100.0 * i;
    c.cycle.push_back(x);
    c.capacity_Ah.push_back(2.0 - 1e-4 * x - 8e-4 * std::max(0.0, x - 1230.0));
  }
  CHECK(knee_cycle(c, 0.0) == Approx(1230).margin(6));  // grid step 1800/400 = 4.5 cycles
  // Down to 60 %: the curve is cut after its first point below 1.2 Ah, the break is still found.
  CHECK(knee_cycle(c, 0.6) == Approx(1230).margin(6));
  LabCell line = c;
  for (size_t i = 0; i < line.cycle.size(); ++i) line.capacity_Ah[i] = 2.0 - 1e-4 * line.cycle[i];
  CHECK(knee_cycle(line, 0.0) < 0);
  LabCell flattening = c;  // fast then slow: no knee
  for (size_t i = 0; i < c.cycle.size(); ++i)
    flattening.capacity_Ah[i] = 2.0 - 5e-4 * c.cycle[i] + 4e-4 * std::max(0.0, c.cycle[i] - 800.0);
  CHECK(knee_cycle(flattening, 0.0) < 0);
  LabCell few{"f", {0, 1, 2}, {2, 1.9, 1.5}, {}};
  CHECK(knee_cycle(few) < 0);
}

TEST_CASE("scaled_ageing_rates multiplies every ageing rate constant and nothing else", "[pack][ageing]") {
  const ParameterSet p = load_parameter_set("okane2022");
  const ParameterSet q = scaled_ageing_rates(p, 1.5, "test");
  auto value = [](const ParameterSet& s, const std::string& k) {
    for (const auto& r : s.records)
      if (r.key == k) return std::stod(r.value);
    FAIL("no " << k);
    return 0.0;
  };
  for (const char* k : {"ageing.sei.solvent_diffusivity_m2_s", "ageing.sei.exchange_current_A_m2",
                        "ageing.plating.rate_constant_m_s", "ageing.negative.lam_rate_s", "ageing.positive.lam_rate_s"})
    CHECK(value(q, k) == Approx(1.5 * value(p, k)));
  for (const char* k : {"ageing.sei.activation_J_mol", "ageing.negative.lam_exponent", "negative.thickness_m"})
    CHECK(value(q, k) == value(p, k));
  CHECK_THROWS(scaled_ageing_rates(p, 0.0, "test"));
}

TEST_CASE("baumhofer2014: the spread of cycles to 80 % comes out of the pre-knee spread", "[labdata][validation]") {
  // The whole case (48 virtual cells, about 25 s on two cores): the acceptance figures of issue 7.
  const ValidationResult r = run_validation("baumhofer2014", ValidationOptions{});
  const auto& m = r.metrics;
  CHECK(m["cells"] == 48);
  // Measured figures straight from the data (population CV over the 48 cells).
  CHECK(m["measured_median_cycles_to_80"].get<double>() == Approx(1126.3).margin(0.5));
  CHECK(m["measured_cv"].get<double>() == Approx(0.0870).margin(0.0005));
  const double pmed = m["predicted_median_cycles_to_80"], mmed = m["measured_median_cycles_to_80"];
  CHECK(std::abs(pmed - mmed) / mmed <= 0.15);
  CHECK(std::abs(m["predicted_cv"].get<double>() - m["measured_cv"].get<double>()) <= 0.03);
  // The spread put in is identified from data before the knee: faster ageing, fewer cycles to 90 %.
  CHECK(m["spread_inputs"]["model_cycles_to_90_sensitivity"].get<double>() < 0);
  CHECK(m["spread_inputs"]["ageing_rate_cv"].get<double>() > 0);
  // Every virtual cell has a knee before it reaches 60 %; the measured curves have one too.
  CHECK_FALSE(m["predicted_median_knee_cycle"].is_null());
  CHECK_FALSE(m["measured_median_knee_cycle"].is_null());
  REQUIRE(r.tables.size() == 2);
  CHECK(r.tables[0].rows.size() == 48);
}
