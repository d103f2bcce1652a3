#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "helpers.hpp"
#include "packlife/core/error.hpp"

using namespace packlife;
using test::chen;
using test::run;

namespace {
ModelOptions lumped() {
  ModelOptions o;
  o.thermal = Thermal::Lumped;
  return o;
}
}  // namespace

TEST_CASE("analytic Jacobian matches finite differences of the residual", "[physics][jacobian]") {
  for (const std::string name : {"spm", "spme", "dfn"})
    for (Thermal th : {Thermal::Isothermal, Thermal::Lumped})
      for (Control c : {Control::Current, Control::Voltage, Control::Power}) {
        ModelOptions o;
        o.thermal = th;
        o.particle_cells = 6;
        o.electrolyte_cells = 4;
        auto m = make_model(name, load_parameter_set("marquis2019"), o);  // Arrhenius terms everywhere
        const int n = m->size();
        std::vector<double> y = m->initial_state(0.6, 298.15), yp(n, 0.0);
        // A non-uniform state: perturb concentrations and set a current and temperature.
        for (int i = 0; i < n - 2; ++i) y[i] *= 1.0 + 0.01 * std::sin(1.3 * i);
        y[n - 1] = 1.3;
        if (th == Thermal::Lumped) y[n - 3] = 310.0;
        for (int i = 0; i < n; ++i) yp[i] = 1e-3 * std::cos(0.7 * i);
        m->set_control(c, c == Control::Current ? 1.0 : c == Control::Voltage ? 3.7 : 4.0);
        const auto check = test::check_jacobian(*m, y, yp, 0.37, 1.0, 1e-6, 0.0);
        REQUIRE(check.unlisted < 1e-9);  // pattern must cover every dependency
        const double worst = check.worst;
        INFO(name << " thermal=" << int(th) << " control=" << int(c));
        CHECK(worst < 1e-4);
      }
}

TEST_CASE("lithium is conserved over a full cycle", "[physics][conservation]") {
  for (const std::string name : {"spm", "spme", "dfn"}) {
    auto m = make_model(name, chen(), ModelOptions{});
    const std::vector<double> y0 = m->initial_state(1.0, 298.15);
    const Solution s = simulate(*m, parse_experiment("Discharge at 1C until 2.5 V; Rest for 10 minutes; "
                                                     "Charge at 1C until 4.2 V; Hold at 4.2 V until C/20"),
                                SimulationOptions{});
    const double p0 = m->particle_lithium_mol(y0.data()), p1 = m->particle_lithium_mol(s.final_state.data());
    const double e0 = m->electrolyte_lithium_mol(y0.data()), e1 = m->electrolyte_lithium_mol(s.final_state.data());
    INFO(name);
    CHECK(std::abs(p1 - p0) / p0 < 1e-6);
    CHECK(std::abs(e1 - e0) / e0 < 1e-6);
  }
}

TEST_CASE("C/20 discharge delivers the electrode-balance capacity", "[physics]") {
  const double Q = electrode_balance(chen(), 298.15).capacity_Ah;
  for (const std::string name : {"spm", "spme", "dfn"}) {
    SimulationOptions so;
    so.output_dt_s = 60;
    const Solution s = run(name, "Discharge at C/20 until 2.5 V", {}, so);
    INFO(name << " " << s.discharge_capacity_Ah.back() << " vs " << Q);
    CHECK(std::abs(s.discharge_capacity_Ah.back() - Q) / Q < 0.01);
    CHECK(s.steps[0].end_reason == "until 2.5 V");
  }
}

TEST_CASE("rest voltage equals the OCV difference at the resolved stoichiometries", "[physics]") {
  const ParameterSet& p = chen();
  for (const std::string name : {"spm", "spme", "dfn"}) {
    auto m = make_model(name, p, ModelOptions{});
    for (double soc : {1.0, 0.5, 0.1}) {
      const auto y = m->initial_state(soc, 298.15);
      const ElectrodeBalance& eb = m->balance();
      const double ocv = p.positive.ocp_V(eb.y_at(soc)) - p.negative.ocp_V(eb.x_at(soc));
      CHECK(m->outputs(y.data()).voltage_V == Approx(ocv).margin(1e-9));
      CHECK(m->outputs(y.data()).soc == Approx(soc).margin(1e-9));
    }
    // After a partial discharge and a long rest the particles are uniform again.
    const Solution s = simulate(*m, parse_experiment("Discharge at 1C for 20 minutes; Rest for 10 hours"), SimulationOptions{});
    const double soc = s.soc.back();
    const double x = m->balance().x_at(soc), yv = m->balance().y_at(soc);
    const double ocv = p.positive.ocp_V(yv) - p.negative.ocp_V(x);
    INFO(name);
    CHECK(s.voltage_V.back() == Approx(ocv).margin(2e-4));
    CHECK(soc == Approx(1.0 - 5.0 / 3.0 / m->balance().capacity_Ah).margin(1e-6));
  }
}

