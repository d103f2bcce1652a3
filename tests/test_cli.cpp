#include <catch2/catch.hpp>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>
#include <nlohmann/json.hpp>

#include "helpers.hpp"

namespace fs = std::filesystem;

namespace {
using Result = packlife::test::CliResult;

/// Runs the packlife executable (see tests/helpers.hpp).
Result cli(const std::string& args, bool merge_stderr = true) { return packlife::test::run_cli(args, merge_stderr); }

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
}  // namespace

TEST_CASE("cli: simulate writes CSV and HDF5", "[cli]") {
  fs::remove("cli_ok.csv");
  fs::remove("cli_ok.h5");
  const Result r = cli("simulate --model spm --params chen2020 --experiment 'Discharge at 1C for 60 seconds' "
                       "--csv cli_ok.csv --out cli_ok.h5 --quiet");
  CHECK(r.code == 0);
  CHECK(fs::exists("cli_ok.csv"));
  CHECK(fs::exists("cli_ok.h5"));
  CHECK(slurp("cli_ok.csv").rfind("time_s,current_A,voltage_V,temperature_K,discharge_capacity_Ah", 0) == 0);
  fs::remove("cli_ok.csv");
  fs::remove("cli_ok.h5");
}

TEST_CASE("cli: JSON summary of the default experiment", "[cli]") {
  const Result r = cli("simulate --model spm --json", false);
  REQUIRE(r.code == 0);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j["steps"].size() == 5);
  CHECK(j["max_discharge_capacity_Ah"].get<double>() > 4.9);
  CHECK(j["min_voltage_V"].get<double>() == Approx(2.5).margin(1e-6));
}

TEST_CASE("cli: bad input exits with code 2, one clear message and no output file", "[cli][errors]") {
  fs::remove("cli_bad.csv");
  fs::remove("cli_bad.h5");
  fs::remove("cli_bad_summary.csv");
  const std::string outs = " --csv cli_bad.csv --out cli_bad.h5 --summary-csv cli_bad_summary.csv";
  struct Case {
    std::string args, expect;
  };
  {
    std::ofstream f("cli_bad_params.yaml");
    f << slurp(std::string(PACKLIFE_TEST_DIR) + "/../datasets/parameters/chen2020.yaml");
  }
  std::string text = slurp("cli_bad_params.yaml");
  text.replace(text.find("{value: 0.75,"), 13, "{value: lots,");
  std::ofstream("cli_bad_params.yaml") << text;
  const std::vector<Case> cases = {
      {"simulate --model dfx", "unknown model 'dfx'"},
      {"simulate --params nosuchcell", "unknown parameter set 'nosuchcell'"},
      {"simulate --params cli_bad_params.yaml", "cli_bad_params.yaml:"},
      {"simulate --params cli_bad_params.yaml", "negative.active_material_volume_fraction"},
      {"simulate --params /no/such/file.yaml", "cannot open"},
      {"simulate --experiment 'Discharge at 1C untill 2.5 V'", "Discharge at 1C untill 2.5 V"},
      {"simulate --experiment 'Discharge at -1C until 2.5 V'", "must be positive"},
      {"simulate --experiment 'Discharge at fastC until 2.5 V'", "not a number"},
      {"simulate --ambient-C warm", "ambient-C"},
      {"simulate --initial-soc 1.2", "--initial-soc"},
      {"simulate --thermal hot", "--thermal"},
      {"simulate --cycles 0", "--cycles"},
      {"simulate --experiment-file /no/such/protocol.txt", "cannot open"},
      {"simulate --bogus", "bogus"},
      {"simulate --experiment 'Hold at 0.5 V until C/50'", "cannot start the step"},
      {"simulate --rtol 0.5", "--rtol"},
      {"simulate --output-dt 0", "--output-dt"},
      {"simulate --particle-stretch 5", "stretch"},
      {"simulate --particle-cells 2", "at least 3 cells"},
      {"simulate --ambient-C 500", "outside the supported range"},
      {"simulate --params okane2022 --ageing sei,magic", "unknown mechanism 'magic'"},
      {"simulate --ageing plating", "lacks ageing.plating.rate_constant_m_s"},
      {"simulate --ageing default", "recommends no mechanisms"},
      {"simulate --accelerate --accelerate-tol 0", "--accelerate-tol"},
      {"simulate --accelerate --accelerate-tol nonsense", "accelerate-tol"},
      {"simulate --max-jump 1", "--max-jump"},
      {"simulate --checkup-every -3", "--checkup-every"},
      {"simulate --restart /no/such/checkpoint.json", "cannot open checkpoint"},
      {"simulate --experiment 'Rest to fill soon'", "Rest to fill soon"},
  };
  for (const auto& c : cases) {
    INFO(c.args);
    const Result r = cli(c.args + outs);
    CHECK(r.code == 2);
    CHECK_THAT(r.out, Catch::Contains(c.expect));
    CHECK_FALSE(fs::exists("cli_bad.csv"));
    CHECK_FALSE(fs::exists("cli_bad.h5"));
    CHECK_FALSE(fs::exists("cli_bad_summary.csv"));
  }
  fs::remove("cli_bad_params.yaml");
}

