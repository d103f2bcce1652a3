#include "packlife/core/hdf5_reader.hpp"

#include <hdf5.h>

#include <filesystem>

#include "packlife/core/error.hpp"

namespace packlife {

namespace {
struct Id {
  hid_t id;
  herr_t (*close)(hid_t);
  ~Id() {
    if (id >= 0) close(id);
  }
};
}  // namespace

Hdf5Reader::Hdf5Reader(const std::string& path) : path_(path) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  if (!std::filesystem::exists(path)) throw InputError(path, 0, 0, "", "file not found");
  if (H5Fis_hdf5(path.c_str()) <= 0) throw InputError(path, 0, 0, "", "not an HDF5 file");
  file_ = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file_ < 0) throw InputError(path, 0, 0, "", "could not open the HDF5 file");
}

Hdf5Reader::~Hdf5Reader() {
  if (file_ >= 0) H5Fclose(file_);
}

bool Hdf5Reader::exists(const std::string& object) const {
  if (object == "/") return true;
  // Check each link along the path (H5Lexists fails on a missing intermediate group).
  size_t pos = 0;
  while ((pos = object.find('/', pos + 1)) != std::string::npos)
    if (H5Lexists(file_, object.substr(0, pos).c_str(), H5P_DEFAULT) <= 0) return false;
  return H5Lexists(file_, object.c_str(), H5P_DEFAULT) > 0;
}

std::optional<std::string> Hdf5Reader::string_attribute(const std::string& object, const std::string& name) const {
  if (!exists(object) || H5Aexists_by_name(file_, object.c_str(), name.c_str(), H5P_DEFAULT) <= 0) return std::nullopt;
  Id a{H5Aopen_by_name(file_, object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose};
  Id t{H5Aget_type(a.id), H5Tclose};
  if (a.id < 0 || t.id < 0 || H5Tget_class(t.id) != H5T_STRING) return std::nullopt;
  if (H5Tis_variable_str(t.id) > 0) {
    char* buf = nullptr;
    Id mt{H5Tcopy(H5T_C_S1), H5Tclose};
    H5Tset_size(mt.id, H5T_VARIABLE);
    if (H5Aread(a.id, mt.id, &buf) < 0) return std::nullopt;
    std::string v = buf ? buf : "";
    H5free_memory(buf);
    return v;
  }
  const size_t n = H5Tget_size(t.id);
  std::string v(n, '\0');
  if (H5Aread(a.id, t.id, v.data()) < 0) return std::nullopt;
  v.resize(v.find('\0') == std::string::npos ? n : v.find('\0'));
  return v;
}

std::optional<double> Hdf5Reader::number_attribute(const std::string& object, const std::string& name) const {
  if (!exists(object) || H5Aexists_by_name(file_, object.c_str(), name.c_str(), H5P_DEFAULT) <= 0) return std::nullopt;
  Id a{H5Aopen_by_name(file_, object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose};
  Id t{H5Aget_type(a.id), H5Tclose};
  const H5T_class_t c = H5Tget_class(t.id);
  if (c != H5T_FLOAT && c != H5T_INTEGER) return std::nullopt;
  double v = 0;
  if (H5Aread(a.id, H5T_NATIVE_DOUBLE, &v) < 0) return std::nullopt;
  return v;
}

namespace {
hid_t open_dataset(hid_t file, const std::string& file_name, const std::string& path, int rank_expected, hsize_t* dims) {
  const hid_t ds = H5Dopen2(file, path.c_str(), H5P_DEFAULT);
  if (ds < 0) throw InputError(file_name, 0, 0, path, "dataset missing");
  Id sp{H5Dget_space(ds), H5Sclose};
  const int rank = H5Sget_simple_extent_ndims(sp.id);
  if (rank != rank_expected) {
    H5Dclose(ds);
    throw InputError(file_name, 0, 0, path, fmt::format("expected a {}-D dataset, found {}-D", rank_expected, rank));
  }
  H5Sget_simple_extent_dims(sp.id, dims, nullptr);
  return ds;
}

template <class T>
std::vector<T> read_numbers(hid_t file, const std::string& file_name, const std::string& path, hid_t mtype, int rank,
                            hsize_t* dims) {
  Id ds{open_dataset(file, file_name, path, rank, dims), H5Dclose};
  hsize_t n = 1;
  for (int i = 0; i < rank; ++i) n *= dims[i];
  std::vector<T> v(n);
  if (n > 0 && H5Dread(ds.id, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()) < 0)
    throw InputError(file_name, 0, 0, path, "could not read the dataset as numbers");
  return v;
}
}  // namespace

std::vector<double> Hdf5Reader::doubles(const std::string& path) const {
  hsize_t d[1];
  return read_numbers<double>(file_, path_, path, H5T_NATIVE_DOUBLE, 1, d);
}

std::vector<long long> Hdf5Reader::integers(const std::string& path) const {
  hsize_t d[1];
  return read_numbers<long long>(file_, path_, path, H5T_NATIVE_LLONG, 1, d);
}

std::vector<double> Hdf5Reader::doubles_2d(const std::string& path, size_t& rows, size_t& cols) const {
  hsize_t d[2];
  auto v = read_numbers<double>(file_, path_, path, H5T_NATIVE_DOUBLE, 2, d);
  rows = d[0];
  cols = d[1];
  return v;
}

std::vector<std::string> Hdf5Reader::strings(const std::string& path) const {
  hsize_t n = 0;
  Id ds{open_dataset(file_, path_, path, 1, &n), H5Dclose};
  Id t{H5Dget_type(ds.id), H5Tclose};
  if (H5Tget_class(t.id) != H5T_STRING || H5Tis_variable_str(t.id) <= 0)
    throw InputError(path_, 0, 0, path, "expected variable-length strings");
  std::vector<char*> buf(n, nullptr);
  Id mt{H5Tcopy(H5T_C_S1), H5Tclose};
  H5Tset_size(mt.id, H5T_VARIABLE);
  H5Tset_cset(mt.id, H5T_CSET_UTF8);
  if (n > 0 && H5Dread(ds.id, mt.id, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()) < 0)
    throw InputError(path_, 0, 0, path, "could not read the strings");
  std::vector<std::string> v;
  v.reserve(n);
  for (char* c : buf) {
    v.emplace_back(c ? c : "");
    H5free_memory(c);
  }
  return v;
}

}  // namespace packlife