TEST_CASE("voltage falls with rate and delivered capacity shrinks", "[physics]") {
  for (const std::string name : {"spm", "spme", "dfn"}) {
    std::vector<double> v_at_1Ah, q_end;
    for (const char* rate : {"0.5C", "1C", "2C"}) {
      const Solution s = run(name, fmt::format("Discharge at {} until 2.5 V", rate));
      v_at_1Ah.push_back(test::interp(s.discharge_capacity_Ah, s.voltage_V, 1.0));
      q_end.push_back(s.discharge_capacity_Ah.back());
    }
    INFO(name);
    CHECK(v_at_1Ah[0] > v_at_1Ah[1] + 5e-3);
    CHECK(v_at_1Ah[1] > v_at_1Ah[2] + 5e-3);
    CHECK(q_end[0] > q_end[1]);
    CHECK(q_end[1] > q_end[2]);
  }
}

TEST_CASE("SPMe voltage lies below SPM voltage on discharge (electrolyte losses)", "[physics]") {
  const Solution a = run("spm", "Discharge at 1C for 30 minutes"), b = run("spme", "Discharge at 1C for 30 minutes");
  for (size_t i = 10; i < std::min(a.size(), b.size()); i += 100) CHECK(b.voltage_V[i] < a.voltage_V[i]);
}

TEST_CASE("a lumped 2C discharge heats the cell, which relaxes to ambient at rest", "[physics][thermal]") {
  for (const std::string name : {"spm", "spme", "dfn"}) {
    const Solution s = run(name, "Discharge at 2C until 2.5 V; Rest for 6 hours", lumped());
    const double T_amb = 298.15;
    double T_peak = 0;
    size_t k_end = 0;
    for (size_t i = 0; i < s.size(); ++i)
      if (s.step[i] == 0) { T_peak = std::max(T_peak, s.temperature_K[i]); k_end = i; }
    INFO(name << " peak " << T_peak);
    CHECK(T_peak > T_amb + 2.0);
    CHECK(s.temperature_K[k_end] > T_amb + 2.0);
    // Monotone cooling during the rest, ending at ambient.
    for (size_t i = k_end + 2; i < s.size(); ++i) CHECK(s.temperature_K[i] <= s.temperature_K[i - 1] + 1e-3);  // integration noise is ~1e-4 K
    CHECK(std::abs(s.temperature_K.back() - T_amb) < 0.05);
    // Heat is generated throughout the discharge.
    for (size_t i = 1; i < k_end; ++i) REQUIRE(s.heat_W[i] > 0);
  }
}

TEST_CASE("a C/10 charge-discharge cycle closes its coulomb balance", "[physics]") {
  for (const std::string name : {"spm", "spme", "dfn"}) {
    SimulationOptions so;
    so.output_dt_s = 30;
    auto m = make_model(name, chen(), ModelOptions{});
    const std::vector<double> y0 = m->initial_state(1.0, 298.15);
    const Solution s = simulate(*m, parse_experiment("Discharge at C/10 until 2.5 V; Rest for 1 hour; "
                                                     "Charge at C/10 until 4.2 V; Hold at 4.2 V until C/100"), so);
    const double out = s.steps[0].discharge_Ah, in = -s.steps[2].discharge_Ah - s.steps[3].discharge_Ah;
    INFO(name << " out " << out << " in " << in);
    // The CCCV charge returns what the discharge took, up to the charge left unreturned when the hold
    // stops at C/100 ...
    CHECK(std::abs(in - out) / out < 5e-3);
    CHECK(std::abs(s.soc.back() - 1.0) < 5e-3);
    // ... and that remainder is exactly the charge counted at the terminals: the net coulomb count
    // equals the lithium moved out of the negative electrode.
    CHECK(out - in == Approx((1.0 - s.soc.back()) * m->balance().capacity_Ah).margin(1e-6));
    CHECK(s.discharge_capacity_Ah.back() == Approx(out - in).margin(1e-9));
  }
}

