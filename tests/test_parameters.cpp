#include <catch2/catch.hpp>

#include <fstream>
#include <regex>

#include "helpers.hpp"
#include "packlife/core/error.hpp"
#include "packlife/models/output.hpp"

using namespace packlife;

namespace {
std::string chen_text() {
  std::ifstream in(data_dir() + "/parameters/chen2020.yaml");
  return std::string(std::istreambuf_iterator<char>(in), {});
}
std::string replace(std::string s, const std::string& from, const std::string& to) {
  const auto k = s.find(from);
  REQUIRE(k != std::string::npos);
  return s.replace(k, from.size(), to);
}
/// Parses modified text and returns the error message (fails the test if it parses).
std::string error_of(const std::string& text) {
  try {
    parse_parameter_set(text, "bad.yaml");
  } catch (const InputError& e) {
    return e.what();
  }
  FAIL("expected an InputError");
  return "";
}
}  // namespace

TEST_CASE("built-in parameter sets load by name", "[parameters]") {
  const auto names = builtin_parameter_sets();
  REQUIRE(std::find(names.begin(), names.end(), "chen2020") != names.end());
  REQUIRE(std::find(names.begin(), names.end(), "marquis2019") != names.end());
  const ParameterSet& p = test::chen();
  CHECK(p.name == "chen2020");
  CHECK(p.negative.thickness_m == Approx(85.2e-6));
  CHECK(p.positive.max_concentration_mol_m3 == Approx(63104));
  CHECK(p.cell.electrode_area_m2() == Approx(0.065 * 1.58));
  CHECK(p.references.count("Chen2020") == 1);
  for (const auto& r : p.records) CHECK(p.references.count(r.source) == 1);
  const ParameterSet m = load_parameter_set("marquis2019");
  CHECK(m.positive.ocp_V.fn != nullptr);
  CHECK(m.electrolyte.conductivity_activation_J_mol == Approx(34700));
}

TEST_CASE("a parameter set loads by path", "[parameters]") {
  const ParameterSet p = load_parameter_set(data_dir() + "/parameters/chen2020.yaml");
  CHECK(p.negative.particle_radius_m == Approx(5.86e-6));
}

TEST_CASE("electrode balance of Chen2020 spans the voltage limits", "[parameters][esoh]") {
  const ParameterSet& p = test::chen();
  const ElectrodeBalance eb = electrode_balance(p, 298.15);
  // About 5.1 Ah between 2.5 and 4.2 V (nameplate 5 Ah), Chen et al. 2020.
  CHECK(eb.capacity_Ah > 5.05);
  CHECK(eb.capacity_Ah < 5.25);
  CHECK(eb.capacity_Ah == Approx(eb.positive_capacity_Ah * (eb.y0 - eb.y100)).epsilon(1e-9));
  const double T = 298.15;
  CHECK(electrode_ocp(p.positive, eb.y100, T, T) - electrode_ocp(p.negative, eb.x100, T, T) == Approx(4.2).margin(1e-9));
  CHECK(electrode_ocp(p.positive, eb.y0, T, T) - electrode_ocp(p.negative, eb.x0, T, T) == Approx(2.5).margin(1e-9));
  CHECK(eb.x100 > eb.x0);
  CHECK(eb.y0 > eb.y100);
}

