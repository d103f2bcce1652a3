// Pack design and order statistics (issue 5 building blocks).
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>

#include "helpers.hpp"
#include "packlife/core/error.hpp"
#include "packlife/models/esoh.hpp"
#include "packlife/models/pack.hpp"
#include "packlife/models/parameters.hpp"

using namespace packlife;

TEST_CASE("pack design: a 400 V class pack of the requested energy", "[pack]") {
  for (const char* chem : {"nmc811", "lfp"}) {
    for (double kWh : {75.0, 100.0, 150.0}) {
      const PackDesign d = design_pack(chem, kWh);
      INFO(chem << " " << kWh << " kWh: " << d.series << "s" << d.parallel << "p, " << d.cell_capacity_Ah << " Ah");
      CHECK(d.max_V() > 380.0);
      CHECK(d.max_V() < 420.0);
      CHECK(d.nominal_V() > 320.0);
      CHECK(d.nominal_V() < 400.0);
      CHECK(d.energy_kWh() == Approx(kWh).epsilon(1e-9));
      CHECK(d.cell_capacity_Ah <= 160.0 + 1e-9);
      CHECK(d.cell_capacity_Ah > 40.0);
      // The scaled cell's own electrode balance has the design capacity: capacity is linear in area.
      const ParameterSet cell = scaled_cell(load_parameter_set(d.parameter_set), d.area_scale);
      CHECK(electrode_balance(cell, 298.15).capacity_Ah == Approx(d.cell_capacity_Ah).epsilon(1e-6));
      CHECK(cell.identity().find("cell.electrode_width_m") != std::string::npos);
      for (const auto& r : cell.records)
        if (r.key == "cell.volume_m3") CHECK(r.source.find("pack design") == 0);
    }
  }
  const PackDesign n = design_pack("nmc811", 75), l = design_pack("lfp", 75);
  CHECK(n.series == 96);   // 96 x 4.2 V = 403 V
  CHECK(l.series == 112);  // 112 x 3.6 V = 403 V
  CHECK(n.cell_nominal_V > 3.55);
  CHECK(n.cell_nominal_V < 3.8);
  CHECK(l.cell_nominal_V > 3.15);
  CHECK(l.cell_nominal_V < 3.35);
  CHECK(design_pack("nmc811", 150).parallel > design_pack("nmc811", 75).parallel);
  REQUIRE_THROWS_WITH(design_pack("nca", 75), Catch::Contains("pack.chemistry") && Catch::Contains("nmc811"));
  REQUIRE_THROWS_WITH(design_pack("lfp", 5), Catch::Contains("pack.energy_kWh"));
  REQUIRE_THROWS_AS(scaled_cell(load_parameter_set("okane2022"), -1.0), Error);
}

TEST_CASE("order statistics: inverse normal CDF and the weakest of n", "[pack]") {
  CHECK(inverse_normal_cdf(0.5) == Approx(0.0).margin(1e-12));
  CHECK(inverse_normal_cdf(0.975) == Approx(1.959963984540054).epsilon(1e-10));
  CHECK(inverse_normal_cdf(0.025) == Approx(-1.959963984540054).epsilon(1e-10));
  CHECK(inverse_normal_cdf(1e-10) == Approx(-6.361340902404056).epsilon(1e-8));
  CHECK(inverse_normal_cdf(0.8413447460685429) == Approx(1.0).epsilon(1e-10));
  REQUIRE_THROWS_AS(inverse_normal_cdf(1.0), Error);
  CHECK(expected_max_standard_normal(1) == 0.0);
  REQUIRE_THROWS_AS(expected_max_standard_normal(0), Error);
  // Exact values: E[max of 2] = 1/sqrt(pi); E[max of 100] = 2.50759 (tables of normal order statistics).
  CHECK(expected_max_standard_normal(2) == Approx(0.5641896).epsilon(0.05));
  CHECK(expected_max_standard_normal(100) == Approx(2.50759).epsilon(0.01));
  double prev = 0;
  for (int n : {2, 5, 10, 96, 192, 1000}) {
    const double z = expected_max_standard_normal(n);
    CHECK(z > prev);
    prev = z;
  }
}

