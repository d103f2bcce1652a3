/// Fleet runs (docs/models.md "Fleet", docs/file-formats.md "Fleet HDF5").
///
/// Durability: every finished pack is appended to a journal beside the output (`OUT.journal`, framed
/// records with a length and a CRC-32, fsync'd), the single writer being a critical section. The HDF5
/// file is rebuilt from the journal into a temporary file and renamed over the output (atomic), at the
/// start, every `checkpoint_s` and at the end; so after a SIGKILL or a power loss the output is the last
/// complete checkpoint, the journal holds every pack finished since, and `--resume` simulates only the
/// packs in neither. A torn last journal record (killed mid-write) fails its CRC and is dropped.
#include "packlife/models/fleet.hpp"

#include <fcntl.h>
#include <malloc.h>
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <unordered_set>

#include "packlife/core/atomic_file.hpp"
#include "packlife/core/error.hpp"
#include "packlife/core/hdf5_reader.hpp"
#include "packlife/core/hdf5_writer.hpp"
#include "packlife/models/climate.hpp"
#include "packlife/models/lifecycle.hpp"
#include "packlife/models/pack.hpp"

namespace packlife {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// ---------------------------------------------------------------------------------- random streams
/// SplitMix64 (Steele, Lea & Flood 2014): a well-mixed 64-bit hash, used to derive each pack's seed
/// from the scenario seed and the pack id, so that packs' streams are independent of each other.
std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

/// Uniform in (0, 1) from the top 53 bits (the same on every platform, unlike std distributions).
double uniform01(std::mt19937_64& rng) { return ((rng() >> 11) + 0.5) * 0x1.0p-53; }

const std::string& pick(const Mix& mix, double u) {
  double c = 0;
  for (const auto& [name, w] : mix) {
    c += w;
    if (u < c) return name;
  }
  return mix.back().first;
}

/// Lognormal factor with mean 1 and coefficient of variation cv.
double lognormal_factor(double cv, double u) {
  if (cv <= 0) return 1.0;
  const double sigma = std::sqrt(std::log1p(cv * cv));
  return std::exp(sigma * inverse_normal_cdf(u) - 0.5 * sigma * sigma);
}

// ---------------------------------------------------------------------------------- journal
constexpr std::uint32_t kRecordMagic = 0x4A464C50;  // "PLFJ"

std::uint32_t crc32(const std::uint8_t* p, size_t n) {
  static const auto table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = c & 1 ? 0xEDB88320U ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  std::uint32_t c = 0xFFFFFFFFU;
  for (size_t i = 0; i < n; ++i) c = table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFU;
}

/// Append-only journal of CBOR records, each framed as magic, length, CRC-32, payload.
class Journal {
 public:
  explicit Journal(const std::string& path, bool truncate) : path_(path) {
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | (truncate ? O_TRUNC : 0), 0644);
    if (fd_ < 0) throw InputError(path, 0, 0, "", fmt::format("cannot write the fleet journal: {}", std::strerror(errno)));
  }
  ~Journal() {
    if (fd_ >= 0) ::close(fd_);
  }
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  void append(const json& record) {
    const std::vector<std::uint8_t> payload = json::to_cbor(record);
    std::vector<std::uint8_t> buf(12 + payload.size());
    const std::uint32_t head[3] = {kRecordMagic, static_cast<std::uint32_t>(payload.size()),
                                   crc32(payload.data(), payload.size())};
    std::memcpy(buf.data(), head, 12);
    std::memcpy(buf.data() + 12, payload.data(), payload.size());
    size_t done = 0;
    while (done < buf.size()) {
      const ssize_t w = ::write(fd_, buf.data() + done, buf.size() - done);
      if (w < 0) {
        if (errno == EINTR) continue;
        throw Error("writing the fleet journal {}: {}", path_, std::strerror(errno));
      }
      done += static_cast<size_t>(w);
    }
    if (::fsync(fd_) != 0) throw Error("flushing the fleet journal {}: {}", path_, std::strerror(errno));
  }

  /// Calls f(offset, record) for every intact record; returns the length of the intact prefix.
  template <class F>
  static std::uint64_t scan(const std::string& path, F&& f) {
    std::ifstream in(path, std::ios::binary);
    std::uint64_t good = 0;
    std::vector<std::uint8_t> payload;
    while (in) {
      std::uint32_t head[3];
      if (!in.read(reinterpret_cast<char*>(head), 12)) break;
      if (head[0] != kRecordMagic || head[1] > (1U << 30)) break;
      payload.resize(head[1]);
      if (!in.read(reinterpret_cast<char*>(payload.data()), head[1])) break;
      if (crc32(payload.data(), payload.size()) != head[2]) break;
      json j;
      try {
        j = json::from_cbor(payload);
      } catch (const std::exception&) {
        break;
      }
      f(good, j);
      good += 12 + head[1];
    }
    return good;
  }

