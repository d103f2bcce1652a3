// Drive cycles, the road-load model and climate normals (issue 5 building blocks).
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numeric>

#include "helpers.hpp"
#include "packlife/core/csv.hpp"
#include "packlife/core/error.hpp"
#include "packlife/models/climate.hpp"
#include "packlife/models/vehicle.hpp"

using namespace packlife;

using test::write_file;

TEST_CASE("WLTC class 3b matches the regulation's published figures", "[vehicle]") {
  const DriveCycle c = load_drive_cycle("wltc-class3b");
  CHECK(c.speed_m_s.size() == 1801);
  CHECK(c.duration_s() == Approx(1800.0));
  CHECK(c.distance_m() / 1000.0 == Approx(23.27).margin(0.005));  // UN GTR 15: 23.266 km
  CHECK(c.max_speed_m_s() * 3.6 == Approx(131.3).margin(1e-9));
  CHECK(c.speed_m_s.front() == 0.0);
  CHECK(c.speed_m_s.back() == 0.0);
}

TEST_CASE("CLTC-P matches the standard's distance and top speed", "[vehicle]") {
  const DriveCycle c = load_drive_cycle("cltc-p");
  CHECK(c.distance_m() / 1000.0 == Approx(14.48).margin(0.005));  // GB/T 38146.1-2019: 14.48 km
  CHECK(c.max_speed_m_s() * 3.6 == Approx(114.0).margin(1e-9));
  // The transcription is 35 s of standstill longer than the standard's 1800 s (datasets/README.md).
  CHECK(c.duration_s() == Approx(1835.0));
  CHECK(c.speed_m_s.front() == 0.0);
  CHECK(c.speed_m_s.back() == 0.0);
}

TEST_CASE("road load: default SUV uses about 16.8 kWh/100 km and energy adds up", "[vehicle]") {
  const DriveCycle c = load_drive_cycle("wltc-class3b");
  const VehicleParameters v;
  const DrivePower p = drive_power(c, v, 23.0);  // inside the comfort band: no cabin climate load
  CHECK(p.consumption_kWh_100km() == Approx(16.8).margin(0.3));
  // The per-interval powers integrate to the energy summaries.
  const double sum_Wh = std::accumulate(p.power_W.begin(), p.power_W.end(), 0.0) * p.dt_s / 3600.0;
  CHECK(sum_Wh == Approx(p.net_Wh()).epsilon(1e-12));
  // Regeneration returns less than the traction energy; braking never returns more than the limit allows.
  CHECK(p.regen_Wh > 0.1 * p.traction_Wh);
  CHECK(p.regen_Wh < p.traction_Wh);
  CHECK(*std::min_element(p.power_W.begin(), p.power_W.end()) >= -v.max_regen_power_W * v.regen_efficiency - 1e-9);
  // A stationary car draws only its auxiliary load.
  DriveCycle idle{"idle", 1.0, std::vector<double>(61, 0.0)};
  const DrivePower pi = drive_power(idle, v, 23.0);
  CHECK(pi.traction_Wh == 0.0);
  CHECK(pi.net_Wh() == Approx(v.auxiliary_power_W * 60.0 / 3600.0));
}

TEST_CASE("road load trends: cold and heat, mass, drag, regeneration", "[vehicle]") {
  const DriveCycle c = load_drive_cycle("wltc-class3b");
  const VehicleParameters base;
  const double e23 = drive_power(c, base, 23.0).consumption_kWh_100km();
  const double e0 = drive_power(c, base, 0.0).consumption_kWh_100km();
  const double em20 = drive_power(c, base, -20.0).consumption_kWh_100km();
  const double e35 = drive_power(c, base, 35.0).consumption_kWh_100km();
  CHECK(e0 > e23);
  CHECK(em20 >= e0);
  CHECK(e35 > e23);
  VehicleParameters heavy = base, draggy = base, noregen = base;
  heavy.mass_kg += 500;
  draggy.drag_area_m2 *= 1.3;
  noregen.regen_efficiency = 0;
  CHECK(drive_power(c, heavy, 23.0).consumption_kWh_100km() > e23);
  CHECK(drive_power(c, draggy, 23.0).consumption_kWh_100km() > e23);
  CHECK(drive_power(c, noregen, 23.0).consumption_kWh_100km() > e23);
  CHECK(auxiliary_power_W(base, 21.0) == base.auxiliary_power_W);
  CHECK(auxiliary_power_W(base, -60.0) == base.auxiliary_power_W + base.max_hvac_power_W);
}

