#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <tuple>
#include <vector>

#include "packlife/core/csv.hpp"
#include "packlife/core/dae.hpp"
#include "packlife/core/error.hpp"
#include "packlife/core/yaml_source.hpp"

using namespace packlife;

namespace {
/// y' = -k y (differential), z = 2 y (algebraic); root at y = 0.5. Exact: y = exp(-k t).
class Decay : public DaeSystem {
 public:
  enum class Fail { None, Recoverable, Fatal };
  Fail fail = Fail::None;
  bool singular_after_0_1 = false;  ///< the Jacobian's algebraic row vanishes after t = 0.1
  double k = 1.0;
  Decay() : p_(2) {
    p_.add(0, 0);
    p_.add(1, 0);
    p_.add(1, 1);
    p_.finalize();
  }
  int size() const override { return 2; }
  void residual(double t, const double* y, const double* yp, double* F) override {
    if (fail == Fail::Recoverable && t > 0.1) throw RecoverableError("state left the model's domain");
    if (fail == Fail::Fatal && t > 0.1) throw std::runtime_error("model broke");
    F[0] = yp[0] + k * y[0];
    F[1] = y[1] - 2 * y[0];
  }
  const SparsityPattern& jacobian_pattern() const override { return p_; }
  void jacobian(double t, double cj, const double*, const double*, SparseJacobian& J) override {
    const double row = singular_after_0_1 && t > 0.1 ? 0.0 : 1.0;
    J.add(0, 0, cj + k);
    J.add(1, 0, -2.0 * row);
    J.add(1, 1, row);
  }
  void differential_ids(double* id) const override { id[0] = 1; id[1] = 0; }
  int num_roots() const override { return 1; }
  void roots(double, const double* y, const double*, double* g) override { g[0] = y[0] - 0.5; }

 private:
  SparsityPattern p_;
};

double integrate_to_root(Decay& d, double rtol, double& t_root) {
  DaeOptions o;
  o.rtol = rtol;
  o.atol = {rtol * 1e-2, rtol * 1e-2};
  DaeIntegrator integ(d, o);
  const double y0[2] = {1.0, 2.0}, yp0[2] = {-d.k, 0.0};
  integ.reinit(0.0, y0, yp0);
  integ.set_root_directions({-1});
  integ.set_stop_time(10.0);
  double worst = 0;
  for (;;) {
    const auto st = integ.step(10.0);
    worst = std::max(worst, std::abs(integ.y()[0] - std::exp(-d.k * integ.time())));
    CHECK(integ.y()[1] == Approx(2 * integ.y()[0]).epsilon(1e-8));
    if (st == DaeIntegrator::Status::Root) break;
    REQUIRE(st == DaeIntegrator::Status::Step);
  }
  t_root = integ.time();
  return worst;
}
}  // namespace

TEST_CASE("IDA integrator: exact decay, algebraic constraint and root location", "[core][dae]") {
  Decay d;
  double t_root = 0;
  const double err = integrate_to_root(d, 1e-8, t_root);
  CHECK(err < 1e-6);
  CHECK(t_root == Approx(std::log(2.0)).epsilon(1e-6));
  // Tighter tolerance, smaller error: the solver converges.
  double t2 = 0;
  const double err_loose = integrate_to_root(d, 1e-4, t2);
  CHECK(err < err_loose);
}

TEST_CASE("IDA integrator: stop time and dense output", "[core][dae]") {
  Decay d;
  DaeOptions o;
  o.atol = {1e-10, 1e-10};
  o.rtol = 1e-8;
  DaeIntegrator integ(d, o);
  const double y0[2] = {1.0, 2.0}, yp0[2] = {-1.0, 0.0};
  integ.reinit(0.0, y0, yp0);
  integ.set_root_directions({-1});
  integ.set_stop_time(0.3);
  DaeIntegrator::Status st;
  double t_prev = 0.0, y[2];
  do {
    st = integ.step(0.3);
    const double tm = 0.5 * (t_prev + integ.time());  // dense output is valid inside the last step
    integ.interpolate(tm, y);
    CHECK(y[0] == Approx(std::exp(-tm)).epsilon(1e-6));
    t_prev = integ.time();
  } while (st == DaeIntegrator::Status::Step);
  CHECK(st == DaeIntegrator::Status::StopTime);
  CHECK(integ.time() == Approx(0.3));
  REQUIRE_THROWS_AS(integ.interpolate(-1.0, y), SolverError);  // outside the last step
}

