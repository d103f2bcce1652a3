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
  /// Functions of the argument and the temperature [K] (the electrolyte laws of some sets); f and
  /// f_ad then evaluate them at 298.15 K. Null for functions of the argument alone.
  double (*fT)(const double&, const double&) = nullptr;
  AD (*fT_ad)(const AD&, const AD&) = nullptr;
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
  /// Index i of the interval [x_i, x_i+1] that holds x (the end intervals for x outside the table),
  /// as std::upper_bound would find it.
  int interval(double x) const;

  std::vector<double> x_, y_, s_;  ///< knots, values, spline slopes
  std::vector<int> bucket_;        ///< interval at the left edge of each uniform bucket
  double bucket_scale_ = 0;        ///< buckets per unit of x
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
  /// Whether the value depends on the temperature too (a function of (x, T)).
  bool temperature_dependent() const { return fn && fn->fT; }
  /// Value at x and temperature T [K] (T is ignored unless temperature_dependent()).
  double operator()(double x, double T) const { return temperature_dependent() ? fn->fT(x, T) : (*this)(x); }
  AD operator()(const AD& x, const AD& T) const { return temperature_dependent() ? fn->fT_ad(x, T) : (*this)(x); }
  /// Whether it is a function or a table rather than a constant.
  bool varies() const { return fn || table; }
};

}  // namespace packlife
