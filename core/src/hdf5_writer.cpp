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

template <typename T>
void write_numeric(hid_t file, const std::string& path, const std::vector<T>& data, hid_t type,
                   const std::string& units) {
  const hsize_t n = data.size();
  Handle space(H5Screate_simple(1, &n, nullptr), H5Sclose, "create dataspace for " + path);
  Handle lcpl(H5Pcreate(H5P_LINK_CREATE), H5Pclose, "create link property list");
  ok(H5Pset_create_intermediate_group(lcpl, 1), "set intermediate groups");
  Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose, "create dataset property list");
  if (n > 0) {
    const hsize_t chunk = std::min<hsize_t>(n, 4096);
    ok(H5Pset_chunk(dcpl, 1, &chunk), "set chunking");
    ok(H5Pset_shuffle(dcpl), "set shuffle filter");
    ok(H5Pset_deflate(dcpl, 4), "set deflate filter");
  }
  Handle ds(H5Dcreate2(file, path.c_str(), type, space, lcpl, dcpl, H5P_DEFAULT), H5Dclose,
            "create dataset " + path);
  if (n > 0) ok(H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()), "write " + path);
  if (!units.empty()) {
    Handle stype(H5Tcopy(H5T_C_S1), H5Tclose, "copy string type");
    ok(H5Tset_size(stype, units.size()), "size string type");
    Handle aspace(H5Screate(H5S_SCALAR), H5Sclose, "create scalar space");
    Handle attr(H5Acreate2(ds, "units", stype, aspace, H5P_DEFAULT, H5P_DEFAULT), H5Aclose,
                "create units attribute");
    ok(H5Awrite(attr, stype, units.c_str()), "write units attribute");
  }
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

}  // namespace packlife