TEST_CASE("exceptions in model callbacks become solver errors, never cross SUNDIALS", "[core][dae][errors]") {
  for (auto mode : {Decay::Fail::Recoverable, Decay::Fail::Fatal}) {
    Decay d;
    d.fail = mode;
    DaeOptions o;
    o.atol = {1e-8, 1e-8};
    o.max_num_steps = 2000;  // a recoverable wall makes IDA creep towards it; the budget ends that
    DaeIntegrator integ(d, o);
    const double y0[2] = {1.0, 2.0}, yp0[2] = {-1.0, 0.0};
    integ.reinit(0.0, y0, yp0);
    integ.set_root_directions({-1});
    integ.set_stop_time(10.0);
    auto run = [&] {
      for (;;)
        if (integ.step(10.0) != DaeIntegrator::Status::Step) break;
    };
    try {
      run();
      FAIL("expected a SolverError");
    } catch (const SolverError& e) {
      CHECK(e.flag() < 0);
      CHECK(e.time_s() >= 0.0);
      CHECK(e.time_s() <= 0.1 + 1e-9);
      CHECK_THAT(e.what(), Catch::Contains(mode == Decay::Fail::Recoverable ? "left the model's domain" : "model broke"));
    }
  }
}

TEST_CASE("a singular Jacobian fails the step, and the kept factorisation recovers after a re-initialisation",
          "[core][dae][errors]") {
  // The KLU factors outlive IDA's re-initialisations (core/src/dae.cpp, PersistentKlu): a matrix that
  // turns singular must still be refused (refactorisation, condition test, fresh factorisation, then a
  // recoverable failure IDA cannot get past), and a later healthy run must factor afresh and be exact.
  Decay d;
  d.singular_after_0_1 = true;
  DaeOptions o;
  o.rtol = 1e-8;
  o.atol = {1e-10, 1e-10};
  o.max_num_steps = 2000;
  DaeIntegrator integ(d, o);
  const double y0[2] = {1.0, 2.0}, yp0[2] = {-1.0, 0.0};
  integ.reinit(0.0, y0, yp0);
  integ.set_root_directions({-1});
  integ.set_stop_time(10.0);
  try {
    for (;;)
      if (integ.step(10.0) != DaeIntegrator::Status::Step) break;
    FAIL("expected a SolverError");
  } catch (const SolverError& e) {
    CHECK(e.flag() < 0);
    CHECK(e.time_s() > 0.05);
    CHECK(e.time_s() < 0.2);
  }
  d.singular_after_0_1 = false;
  integ.reinit(0.0, y0, yp0);
  integ.set_root_directions({-1});
  integ.set_stop_time(10.0);
  for (;;) {
    const auto st = integ.step(10.0);
    CHECK(integ.y()[0] == Approx(std::exp(-integ.time())).epsilon(1e-5));
    if (st != DaeIntegrator::Status::Step) break;
  }
  CHECK(integ.time() == Approx(std::log(2.0)).epsilon(1e-6));
}

TEST_CASE("sparsity pattern lookups and guards", "[core]") {
  SparsityPattern p(3);
  p.add(0, 0);
  p.add(2, 0);
  p.add(1, 1);
  p.add(2, 0);  // duplicate is merged
  p.finalize();
  CHECK(p.nnz() == 3);
  CHECK(p.index(2, 0) == 1);
  CHECK(p.index(0, 1) == -1);
  std::vector<double> v(3, 0.0);
  SparseJacobian J(p, v.data());
  J.add(2, 0, 1.5);
  J.add(2, 0, 1.0);
  CHECK(v[1] == 2.5);
  REQUIRE_THROWS_AS(J.add(0, 2, 1.0), Error);
  REQUIRE_THROWS_AS(p.add(3, 0), Error);
}