  /// The record at `offset` (written by scan earlier).
  static json read_at(std::ifstream& in, std::uint64_t offset) {
    in.clear();
    in.seekg(static_cast<std::streamoff>(offset));
    std::uint32_t head[3];
    in.read(reinterpret_cast<char*>(head), 12);
    std::vector<std::uint8_t> payload(head[1]);
    in.read(reinterpret_cast<char*>(payload.data()), head[1]);
    return json::from_cbor(payload);
  }

 private:
  std::string path_;
  int fd_ = -1;
};

std::string journal_path(const std::string& out) { return out + ".journal"; }

// ---------------------------------------------------------------------------------- records
json inputs_json(const FleetPackInputs& in) {
  return {{"id", in.id},
          {"seed", in.seed},
          {"city", in.city},
          {"usage_mode", in.usage_mode},
          {"chemistry", in.chemistry},
          {"energy_kWh", in.energy_kWh},
          {"km_per_day", in.km_per_day},
          {"fast_charge_share", in.fast_charge_share},
          {"cell_spread_cv", in.cell_spread_cv}};
}

FleetPackSummary summary_from_json(const json& j) {
  FleetPackSummary s;
  s.in.id = j.at("id").get<long long>();
  s.in.seed = j.at("seed").get<std::uint64_t>();
  s.in.city = j.at("city").get<std::string>();
  s.in.usage_mode = j.at("usage_mode").get<std::string>();
  s.in.chemistry = j.at("chemistry").get<std::string>();
  s.in.energy_kWh = j.at("energy_kWh").get<double>();
  s.in.km_per_day = j.at("km_per_day").get<double>();
  s.in.fast_charge_share = j.at("fast_charge_share").get<double>();
  s.in.cell_spread_cv = j.at("cell_spread_cv").get<double>();
  s.climate_mean_C = j.at("climate_mean_C").get<double>();
  s.ok = j.at("ok").get<bool>();
  s.error = j.at("error").get<std::string>();
  if (s.ok) {
    s.first_life_years = j.at("first_life_years").get<double>();
    s.second_life_years = j.at("second_life_years").get<double>();
    s.first_life_end = j.at("first_life_end").get<std::string>();
    s.second_life_end = j.at("second_life_end").get<std::string>();
    s.soh_first_life_end = j.at("soh_first_life_end").get<double>();
    s.soh_second_life_end = j.at("soh_second_life_end").get<double>();
    s.throughput_first_MWh = j.at("throughput_first_MWh").get<double>();
    s.throughput_second_MWh = j.at("throughput_second_MWh").get<double>();
    s.efc_first = j.at("efc_first").get<double>();
    s.efc_second = j.at("efc_second").get<double>();
    s.fade_by_year = j.at("fade_by_year").get<std::vector<double>>();
    const json& m = j.at("materials");
    for (size_t e = 0; e < fleet_elements().size(); ++e) {
      const auto it = m.find(fleet_elements()[e]);
      s.materials[e] = it == m.end() ? std::pair<double, double>{0.0, 0.0}
                                     : std::pair<double, double>{it->at(0).get<double>(), it->at(1).get<double>()};
    }
    s.warnings = j.at("warnings").get<int>();
  }
  return s;
}

/// Simulates one pack; a failure is recorded (with its inputs), never thrown.
json run_pack(const Scenario& fleet, long long id) {
  const FleetPackInputs in = sample_fleet_pack(fleet, id);
  json j = inputs_json(in);
  j["climate_mean_C"] = std::numeric_limits<double>::quiet_NaN();
  try {
    j["climate_mean_C"] = Climate::city(in.city).annual_mean_C();
    // Fault injection for the failure-isolation test: PACKLIFE_TEST_FAIL_PACK=id fails that pack.
    if (const char* f = std::getenv("PACKLIFE_TEST_FAIL_PACK"); f && std::atoll(f) == id)
      throw Error("injected failure (PACKLIFE_TEST_FAIL_PACK={})", id);
    const LifecycleResult r = run_lifecycle(pack_scenario(fleet, in));
    j["ok"] = true;
    j["error"] = "";
    j["first_life_years"] = r.first.years;
    j["second_life_years"] = r.second.years;
    j["first_life_end"] = r.first.end_reason;
    j["second_life_end"] = r.second.end_reason;
    j["soh_first_life_end"] = r.first.end_soh;
    j["soh_second_life_end"] = r.second.end_soh;
    j["throughput_first_MWh"] = r.first.throughput_MWh;
    j["throughput_second_MWh"] = r.second.throughput_MWh;
    j["efc_first"] = r.first.equivalent_full_cycles;
    j["efc_second"] = r.second.equivalent_full_cycles;
    j["fade_by_year"] = r.fade_by_year;
    json mats = json::object();
    for (const auto& m : r.materials) mats[m.element] = {m.contained_kg, m.recovered_kg};
    j["materials"] = mats;
    j["warnings"] = static_cast<int>(r.warnings.size());
    json traj = json::object();
    for (const SampleColumn& c : lifecycle_sample_columns()) {
      std::vector<double> v;
      v.reserve(r.samples.size());
      // Rounded to float: the file stores trajectories as float32, and CBOR then keeps 4-byte floats,
      // halving the journal.
      for (const auto& s : r.samples) v.push_back(static_cast<double>(static_cast<float>(c.get(s))));
      traj[c.name] = v;
    }
    std::vector<long long> stage;
    for (const auto& s : r.samples) stage.push_back(s.stage);
    traj["stage"] = stage;
    j["traj"] = traj;
  } catch (const std::exception& e) {
    j["ok"] = false;
    j["error"] = e.what();
  }
  return j;
}

