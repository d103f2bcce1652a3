#pragma once
/// @file hdf5_reader.hpp
/// Minimal HDF5 reader for packlife's own files: string and number attributes, 1-D datasets of
/// numbers and strings, 2-D datasets of doubles. Errors are InputError naming the file and object.
#include <optional>
#include <string>
#include <vector>

namespace packlife {

class Hdf5Reader {
 public:
  /// Opens `path` read-only; InputError if it is missing or not an HDF5 file.
  explicit Hdf5Reader(const std::string& path);
  ~Hdf5Reader();
  Hdf5Reader(const Hdf5Reader&) = delete;
  Hdf5Reader& operator=(const Hdf5Reader&) = delete;

  bool exists(const std::string& object) const;
  /// A string attribute, or nullopt if the object has no such attribute.
  std::optional<std::string> string_attribute(const std::string& object, const std::string& name) const;
  std::optional<double> number_attribute(const std::string& object, const std::string& name) const;
  std::vector<double> doubles(const std::string& path) const;
  std::vector<long long> integers(const std::string& path) const;
  std::vector<std::string> strings(const std::string& path) const;
  /// A 2-D dataset of doubles, row-major; its shape in rows/cols.
  std::vector<double> doubles_2d(const std::string& path, size_t& rows, size_t& cols) const;

 private:
  std::string path_;
  long long file_ = -1;
};

}  // namespace packlife
