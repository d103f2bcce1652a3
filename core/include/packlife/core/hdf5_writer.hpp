#pragma once
/// @file hdf5_writer.hpp
/// Minimal RAII HDF5 writer: groups, string/number attributes, and chunked, deflate-compressed
/// one-dimensional datasets (OpenMC-style self-describing files).
#include <memory>
#include <string>
#include <vector>

namespace packlife {

class Hdf5Writer {
 public:
  /// Creates (truncates) `path`. Throws Error on failure.
  explicit Hdf5Writer(const std::string& path);
  ~Hdf5Writer();
  Hdf5Writer(const Hdf5Writer&) = delete;
  Hdf5Writer& operator=(const Hdf5Writer&) = delete;

  /// Creates a group (with parents) such as "/timeseries".
  void create_group(const std::string& path);
  /// Attribute on an object (group path, "/" for the root).
  void attribute(const std::string& object, const std::string& name, const std::string& value);
  void attribute(const std::string& object, const std::string& name, double value);
  void attribute(const std::string& object, const std::string& name, long long value);
  /// 1-D dataset of doubles, chunked and compressed; `units` stored as attribute.
  void dataset(const std::string& path, const std::vector<double>& data, const std::string& units);
  void dataset(const std::string& path, const std::vector<long long>& data, const std::string& units);
  /// 1-D dataset of variable-length strings.
  void dataset(const std::string& path, const std::vector<std::string>& data);
  /// 2-D dataset of doubles (row-major `rows` x `cols`), chunked and compressed.
  void dataset(const std::string& path, const std::vector<double>& data, size_t rows, size_t cols,
               const std::string& units);

  enum class Type { Float64, Float32, Int64 };
  /// A fixed-length 1-D dataset filled in slices (kept open so its chunk cache works across writes).
  class Slices {
   public:
    Slices(long long file, const std::string& path, size_t n, Type type, const std::string& units);
    ~Slices();
    Slices(const Slices&) = delete;
    Slices& operator=(const Slices&) = delete;
    /// Writes `data` at element `offset` (converted to the dataset's type).
    void write(size_t offset, const std::vector<double>& data);
    void write(size_t offset, const std::vector<long long>& data);

   private:
    long long ds_ = -1;
    std::string path_;
  };
  /// Creates a dataset of `n` elements to be written in slices.
  std::unique_ptr<Slices> slices(const std::string& path, size_t n, Type type, const std::string& units);
  void close();

 private:
  long long file_ = -1;
};

}  // namespace packlife