TEST_CASE("electrode balance hits both voltage limits for every shipped set, fresh and aged", "[parameters][esoh]") {
  // The root finder (regula falsi, Illinois) must land on the limits also on the LFP's flat plateau
  // and on tabulated OCPs; an aged cell (less lithium, less active material) as well, where an
  // electrode may saturate first.
  for (const std::string& name : builtin_parameter_sets()) {
    CAPTURE(name);
    const ParameterSet p = load_parameter_set(name);
    const double T = 298.15, Tref = p.cell.reference_temperature_K;
    const ElectrodeBalance f = electrode_balance(p, T);
    auto ocv = [&](const ElectrodeBalance& eb, double x) {  // y follows x through the lithium balance
      const double y = (eb.lithium_inventory_mol * kFaraday / 3600.0 - x * eb.negative_capacity_Ah) / eb.positive_capacity_Ah;
      return electrode_ocp(p.positive, y, T, Tref) - electrode_ocp(p.negative, x, T, Tref);
    };
    CHECK(ocv(f, f.x100) == Approx(p.cell.upper_voltage_cutoff_V).margin(1e-9));
    CHECK(ocv(f, f.x0) == Approx(p.cell.lower_voltage_cutoff_V).margin(1e-9));
    const ElectrodeBalance a = electrode_balance(p, T, 0.9 * f.lithium_inventory_mol, 0.95 * f.negative_capacity_Ah,
                                                 0.97 * f.positive_capacity_Ah, true);
    // Each limit is reached, or an electrode saturates before it (a stoichiometry at its bound).
    auto saturated = [](double x, double y) { return std::min({x, 1 - x, y, 1 - y}) < 1e-8; };
    const double v100 = ocv(a, a.x100), v0 = ocv(a, a.x0);
    CHECK((std::abs(v100 - p.cell.upper_voltage_cutoff_V) < 1e-9 || saturated(a.x100, a.y100)));
    CHECK((std::abs(v0 - p.cell.lower_voltage_cutoff_V) < 1e-9 || saturated(a.x0, a.y0)));
    CHECK(a.x100 > a.x0);
  }
}

TEST_CASE("resolved parameter sets re-load to the same values", "[parameters]") {
  const ParameterSet& p = test::chen();
  const ParameterSet q = parse_parameter_set(p.to_yaml(), "resolved.yaml");
  REQUIRE(q.records.size() == p.records.size());
  for (size_t i = 0; i < p.records.size(); ++i) {
    CHECK(q.records[i].key == p.records[i].key);
    CHECK(q.records[i].value == p.records[i].value);
  }
  CHECK(q.positive.diffusivity_m2_s.constant == p.positive.diffusivity_m2_s.constant);
}

TEST_CASE("a written set names its data-folder tables relative to that folder", "[parameters]") {
  // An absolute path would tie a fitted set to the clone it was written in (a fresh machine could not
  // load it).
  const ParameterSet p = load_parameter_set("okane2022");
  const std::string y = p.to_yaml();
  CHECK_THAT(y, Catch::Contains("table: ocp/graphite_LGM50_ocp_Chen2020.csv"));
  CHECK_THAT(y, !Catch::Contains(data_dir() + "/"));
  const ParameterSet q = parse_parameter_set(y, "/nonexistent/elsewhere/set.yaml");
  REQUIRE(q.negative.ocp_V.table);
  CHECK(q.negative.ocp_V(0.5) == Approx(p.negative.ocp_V(0.5)));
  // A table outside the data folder keeps its absolute path (nothing shorter would find it again).
  const auto dir = test::temp_dir("own_table");
  std::filesystem::copy_file(data_dir() + "/ocp/graphite_LGM50_ocp_Chen2020.csv", dir + "/graphite.csv");
  std::string own = y;
  own.replace(own.find("ocp/graphite_LGM50_ocp_Chen2020.csv"), 35, "graphite.csv");
  const ParameterSet r = parse_parameter_set(own, dir + "/set.yaml");
  const std::string abs = (std::filesystem::path(dir) / "graphite.csv").lexically_normal().string();
  CHECK_THAT(r.to_yaml(), Catch::Contains("table: " + abs));
  CHECK(parse_parameter_set(r.to_yaml(), "/nonexistent/set.yaml").negative.ocp_V(0.5) ==
        Approx(p.negative.ocp_V(0.5)));
}