TEST_CASE("drive cycle files: errors name the file, line and column", "[vehicle][errors]") {
  const std::string d = test::temp_dir("cycles");
  REQUIRE_THROWS_WITH(load_drive_cycle("nedc-fantasy"), Catch::Contains("wltc-class3b") && Catch::Contains("nedc-fantasy"));
  const auto bad_speed = write_file(d, "bad_speed.csv", "time_s,speed_kmh\n0,0\n1,abc\n");
  REQUIRE_THROWS_WITH(load_drive_cycle(bad_speed), Catch::Contains("bad_speed.csv:3:2") && Catch::Contains("speed_kmh"));
  const auto negative = write_file(d, "negative.csv", "time_s,speed_kmh\n0,0\n1,-3\n");
  REQUIRE_THROWS_WITH(load_drive_cycle(negative), Catch::Contains("negative.csv:3") && Catch::Contains("outside"));
  const auto uneven = write_file(d, "uneven.csv", "# comment\ntime_s,speed_kmh\n0,0\n1,2\n3,4\n");
  REQUIRE_THROWS_WITH(load_drive_cycle(uneven), Catch::Contains("uneven.csv:5") && Catch::Contains("constant"));
  const auto nocol = write_file(d, "nocol.csv", "t,v\n0,0\n1,1\n");
  REQUIRE_THROWS_WITH(load_drive_cycle(nocol), Catch::Contains("nocol.csv") && Catch::Contains("time_s") &&
                                                   Catch::Contains("missing column"));
  const auto ragged = write_file(d, "ragged.csv", "time_s,speed_kmh\n0,0\n1,2,3\n");
  REQUIRE_THROWS_WITH(load_drive_cycle(ragged), Catch::Contains("ragged.csv:3") && Catch::Contains("3 fields"));
  const auto empty = write_file(d, "empty.csv", "# nothing\n\n");
  REQUIRE_THROWS_WITH(CsvTable::read(empty), Catch::Contains("empty.csv") && Catch::Contains("no header"));
  REQUIRE_THROWS_WITH(CsvTable::read(d + "/absent.csv"), Catch::Contains("absent.csv") && Catch::Contains("cannot open"));
  const auto stuck = write_file(d, "stuck.csv", "time_s,speed_kmh\n0,0\n0,1\n");
  REQUIRE_THROWS_WITH(load_drive_cycle(stuck), Catch::Contains("stuck.csv:3") && Catch::Contains("increase"));
  // A valid custom cycle at 2 s steps.
  const auto ok = write_file(d, "ok.csv", "time_s,speed_kmh\n0,0\n2,36\n4,36\n6,0\n");
  const DriveCycle c = load_drive_cycle(ok);
  CHECK(c.dt_s == 2.0);
  CHECK(c.distance_m() == Approx(10.0 + 20.0 + 10.0));
}

TEST_CASE("climate normals: cities, seasons and the daily swing", "[climate]") {
  const auto names = Climate::cities();
  for (const char* c : {"harbin", "beijing", "shanghai", "wuhan", "chengdu", "guangzhou", "urumqi"})
    CHECK(std::find(names.begin(), names.end(), c) != names.end());
  const Climate harbin = Climate::city("harbin"), guangzhou = Climate::city("guangzhou");
  for (int m = 0; m < 12; ++m) CHECK(harbin.monthly_mean_C(m) < guangzhou.monthly_mean_C(m));
  CHECK(harbin.annual_mean_C() < 6.0);
  CHECK(guangzhou.annual_mean_C() > 21.0);
  // Northern-hemisphere seasons: July warmest month-ish, January coldest.
  CHECK(harbin.monthly_mean_C(6) > harbin.monthly_mean_C(0) + 35.0);
  // Mid-month the daily mean equals the monthly normal; across the new year it is continuous.
  CHECK(harbin.daily_mean_C(15.5) == Approx(harbin.monthly_mean_C(0)));
  CHECK(harbin.daily_mean_C(365.0 - 1e-9) == Approx(harbin.daily_mean_C(0.0)).margin(1e-6));
  CHECK(harbin.daily_mean_C(365.0 + 100.0) == Approx(harbin.daily_mean_C(100.0)));
  // Warmest at 15:00, coolest at 03:00, by half the daily range.
  const double day = 200.0 * 86400.0;
  const double mean = harbin.daily_mean_C(200.0 + 0.5);
  CHECK(harbin.temperature_C(day + 15 * 3600.0) - harbin.temperature_C(day + 3 * 3600.0) ==
        Approx(harbin.diurnal_range_C()).margin(0.2));
  CHECK(harbin.temperature_C(day + 9 * 3600.0) == Approx(mean).margin(0.1));
  const Climate k = Climate::constant(25.0);
  CHECK(k.temperature_C(1234567.0) == 25.0);
  CHECK(k.annual_mean_C() == Approx(25.0));
  REQUIRE_THROWS_WITH(Climate::city("Atlantis"), Catch::Contains("Atlantis") && Catch::Contains("harbin"));
  REQUIRE_THROWS_AS(Climate::constant(120.0), InputError);
}

TEST_CASE("climate data file errors name the file, line and column", "[climate][errors]") {
  const std::string d = test::temp_dir("climate_data");
  std::filesystem::create_directories(d + "/climate");
  const std::string header = "city,jan_C,feb_C,mar_C,apr_C,may_C,jun_C,jul_C,aug_C,sep_C,oct_C,nov_C,dec_C,diurnal_range_C\n";
  write_file(d + "/climate", "china_cities.csv",
             header + "hot,1,2,3,4,5,6,7,8,9,10,11,12,55\ntypo,1,2,x,4,5,6,7,8,9,10,11,12,5\n");
  const char* old = std::getenv("PACKLIFE_DATA_DIR");
  const std::string saved = old ? old : "";
  setenv("PACKLIFE_DATA_DIR", d.c_str(), 1);
  CHECK_THROWS_WITH(Climate::city("hot"), Catch::Contains("china_cities.csv:2") && Catch::Contains("diurnal_range_C"));
  CHECK_THROWS_WITH(Climate::city("typo"), Catch::Contains("china_cities.csv:3:4") && Catch::Contains("mar_C"));
  if (old) setenv("PACKLIFE_DATA_DIR", saved.c_str(), 1); else unsetenv("PACKLIFE_DATA_DIR");
  CHECK(Climate::city("harbin").monthly_mean_C(0) < -10.0);  // the shipped data again
}