TEST_CASE("results do not depend on the integrator tolerance or the output interpolation", "[physics][numerics]") {
  for (const std::string name : {"spm", "spme", "dfn"}) {
    ModelOptions tight;
    tight.rtol = 1e-8;
    SimulationOptions solver_interp;
    solver_interp.interpolation = OutputInterpolation::Solver;
    const Solution a = run(name, "Discharge at 2C until 2.5 V");
    const Solution b = run(name, "Discharge at 2C until 2.5 V", tight);
    const Solution c = run(name, "Discharge at 2C until 2.5 V", {}, solver_interp);
    INFO(name);
    // Time-integration error at the default rtol stays far below the mesh error (0.2-1 mV at 2C,
    // docs/accuracy.md) and below 0.1 mV; Hermite sampling agrees with IDA's own interpolant.
    CHECK(test::rms_on_grid(a, b) < 1e-4);
    CHECK(test::rms_on_grid(a, c) < 2e-5);
    CHECK(a.discharge_capacity_Ah.back() == Approx(b.discharge_capacity_Ah.back()).epsilon(1e-5));
  }
}

TEST_CASE("mesh refinement converges", "[physics][numerics]") {
  std::vector<double> q;
  for (int n : {10, 20, 40, 80}) {
    ModelOptions o;
    o.particle_cells = n;
    o.electrolyte_cells = n;
    q.push_back(run("spme", "Discharge at 1C until 2.5 V", o).discharge_capacity_Ah.back());
  }
  const double e1 = std::abs(q[1] - q[0]), e2 = std::abs(q[2] - q[1]), e3 = std::abs(q[3] - q[2]);
  CHECK(e2 < e1);
  CHECK(e3 < e2);
  CHECK(e3 / q[3] < 1e-4);
}

TEST_CASE("step controls: voltage hold, power, duration, SOC end", "[physics][experiment]") {
  SECTION("CCCV: the hold keeps 4.2 V while the current decays to C/50") {
    SimulationOptions so;
    so.initial_soc = 0.5;
    const Solution s = run("spme", "Charge at 1C until 4.2 V; Hold at 4.2 V until C/50", {}, so);
    bool seen = false;
    for (size_t i = 0; i < s.size(); ++i)
      if (s.step[i] == 1) {
        seen = true;
        CHECK(s.voltage_V[i] == Approx(4.2).margin(1e-8));  // the algebraic current is re-solved at each sample
        CHECK(s.current_A[i] <= 0);
      }
    CHECK(seen);
    CHECK(s.current_A.back() == Approx(-0.1).epsilon(1e-6));
    CHECK(s.steps[1].end_reason == "until 0.1 A");
  }
  SECTION("constant power") {
    const Solution s = run("spme", "Discharge at 20 W until 3.0 V");
    for (size_t i = 0; i < s.size(); ++i) CHECK(s.current_A[i] * s.voltage_V[i] == Approx(20.0).epsilon(1e-9));  // samples are consistent
    CHECK(s.voltage_V.back() == Approx(3.0).margin(1e-6));
  }
  SECTION("fixed duration and current") {
    const Solution s = run("spm", "Discharge at 2 A for 10 minutes");
    CHECK(s.time_s.back() == Approx(600.0));
    CHECK(s.discharge_capacity_Ah.back() == Approx(2.0 * 600 / 3600).epsilon(1e-9));
    CHECK(s.steps[0].end_reason == "duration");
  }
  SECTION("SOC termination") {
    SimulationOptions so;
    so.initial_soc = 0.2;
    // (At 1C Chen2020 reaches 4.2 V near 68 % SOC, so a gentler rate is used.)
    const Solution s = run("spme", "Charge at 0.3C until 80% SOC", {}, so);
    CHECK(s.soc.back() == Approx(0.8).margin(1e-6));
    CHECK(s.steps[0].end_reason == "until 80% SOC");
  }
}