TEST_CASE("a parameter override changes one value, is recorded and re-checked", "[parameters][override]") {
  ParameterSet p = load_parameter_set("okane2022");
  apply_parameter_override(p, "ageing.positive.lam_rate_s=1e-9");
  apply_parameter_override(p, "negative.diffusivity_m2_s=2e-14");
  CHECK(p.ageing.lam_positive.rate_s == 1e-9);
  CHECK(p.negative.diffusivity_m2_s.constant == 2e-14);
  CHECK(p.name == "okane2022");
  CHECK(p.identity() == "okane2022 --set ageing.positive.lam_rate_s=1e-9 --set negative.diffusivity_m2_s=2e-14");
  const ParameterSet q = parse_parameter_set(p.to_yaml(), "resolved.yaml");  // re-loads with the new values
  CHECK(q.ageing.lam_positive.rate_s == 1e-9);
  CHECK(q.references.count("command-line") == 1);
  RunInputs in{"spm", {}, {}, parse_experiment("Rest for 1 minute"), &p};
  CHECK_THAT(resolved_inputs_yaml(in), Catch::Contains("parameter_overrides") &&
                                           Catch::Contains("- ageing.positive.lam_rate_s=1e-9") &&
                                           Catch::Contains("source: command-line"));
  // A key absent from the file (chen2020 has no ageing section) is added.
  ParameterSet c = test::chen();
  apply_parameter_override(c, "ageing.sei.form=reaction");
  CHECK(c.ageing.sei_form == "reaction");
  // Errors name the assignment and what was expected; the set is left unchanged.
  const ParameterSet before = p;
  CHECK_THROWS_WITH(apply_parameter_override(p, "nosuch.key=1"), Catch::Contains("unknown parameter 'nosuch.key'"));
  CHECK_THROWS_WITH(apply_parameter_override(p, "cell.volume_m3"), Catch::Contains("expected KEY=VALUE"));
  CHECK_THROWS_WITH(apply_parameter_override(p, "cell.volume_m3=1e-5x"), Catch::Contains("not a number"));
  CHECK_THROWS_WITH(apply_parameter_override(p, "separator.porosity=2"), Catch::Contains("admissible range"));
  CHECK_THROWS_WITH(apply_parameter_override(p, "negative.ocp_V=0.1"), Catch::Contains("parameter file"));
  CHECK_THROWS_WITH(apply_parameter_override(p, "cell.lower_voltage_cutoff_V=4.3"),
                    Catch::Contains("--set 'cell.lower_voltage_cutoff_V=4.3'") && Catch::Contains("must be below"));
  CHECK_THROWS_WITH(apply_parameter_override(p, "ageing.sei.form=fast"), Catch::Contains("expected solvent-diffusion"));
  CHECK_THROWS_AS(apply_parameter_override(p, "separator.porosity=nan"), InputError);
  CHECK(p.identity() == before.identity());
  CHECK(p.separator.porosity == before.separator.porosity);
}

TEST_CASE("several overrides at once: one re-read, a named source, the culprit named", "[parameters][override]") {
  ParameterSet p = load_parameter_set("okane2022");
  const double w = p.cell.electrode_width_m;
  apply_parameter_overrides(p, {"cell.electrode_width_m=3.16", "cell.nominal_capacity_Ah=10"}, "pack design (test)");
  CHECK(p.cell.electrode_width_m == 3.16);
  CHECK(p.cell.nominal_capacity_Ah == 10.0);
  CHECK(p.overrides.size() == 2);
  for (const auto& r : p.records)
    if (r.key == "cell.electrode_width_m") CHECK(r.source == "pack design (test)");
  CHECK(p.references.count("pack design (test)") == 1);
  CHECK(p.references.count("command-line") == 0);
  // A cross-check failure names the assignment that caused it and the source, not --set.
  const ParameterSet before = p;
  CHECK_THROWS_WITH(apply_parameter_overrides(p, {"cell.volume_m3=3e-5", "cell.lower_voltage_cutoff_V=4.3"}, "pack design (test)"),
                    Catch::Contains("pack design (test): 'cell.lower_voltage_cutoff_V=4.3'") && !Catch::Contains("--set"));
  CHECK_THROWS_WITH(apply_parameter_overrides(p, {"cell.volume_m3=x"}), Catch::Contains("--set 'cell.volume_m3=x'"));
  CHECK(p.identity() == before.identity());
  apply_parameter_overrides(p, {});  // nothing to do
  CHECK(p.identity() == before.identity());
  CHECK(w != p.cell.electrode_width_m);
}