// ---------------------------------------------------------------------------------- HDF5 build
/// Writes the fleet file from the journal's records into `path` (streaming: one pack's trajectory in
/// memory at a time).
void build_hdf5(const std::string& journal, const std::string& path, const Scenario& s, long long total,
                bool complete, double wall_s) {
  std::vector<std::pair<long long, std::uint64_t>> where;  // id -> journal offset
  std::vector<FleetPackSummary> rows;
  std::vector<size_t> samples;
  std::unordered_set<long long> seen;
  if (fs::exists(journal)) {
    Journal::scan(journal, [&](std::uint64_t off, const json& j) {
      if (!j.contains("id")) return;  // the header record
      const long long id = j.at("id").get<long long>();
      if (!seen.insert(id).second) return;  // a pack is kept once
      where.emplace_back(id, off);
      rows.push_back(summary_from_json(j));
      samples.push_back(j.contains("traj") ? j["traj"].at("time_years").size() : 0);
    });
  }
  std::vector<size_t> order(rows.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return rows[a].in.id < rows[b].in.id; });
  const size_t n = rows.size();
  long long failed = 0;
  for (const auto& r : rows) failed += r.ok ? 0 : 1;

  Hdf5Writer w(path);
  write_file_header(w, kFleetFormat, kFleetFormatVersion, s);
  w.attribute("/", "status", std::string(complete ? "complete" : "running"));
  w.attribute("/", "packs", total);
  w.attribute("/", "packs_done", static_cast<long long>(n));
  w.attribute("/", "failed", failed);
  w.attribute("/", "wall_s", wall_s);

  // Per-pack summary table, one row per completed pack in id order.
  w.create_group("/summary");
  auto col = [&](const char* name, const char* unit, auto get) {
    std::vector<double> v;
    for (size_t i : order) v.push_back(get(rows[i]));
    w.dataset(std::string("/summary/") + name, v, unit);
  };
  auto scol = [&](const char* name, auto get) {
    std::vector<std::string> v;
    for (size_t i : order) v.push_back(get(rows[i]));
    w.dataset(std::string("/summary/") + name, v);
  };
  const double nan = std::numeric_limits<double>::quiet_NaN();
  {
    std::vector<long long> id, seed;
    for (size_t i : order) {
      id.push_back(rows[i].in.id);
      seed.push_back(static_cast<long long>(rows[i].in.seed));
    }
    w.dataset("/summary/pack_id", id, "");
    w.dataset("/summary/seed", seed, "");
  }
  scol("status", [](const FleetPackSummary& r) { return std::string(r.ok ? "ok" : "failed"); });
  scol("error", [](const FleetPackSummary& r) { return r.error; });
  scol("city", [](const FleetPackSummary& r) { return r.in.city; });
  scol("usage_mode", [](const FleetPackSummary& r) { return r.in.usage_mode; });
  scol("chemistry", [](const FleetPackSummary& r) { return r.in.chemistry; });
  col("energy_kWh", "kW*h", [](const FleetPackSummary& r) { return r.in.energy_kWh; });
  col("km_per_day", "km", [](const FleetPackSummary& r) { return r.in.km_per_day; });
  col("fast_charge_share", "1", [](const FleetPackSummary& r) { return r.in.fast_charge_share; });
  col("cell_spread_cv", "1", [](const FleetPackSummary& r) { return r.in.cell_spread_cv; });
  col("climate_mean_C", "degC", [](const FleetPackSummary& r) { return r.climate_mean_C; });
  auto okv = [nan](const FleetPackSummary& r, double v) { return r.ok ? v : nan; };
  col("first_life_years", "year", [&](const FleetPackSummary& r) { return okv(r, r.first_life_years); });
  col("second_life_years", "year", [&](const FleetPackSummary& r) { return okv(r, r.second_life_years); });
  scol("first_life_end", [](const FleetPackSummary& r) { return r.first_life_end; });
  scol("second_life_end", [](const FleetPackSummary& r) { return r.second_life_end; });
  col("soh_first_life_end", "1", [&](const FleetPackSummary& r) { return okv(r, r.soh_first_life_end); });
  col("soh_second_life_end", "1", [&](const FleetPackSummary& r) { return okv(r, r.soh_second_life_end); });
  col("fade_12y", "1", [&](const FleetPackSummary& r) { return r.fade_by_year.size() >= 12 ? r.fade_by_year[11] : nan; });
  col("throughput_first_MWh", "MW*h", [&](const FleetPackSummary& r) { return okv(r, r.throughput_first_MWh); });
  col("throughput_second_MWh", "MW*h", [&](const FleetPackSummary& r) { return okv(r, r.throughput_second_MWh); });
  col("efc_first", "1", [&](const FleetPackSummary& r) { return okv(r, r.efc_first); });
  col("efc_second", "1", [&](const FleetPackSummary& r) { return okv(r, r.efc_second); });
  col("warnings", "1", [](const FleetPackSummary& r) { return static_cast<double>(r.warnings); });
  for (size_t e = 0; e < fleet_elements().size(); ++e) {
    const char* el = fleet_elements()[e];
    auto get = [e, nan](const FleetPackSummary& r, bool recovered) {
      return !r.ok ? nan : recovered ? r.materials[e].second : r.materials[e].first;
    };
    col(fmt::format("contained_{}_kg", el).c_str(), "kg", [&](const FleetPackSummary& r) { return get(r, false); });
    col(fmt::format("recovered_{}_kg", el).c_str(), "kg", [&](const FleetPackSummary& r) { return get(r, true); });
  }
  // Fade at the end of each whole first-life year: packs x years, NaN after the first life ended.
  const size_t Y = static_cast<size_t>(std::ceil(s.retire_max_first_life_years - 1e-9));
  std::vector<double> fade(n * Y, nan);
  for (size_t k = 0; k < n; ++k) {
    const auto& f = rows[order[k]].fade_by_year;
    for (size_t y = 0; y < std::min(Y, f.size()); ++y) fade[k * Y + y] = f[y];
  }
  w.dataset("/summary/fade_by_year", fade, n, Y, "1");

  // Fleet statistics by first-life year (packs still in first life at the year's end).
  w.create_group("/statistics");
  std::vector<double> years, p10, p50, p90, p99, count;
  for (size_t y = 0; y < Y; ++y) {
    std::vector<double> v;
    for (size_t k = 0; k < n; ++k)
      if (std::isfinite(fade[k * Y + y])) v.push_back(fade[k * Y + y]);
    years.push_back(static_cast<double>(y + 1));
    count.push_back(static_cast<double>(v.size()));
    p10.push_back(quantile(v, 0.1));
    p50.push_back(quantile(v, 0.5));
    p90.push_back(quantile(v, 0.9));
    p99.push_back(quantile(v, 0.99));
  }
  w.dataset("/statistics/year", years, "year");
  w.dataset("/statistics/packs_in_first_life", count, "1");
  w.dataset("/statistics/fade_p10", p10, "1");
  w.dataset("/statistics/fade_p50", p50, "1");
  w.dataset("/statistics/fade_p90", p90, "1");
  w.dataset("/statistics/fade_p99", p99, "1");

  // Trajectories, long format: rows of every pack in id order; pack k's rows are
  // offsets[k] .. offsets[k+1]. Stored as float32 (weekly health needs no more).
  size_t rows_total = 0;
  std::vector<long long> offsets{0};
  for (size_t i : order) {
    rows_total += samples[i];
    offsets.push_back(static_cast<long long>(rows_total));
  }
  w.create_group("/trajectories");
  w.dataset("/trajectories/offsets", offsets, "");
  auto pid = w.slices("/trajectories/pack_id", rows_total, Hdf5Writer::Type::Int64, "");
  auto stage = w.slices("/trajectories/stage", rows_total, Hdf5Writer::Type::Int64, "");
  std::vector<std::unique_ptr<Hdf5Writer::Slices>> cols;
  for (const SampleColumn& c : lifecycle_sample_columns())
    cols.push_back(w.slices(std::string("/trajectories/") + c.name, rows_total, Hdf5Writer::Type::Float32, c.unit));
  if (rows_total > 0) {
    std::ifstream in(journal, std::ios::binary);
    for (size_t k = 0; k < n; ++k) {
      const size_t i = order[k];
      if (samples[i] == 0) continue;
      const json j = Journal::read_at(in, where[i].second);
      const json& t = j.at("traj");
      const size_t at = static_cast<size_t>(offsets[k]);
      pid->write(at, std::vector<long long>(samples[i], rows[i].in.id));
      stage->write(at, t.at("stage").get<std::vector<long long>>());
      size_t c = 0;
      for (const SampleColumn& sc : lifecycle_sample_columns()) cols[c++]->write(at, t.at(sc.name).get<std::vector<double>>());
    }
  }
  cols.clear();
  pid.reset();
  stage.reset();
  w.close();
}