TEST_CASE("a CC-CV step charges at constant current, then holds its CV voltage until its end", "[physics][experiment]") {
  SimulationOptions so;
  so.initial_soc = 0.2;
  std::vector<std::string> warnings;
  auto m = make_model("spme", chen(), ModelOptions{});
  // At 1C Chen2020 reaches 4.2 V near 68 % SOC: the step must go on at 4.2 V to 90 %.
  const Solution s = simulate(*m, parse_experiment("Charge at 1C with CV at 4.2 V until 90% SOC"), so,
                              [&](const std::string& w) { warnings.push_back(w); });
  CHECK(warnings.empty());
  REQUIRE(s.steps.size() == 1);
  CHECK(s.steps[0].end_reason == "until 90% SOC");
  CHECK(s.soc.back() == Approx(0.9).margin(1e-6));
  const double I1 = -chen().cell.nominal_capacity_Ah;
  bool cc = false, cv = false;
  double last_I = I1;
  for (size_t i = 0; i < s.size(); ++i) {
    CHECK(s.voltage_V[i] <= 4.2 + 1e-7);  // never above the CV voltage
    if (s.current_A[i] == Approx(I1).epsilon(1e-9)) cc = true;
    if (s.voltage_V[i] == Approx(4.2).margin(1e-7)) {
      cv = true;
      CHECK(s.current_A[i] >= last_I - 1e-6);  // the current tapers (rises towards zero)
      CHECK(s.current_A[i] < 0);
      last_I = s.current_A[i];
    }
  }
  CHECK(cc);
  CHECK(cv);
  CHECK(last_I > 0.5 * I1);  // tapered below C/2 by 90 %
  // Charge balance: the charge passed equals the SOC window moved.
  const double window_Ah = m->balance().capacity_Ah;
  CHECK(-s.discharge_capacity_Ah.back() == Approx((0.9 - 0.2) * window_Ah).epsilon(1e-3));
  SECTION("a CC-CV step that starts beyond its CV voltage goes straight to CV; one whose end holds is skipped") {
    so.initial_soc = 0.75;
    auto m2 = make_model("spme", chen(), ModelOptions{});
    const Solution a = simulate(*m2, parse_experiment("Charge at 2C with CV at 4.1 V until C/5"), so);
    REQUIRE(a.steps.size() == 1);
    CHECK_FALSE(a.steps[0].skipped);
    CHECK(a.steps[0].end_reason == "until 1 A");
    for (double v : a.voltage_V) CHECK(v <= 4.1 + 1e-7);
    std::vector<std::string> w;
    const Solution b = simulate(*m2, parse_experiment("Charge at 1C with CV at 4.2 V until 50% SOC"), so,
                                [&](const std::string& x) { w.push_back(x); });
    CHECK(b.steps[0].skipped);
    REQUIRE(w.size() == 1);
  }
  SECTION("a CV voltage outside the cell's window is an input error") {
    auto m3 = make_model("spme", chen(), ModelOptions{});
    CHECK_THROWS_AS(simulate(*m3, parse_experiment("Charge at 1C with CV at 4.5 V until 90% SOC"), so), InputError);
  }
}

TEST_CASE("a step whose end condition already holds is skipped with a warning", "[physics][experiment]") {
  std::vector<std::string> warnings;
  auto m = make_model("spm", chen(), ModelOptions{});
  const Solution s = simulate(*m, parse_experiment("Charge at 0.5C until 4.2 V; Discharge at 1C for 1 minute"),
                              SimulationOptions{}, [&](const std::string& w) { warnings.push_back(w); });
  REQUIRE(s.steps.size() == 2);
  CHECK(s.steps[0].skipped);
  CHECK(s.steps[0].end_reason == "skipped");
  REQUIRE(warnings.size() == 1);
  CHECK_THAT(warnings[0], Catch::Contains("Charge at 0.5C until 4.2 V") && Catch::Contains("skipped"));
  CHECK_FALSE(s.steps[1].skipped);
  CHECK(s.time_s.back() == Approx(60.0));
}

TEST_CASE("safety limits stop a step early, with a warning", "[physics][experiment]") {
  std::vector<std::string> warnings;
  auto m = make_model("spm", chen(), ModelOptions{});
  const Solution s = simulate(*m, parse_experiment("Discharge at 1C for 10 hours"), SimulationOptions{},
                              [&](const std::string& w) { warnings.push_back(w); });
  CHECK(s.steps[0].end_reason == "lower voltage cut-off");
  CHECK(s.voltage_V.back() == Approx(2.5).margin(1e-6));
  CHECK(s.time_s.back() < 3700);
  REQUIRE(warnings.size() == 1);
  CHECK_THAT(warnings[0], Catch::Contains("stopped early") && Catch::Contains("lower voltage cut-off"));
}

TEST_CASE("bad model names and options are input errors", "[physics][errors]") {
  REQUIRE_THROWS_AS(make_model("dfx", chen(), ModelOptions{}), InputError);
  REQUIRE_THROWS_WITH(make_model("dfx", chen(), ModelOptions{}), Catch::Contains("spme"));
  ModelOptions o;
  o.particle_cells = 2;
  REQUIRE_THROWS_AS(make_model("spm", chen(), o), InputError);
  auto m = make_model("spm", chen(), ModelOptions{});
  REQUIRE_THROWS_AS(m->initial_state(1.5, 298.15), InputError);
  SimulationOptions so;
  so.output_dt_s = 0;
  REQUIRE_THROWS_AS(simulate(*m, parse_experiment("Rest for 1 minute"), so), InputError);
}