TEST_CASE("unknown parameter set names the known ones", "[parameters][errors]") {
  REQUIRE_THROWS_AS(load_parameter_set("nosuchcell"), InputError);
  REQUIRE_THROWS_WITH(load_parameter_set("nosuchcell"), Catch::Contains("chen2020"));
  REQUIRE_THROWS_WITH(load_parameter_set("/nonexistent/cell.yaml"), Catch::Contains("cannot open"));
}

TEST_CASE("malformed parameter files name file, line and key", "[parameters][errors]") {
  const std::string t = chen_text();
  // Line of the entry we damage, to check the reported line.
  auto line_of = [&](const std::string& needle) {
    const auto k = t.find(needle);
    return 1 + std::count(t.begin(), t.begin() + k, '\n');
  };
  const long l = line_of("negative.thickness_m:");
  CHECK_THAT(error_of(replace(t, "{value: 85.2e-6, unit: m", "{value: abc, unit: m")),
             Catch::Contains(fmt::format("bad.yaml:{}", l)) && Catch::Contains("negative.thickness_m") &&
                 Catch::Contains("expected a number"));
  // One damage to the file per row: (text to find, replacement, what the message must say).
  struct Damage {
    std::string from, to, expect;
  };
  const std::vector<Damage> damages = {
      {"{value: 85.2e-6, unit: m,", "{value: 85.2e-6, unit: mm,", "unit 'mm' where 'm' is expected"},
      {"{value: 85.2e-6, unit: m,", "{value: -85.2e-6, unit: m,", "outside the admissible range"},
      {"negative.thickness_m:", "negative.thicknes_m:", "unknown parameter"},
      {"function: chen2020_graphite_ocp", "function: graphite_magic", "unknown function 'graphite_magic'"},
      {"unit: m, source: Chen2020}\n  negative.particle_radius_m",
       "unit: m, source: Nobody}\n  negative.particle_radius_m", "source 'Nobody' is not listed"},
      {"  separator.porosity:", "  # separator.porosity:", "required parameter missing"},
      {"parameters:\n", "parameters:\n  cell.volume_m3: [1, 2\n", "malformed YAML"},
      {"{value: 29866,", "{value: 40000,", "below the maximum concentration"},
      {"{value: 85.2e-6, unit: m,", "{unit: m,", "missing 'value'"},
      {"{value: 85.2e-6, unit: m,", "{value: 85.2e-6,", "missing 'unit'"},
      {"{value: 85.2e-6, unit: m,", "{value: 85.2e-6, function: chen2020_graphite_ocp, unit: m,", "give one of"},
      {"{value: 85.2e-6, unit: m,", "{value: 85.2e-6, unit: m, colour: blue,", "unknown field 'colour'"},
      {"{function: chen2020_graphite_ocp, unit: V", "{value: 0.1, unit: V", "expected a 'function' name"},
      {"{function: chen2020_graphite_ocp, unit: V", "{function: nyman2008_diffusivity, unit: V", "returns m2/s"},
      {"{value: 0.75, unit:", "{function: chen2020_graphite_ocp, unit:", "expected a number 'value'"},
      {"{value: 0.25, unit: \"1\"", "{value: 0.3, unit: \"1\"", "exceeds 1"},
      {"{value: 2.5, unit: V", "{value: 4.3, unit: V", "must be below cell.upper_voltage_cutoff_V"},
      {"name: chen2020", "nam: chen2020", "unknown top-level key"},
      {"{value: 4.2, unit: V", "{value: 9.0, unit: V", "never reaches 9 V"},
      {"{function: chen2020_graphite_ocp, unit: V", "{table: ocp/nowhere.csv, unit: V", "table file 'ocp/nowhere.csv' not found"},
      {"{value: 0.75, unit:", "{table: ocp/graphite_LGM50_ocp_Chen2020.csv, unit:", "not a table"},
      {"parameters:\n", "parameters:\n  ageing.sei.form: {value: magic, unit: \"-\", source: Chen2020}\n",
       "expected solvent-diffusion, reaction, reaction-diffusion or interstitial-diffusion"},
  };
  for (const auto& d : damages) {
    INFO(d.to);
    if (d.expect.find("never reaches") != std::string::npos) {
      // Parses, but the electrode balance cannot reach the limit: reported when the set is used.
      const ParameterSet p = parse_parameter_set(replace(t, d.from, d.to), "bad.yaml");
      REQUIRE_THROWS_WITH(electrode_balance(p, 298.15), Catch::Contains(d.expect) &&
                                                            Catch::Contains("cell.upper_voltage_cutoff_V"));
      continue;
    }
    const std::string msg = error_of(replace(t, d.from, d.to));
    CHECK_THAT(msg, Catch::Contains("bad.yaml") && Catch::Contains(d.expect));
  }
}

