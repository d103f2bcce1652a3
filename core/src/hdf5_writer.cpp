#include "packlife/core/hdf5_writer.hpp"

#include <hdf5.h>

#include <algorithm>

#include "packlife/core/error.hpp"

namespace packlife {

namespace {
/// Owns one HDF5 identifier and closes it with the matching function.
class Handle {
 public:
  Handle(hid_t id, herr_t (*closer)(hid_t), const std::string& what) : id_(id), closer_(closer) {
    if (id_ < 0) throw Error("HDF5: could not {}", what);
  }
  ~Handle() {
    if (id_ >= 0) closer_(id_);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  operator hid_t() const { return id_; }

 private:
  hid_t id_;
  herr_t (*closer_)(hid_t);
};

void ok(herr_t s, const std::string& what) {
  if (s < 0) throw Error("HDF5: could not {}", what);
}

void units_attribute(hid_t ds, const std::string& units) {
  Handle stype(H5Tcopy(H5T_C_S1), H5Tclose, "copy string type");
  ok(H5Tset_size(stype, units.size()), "size string type");
  Handle aspace(H5Screate(H5S_SCALAR), H5Sclose, "create scalar space");
  Handle attr(H5Acreate2(ds, "units", stype, aspace, H5P_DEFAULT, H5P_DEFAULT), H5Aclose, "create units attribute");
  ok(H5Awrite(attr, stype, units.c_str()), "write units attribute");
}

/// Creates a chunked, shuffled and deflated dataset of `dims` (rank 1 or 2) with file type `ftype`.
hid_t create_compressed(hid_t file, const std::string& path, hid_t ftype, int rank, const hsize_t* dims, hsize_t chunk1d) {
  Handle space(H5Screate_simple(rank, dims, nullptr), H5Sclose, "create dataspace for " + path);
  Handle lcpl(H5Pcreate(H5P_LINK_CREATE), H5Pclose, "create link property list");
  ok(H5Pset_create_intermediate_group(lcpl, 1), "set intermediate groups");
  Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose, "create dataset property list");
  hsize_t total = 1;
  for (int i = 0; i < rank; ++i) total *= dims[i];
  if (total > 0) {
    hsize_t chunk[2] = {std::min<hsize_t>(dims[0], chunk1d), rank == 2 ? dims[1] : 1};
    if (rank == 2) chunk[0] = std::max<hsize_t>(1, std::min<hsize_t>(dims[0], chunk1d / std::max<hsize_t>(1, dims[1])));
    ok(H5Pset_chunk(dcpl, rank, chunk), "set chunking");
    ok(H5Pset_shuffle(dcpl), "set shuffle filter");
    ok(H5Pset_deflate(dcpl, 4), "set deflate filter");
  }
  const hid_t ds = H5Dcreate2(file, path.c_str(), ftype, space, lcpl, dcpl, H5P_DEFAULT);
  if (ds < 0) throw Error("HDF5: could not create dataset {}", path);
  return ds;
}

template <typename T>
void write_numeric(hid_t file, const std::string& path, const std::vector<T>& data, hid_t type,
                   const std::string& units) {
  const hsize_t n = data.size();
  Handle ds(create_compressed(file, path, type, 1, &n, 4096), H5Dclose, "create dataset " + path);
  if (n > 0) ok(H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()), "write " + path);
  if (!units.empty()) units_attribute(ds, units);
}

}  // namespace

Hdf5Writer::Hdf5Writer(const std::string& path) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // errors are reported by exceptions
  file_ = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (file_ < 0) throw Error("HDF5: could not create {}", path);
}

Hdf5Writer::~Hdf5Writer() { close(); }

void Hdf5Writer::close() {
  if (file_ >= 0) H5Fclose(file_);
  file_ = -1;
}

void Hdf5Writer::create_group(const std::string& path) {
  Handle lcpl(H5Pcreate(H5P_LINK_CREATE), H5Pclose, "create link property list");
  ok(H5Pset_create_intermediate_group(lcpl, 1), "set intermediate groups");
  Handle g(H5Gcreate2(file_, path.c_str(), lcpl, H5P_DEFAULT, H5P_DEFAULT), H5Gclose,
           "create group " + path);
}