TEST_CASE("cli: per-cycle summary CSV with the degradation ledger", "[cli][ageing]") {
  fs::remove("cli_summary.csv");
  const Result r = cli("simulate --model spm --params okane2022 --ageing sei --experiment "
                       "'Discharge at 1C for 10 minutes; Charge at 1C for 10 minutes' --cycles 3 "
                       "--summary-csv cli_summary.csv --quiet");
  REQUIRE(r.code == 0);
  std::ifstream in("cli_summary.csv");
  std::string header, line;
  std::getline(in, header);
  CHECK(header.rfind("cycle,time_s,discharge_capacity_Ah,lli_pct,lam_ne_pct,lam_pe_pct", 0) == 0);
  std::vector<double> lli;
  while (std::getline(in, line)) {
    std::stringstream ss(line);
    std::string cell;
    std::vector<double> v;
    while (std::getline(ss, cell, ',')) v.push_back(std::stod(cell));
    CHECK(v[0] == lli.size() + 1);
    CHECK(v[2] == Approx(5.0 / 6.0).epsilon(1e-6));  // 10 minutes at 5 A
    lli.push_back(v[3]);
  }
  REQUIRE(lli.size() == 3);
  CHECK(lli[0] > 0);
  CHECK(lli[2] > lli[1]);
  CHECK(lli[1] > lli[0]);
  fs::remove("cli_summary.csv");
}

TEST_CASE("cli: an output path that is a folder or in a missing folder is refused", "[cli][errors]") {
  fs::create_directories("cli_out_dir");
  Result r = cli("simulate --model spm --experiment 'Rest for 1 minute' --csv cli_out_dir");
  CHECK(r.code == 2);
  CHECK_THAT(r.out, Catch::Contains("is a folder"));
  r = cli("simulate --model spm --experiment 'Rest for 1 minute' --out /no/such/dir/x.h5");
  CHECK(r.code == 2);
  CHECK_THAT(r.out, Catch::Contains("does not exist"));
  fs::remove_all("cli_out_dir");
}

TEST_CASE("cli: an existing output is not clobbered by a failing run", "[cli][errors]") {
  std::ofstream("cli_keep.csv") << "precious";
  const Result r = cli("simulate --experiment 'Jump at 1C' --csv cli_keep.csv");
  CHECK(r.code == 2);
  CHECK(slurp("cli_keep.csv") == "precious");
  fs::remove("cli_keep.csv");
}

TEST_CASE("cli: a skipped step is reported as a warning", "[cli]") {
  const Result r = cli("simulate --model spm --experiment 'Charge at 0.5C until 4.2 V; Rest for 1 minute' --quiet");
  CHECK(r.code == 0);
  const Result w = cli("simulate --model spm --experiment 'Charge at 0.5C until 4.2 V; Rest for 1 minute'");
  CHECK_THAT(w.out, Catch::Contains("warning:") && Catch::Contains("'Charge at 0.5C until 4.2 V' skipped"));
}

TEST_CASE("cli: --help lists every option with its default (golden file)", "[cli]") {
  const Result r = cli("simulate --help", false);
  CHECK(r.code == 0);
  const std::string golden = slurp(std::string(PACKLIFE_TEST_DIR) + "/golden/simulate_help.txt");
  CHECK(r.out == golden);
  const Result b = cli("bench --help", false);
  CHECK_THAT(b.out, Catch::Contains("--repeats") && Catch::Contains("21"));
}

