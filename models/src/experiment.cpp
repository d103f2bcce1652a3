#include "packlife/models/experiment.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <regex>
#include <sstream>

#include "packlife/core/error.hpp"

namespace packlife {

namespace {

std::string lower_trim(const std::string& s) {
  std::string out;
  bool space = false;
  for (char ch : s) {
    if (std::isspace(static_cast<unsigned char>(ch))) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  }
  return out;
}

const char* kForms =
    "expected forms like 'Discharge at 1C until 2.5 V', 'Charge at 0.5C until 4.2 V', 'Hold at 4.2 V until C/50', "
    "'Rest for 1 hour', 'Discharge at 2 A for 10 minutes', 'Discharge at 20 W until 3.0 V', "
    "'Charge at 1C until 80% SOC', 'Charge at 2C with CV at 4.2 V until 80% SOC', 'Rest to fill 24 hours'";

[[noreturn]] void fail(const ExperimentStep& s, const std::string& msg) {
  const std::string where = s.source.empty() ? "" : s.source + ": ";
  throw InputError(fmt::format("{}experiment step '{}': {}", where, s.text, msg));
}

double number(const ExperimentStep& s, const std::string& txt, const char* what) {
  try {
    size_t used = 0;
    const double v = std::stod(txt, &used);
    if (used != txt.size() || !std::isfinite(v)) throw std::invalid_argument(txt);
    if (v <= 0) fail(s, fmt::format("{} must be positive, got {}", what, txt));
    return v;
  } catch (const InputError&) {
    throw;
  } catch (const std::exception&) {
    fail(s, fmt::format("{} '{}' is not a number", what, txt));
  }
}

double seconds(const ExperimentStep& s, const std::string& num, const std::string& unit) {
  const double v = number(s, num, "duration");
  if (unit.rfind("s", 0) == 0) return v;
  if (unit.rfind("m", 0) == 0) return 60 * v;
  if (unit.rfind("h", 0) == 0) return 3600 * v;
  if (unit.rfind("d", 0) == 0) return 86400 * v;
  fail(s, fmt::format("unknown time unit '{}' (use seconds, minutes, hours or days)", unit));
}

}  // namespace

ExperimentStep parse_step(const std::string& raw, const std::string& source) {
  ExperimentStep s;
  s.text = raw;
  {
    // Trim the text kept for messages.
    const auto b = raw.find_first_not_of(" \t\r\n"), e = raw.find_last_not_of(" \t\r\n");
    s.text = b == std::string::npos ? "" : raw.substr(b, e - b + 1);
  }
  s.source = source;
  const std::string t = lower_trim(raw);
  if (t.empty()) fail(s, "empty step");

  static const std::regex head_cd(R"(^(discharge|charge) at (\S+?) ?(c|a|ma|w|mw)( .*)?$)");
  static const std::regex head_cfrac(R"(^(discharge|charge) at c/(\S+)( .*)?$)");
  static const std::regex head_hold(R"(^hold at (\S+?) ?(v|mv)( .*)?$)");
  static const std::regex head_rest(R"(^rest( .*)?$)");
  std::smatch m;
  std::string tail;
  if (std::regex_match(t, m, head_cfrac)) {
    s.kind = ExperimentStep::Kind::Current;
    s.charge = m[1] == "charge";
    s.c_rate = true;
    s.value = 1.0 / number(s, m[2], "C-rate denominator");
    tail = m[3];
  } else if (std::regex_match(t, m, head_cd)) {
    s.charge = m[1] == "charge";
    const std::string unit = m[3];
    const double v = number(s, m[2], unit == "c" ? "C-rate" : unit == "w" || unit == "mw" ? "power" : "current");
    if (unit == "c") { s.kind = ExperimentStep::Kind::Current; s.c_rate = true; s.value = v; }
    else if (unit == "a") { s.kind = ExperimentStep::Kind::Current; s.value = v; }
    else if (unit == "ma") { s.kind = ExperimentStep::Kind::Current; s.value = v / 1000; }
    else if (unit == "w") { s.kind = ExperimentStep::Kind::Power; s.value = v; }
    else { s.kind = ExperimentStep::Kind::Power; s.value = v / 1000; }
    tail = m[4];
  } else if (std::regex_match(t, m, head_hold)) {
    s.kind = ExperimentStep::Kind::Voltage;
    s.value = number(s, m[1], "voltage") / (m[2] == "mv" ? 1000.0 : 1.0);
    tail = m[3];
  } else if (std::regex_match(t, m, head_rest)) {
    s.kind = ExperimentStep::Kind::Rest;
    tail = m[1];
  } else {
    fail(s, std::string("not understood; ") + kForms);
  }

  static const std::regex fill_re(R"(^ to fill (\S+?) ?(seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d)$)");
  if (s.kind == ExperimentStep::Kind::Rest && std::regex_match(tail, m, fill_re)) {
    s.fill_s = seconds(s, m[1], m[2]);
    return s;
  }
  // Constant current (or power) then constant voltage: "... with CV at 4.2 V ..."
  static const std::regex cv_re(R"(^ with cv at (\S+?) ?(v|mv)( .*)?$)");
  if ((s.kind == ExperimentStep::Kind::Current || s.kind == ExperimentStep::Kind::Power) && std::regex_match(tail, m, cv_re)) {
    s.cv_V = number(s, m[1], "CV voltage") / (m[2] == "mv" ? 1000.0 : 1.0);
    tail = m[3];
  }
  // Tail: [for <num> <unit>] [[or] until <condition>]
  static const std::regex tail_re(R"(^(?: for (\S+?) ?(seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d))?(?: (?:or )?until (.+))?$)");
  if (!std::regex_match(tail, m, tail_re)) fail(s, std::string("could not read the duration or end condition; ") + kForms);
  if (m[1].matched) s.duration_s = seconds(s, m[1], m[2]);
  if (m[3].matched) {
    const std::string cond = m[3];
    static const std::regex c_volt(R"(^(\S+?) ?(v|mv)$)");
    static const std::regex c_amp(R"(^(\S+?) ?(a|ma)$)");
    static const std::regex c_cfrac(R"(^c/(\S+)$)");
    static const std::regex c_crate(R"(^(\S+?) ?c$)");
    static const std::regex c_soc(R"(^(\S+?) ?% ?soc$)");
    std::smatch c;
    if (std::regex_match(cond, c, c_soc)) {
      s.until = ExperimentStep::Until::Soc;
      const double v = number(s, c[1], "SOC");
      if (v > 100) fail(s, fmt::format("SOC {}% is above 100%", c[1].str()));
      s.until_value = v / 100.0;
    } else if (std::regex_match(cond, c, c_volt)) {
      s.until = ExperimentStep::Until::Voltage;
      s.until_value = number(s, c[1], "voltage") / (c[2] == "mv" ? 1000.0 : 1.0);
    } else if (std::regex_match(cond, c, c_cfrac)) {
      s.until = ExperimentStep::Until::Current;
      s.until_c_rate = true;
      s.until_value = 1.0 / number(s, c[1], "C-rate denominator");
    } else if (std::regex_match(cond, c, c_amp)) {
      s.until = ExperimentStep::Until::Current;
      s.until_value = number(s, c[1], "current") / (c[2] == "ma" ? 1000.0 : 1.0);
    } else if (std::regex_match(cond, c, c_crate)) {
      s.until = ExperimentStep::Until::Current;
      s.until_c_rate = true;
      s.until_value = number(s, c[1], "C-rate");
    } else {
      fail(s, fmt::format("end condition '{}' not understood; use a voltage ('2.5 V'), a current ('C/50', '50 mA') "
                          "or a state of charge ('80% SOC')", cond));
    }
  }

  using K = ExperimentStep::Kind;
  using U = ExperimentStep::Until;
  if (s.kind == K::Rest && s.until != U::None) fail(s, "a rest can only last 'for' a duration");
  if (s.kind == K::Rest && !s.duration_s)
    fail(s, "a rest needs a duration, e.g. 'Rest for 1 hour', or a cycle length to fill, e.g. 'Rest to fill 24 hours'");
  if ((s.kind == K::Current || s.kind == K::Power) && s.until == U::Current && !s.cv_V)
    fail(s, "a constant-current or constant-power step cannot end on current; use a voltage or SOC (or add "
            "'with CV at <V>' for a taper ending on current)");
  if (s.cv_V && s.until == U::Voltage)
    fail(s, "a step with a CV phase ends on SOC, current or duration, not on voltage");
  if (s.kind == K::Voltage && (s.until == U::Voltage || s.until == U::Soc))
    fail(s, "a voltage hold ends on current ('until C/50') or after a duration");
  if (s.kind != K::Rest && s.until == U::None && !s.duration_s)
    fail(s, "needs a duration ('for 10 minutes') or an end condition ('until 2.5 V')");
  return s;
}

Experiment parse_experiment(const std::string& text, const std::string& source) {
  Experiment e;
  std::string item;
  int line = 1, item_line = 1;
  auto flush = [&]() {
    std::string s = item.substr(0, item.find('#'));
    if (s.find_first_not_of(" \t\r") != std::string::npos) {
      const std::string where = source.empty() ? "" : fmt::format("{}:{}", source, item_line);
      e.steps.push_back(parse_step(s, where));
    }
    item.clear();
  };
  for (char ch : text) {
    if (ch == ';' || ch == '\n') {
      flush();
      if (ch == '\n') ++line;
      item_line = line;
    } else {
      item += ch;
    }
  }
  flush();
  if (e.steps.empty()) throw InputError(fmt::format("{}experiment has no steps", source.empty() ? "" : source + ": "));
  return e;
}

Experiment load_experiment_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError(path, 0, 0, "", "cannot open experiment file for reading");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_experiment(ss.str(), path);
}


}  // namespace packlife