void Hdf5Writer::attribute(const std::string& object, const std::string& name, const std::string& value) {
  Handle obj(H5Oopen(file_, object.c_str(), H5P_DEFAULT), H5Oclose, "open " + object);
  Handle stype(H5Tcopy(H5T_C_S1), H5Tclose, "copy string type");
  ok(H5Tset_size(stype, std::max<size_t>(1, value.size())), "size string type");
  ok(H5Tset_cset(stype, H5T_CSET_UTF8), "set UTF-8");
  Handle space(H5Screate(H5S_SCALAR), H5Sclose, "create scalar space");
  Handle attr(H5Acreate2(obj, name.c_str(), stype, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose,
              "create attribute " + name);
  const std::string v = value.empty() ? std::string(1, '\0') : value;
  ok(H5Awrite(attr, stype, v.c_str()), "write attribute " + name);
}

void Hdf5Writer::attribute(const std::string& object, const std::string& name, double value) {
  Handle obj(H5Oopen(file_, object.c_str(), H5P_DEFAULT), H5Oclose, "open " + object);
  Handle space(H5Screate(H5S_SCALAR), H5Sclose, "create scalar space");
  Handle attr(H5Acreate2(obj, name.c_str(), H5T_NATIVE_DOUBLE, space, H5P_DEFAULT, H5P_DEFAULT),
              H5Aclose, "create attribute " + name);
  ok(H5Awrite(attr, H5T_NATIVE_DOUBLE, &value), "write attribute " + name);
}

void Hdf5Writer::attribute(const std::string& object, const std::string& name, long long value) {
  Handle obj(H5Oopen(file_, object.c_str(), H5P_DEFAULT), H5Oclose, "open " + object);
  Handle space(H5Screate(H5S_SCALAR), H5Sclose, "create scalar space");
  Handle attr(H5Acreate2(obj, name.c_str(), H5T_NATIVE_LLONG, space, H5P_DEFAULT, H5P_DEFAULT),
              H5Aclose, "create attribute " + name);
  ok(H5Awrite(attr, H5T_NATIVE_LLONG, &value), "write attribute " + name);
}

void Hdf5Writer::dataset(const std::string& path, const std::vector<double>& data, const std::string& units) {
  write_numeric(file_, path, data, H5T_NATIVE_DOUBLE, units);
}

void Hdf5Writer::dataset(const std::string& path, const std::vector<long long>& data,
                         const std::string& units) {
  write_numeric(file_, path, data, H5T_NATIVE_LLONG, units);
}

void Hdf5Writer::dataset(const std::string& path, const std::vector<std::string>& data) {
  const hsize_t n = data.size();
  Handle space(H5Screate_simple(1, &n, nullptr), H5Sclose, "create dataspace for " + path);
  Handle stype(H5Tcopy(H5T_C_S1), H5Tclose, "copy string type");
  ok(H5Tset_size(stype, H5T_VARIABLE), "make variable-length string type");
  ok(H5Tset_cset(stype, H5T_CSET_UTF8), "set UTF-8");
  Handle lcpl(H5Pcreate(H5P_LINK_CREATE), H5Pclose, "create link property list");
  ok(H5Pset_create_intermediate_group(lcpl, 1), "set intermediate groups");
  Handle ds(H5Dcreate2(file_, path.c_str(), stype, space, lcpl, H5P_DEFAULT, H5P_DEFAULT), H5Dclose,
            "create dataset " + path);
  std::vector<const char*> ptrs;
  for (const auto& s : data) ptrs.push_back(s.c_str());
  if (n > 0) ok(H5Dwrite(ds, stype, H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()), "write " + path);
}

void Hdf5Writer::dataset(const std::string& path, const std::vector<double>& data, size_t rows, size_t cols,
                         const std::string& units) {
  if (data.size() != rows * cols) throw Error("HDF5: {} holds {} values, not {} x {}", path, data.size(), rows, cols);
  const hsize_t dims[2] = {rows, cols};
  Handle ds(create_compressed(file_, path, H5T_NATIVE_DOUBLE, 2, dims, 4096), H5Dclose, "create dataset " + path);
  if (!data.empty()) ok(H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()), "write " + path);
  if (!units.empty()) units_attribute(ds, units);
}

std::unique_ptr<Hdf5Writer::Slices> Hdf5Writer::slices(const std::string& path, size_t n, Type type,
                                                        const std::string& units) {
  return std::make_unique<Slices>(file_, path, n, type, units);
}

Hdf5Writer::Slices::Slices(long long file, const std::string& path, size_t n, Type type, const std::string& units)
    : path_(path) {
  const hid_t ftype = type == Type::Float64 ? H5T_IEEE_F64LE : type == Type::Float32 ? H5T_IEEE_F32LE : H5T_STD_I64LE;
  const hsize_t dims = n;
  ds_ = create_compressed(file, path, ftype, 1, &dims, 16384);
  if (!units.empty()) units_attribute(ds_, units);
}

Hdf5Writer::Slices::~Slices() {
  if (ds_ >= 0) H5Dclose(ds_);
}

namespace {
void write_slice(hid_t ds, const std::string& path, size_t offset, size_t n, hid_t mtype, const void* data) {
  if (n == 0) return;
  Handle fspace(H5Dget_space(ds), H5Sclose, "get dataspace of " + path);
  const hsize_t start = offset, count = n;
  ok(H5Sselect_hyperslab(fspace, H5S_SELECT_SET, &start, nullptr, &count, nullptr), "select slice of " + path);
  Handle mspace(H5Screate_simple(1, &count, nullptr), H5Sclose, "create memory space");
  ok(H5Dwrite(ds, mtype, mspace, fspace, H5P_DEFAULT, data), "write slice of " + path);
}
}  // namespace

void Hdf5Writer::Slices::write(size_t offset, const std::vector<double>& data) {
  write_slice(ds_, path_, offset, data.size(), H5T_NATIVE_DOUBLE, data.data());
}
void Hdf5Writer::Slices::write(size_t offset, const std::vector<long long>& data) {
  write_slice(ds_, path_, offset, data.size(), H5T_NATIVE_LLONG, data.data());
}

}  // namespace packlife
