#pragma once
/// @file atomic_file.hpp
/// Output that is either complete or absent: data go to a temporary file beside the target, which
/// is renamed over the target only on commit(). A run that fails never leaves a half-written file
/// and never clobbers an existing one.
#include <string>

namespace packlife {

class AtomicFile {
 public:
  /// Reserves a temporary path next to `target`. Throws InputError if the folder is not writable.
  explicit AtomicFile(std::string target);
  ~AtomicFile();  ///< removes the temporary file unless committed
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  const std::string& temp_path() const { return temp_; }
  const std::string& target() const { return target_; }
  /// Renames the temporary file onto the target.
  void commit();

 private:
  std::string target_, temp_;
  bool committed_ = false;
};

}  // namespace packlife