TEST_CASE("tabulated functions: not-a-knot cubic spline, file errors", "[parameters][functions]") {
  const auto dir = test::temp_dir("tables");
  auto write = [&](const std::string& name, const std::string& text) { return test::write_file(dir, name, text); };
  // A not-a-knot spline reproduces a cubic exactly, on uneven knots, inside and outside the range.
  std::string cubic = "# x,y\n";
  for (double x : {0.0, 0.1, 0.25, 0.3, 0.55, 0.7, 0.9, 1.0}) cubic += fmt::format("{},{}\n", x, 2 * x * x * x - x * x + 0.5);
  const auto t = TableFunction::load(write("cubic.csv", cubic));
  for (double x : {-0.05, 0.0, 0.05, 0.33, 0.61, 0.99, 1.0, 1.1}) {
    double f, df;
    t->eval(x, f, df);
    CHECK(f == Approx(2 * x * x * x - x * x + 0.5).margin(1e-12));
    CHECK(df == Approx(6 * x * x - 2 * x).margin(1e-10));
  }
  // The measured graphite curve of Chen 2020: passes through its data, OCP falls with lithiation.
  const auto g = TableFunction::load(data_dir() + "/ocp/graphite_LGM50_ocp_Chen2020.csv");
  CHECK((*g)(1.0) == Approx(0.0760153081792987).margin(1e-12));
  CHECK((*g)(0.1) > (*g)(0.5));
  CHECK((*g)(0.5) > (*g)(0.9));
  // The spline passes through each data point and is continuous there (a rounding either side of a knot).
  {
    std::ifstream in(data_dir() + "/ocp/graphite_LGM50_ocp_Chen2020.csv");
    std::string line;
    std::vector<std::pair<double, double>> knots;
    while (std::getline(in, line)) {
      double x, y;
      if (line.empty() || line[0] == '#' || std::sscanf(line.c_str(), "%lf,%lf", &x, &y) != 2) continue;
      knots.emplace_back(x, y);
    }
    REQUIRE(knots.size() == g->size());
    for (size_t k = 0; k < knots.size(); ++k) {
      const auto [x, y] = knots[k];
      CHECK((*g)(x) == Approx(y).margin(1e-12));
      CHECK((*g)(std::nextafter(x, -1.0)) == Approx(y).margin(1e-9));
      CHECK((*g)(std::nextafter(x, 2.0)) == Approx(y).margin(1e-9));
    }
  }
  // The interval lookup (uniform buckets) picks the piece that holds x: on 40 uneven knots of sin(6x)
  // the spline is within 3.8e-5 everywhere (SciPy's not-a-knot CubicSpline: 3.81e-5), a neighbouring piece
  // evaluated outside its interval 3.5e-4.
  {
    std::string sine;
    for (int k = 0; k < 40; ++k) {
      const double x = std::pow(k / 39.0, 1.5);
      sine += fmt::format("{:.17g},{:.17g}\n", x, std::sin(6 * x));
    }
    const auto sn = TableFunction::load(write("sine.csv", sine));
    double worst = 0;
    for (int i = 0; i <= 4000; ++i) worst = std::max(worst, std::abs((*sn)(i / 4000.0) - std::sin(6 * i / 4000.0)));
    CHECK(worst < 5e-5);
  }
  // Errors name the file and line.
  REQUIRE_THROWS_WITH(TableFunction::load(write("a.csv", "0,1\n0.5,2\nx,3\n1,4\n")),
                      Catch::Contains("a.csv:3") && Catch::Contains("not two numbers"));
  REQUIRE_THROWS_WITH(TableFunction::load(write("b.csv", "0,1\n0.5,2\n0.4,3\n1,4\n")),
                      Catch::Contains("b.csv:3") && Catch::Contains("does not increase"));
  REQUIRE_THROWS_WITH(TableFunction::load(write("c.csv", "0,1\n1,2\n")), Catch::Contains("at least 4 rows"));
  REQUIRE_THROWS_WITH(TableFunction::load(write("d.csv", "0;1\n")), Catch::Contains("d.csv:1"));
  REQUIRE_THROWS_WITH(TableFunction::load(dir + "/missing.csv"), Catch::Contains("cannot open"));
}