TEST_CASE("Jacobian position trace replays, detects a changed order and re-records", "[core]") {
  SparsityPattern p(3);
  for (auto [r, c] : {std::pair{0, 0}, {2, 0}, {1, 1}, {0, 2}, {2, 2}}) p.add(r, c);
  p.finalize();
  // Assemblies in one order, then another (as a model does when its control mode changes).
  const std::vector<std::tuple<int, int, double>> a{{0, 0, 1.0}, {2, 0, 2.0}, {1, 1, 3.0}, {2, 0, 0.5}};
  const std::vector<std::tuple<int, int, double>> b{{2, 2, 4.0}, {0, 0, 1.0}, {0, 2, -1.0}};
  auto assemble = [&](const auto& entries, JacobianTrace* trace) {
    std::vector<double> v(p.nnz(), 0.0);
    SparseJacobian J(p, v.data(), trace);
    for (const auto& [r, c, x] : entries) J.add(r, c, x);
    J.finish();
    return v;
  };
  JacobianTrace trace;
  CHECK_FALSE(trace.recorded());
  const auto va = assemble(a, nullptr), vb = assemble(b, nullptr);
  CHECK(assemble(a, &trace) == va);  // records
  CHECK(trace.recorded());
  CHECK(assemble(a, &trace) == va);  // replays
  CHECK(trace.recorded());
  CHECK(assemble(b, &trace) == vb);  // diverges: correct values, trace dropped
  CHECK_FALSE(trace.recorded());
  CHECK(assemble(b, &trace) == vb);  // records the new order
  CHECK(trace.recorded());
  // A shorter assembly that is a prefix of the recording also drops it.
  const std::vector<std::tuple<int, int, double>> b_short(b.begin(), b.begin() + 2);
  CHECK(assemble(b_short, &trace) == assemble(b_short, nullptr));
  CHECK_FALSE(trace.recorded());
  // An entry outside the pattern still throws while replaying.
  assemble(a, &trace);
  std::vector<double> v(p.nnz(), 0.0);
  SparseJacobian J(p, v.data(), &trace);
  J.add(0, 0, 1.0);
  REQUIRE_THROWS_AS(J.add(1, 2, 1.0), Error);
}

TEST_CASE("numbers are parsed whole, blanks around allowed", "[core]") {
  CHECK(parse_number("1.5") == 1.5);
  CHECK(parse_number(" -2e-3\t") == -2e-3);
  CHECK_FALSE(parse_number("").has_value());
  CHECK_FALSE(parse_number("  ").has_value());
  CHECK_FALSE(parse_number("1.5x").has_value());
  CHECK_FALSE(parse_number("1 2").has_value());
  CHECK_FALSE(parse_number("inf").has_value());
  CHECK_FALSE(parse_number("nan").has_value());
  CHECK_FALSE(parse_number("1e999").has_value());
}

TEST_CASE("YAML sources report file, line and key", "[core][errors]") {
  const YamlSource s = YamlSource::load_string("a: 1\nb: x1\nc: [1, 2]\n", "cfg.yaml");
  CHECK(s.as_double(s.root()["a"], "a") == 1.0);
  REQUIRE_THROWS_WITH(s.as_double(s.root()["b"], "b"), Catch::Contains("cfg.yaml:2") && Catch::Contains("'b'"));
  REQUIRE_THROWS_WITH(s.as_string(s.root()["c"], "c"), Catch::Contains("cfg.yaml:3"));
  REQUIRE_THROWS_WITH(YamlSource::load_string("a: [1\n", "bad.yaml"), Catch::Contains("bad.yaml:") && Catch::Contains("malformed"));
  REQUIRE_THROWS_WITH(YamlSource::load_string("- 1\n- 2\n", "list.yaml"), Catch::Contains("mapping"));
  REQUIRE_THROWS_WITH(YamlSource::load_file("/no/such/cfg.yaml"), Catch::Contains("cannot open"));
}

TEST_CASE("test names hold no semicolon (CTest would split the name and run nothing)", "[core]") {
  namespace fs = std::filesystem;
  int files = 0;
  for (const auto& e : fs::directory_iterator(PACKLIFE_TEST_DIR)) {
    if (e.path().extension() != ".cpp") continue;
    ++files;
    std::ifstream in(e.path());
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
      ++n;
      const auto p = line.find("TEST_CASE(\"");
      if (p == std::string::npos) continue;
      const auto q = line.find('"', p + 11);
      INFO(e.path().filename().string() << ":" << n);
      CHECK(line.substr(p + 11, q - p - 11).find(';') == std::string::npos);
    }
  }
  CHECK(files > 10);
}