void checkpoint(const std::string& journal, const std::string& out, const Scenario& s, long long total, bool complete,
                double wall_s) {
  {
    AtomicFile f(out);
    build_hdf5(journal, f.temp_path(), s, total, complete, wall_s);
    f.commit();
  }
  // The rebuild's transient buffers (records, columns) are freed; hand the pages back so that the
  // resident size stays that of the simulations, not of the largest rebuild so far.
  malloc_trim(0);
}

}  // namespace

const std::array<const char*, 9>& fleet_elements() {
  static const std::array<const char*, 9> e = {"Li", "Ni", "Co", "Mn", "Fe", "P", "Cu", "Al", "graphite"};
  return e;
}

FleetPackInputs sample_fleet_pack(const Scenario& fleet, long long id) {
  std::mt19937_64 rng(splitmix64(fleet.seed ^ splitmix64(static_cast<std::uint64_t>(id) + 1)));
  FleetPackInputs in;
  in.id = id;
  // A fixed order of draws: city, mode, chemistry, size, distance, DC share, spread, own seed.
  in.city = pick(parse_mix("fleet.city_mix", fleet.fleet_city_mix), uniform01(rng));
  in.usage_mode = pick(parse_mix("fleet.mode_mix", fleet.fleet_mode_mix), uniform01(rng));
  in.chemistry = pick(parse_mix("fleet.chemistry_mix", fleet.fleet_chemistry_mix), uniform01(rng));
  in.energy_kWh = std::stod(pick(parse_mix("fleet.energy_mix_kWh", fleet.fleet_energy_mix_kWh), uniform01(rng)));
  const double cv = in.usage_mode == "swap" ? fleet.fleet_swap_km_per_day_cv : fleet.fleet_owned_km_per_day_cv;
  in.km_per_day = std::clamp(fleet.usage_km_per_day * lognormal_factor(cv, uniform01(rng)), 1.0, 1000.0);
  const double u_dc = uniform01(rng);
  in.fast_charge_share = in.usage_mode == "owned" ? u_dc * fleet.fleet_fast_charge_share_max : 0.0;
  in.cell_spread_cv =
      std::min(0.1, fleet.pack_cell_spread_cv * lognormal_factor(fleet.fleet_cell_spread_variation, uniform01(rng)));
  in.seed = rng();
  return in;
}