TEST_CASE("quantile: linear between order statistics, the median at 0.5", "[pack]") {
  CHECK(quantile({3, 1, 2}, 0.5) == 2.0);
  CHECK(quantile({4, 1, 3, 2}, 0.5) == 2.5);
  CHECK(quantile({1, 2, 3, 4, 5}, 0.9) == Approx(4.6));
  CHECK(quantile({7}, 0.99) == 7.0);
  CHECK(quantile({1, 9}, 0.0) == 1.0);
  CHECK(quantile({1, 9}, 1.0) == 9.0);
  CHECK(std::isnan(quantile({}, 0.5)));
}

TEST_CASE("pack cell: nmc811 takes the graphite LAM law of a123-apr18650, lfp its storage set as shipped", "[pack]") {
  // The pack cells are the storage-calibrated sets (docs/models.md, "Cell ageing of the pack").
  CHECK(chemistry_parameter_set("nmc811") == "okane2022-storage");
  CHECK(chemistry_parameter_set("lfp") == "prada2013-storage");
  const ParameterSet okane = load_parameter_set("okane2022-storage"), a123 = load_parameter_set("a123-apr18650");
  const ParameterSet nmc = pack_cell_parameters("nmc811");
  // The set's own list (irreversible plating: the storage fits rule out O'Kane's plated film at rest) plus
  // the graphite LAM.
  CHECK(okane.ageing.default_mechanisms == "sei,plating-irreversible");
  CHECK(nmc.ageing.default_mechanisms == "sei,plating-irreversible,lam-negative");
  CHECK(nmc.ageing.lam_negative.rate_s == a123.ageing.lam_negative.rate_s);
  CHECK(nmc.ageing.lam_negative.exponent == a123.ageing.lam_negative.exponent);
  CHECK(nmc.ageing.lam_negative.rate_s != okane.ageing.lam_negative.rate_s);
  // Everything else stays okane2022-storage's: the graphite's mechanics, the SEI, the positive's LAM.
  CHECK(nmc.ageing.lam_negative.critical_stress_Pa == okane.ageing.lam_negative.critical_stress_Pa);
  CHECK(nmc.ageing.sei_solvent_diffusivity_m2_s == okane.ageing.sei_solvent_diffusivity_m2_s);
  CHECK(nmc.ageing.sei_rate_constant_m_s == okane.ageing.sei_rate_constant_m_s);
  CHECK(nmc.ageing.sei_resistivity_ohm_m == okane.ageing.sei_resistivity_ohm_m);
  CHECK(nmc.ageing.lam_positive.rate_s == okane.ageing.lam_positive.rate_s);
  bool sourced = false;
  for (const auto& rec : nmc.records)
    if (rec.key == "ageing.negative.lam_exponent") sourced = rec.source.find("a123-apr18650") != std::string::npos;
  CHECK(sourced);
  const ParameterSet lfp = pack_cell_parameters("lfp"), prada = load_parameter_set("prada2013-storage");
  CHECK(lfp.ageing.default_mechanisms == prada.ageing.default_mechanisms);
  CHECK(lfp.ageing.lam_negative.rate_s == prada.ageing.lam_negative.rate_s);
  CHECK_THROWS_AS(pack_cell_parameters("lco"), InputError);
}

TEST_CASE("pack cell: the chemistry's sets are kept per data folder, and a failed read is not kept", "[pack][errors]") {
  // pack_cell_parameters and design_pack read a chemistry's sets once per data folder (a fleet builds
  // thousands of packs from them): another folder is read afresh, and a read that failed fails again.
  const ParameterSet shipped = pack_cell_parameters("nmc811");
  const std::string empty = test::temp_dir("pack_sets_empty");
  const char* old = std::getenv("PACKLIFE_DATA_DIR");
  const std::string saved = old ? old : "";
  setenv("PACKLIFE_DATA_DIR", empty.c_str(), 1);
  for (int attempt = 0; attempt < 2; ++attempt) {
    CHECK_THROWS_WITH(pack_cell_parameters("nmc811"), Catch::Contains("okane2022-storage"));
    CHECK_THROWS_AS(design_pack("nmc811", 75), InputError);
  }
  if (old) setenv("PACKLIFE_DATA_DIR", saved.c_str(), 1); else unsetenv("PACKLIFE_DATA_DIR");
  const ParameterSet again = pack_cell_parameters("nmc811");
  CHECK(again.ageing.lam_negative.rate_s == shipped.ageing.lam_negative.rate_s);
  CHECK(again.records.size() == shipped.records.size());
}
