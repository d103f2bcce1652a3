#pragma once
/// @file functions.hpp
/// Built-in material functions that parameter files refer to by name: open-circuit potentials,
/// entropic coefficients and electrolyte transport correlations. Each is a published fit; the
/// citation is kept with the function and in docs/models.md.
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

/// A parameter that is either a constant or a built-in function of one argument.
struct ScalarFunction {
  const NamedFunction* fn = nullptr;
  double constant = 0.0;
  double operator()(double x) const { return fn ? fn->f(x) : constant; }
  AD operator()(const AD& x) const { return fn ? fn->f_ad(x) : AD(constant, ADVec::Zero()); }
};

}  // namespace packlife