TEST_CASE("okane2022: Chen2020 electrochemistry with the measured graphite OCP and degradation parameters",
          "[parameters]") {
  const ParameterSet p = load_parameter_set("okane2022");
  CHECK(p.negative.ocp_V.table != nullptr);
  CHECK(p.ageing.sei_form == "solvent-diffusion");
  CHECK(p.ageing.default_mechanisms == "sei,plating");
  for (const char* m : {"sei-solvent-diffusion", "sei-reaction", "plating", "lam"})
    for (const auto& k : required_ageing_keys(m)) CHECK(p.present.count(k) == 1);
  // Written back and re-read: the same set (table by absolute path).
  const ParameterSet q = parse_parameter_set(p.to_yaml(), "roundtrip.yaml");
  CHECK(q.negative.ocp_V(0.3) == p.negative.ocp_V(0.3));
  CHECK(q.ageing.sei_solvent_diffusivity_m2_s == p.ageing.sei_solvent_diffusivity_m2_s);
  CHECK(q.ageing.default_mechanisms == p.ageing.default_mechanisms);
  // Chen2020 has no degradation section.
  CHECK(load_parameter_set("chen2020").present.count("ageing.sei.initial_thickness_m") == 0);
}

TEST_CASE("prada2013: LFP/graphite A123 26650 with SEI and plating but no LAM", "[parameters][lfp]") {
  const ParameterSet p = load_parameter_set("prada2013");
  for (const auto& r : p.records) CHECK(p.references.count(r.source) == 1);
  // The LFP plateau: flat around 3.4 V over most of the stoichiometry range (Afshar 2017).
  CHECK(p.positive.ocp_V(0.5) == Approx(3.397).margin(2e-3));
  CHECK(std::abs(p.positive.ocp_V(0.2) - p.positive.ocp_V(0.8)) < 0.02);
  // Electrode balance between 2.0 and 3.6 V holds the cell's 2.3 Ah (Prada 2013 loadings, 0.18 m2).
  const ElectrodeBalance eb = electrode_balance(p, 298.15);
  CHECK(eb.capacity_Ah == Approx(2.3).epsilon(0.01));
  CHECK(p.electrolyte.conductivity_S_m(1200.0) > 0.1);
  CHECK(parse_ageing("default", p).names() == "sei-solvent-diffusion,plating");
  CHECK_THROWS_WITH(parse_ageing("lam", p), Catch::Contains("prada2013") && Catch::Contains("ageing.positive.lam_rate_s"));
}
