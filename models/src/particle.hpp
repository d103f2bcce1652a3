#pragma once
/// @file particle.hpp
/// Spherical-particle diffusion shared by the cell models (SPM, SPMe: one particle per electrode;
/// DFN: one per electrode cell): finite volumes in r, Fick's law with the flux condition
/// -D dc/dr = j/F at r = R (docs/models.md, "Particles").
#include <cmath>
#include <vector>

#include "packlife/core/dae.hpp"
#include "packlife/models/parameters.hpp"

namespace packlife {

/// Finite volumes on a radial mesh of one particle, refined towards the surface:
/// edges r_k = R (1 - (1 - k/N)^p), p = 1 uniform, p > 1 finer near r = R where the flux enters.
struct ParticleMesh {
  int offset = 0, N = 0;  ///< offset: first unknown of the (single-particle models') particle
  double R = 0;
  std::vector<double> face_area;  ///< r^2 at the N-1 internal faces
  std::vector<double> face_dist;  ///< distance between the centres either side of each internal face
  std::vector<double> volume;     ///< (r_out^3 - r_in^3)/3 for each shell (sum R^3/3)
  double w1 = 0, w2 = 0, wg = 0;  ///< c_surf = w1 c[N-1] + w2 c[N-2] + wg dc/dr|R
  void build(int off, int n, double radius, double p) {
    offset = off;
    N = n;
    R = radius;
    std::vector<double> e(N + 1), mid(N);
    for (int k = 0; k <= N; ++k) e[k] = R * (1.0 - std::pow(1.0 - static_cast<double>(k) / N, p));
    e[N] = R;
    for (int i = 0; i < N; ++i) mid[i] = 0.5 * (e[i] + e[i + 1]);
    face_area.resize(N - 1);
    face_dist.resize(N - 1);
    volume.resize(N);
    for (int i = 0; i < N - 1; ++i) {
      face_area[i] = e[i + 1] * e[i + 1];
      face_dist[i] = mid[i + 1] - mid[i];
    }
    for (int i = 0; i < N; ++i) volume[i] = (std::pow(e[i + 1], 3) - std::pow(e[i], 3)) / 3.0;
    // Quadratic through the two outer cell values with the flux condition's slope at r = R.
    const double d1 = mid[N - 1] - R, d2 = mid[N - 2] - R;
    const double beta = d1 * d1 / (d1 * d1 - d2 * d2);
    w1 = 1.0 - beta;
    w2 = beta;
    wg = -d1 + beta * (d1 - d2);
  }
  /// Surface concentration from the two outer cells and the flux condition -D dc/dr = j/F
  /// (quadratic reconstruction, third-order accurate).
  double surface(const double* c, double j, double D) const {
    return w1 * c[N - 1] + w2 * c[N - 2] - wg * j / (kFaraday * D);
  }
  /// Volume-averaged concentration [mol/m3].
  double mean(const double* c) const {
    double s = 0;
    for (int i = 0; i < N; ++i) s += c[i] * volume[i];
    return s / (R * R * R / 3.0);
  }
  /// Residual rows F = dc/dt - div(D grad c) of the particle whose cells start at c (rates cdot),
  /// with the surface flux j [A/m2] (positive: lithium leaves the particle). D: the diffusivity at
  /// each of the N-1 internal faces (all equal for a constant diffusivity).
  void residual(const double* c, const double* cdot, double* F, const double* D, double j) const {
    double flux_in = 0.0;  // r^2 D dc/dr at the inner face
    for (int i = 0; i < N; ++i) {
      const double flux_out = (i < N - 1) ? face_area[i] * D[i] * (c[i + 1] - c[i]) / face_dist[i] : -R * R * j / kFaraday;
      F[i] = cdot[i] - (flux_out - flux_in) / volume[i];
      flux_in = flux_out;
    }
  }
  /// d(flux term of the outer cell's row)/dj [1/(A s)]: the caller chains it to its own unknowns.
  double surface_row_per_j() const { return R * R / (kFaraday * volume[N - 1]); }
  /// Jacobian of residual() in the concentrations (cj on the diagonal) and, when iT >= 0, in the
  /// temperature through D(T) = D_ref exp(E/R (1/T_ref - 1/T)) (dlnD_dT = E/(R T^2)); rows and
  /// columns start at `off`. D: face diffusivities as in residual(); dD (may be null: constant) their
  /// derivatives in the face concentration (c_i + c_i+1)/2. The surface flux's own columns are added
  /// by the caller.
  void jacobian(int off, const double* c, const double* D, const double* dD, double dlnD_dT, int iT, double cj,
                SparseJacobian& J) const {
    for (int i = 0; i < N; ++i) J.add(off + i, off + i, cj);
    for (int f = 0; f < N - 1; ++f) {
      // flux_f = A_f D_f (c_r - c_l) / d_f leaves cell l = f and enters cell r = f + 1.
      const int l = off + f, r = l + 1;
      const double k = face_area[f] / face_dist[f], dc = c[f + 1] - c[f];
      const double half = dD ? 0.5 * dD[f] * dc : 0.0;  // d(D_f)/dc_l = d(D_f)/dc_r = dD/2
      const double dfl = k * (half - D[f]), dfr = k * (half + D[f]);
      J.add(l, l, -dfl / volume[f]);
      J.add(l, r, -dfr / volume[f]);
      J.add(r, l, dfl / volume[f + 1]);
      J.add(r, r, dfr / volume[f + 1]);
      if (iT >= 0 && dlnD_dT != 0.0) {
        const double flux_T = k * D[f] * dc * dlnD_dT;
        J.add(l, iT, -flux_T / volume[f]);
        J.add(r, iT, flux_T / volume[f + 1]);
      }
    }
  }
  /// Declares the pattern of jacobian() (tridiagonal, plus the temperature column when iT >= 0).
  void pattern(int off, int iT, SparsityPattern& p) const {
    for (int i = 0; i < N; ++i) {
      p.add(off + i, off + i);
      if (i > 0) p.add(off + i, off + i - 1);
      if (i < N - 1) p.add(off + i, off + i + 1);
      if (iT >= 0) p.add(off + i, iT);
    }
  }
};

}  // namespace packlife