Scenario pack_scenario(const Scenario& fleet, const FleetPackInputs& in) {
  Scenario s = fleet;
  s.seed = in.seed;
  s.climate_city = in.city;
  s.usage_mode = in.usage_mode;
  s.pack_chemistry = in.chemistry;
  s.pack_energy_kWh = in.energy_kWh;
  s.usage_km_per_day = in.km_per_day;
  s.usage_fast_charge_share = in.fast_charge_share;
  s.pack_cell_spread_cv = in.cell_spread_cv;
  return s;
}

FleetRunInfo run_fleet(const Scenario& s_in, const FleetOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  if (opt.out.empty()) throw InputError("fleet: an output file is required (--out fleet.h5)");
  const std::string jpath = journal_path(opt.out);
  Scenario s = s_in;
  std::vector<char> done;
  long long n_failed = 0;  // failed packs among those already in the journal (resume)
  FleetRunInfo info;
  std::unique_ptr<Journal> journal;
  if (opt.resume) {
    if (!fs::exists(opt.out)) throw InputError(opt.out, 0, 0, "", "--resume: no fleet file to resume");
    s = fleet_file_scenario(opt.out);
    const std::string status = Hdf5Reader(opt.out).string_attribute("/", "status").value_or("");
    if (status == "complete" && !fs::exists(jpath)) {
      info.packs = static_cast<long long>(s.fleet_packs);
      for (const auto& p : read_fleet_summary(opt.out)) info.failed += p.ok ? 0 : 1;
      return info;  // nothing left to do
    }
    if (!fs::exists(jpath))
      throw InputError(jpath, 0, 0, "", "--resume: the run's journal is missing; start again with --force");
    check_scenario(s);
    done.assign(static_cast<size_t>(s.fleet_packs), 0);
    const std::uint64_t good = Journal::scan(jpath, [&](std::uint64_t, const json& j) {
      if (j.contains("journal")) {
        if (j.at("scenario").get<std::string>() != scenario_yaml(s))
          throw InputError(jpath, 0, 0, "", "--resume: the journal belongs to a different scenario than the fleet file");
        return;
      }
      const long long id = j.at("id").get<long long>();
      if (id < 0 || id >= static_cast<long long>(done.size()) || done[static_cast<size_t>(id)]) return;
      done[static_cast<size_t>(id)] = 1;
      if (!j.at("ok").get<bool>()) ++n_failed;
    });
    // Drop a torn last record (the run was killed while writing it).
    if (fs::file_size(jpath) != good) fs::resize_file(jpath, good);
    journal = std::make_unique<Journal>(jpath, false);
  } else {
    check_scenario(s);
    if (fs::exists(opt.out) && !opt.force)
      throw InputError(opt.out, 0, 0, "", "output exists; pass --force to overwrite it or --resume to finish its run");
    done.assign(static_cast<size_t>(s.fleet_packs), 0);
    journal = std::make_unique<Journal>(jpath, true);
    journal->append({{"journal", "packlife-fleet-journal"}, {"version", 1}, {"scenario", scenario_yaml(s)}});
  }
  const long long total = static_cast<long long>(s.fleet_packs);
  // The output is written (empty, or as resumed) before any simulation: an unwritable path fails now.
  checkpoint(jpath, opt.out, s, total, false, 0.0);

  std::vector<long long> todo;
  for (long long i = 0; i < total; ++i)
    if (!done[static_cast<size_t>(i)]) todo.push_back(i);
  long long n_done = total - static_cast<long long>(todo.size());
  if (opt.progress) opt.progress(n_done, n_failed, total, 0.0);
  double last_checkpoint = elapsed(), rebuild_s = 0;
  const int threads = opt.threads > 0 ? opt.threads : omp_get_max_threads();
  std::string write_error;
  std::atomic<bool> stop{false};  // the writer failed: the remaining packs are not simulated
  const char* kill_after = std::getenv("PACKLIFE_TEST_KILL_AFTER");  // tests: SIGKILL after N journaled packs
  const long long kill_n = kill_after ? std::atoll(kill_after) : -1;
  long long journaled = 0;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
  for (long long k = 0; k < static_cast<long long>(todo.size()); ++k) {
    if (stop.load()) continue;
    const json rec = run_pack(s, todo[static_cast<size_t>(k)]);  // one model and solver per task
#pragma omp critical(packlife_fleet_writer)
    {
      if (write_error.empty()) {
        try {
          journal->append(rec);
          ++journaled;
          ++n_done;
          if (!rec.at("ok").get<bool>()) ++n_failed;
          ++info.simulated;
          if (kill_n >= 0 && journaled >= kill_n) ::kill(::getpid(), SIGKILL);
          if (opt.progress) opt.progress(n_done, n_failed, total, elapsed());
          // Rebuilding reads the whole journal, so it is spaced to cost at most ~5 % of the run.
          if (elapsed() - last_checkpoint >= std::max(opt.checkpoint_s, 20.0 * rebuild_s)) {
            const double t_start = elapsed();
            checkpoint(jpath, opt.out, s, total, false, t_start);
            last_checkpoint = elapsed();
            rebuild_s = last_checkpoint - t_start;
          }
        } catch (const std::exception& e) {
          write_error = e.what();
          stop = true;
        }
      }
    }
  }
  if (!write_error.empty()) throw Error("fleet output: {}", write_error);
  info.packs = total;
  info.failed = n_failed;
  info.wall_s = elapsed();
  checkpoint(jpath, opt.out, s, total, true, info.wall_s);
  journal.reset();
  fs::remove(jpath);
  return info;
}