TEST_CASE("cli: bench --json reports the benchmark keys", "[cli]") {
  // Every case but the fleet's (minutes on all cores; measured by hand, docs/benchmarks.md).
  std::string cases;
  for (const char* c : {"spm_1C_discharge_ms", "spme_1C_discharge_ms", "ageing_cycle_ms", "ageing_cycle_1s_output_ms",
                        "lifetime_12y_accelerated_ms", "pack_lifecycle_ms"})
    cases += std::string(" --case ") + c;
  const Result r = cli("bench --json --repeats 1" + cases, false);
  CHECK(cli("bench --case no_such_case").code == 2);
  REQUIRE(r.code == 0);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j["spm_1C_discharge_ms"].get<double>() > 0);
  CHECK(j["spme_1C_discharge_ms"].get<double>() > 0);
  CHECK(j["ageing_cycle_ms"].get<double>() > 0);
  CHECK(j["lifetime_12y_accelerated_ms"].get<double>() > 0);
}

TEST_CASE("cli: checkpoint and restart continue a run, and a foreign checkpoint is refused", "[cli][checkpoint]") {
  for (const char* f : {"cli_ck.json", "cli_ck_sum.csv", "cli_ck_whole.csv"}) fs::remove(f);
  const std::string base = "simulate --model spm --params okane2022 --ageing sei --experiment "
                           "'Discharge at 1C for 10 minutes; Charge at 1C for 10 minutes' --no-time-series --quiet";
  REQUIRE(cli(base + " --cycles 4 --summary-csv cli_ck_whole.csv").code == 0);
  REQUIRE(cli(base + " --cycles 2 --checkpoint cli_ck.json").code == 0);
  REQUIRE(cli(base + " --cycles 2 --restart cli_ck.json --summary-csv cli_ck_sum.csv").code == 0);
  auto last_line = [](const std::string& path) {
    std::ifstream in(path);
    std::string line, last;
    while (std::getline(in, line)) last = line;
    return last;
  };
  CHECK(last_line("cli_ck_sum.csv") == last_line("cli_ck_whole.csv"));
  const Result r = cli("simulate --model spme --params okane2022 --ageing sei --restart cli_ck.json --quiet");
  CHECK(r.code == 2);
  CHECK_THAT(r.out, Catch::Contains("cli_ck.json") && Catch::Contains("saved from model spm"));
  // Parameters changed with --set are part of what the checkpoint belongs to.
  const Result s = cli(base + " --cycles 1 --restart cli_ck.json --set ageing.sei.solvent_diffusivity_m2_s=5e-22");
  CHECK(s.code == 2);
  CHECK_THAT(s.out, Catch::Contains("okane2022 --set ageing.sei.solvent_diffusivity_m2_s=5e-22"));
}

TEST_CASE("cli: --set overrides a parameter and is recorded in the resolved inputs", "[cli][override]") {
  fs::remove("cli_set.h5");
  const std::string base = "simulate --model spm --params okane2022 --experiment 'Discharge at 1C for 10 minutes' --json";
  const Result a = cli(base, false), b = cli(base + " --set positive.particle_radius_m=8e-6 --out cli_set.h5", false);
  REQUIRE(a.code == 0);
  REQUIRE(b.code == 0);
  // Larger positive particles: steeper surface depletion, lower voltage at the same discharged charge.
  CHECK(nlohmann::json::parse(b.out)["min_voltage_V"].get<double>() <
        nlohmann::json::parse(a.out)["min_voltage_V"].get<double>() - 1e-3);
  const Result r = cli("simulate --params okane2022 --set positive.particle_radius_m=-1 --out cli_set.h5");
  CHECK(r.code == 2);
  CHECK_THAT(r.out, Catch::Contains("--set 'positive.particle_radius_m=-1'") && Catch::Contains("admissible range"));
  CHECK(fs::exists("cli_set.h5"));  // the earlier output is not clobbered by a refused run
  CHECK(cli("simulate --params okane2022 --set bogus").code == 2);
}

TEST_CASE("cli: accelerated long run reports its jumps", "[cli][accelerate]") {
  const Result r = cli("simulate --model spm --params okane2022 --ageing sei --experiment "
                       "'Discharge at 1C until 2.5 V; Charge at 1C until 4.2 V; Rest to fill 4 hours' --cycles 200 "
                       "--accelerate --no-time-series --json", false);
  REQUIRE(r.code == 0);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j["cycles"] == 200);
  CHECK(j["jumps"].get<int>() > 0);
  CHECK(j["resolved_cycles"].get<int>() < 100);
  CHECK(j["points"] == 0);
  CHECK(j["last_cycle"]["lli_pct"].get<double>() > 0);
  CHECK(j["end_time_s"].get<double>() == Approx(200 * 4 * 3600.0));
}
