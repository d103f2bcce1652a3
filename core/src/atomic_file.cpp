#include "packlife/core/atomic_file.hpp"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "packlife/core/error.hpp"

namespace packlife {

AtomicFile::AtomicFile(std::string target) : target_(std::move(target)) {
  namespace fs = std::filesystem;
  const fs::path t(target_);
  const fs::path dir = t.has_parent_path() ? t.parent_path() : fs::path(".");
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw InputError(target_, 0, 0, "", fmt::format("folder '{}' does not exist", dir.string()));
  if (fs::is_directory(t, ec)) throw InputError(target_, 0, 0, "", "is a folder, expected a file path");
  temp_ = (dir / fmt::format(".{}.{}.tmp", t.filename().string(), ::getpid())).string();
  std::ofstream probe(temp_, std::ios::binary | std::ios::trunc);
  if (!probe) throw InputError(target_, 0, 0, "", fmt::format("cannot write in folder '{}'", dir.string()));
}

AtomicFile::~AtomicFile() {
  if (!committed_) std::remove(temp_.c_str());
}

void AtomicFile::commit() {
  std::error_code ec;
  std::filesystem::rename(temp_, target_, ec);
  if (ec) throw Error("could not move {} onto {}: {}", temp_, target_, ec.message());
  committed_ = true;
}

}  // namespace packlife