Scenario fleet_file_scenario(const std::string& path) {
  Hdf5Reader r(path);
  const auto format = r.string_attribute("/", "format");
  if (!format || *format != kFleetFormat)
    throw InputError(path, 0, 0, "", fmt::format("not a packlife fleet file (format attribute '{}', expected '{}')",
                                                 format.value_or("none"), kFleetFormat));
  const std::string version = r.string_attribute("/", "format_version").value_or("?");
  const auto major = [](const std::string& v) { return std::atoi(v.substr(0, v.find('.')).c_str()); };
  if (version == "?" || major(version) > major(kFleetFormatVersion))
    throw InputError(path, 0, 0, "", fmt::format("fleet file format version {} is newer than this packlife reads ({})",
                                                 version, kFleetFormatVersion));
  const auto yaml = r.string_attribute("/", "scenario");
  if (!yaml) throw InputError(path, 0, 0, "", "the fleet file has no scenario attribute");
  return parse_scenario(*yaml, path + " (scenario attribute)");
}

std::vector<FleetPackSummary> read_fleet_summary(const std::string& path) {
  fleet_file_scenario(path);  // format checks
  Hdf5Reader r(path);
  const auto id = r.integers("/summary/pack_id");
  const auto seed = r.integers("/summary/seed");
  const auto status = r.strings("/summary/status");
  const auto error = r.strings("/summary/error");
  const auto city = r.strings("/summary/city");
  const auto mode = r.strings("/summary/usage_mode");
  const auto chem = r.strings("/summary/chemistry");
  const auto energy = r.doubles("/summary/energy_kWh");
  const auto km = r.doubles("/summary/km_per_day");
  const auto dc = r.doubles("/summary/fast_charge_share");
  const auto spread = r.doubles("/summary/cell_spread_cv");
  const auto tmean = r.doubles("/summary/climate_mean_C");
  const auto fl = r.doubles("/summary/first_life_years");
  const auto sl = r.doubles("/summary/second_life_years");
  const auto soh1 = r.doubles("/summary/soh_first_life_end");
  const auto soh2 = r.doubles("/summary/soh_second_life_end");
  const auto fle = r.strings("/summary/first_life_end");
  size_t rows = 0, cols = 0;
  const auto fade = r.doubles_2d("/summary/fade_by_year", rows, cols);
  const size_t n = id.size();
  for (size_t len : {seed.size(), status.size(), city.size(), energy.size(), fl.size(), rows})
    if (len != n) throw InputError(path, 0, 0, "/summary", "summary columns differ in length");
  std::vector<FleetPackSummary> out(n);
  for (size_t i = 0; i < n; ++i) {
    FleetPackSummary& p = out[i];
    p.in.id = id[i];
    p.in.seed = static_cast<std::uint64_t>(seed[i]);
    p.in.city = city[i];
    p.in.usage_mode = mode[i];
    p.in.chemistry = chem[i];
    p.in.energy_kWh = energy[i];
    p.in.km_per_day = km[i];
    p.in.fast_charge_share = dc[i];
    p.in.cell_spread_cv = spread[i];
    p.climate_mean_C = tmean[i];
    p.ok = status[i] == "ok";
    p.error = error[i];
    p.first_life_years = fl[i];
    p.second_life_years = sl[i];
    p.first_life_end = fle[i];
    p.soh_first_life_end = soh1[i];
    p.soh_second_life_end = soh2[i];
    for (size_t y = 0; y < cols; ++y)
      if (std::isfinite(fade[i * cols + y])) p.fade_by_year.push_back(fade[i * cols + y]);
  }
  return out;
}

