#pragma once
/// @file functions.hpp
/// Built-in material functions that parameter files refer to by name: open-circuit potentials,
/// entropic coefficients and electrolyte transport correlations. Each is a published fit; the
/// citation is kept with the function and in docs/models.md.
#include <memory>
#include <string>
#include <vector>

#include "packlife/models/ad.hpp"

namespace packlife {

/// A named scalar function of one variable (stoichiometry or concentration in mol/m3).
struct NamedFunction {
  const char* name;
  const char* argument;   ///< "stoichiometry" or "concentration_mol_m3"
  const char* unit;       ///< unit of the result
  const char* citation;
  double (*f)(const double&);
  AD (*f_ad)(const AD&);
};

/// Looks a function up by name; nullptr if unknown.
const NamedFunction* find_function(const std::string& name);
/// Every built-in function (for messages and documentation).
const std::vector<NamedFunction>& all_functions();

/// A measured curve y(x) from a two-column CSV file, interpolated by a not-a-knot cubic spline
/// (C2, exact for cubic data; the usual choice for tabulated OCPs) and extrapolated by the end
/// cubics. Knots must be strictly increasing.
class TableFunction {
 public:
  /// Reads "x,y" rows ('#' starts a comment); InputError naming file and line on bad content.
  static std::shared_ptr<const TableFunction> load(const std::string& path);
  TableFunction(std::string path, std::vector<double> x, std::vector<double> y);
  double operator()(double x) const;
  AD operator()(const AD& x) const;
  /// Value and derivative at x.
  void eval(double x, double& f, double& df) const;
  const std::string& path() const { return path_; }
  size_t size() const { return x_.size(); }

 private:
  std::string path_;
  std::vector<double> x_, y_, s_;  ///< knots, values, spline slopes
};

/// A parameter that is a constant, a built-in function of one argument, or a table.
struct ScalarFunction {
  const NamedFunction* fn = nullptr;
  std::shared_ptr<const TableFunction> table;
  double constant = 0.0;
  double operator()(double x) const { return fn ? fn->f(x) : table ? (*table)(x) : constant; }
  AD operator()(const AD& x) const {
    return fn ? fn->f_ad(x) : table ? (*table)(x) : AD(constant, ADVec::Zero());
  }
};

}  // namespace packlife
