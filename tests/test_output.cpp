#include <catch2/catch.hpp>

#include <hdf5.h>
#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "helpers.hpp"
#include "packlife/core/atomic_file.hpp"
#include "packlife/core/error.hpp"
#include "packlife/models/output.hpp"

using namespace packlife;

namespace {
std::string read_string_attr(hid_t obj, const char* name) {
  hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
  REQUIRE(a >= 0);
  hid_t t = H5Aget_type(a);
  std::string s(H5Tget_size(t), '\0');
  H5Aread(a, t, s.data());
  H5Tclose(t);
  H5Aclose(a);
  return s.c_str();
}
}  // namespace

TEST_CASE("CSV output has the documented header and one row per sample", "[output]") {
  const Solution s = test::run("spm", "Discharge at 1C for 10 seconds");
  const std::string path = "test_output.csv";
  write_csv(s, path);
  std::ifstream in(path);
  std::string header;
  std::getline(in, header);
  CHECK(header.rfind("time_s,current_A,voltage_V,temperature_K,discharge_capacity_Ah", 0) == 0);
  size_t rows = 0;
  for (std::string line; std::getline(in, line);) ++rows;
  CHECK(rows == s.size());
  std::remove(path.c_str());
}

TEST_CASE("HDF5 output is self-describing and re-runnable", "[output]") {
  ModelOptions mo;
  SimulationOptions so;
  Experiment exp = parse_experiment("Discharge at 1C for 60 seconds; Rest for 30 seconds");
  auto m = make_model("spme", test::chen(), mo);
  const Solution s = simulate(*m, exp, so);
  const std::string path = "test_output.h5";
  RunInputs in{"spme", mo, so, exp, &test::chen()};
  write_hdf5(s, in, *m, path);
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  REQUIRE(f >= 0);
  CHECK(read_string_attr(f, "format_version") == kSimulationFormatVersion);
  CHECK_FALSE(read_string_attr(f, "git_sha").empty());
  CHECK_FALSE(read_string_attr(f, "created_utc").empty());
  const std::string resolved = read_string_attr(f, "resolved_inputs");
  CHECK_THAT(resolved, Catch::Contains("model: spme") && Catch::Contains("Discharge at 1C for 60 seconds"));
  hid_t d = H5Dopen2(f, "/timeseries/voltage_V", H5P_DEFAULT);
  REQUIRE(d >= 0);
  hid_t sp = H5Dget_space(d);
  CHECK(H5Sget_simple_extent_npoints(sp) == static_cast<hssize_t>(s.size()));
  std::vector<double> v(s.size());
  H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
  CHECK(v == s.voltage_V);
  H5Sclose(sp);
  H5Dclose(d);
  H5Fclose(f);
  // The resolved parameters in the file re-load to the same set.
  const YAML::Node node = YAML::Load(resolved);
  YAML::Emitter e;
  e << node["parameters"];
  const ParameterSet q = parse_parameter_set(e.c_str(), "from-h5");
  CHECK(q.records.size() == test::chen().records.size());
  CHECK(q.negative.thickness_m == test::chen().negative.thickness_m);
  std::remove(path.c_str());
}

TEST_CASE("atomic output leaves nothing behind unless committed", "[output][errors]") {
  namespace fs = std::filesystem;
  const std::string target = "atomic_target.txt";
  {
    std::ofstream(target) << "old contents";
  }
  std::string temp;
  {
    AtomicFile f(target);
    temp = f.temp_path();
    std::ofstream(temp) << "half-written";
    // no commit: simulates a failing run
  }
  CHECK_FALSE(fs::exists(temp));
  std::ifstream in(target);
  std::string content((std::istreambuf_iterator<char>(in)), {});
  CHECK(content == "old contents");
  {
    AtomicFile f(target);
    std::ofstream(f.temp_path()) << "new";
    f.commit();
  }
  std::ifstream in2(target);
  CHECK(std::string((std::istreambuf_iterator<char>(in2)), {}) == "new");
  fs::remove(target);
  REQUIRE_THROWS_AS(AtomicFile("/nonexistent-folder/out.csv"), InputError);
}
