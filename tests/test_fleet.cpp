// Fleet: per-pack sampling, determinism across threads and fleet sizes, failure isolation, resume
// after SIGKILL, the target verdict against the per-pack data (also recomputed with h5py from the
// docs' example), and the command line's error paths.
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>

#include "packlife/core/error.hpp"
#include "packlife/core/hdf5_reader.hpp"
#include "packlife/core/hdf5_writer.hpp"
#include "packlife/models/fleet.hpp"
#include "helpers.hpp"

using namespace packlife;
namespace fs = std::filesystem;

namespace {

/// A quick fleet: short first lives, no second life.
Scenario quick_fleet(int packs) {
  Scenario s;
  apply_scenario_overrides(s, {"retire.max_first_life_years=2", "retire.max_second_life_years=0",
                               "fleet.mode_mix=swap:0.5,owned:0.5"});
  s.fleet_packs = packs;
  return s;
}

const char* kQuickSet =
    "--set retire.max_first_life_years=2 --set retire.max_second_life_years=0 --set fleet.mode_mix=swap:0.5,owned:0.5";

/// Every field of the summary that a simulation decides (not wall time or file dates).
std::string summary_text(const std::vector<FleetPackSummary>& v) {
  std::string s;
  for (const auto& p : v) {
    s += fmt::format("{} {} {} {} {} {} {:.17g} {:.17g} {:.17g} {:.17g} {} {} {:.17g} {:.17g} {:.17g}", p.in.id,
                     p.in.seed, p.in.city, p.in.usage_mode, p.in.chemistry, p.ok, p.in.energy_kWh, p.in.km_per_day,
                     p.in.fast_charge_share, p.in.cell_spread_cv, p.error, p.first_life_end, p.first_life_years,
                     p.soh_first_life_end, p.soh_second_life_end);
    for (double f : p.fade_by_year) s += fmt::format(" {:.17g}", f);
    s += "\n";
  }
  return s;
}

std::vector<float> trajectory_column(const std::string& path, const std::string& name) {
  Hdf5Reader r(path);
  const auto d = r.doubles("/trajectories/" + name);
  return std::vector<float>(d.begin(), d.end());
}

int run_status(const std::string& cmd) {
  const int st = std::system(cmd.c_str());
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

}  // namespace

TEST_CASE("fleet: each pack draws its inputs from its own stream and the mixes hold", "[fleet]") {
  Scenario s;
  // Same scenario and id: same inputs; the id alone decides (no dependence on fleet size).
  const FleetPackInputs a = sample_fleet_pack(s, 17), b = sample_fleet_pack(s, 17);
  CHECK(a.city == b.city);
  CHECK(a.km_per_day == b.km_per_day);
  CHECK(a.seed == b.seed);
  CHECK(sample_fleet_pack(s, 18).seed != a.seed);
  Scenario other = s;
  other.seed = 2;
  CHECK(sample_fleet_pack(other, 17).seed != a.seed);
  // Shares over many packs follow the mixes (binomial 4-sigma bounds).
  const int n = 4000;
  std::map<std::string, int> city, mode, chem, size;
  double km_swap = 0, km_owned = 0, dc_owned = 0;
  int n_owned = 0;
  for (int i = 0; i < n; ++i) {
    const FleetPackInputs p = sample_fleet_pack(s, i);
    ++city[p.city];
    ++mode[p.usage_mode];
    ++chem[p.chemistry];
    ++size[fmt::format("{:g}", p.energy_kWh)];
    if (p.usage_mode == "owned") {
      ++n_owned;
      km_owned += p.km_per_day;
      dc_owned += p.fast_charge_share;
      CHECK(p.fast_charge_share <= s.fleet_fast_charge_share_max);
    } else {
      km_swap += p.km_per_day;
      CHECK(p.fast_charge_share == 0.0);
    }
    CHECK(p.cell_spread_cv > 0.0);
    CHECK(p.cell_spread_cv <= 0.1);
  }
  auto near = [n](int count, double share) { return std::abs(count - n * share) < 4 * std::sqrt(n * share * (1 - share)); };
  for (const auto& [name, w] : parse_mix("fleet.city_mix", s.fleet_city_mix)) CHECK(near(city[name], w));
  for (const auto& [name, w] : parse_mix("fleet.mode_mix", s.fleet_mode_mix)) CHECK(near(mode[name], w));
  for (const auto& [name, w] : parse_mix("fleet.chemistry_mix", s.fleet_chemistry_mix)) CHECK(near(chem[name], w));
  for (const auto& [name, w] : parse_mix("fleet.energy_mix_kWh", s.fleet_energy_mix_kWh)) CHECK(near(size[name], w));
  // Mean daily distance keeps the scenario's mean (lognormal with mean 1); DC share uniform on [0, max].
  CHECK(km_swap / (n - n_owned) == Approx(s.usage_km_per_day).epsilon(0.02));
  CHECK(km_owned / n_owned == Approx(s.usage_km_per_day).epsilon(0.08));
  CHECK(dc_owned / n_owned == Approx(0.5 * s.fleet_fast_charge_share_max).epsilon(0.08));
  // The pack's lifecycle scenario carries the drawn inputs.
  const Scenario ps = pack_scenario(s, a);
  CHECK(ps.climate_city == a.city);
  CHECK(ps.usage_km_per_day == a.km_per_day);
  CHECK(ps.seed == a.seed);
}

TEST_CASE("fleet: malformed mixes name the key", "[fleet]") {
  Scenario s;
  REQUIRE_THROWS_WITH(apply_scenario_overrides(s, {"fleet.city_mix=shanghai:0.5,atlantis:0.5"}),
                      Catch::Contains("fleet.city_mix") && Catch::Contains("unknown city 'atlantis'"));
  REQUIRE_THROWS_WITH(apply_scenario_overrides(s, {"fleet.mode_mix=swap:1,owned:-1"}),
                      Catch::Contains("fleet.mode_mix") && Catch::Contains("positive"));
  REQUIRE_THROWS_WITH(apply_scenario_overrides(s, {"fleet.chemistry_mix=nmc811"}),
                      Catch::Contains("fleet.chemistry_mix") && Catch::Contains("name:weight"));
  REQUIRE_THROWS_WITH(apply_scenario_overrides(s, {"fleet.energy_mix_kWh=75:1,5:1"}),
                      Catch::Contains("fleet.energy_mix_kWh") && Catch::Contains("10 to 300"));
  REQUIRE_THROWS_WITH(apply_scenario_overrides(s, {"fleet.mode_mix=swap:1,swap:1"}), Catch::Contains("twice"));
  REQUIRE_THROWS_WITH(apply_scenario_overrides(s, {"fleet.packs=2.5"}), Catch::Contains("whole number of packs"));
  REQUIRE_THROWS_WITH(parse_scenario("fleet:\n  mode_mix: swap:1,boat:1\n", "f.yaml"),
                      Catch::Contains("f.yaml:2") && Catch::Contains("fleet.mode_mix"));
  // Weights are normalised.
  const Mix m = parse_mix("fleet.mode_mix", "swap:3, owned:1");
  CHECK(m[0].second == Approx(0.75));
  CHECK(m[1].second == Approx(0.25));
}

TEST_CASE("fleet: 1 and 2 threads give identical packs, and a pack is the same in a fleet of 3 or 6", "[fleet]") {
  const std::string dir = test::temp_dir("fleet_det");
  FleetOptions o1, o2, o3;
  o1.out = dir + "/t1.h5";
  o1.threads = 1;
  o2.out = dir + "/t2.h5";
  o2.threads = 2;
  o3.out = dir + "/small.h5";
  o3.threads = 2;
  const FleetRunInfo i1 = run_fleet(quick_fleet(6), o1);
  run_fleet(quick_fleet(6), o2);
  run_fleet(quick_fleet(3), o3);
  CHECK(i1.packs == 6);
  CHECK(i1.simulated == 6);
  const auto a = read_fleet_summary(o1.out), b = read_fleet_summary(o2.out), c = read_fleet_summary(o3.out);
  REQUIRE(a.size() == 6);
  CHECK(summary_text(a) == summary_text(b));
  CHECK(trajectory_column(o1.out, "pack_soh") == trajectory_column(o2.out, "pack_soh"));
  CHECK(summary_text(c) == summary_text({a.begin(), a.begin() + 3}));
  // Journal removed at the end; the file says it is complete.
  CHECK_FALSE(fs::exists(o1.out + ".journal"));
  Hdf5Reader r(o1.out);
  CHECK(r.string_attribute("/", "status").value() == "complete");
  CHECK(r.string_attribute("/", "format").value() == "packlife-fleet");
  // Trajectories: one block of rows per pack, in id order.
  const auto off = r.integers("/trajectories/offsets");
  const auto pid = r.integers("/trajectories/pack_id");
  REQUIRE(off.size() == 7);
  CHECK(off.back() == static_cast<long long>(pid.size()));
  for (size_t k = 0; k < 6; ++k)
    for (long long i = off[k]; i < off[k + 1]; ++i) REQUIRE(pid[static_cast<size_t>(i)] == static_cast<long long>(k));
  // Each pack's health starts near 1 and falls (a physical trajectory, not filler).
  const auto soh = r.doubles("/trajectories/pack_soh");
  for (size_t k = 0; k < 6; ++k) {
    CHECK(soh[static_cast<size_t>(off[k])] > 0.9);
    CHECK(soh[static_cast<size_t>(off[k + 1] - 1)] < soh[static_cast<size_t>(off[k])]);
  }
}

TEST_CASE("fleet: a failing pack is recorded with its error and inputs, and the fleet finishes", "[fleet]") {
  const std::string dir = test::temp_dir("fleet_fail");
  setenv("PACKLIFE_TEST_FAIL_PACK", "1", 1);
  FleetOptions o;
  o.out = dir + "/f.h5";
  FleetRunInfo info;
  try {
    info = run_fleet(quick_fleet(3), o);
  } catch (...) {
    unsetenv("PACKLIFE_TEST_FAIL_PACK");
    throw;
  }
  unsetenv("PACKLIFE_TEST_FAIL_PACK");
  CHECK(info.failed == 1);
  const auto v = read_fleet_summary(o.out);
  REQUIRE(v.size() == 3);
  CHECK_FALSE(v[1].ok);
  CHECK_THAT(v[1].error, Catch::Contains("injected failure"));
  CHECK(v[1].in.city == sample_fleet_pack(quick_fleet(3), 1).city);
  CHECK(v[0].ok);
  CHECK(v[2].ok);
  const TargetResult t = evaluate_target(v, 1, 0.5, 0.5);
  CHECK(t.failed_simulations == 1);
  CHECK(t.passing == 2);  // a failed simulation never passes
}

TEST_CASE("fleet: killed with SIGKILL, the file stays readable and --resume equals an uninterrupted run", "[fleet][cli]") {
  const std::string dir = test::temp_dir("fleet_resume");
  const std::string cli = PACKLIFE_CLI;
  const std::string full = dir + "/full.h5", cut = dir + "/cut.h5";
  REQUIRE(run_status(cli + " fleet --packs 5 --threads 2 " + kQuickSet + " --out " + full + " --quiet") == 0);
  // Killed right after the 2nd pack reached the journal (the test hook raises SIGKILL there).
  const int killed = run_status("PACKLIFE_TEST_KILL_AFTER=2 " + cli + " fleet --packs 5 --threads 2 " + kQuickSet +
                                " --checkpoint-s 0 --out " + cut + " --quiet");
  CHECK(killed == 128 + SIGKILL);
  REQUIRE(fs::exists(cut + ".journal"));
  // The output is a complete checkpoint: readable, status running, holding the packs checkpointed so far.
  {
    Hdf5Reader r(cut);
    CHECK(r.string_attribute("/", "status").value() == "running");
    CHECK(read_fleet_summary(cut).size() <= 2);
  }
  // Judging the unfinished file works and says it is unfinished.
  if (!read_fleet_summary(cut).empty()) {
    const auto partial = test::run_cli("target " + cut + " --years 1 --max-fade 0.5");
    CHECK(partial.code == 0);
    CHECK_THAT(partial.out, Catch::Contains("not complete") && Catch::Contains("--resume"));
  }
  // Without its journal the run cannot be resumed (a copy of the file alone).
  fs::copy_file(cut, dir + "/alone.h5");
  const auto alone = test::run_cli("fleet --resume --out " + dir + "/alone.h5");
  CHECK(alone.code == 2);
  CHECK_THAT(alone.out, Catch::Contains("journal is missing"));
  // A journal of another run (another seed) beside this file is refused, not mixed in.
  const std::string other = dir + "/other.h5";
  CHECK(run_status("PACKLIFE_TEST_KILL_AFTER=1 " + cli + " fleet --packs 5 --threads 1 --seed 9 " + kQuickSet +
                   " --out " + other + " --quiet") == 128 + SIGKILL);
  fs::copy_file(cut, dir + "/mixed.h5");
  fs::copy_file(other + ".journal", dir + "/mixed.h5.journal");
  const auto mixed = test::run_cli("fleet --resume --out " + dir + "/mixed.h5");
  CHECK(mixed.code == 2);
  CHECK_THAT(mixed.out, Catch::Contains("different scenario"));
  // A torn record at the journal's end (killed mid-write) is dropped on resume.
  { std::ofstream(cut + ".journal", std::ios::app | std::ios::binary) << "PLFJ\x10garbage"; }
  const auto res = test::run_cli("fleet --resume --out " + cut + " --json", false);
  REQUIRE(res.code == 0);
  const auto j = nlohmann::json::parse(res.out);
  CHECK(j["simulated"] == 3);  // no completed pack simulated twice
  CHECK(j["packs"] == 5);
  CHECK(summary_text(read_fleet_summary(cut)) == summary_text(read_fleet_summary(full)));
  CHECK(trajectory_column(cut, "lli_pct") == trajectory_column(full, "lli_pct"));
  CHECK_FALSE(fs::exists(cut + ".journal"));
  // Resuming a complete run does nothing.
  const auto again = test::run_cli("fleet --resume --out " + cut + " --json", false);
  CHECK(again.code == 0);
  CHECK(nlohmann::json::parse(again.out)["simulated"] == 0);
}

TEST_CASE("target: the verdict agrees with the per-pack data, also as recomputed with h5py", "[fleet][cli]") {
  const std::string dir = test::temp_dir("fleet_target");
  const std::string out = dir + "/f.h5";
  REQUIRE(test::run_cli(std::string("fleet --packs 8 ") + kQuickSet + " --out " + out + " --quiet").code == 0);
  // 2-year lives: --years 2 with a loose limit passes (exit 0), a tight one fails (exit 1).
  const auto pass = test::run_cli("target " + out + " --years 2 --max-fade 0.5 --require 0.9 --json", false);
  CHECK(pass.code == 0);
  const auto jp = nlohmann::json::parse(pass.out);
  CHECK(jp["verdict"] == "pass");
  CHECK(jp["pass_fraction"] == 1.0);
  // Everyone passes: the drivers compare the worst tenth with the rest.
  CHECK_THAT(jp["drivers_basis"].get<std::string>(), Catch::Contains("worst 10 %"));
  const auto fail = test::run_cli("target " + out + " --years 2 --max-fade 0.03 --json", false);
  const auto jf = nlohmann::json::parse(fail.out);
  // Recompute from the summary table: share of packs lasting 2 years with fade below 3 %.
  const auto v = read_fleet_summary(out);
  int passing = 0;
  std::vector<double> f2;
  for (const auto& p : v) {
    REQUIRE(p.fade_by_year.size() == 2);
    passing += p.fade_by_year[1] < 0.03;
    f2.push_back(p.fade_by_year[1]);
  }
  CHECK(jf["passing"] == passing);
  CHECK(jf["pass_fraction"].get<double>() == Approx(passing / 8.0));
  CHECK(fail.code == (passing / 8.0 >= 0.95 ? 0 : 1));
  CHECK(jf["verdict"] == (passing / 8.0 >= 0.95 ? "pass" : "fail"));
  if (passing > 0 && passing < 8) CHECK(jf["drivers_basis"] == "failing vs passing packs");
  std::sort(f2.begin(), f2.end());
  CHECK(jf["fade_worst"].get<double>() == Approx(f2.back()));
  CHECK(jf["fade_p50"].get<double>() == Approx(0.5 * (f2[3] + f2[4])));
  for (const char* k : {"years", "max_fade", "packs", "pass_fraction", "fade_p50", "fade_p90", "fade_p99", "verdict", "groups"})
    CHECK(jf.contains(k));
  int grouped = 0;
  for (const auto& g : jf["groups"])
    if (g["by"] == "city") grouped += g["packs"].get<int>();
  CHECK(grouped == 8);
  // A scenario file: its fleet is run first (in a scratch folder), then judged; --set applies to it.
  const std::string yaml = test::write_file(dir, "small.yaml",
                                            "fleet:\n  packs: 2\nretire:\n  max_first_life_years: 1\n"
                                            "  max_second_life_years: 0\n");
  const auto sc = test::run_cli("target " + yaml + " --years 1 --max-fade 0.5 --set fleet.packs=3 --json", false);
  CHECK(sc.code == 0);
  CHECK(nlohmann::json::parse(sc.out)["packs"] == 3);
  CHECK(test::run_cli("target " + yaml + " --years 2 --json", false).code == 1);  // 1-year lives: all retired early
  // The h5py/pandas example of docs/file-formats.md, run as written, finds the same pass fraction.
  std::ifstream doc(std::string(PACKLIFE_TEST_DIR) + "/../docs/file-formats.md");
  const std::string text((std::istreambuf_iterator<char>(doc)), std::istreambuf_iterator<char>());
  const auto a = text.find("```python\n", text.find("## Fleet HDF5")), b = text.find("```", a + 10);
  REQUIRE(a != std::string::npos);
  const std::string script = test::write_file(dir, "example.py", text.substr(a + 10, b - a - 10));
  const std::string cmd = "/usr/bin/python3 " + script + " " + out + " 2 0.03 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string py;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) py.append(buf, n);
  REQUIRE(pclose(p) == 0);
  std::smatch m;
  REQUIRE(std::regex_search(py, m, std::regex("pass fraction ([0-9.]+)")));
  CHECK(std::stod(m[1]) == Approx(passing / 8.0));
}

TEST_CASE("fleet and target: bad input ends with exit code 2 and leaves outputs alone", "[fleet][cli]") {
  const std::string dir = test::temp_dir("fleet_bad");
  const std::string out = test::write_file(dir, "existing.h5", "precious");
  auto r = test::run_cli("fleet --packs 2 --out " + out);
  CHECK(r.code == 2);
  CHECK_THAT(r.out, Catch::Contains("--force"));
  CHECK(std::ifstream(out).rdbuf() != nullptr);
  {
    std::ifstream in(out);
    std::string s;
    in >> s;
    CHECK(s == "precious");
  }
  CHECK(test::run_cli("fleet --packs 0 --out " + dir + "/a.h5").code == 2);
  CHECK(test::run_cli("fleet --packs -3 --out " + dir + "/a.h5").code == 2);
  r = test::run_cli("fleet --packs 2 --threads 5000 --out " + dir + "/a.h5");
  CHECK(r.code == 2);
  CHECK_THAT(r.out, Catch::Contains("beyond reason"));
  r = test::run_cli("fleet --packs 2 --out /nonexistent/dir/f.h5");
  CHECK(r.code == 2);
  CHECK_THAT(r.out, Catch::Contains("/nonexistent/dir"));
  r = test::run_cli("fleet --packs 2 --set fleet.city_mix=mars:1 --out " + dir + "/a.h5");
  CHECK(r.code == 2);
  CHECK_FALSE(fs::exists(dir + "/a.h5"));
  r = test::run_cli("fleet --resume --out " + dir + "/none.h5");
  CHECK(r.code == 2);
  r = test::run_cli("fleet --resume --packs 3 --out " + out);
  CHECK(r.code == 2);
  // target: not HDF5, not a fleet file, a newer format version.
  r = test::run_cli("target " + out);
  CHECK(r.code == 2);
  CHECK_THAT(r.out, Catch::Contains("not an HDF5 file"));
  {
    Hdf5Writer w(dir + "/other.h5");
    w.attribute("/", "format", std::string("packlife-lifecycle"));
  }
  r = test::run_cli("target " + dir + "/other.h5");
  CHECK(r.code == 2);
  CHECK_THAT(r.out, Catch::Contains("not a packlife fleet file"));
  {
    Hdf5Writer w(dir + "/newer.h5");
    w.attribute("/", "format", std::string("packlife-fleet"));
    w.attribute("/", "format_version", std::string("9.0"));
  }
  r = test::run_cli("target " + dir + "/newer.h5");
  CHECK(r.code == 2);
  CHECK_THAT(r.out, Catch::Contains("newer"));
  CHECK(test::run_cli("target " + dir + "/missing.h5").code == 2);
  CHECK(test::run_cli("target " + out + " --years 0").code == 2);
  r = test::run_cli("target " + dir + "/newer.h5 --set fleet.packs=3");
  CHECK(r.code == 2);
  CHECK_THAT(r.out, Catch::Contains("--set applies to a scenario file"));
}