TargetResult evaluate_target(const std::vector<FleetPackSummary>& packs, int years, double max_fade, double require) {
  TargetResult t;
  t.years = years;
  t.max_fade = max_fade;
  t.require = require;
  t.packs = static_cast<long long>(packs.size());
  // A pack's fade at the target year: its fade then, or (first life ended earlier) its fade at
  // retirement, a lower bound of what it would have reached.
  std::vector<double> fade_at;
  std::vector<char> pass(packs.size(), 0);
  for (size_t i = 0; i < packs.size(); ++i) {
    const auto& p = packs[i];
    if (!p.ok) {
      ++t.failed_simulations;
      continue;
    }
    const bool lasted = static_cast<int>(p.fade_by_year.size()) >= years;
    const double f = lasted ? p.fade_by_year[static_cast<size_t>(years - 1)] : 1.0 - p.soh_first_life_end;
    fade_at.push_back(f);
    if (!lasted) ++t.retired_early;
    pass[i] = lasted && f < max_fade;
    t.passing += pass[i];
  }
  t.pass_fraction = t.packs ? static_cast<double>(t.passing) / t.packs : 0.0;
  t.fade_p50 = quantile(fade_at, 0.5);
  t.fade_p90 = quantile(fade_at, 0.9);
  t.fade_p99 = quantile(fade_at, 0.99);
  t.fade_worst = fade_at.empty() ? std::numeric_limits<double>::quiet_NaN() : *std::max_element(fade_at.begin(), fade_at.end());
  t.pass = t.packs > 0 && t.pass_fraction >= require;

  // Groups: pass share and median fade per city, usage mode, chemistry and pack size.
  auto group = [&](const char* by, auto key) {
    std::vector<std::string> values;
    for (const auto& p : packs)
      if (std::find(values.begin(), values.end(), key(p)) == values.end()) values.push_back(key(p));
    std::sort(values.begin(), values.end());
    for (const auto& v : values) {
      TargetGroup g;
      g.by = by;
      g.value = v;
      std::vector<double> f;
      size_t fi = 0;
      for (size_t i = 0; i < packs.size(); ++i) {
        const bool counted = packs[i].ok;
        if (key(packs[i]) == v) {
          ++g.packs;
          g.passing += pass[i];
          if (counted) f.push_back(fade_at[fi]);
        }
        if (counted) ++fi;
      }
      g.pass_fraction = g.packs ? static_cast<double>(g.passing) / g.packs : 0.0;
      g.fade_p50 = quantile(f, 0.5);
      t.groups.push_back(g);
    }
  };
  group("city", [](const FleetPackSummary& p) { return p.in.city; });
  group("usage_mode", [](const FleetPackSummary& p) { return p.in.usage_mode; });
  group("chemistry", [](const FleetPackSummary& p) { return p.in.chemistry; });
  group("energy_kWh", [](const FleetPackSummary& p) { return fmt::format("{:g}", p.in.energy_kWh); });

  // Drivers: standardised mean difference (worse - better) / pooled sd of each numeric input, plus
  // indicator inputs for each category. "Worse" are the failing packs; when every simulated pack
  // passes (or none does), the worst tenth by fade at the target year, so the worst packs' drivers show.
  std::vector<double> fade_of(packs.size(), std::numeric_limits<double>::quiet_NaN());
  long long ok_fail = 0, ok_pass = 0;
  {
    size_t fi = 0;
    for (size_t i = 0; i < packs.size(); ++i)
      if (packs[i].ok) {
        fade_of[i] = fade_at[fi++];
        (pass[i] ? ok_pass : ok_fail)++;
      }
  }
  std::vector<char> worse(packs.size(), 0);
  if (ok_fail > 0 && ok_pass > 0) {
    t.drivers_basis = "failing vs passing packs";
    for (size_t i = 0; i < packs.size(); ++i) worse[i] = packs[i].ok && !pass[i];
  } else {
    const double p90 = quantile(fade_at, 0.9);
    t.drivers_basis = fmt::format("worst 10 % of packs by fade at year {} (>= {:.4g}) vs the rest", years, p90);
    for (size_t i = 0; i < packs.size(); ++i) worse[i] = packs[i].ok && fade_of[i] >= p90;
  }
  struct Input {
    std::string name;
    std::function<double(const FleetPackSummary&)> get;
  };
  std::vector<Input> inputs = {
      {"km_per_day", [](const FleetPackSummary& p) { return p.in.km_per_day; }},
      {"fast_charge_share", [](const FleetPackSummary& p) { return p.in.fast_charge_share; }},
      {"cell_spread_cv", [](const FleetPackSummary& p) { return p.in.cell_spread_cv; }},
      {"energy_kWh", [](const FleetPackSummary& p) { return p.in.energy_kWh; }},
      {"climate_mean_C", [](const FleetPackSummary& p) { return p.climate_mean_C; }},
  };
  for (const auto& g : t.groups) {
    if (g.by == "energy_kWh") continue;
    const std::string by = g.by, value = g.value;
    inputs.push_back({by + "=" + value, [by, value](const FleetPackSummary& p) {
                        const std::string& v = by == "city" ? p.in.city : by == "usage_mode" ? p.in.usage_mode : p.in.chemistry;
                        return v == value ? 1.0 : 0.0;
                      }});
  }
  for (const auto& in : inputs) {
    double sf = 0, sp = 0, qf = 0, qp = 0;
    long long nf = 0, np = 0;
    for (size_t i = 0; i < packs.size(); ++i) {
      if (!packs[i].ok) continue;
      const double x = in.get(packs[i]);
      if (!worse[i]) { sp += x; qp += x * x; ++np; }
      else { sf += x; qf += x * x; ++nf; }
    }
    if (nf == 0 || np == 0) continue;
    const double mf = sf / nf, mp = sp / np;
    const double vf = std::max(0.0, qf / nf - mf * mf), vp = std::max(0.0, qp / np - mp * mp);
    const double sd = std::sqrt((nf * vf + np * vp) / (nf + np));
    TargetDriver d;
    d.input = in.name;
    d.failing_mean = mf;
    d.passing_mean = mp;
    d.effect = sd > 0 ? (mf - mp) / sd : 0.0;
    if (sd > 0) t.drivers.push_back(d);
  }
  std::sort(t.drivers.begin(), t.drivers.end(),
            [](const TargetDriver& a, const TargetDriver& b) { return std::abs(a.effect) > std::abs(b.effect); });
  return t;
}

}  // namespace packlife
