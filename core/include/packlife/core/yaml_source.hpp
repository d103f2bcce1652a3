#pragma once
/// @file yaml_source.hpp
/// Reading YAML configuration with source positions, so that every input error names the file,
/// the line and the key (the role of Cantera's AnyMap/InputFileError).
#include <yaml-cpp/yaml.h>

#include <string>

#include "packlife/core/error.hpp"

namespace packlife {

/// A YAML document together with the file it came from.
class YamlSource {
 public:
  /// Parses `path`; throws InputError (with line) if it cannot be read or is not valid YAML.
  static YamlSource load_file(const std::string& path);
  /// Parses text held in memory; `name` is used in messages.
  static YamlSource load_string(const std::string& text, const std::string& name);

  const YAML::Node& root() const { return root_; }
  const std::string& file() const { return file_; }

  /// An InputError located at `node` (1-based line) and naming `key`.
  InputError error(const YAML::Node& node, const std::string& key, const std::string& msg) const;
  /// Reads `node` as a finite double or throws an InputError naming `key`.
  double as_double(const YAML::Node& node, const std::string& key) const;
  /// Reads `node` as a scalar string or throws an InputError naming `key`.
  std::string as_string(const YAML::Node& node, const std::string& key) const;

 private:
  YAML::Node root_;
  std::string file_;
};

}  // namespace packlife
