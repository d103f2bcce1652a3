#include "packlife/core/yaml_source.hpp"

#include <cmath>
#include <fstream>
#include <sstream>

namespace packlife {

namespace {
void parse(const std::string& text, const std::string& name, YAML::Node& out) {
  try {
    out = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw InputError(name, e.mark.line + 1, e.mark.column + 1, "", "malformed YAML: " + e.msg);
  }
}
}  // namespace

YamlSource YamlSource::load_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError(path, 0, 0, "", "cannot open file for reading");
  std::stringstream ss;
  ss << in.rdbuf();
  return load_string(ss.str(), path);
}

YamlSource YamlSource::load_string(const std::string& text, const std::string& name) {
  YamlSource s;
  s.file_ = name;
  parse(text, name, s.root_);
  if (!s.root_.IsMap()) throw InputError(name, 1, 0, "", "expected a YAML mapping at the top level");
  return s;
}

InputError YamlSource::error(const YAML::Node& node, const std::string& key,
                             const std::string& msg) const {
  const YAML::Mark m = node.IsDefined() ? node.Mark() : YAML::Mark::null_mark();
  const int line = m.is_null() ? 0 : m.line + 1;
  const int col = m.is_null() ? 0 : m.column + 1;
  return InputError(file_, line, col, key, msg);
}

double YamlSource::as_double(const YAML::Node& node, const std::string& key) const {
  if (!node.IsScalar()) throw error(node, key, "expected a number");
  const std::string s = node.Scalar();
  try {
    size_t used = 0;
    const double v = std::stod(s, &used);
    if (used != s.size() || !std::isfinite(v)) throw std::invalid_argument(s);
    return v;
  } catch (const std::exception&) {
    throw error(node, key, fmt::format("expected a number, got '{}'", s));
  }
}

std::string YamlSource::as_string(const YAML::Node& node, const std::string& key) const {
  if (!node.IsScalar()) throw error(node, key, "expected a text value");
  return node.Scalar();
}

}  // namespace packlife
