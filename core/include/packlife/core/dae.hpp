#pragma once
/// @file dae.hpp
/// Implicit DAE integration F(t, y, y') = 0 with SUNDIALS IDA and the KLU sparse direct solver.
/// Every SUNDIALS object is owned by RAII handles; no exception crosses a SUNDIALS callback
/// (the wrappers catch, keep the message and return -1, or +1 for a RecoverableError), in the
/// manner of Cantera's FuncEval::evalNoThrow.
#include <memory>
#include <string>
#include <vector>

namespace packlife {

/// A fixed sparsity pattern in compressed-sparse-column form.
class SparsityPattern {
 public:
  explicit SparsityPattern(int n = 0) : n_(n), cols_(n) {}
  /// Declare that entry (row, col) may be non-zero. Call finalize() when done.
  void add(int row, int col);
  void finalize();
  int n() const { return n_; }
  int nnz() const { return static_cast<int>(row_idx_.size()); }
  const std::vector<int>& col_ptr() const { return col_ptr_; }
  const std::vector<int>& row_idx() const { return row_idx_; }
  /// Position of (row, col) in the value array, or -1 when outside the pattern.
  int index(int row, int col) const;

 private:
  int n_;
  std::vector<std::vector<int>> cols_;
  std::vector<int> col_ptr_, row_idx_;
};

/// The value-array positions of one Jacobian assembly, in the order its entries were added.
/// A model adds its entries in the same order at every evaluation (as long as its control mode
/// does not change), so replaying the recorded positions replaces a binary search per entry by one
/// comparison; any change of order is detected and the trace is recorded again.
class JacobianTrace {
 public:
  bool recorded() const { return recorded_; }
  void clear() { entries_.clear(); recorded_ = false; }

 private:
  friend class SparseJacobian;
  struct Entry {
    int row, col, pos;
  };
  std::vector<Entry> entries_;
  bool recorded_ = false;
};

/// Jacobian values laid out by a SparsityPattern; add() accumulates. With a trace, the positions
/// are recorded on the first assembly and replayed (checked entry by entry) on the next ones; call
/// finish() once the assembly is complete.
class SparseJacobian {
 public:
  SparseJacobian(const SparsityPattern& p, double* data, JacobianTrace* trace = nullptr)
      : p_(p), data_(data), trace_(trace), replay_(trace && trace->recorded()) {
    if (trace_ && !replay_) trace_->entries_.clear();
  }
  /// Adds v to entry (row, col); the entry must be in the pattern (throws otherwise).
  void add(int row, int col, double v) {
    if (replay_ && cursor_ < trace_->entries_.size()) {
      const JacobianTrace::Entry& e = trace_->entries_[cursor_];
      if (e.row == row && e.col == col) {
        data_[e.pos] += v;
        ++cursor_;
        return;
      }
    }
    add_slow(row, col, v);
  }
  /// Ends the assembly: keeps a fresh recording, or drops a trace the assembly did not follow.
  void finish();

 private:
  void add_slow(int row, int col, double v);
  const SparsityPattern& p_;
  double* data_;
  JacobianTrace* trace_;
  bool replay_;
  bool diverged_ = false;
  size_t cursor_ = 0;
};

/// A DAE system: residual F(t, y, y'), its Jacobian dF/dy + cj dF/dy', and root functions.
class DaeSystem {
 public:
  virtual ~DaeSystem() = default;
  virtual int size() const = 0;
  virtual void residual(double t, const double* y, const double* yp, double* F) = 0;
  virtual const SparsityPattern& jacobian_pattern() const = 0;
  virtual void jacobian(double t, double cj, const double* y, const double* yp,
                        SparseJacobian& J) = 0;
  /// 1 for a differential component, 0 for an algebraic one.
  virtual void differential_ids(double* id) const = 0;
  virtual int num_roots() const { return 0; }
  /// Which order jacobian() adds its entries in at present (e.g. by the control it imposes), 0..7: the
  /// integrator keeps one recorded trace of value positions per variant, so that alternating
  /// variants (a rest, a power step, a voltage hold) each replay their own.
  virtual int jacobian_variant() const { return 0; }
  /// Name of unknown i, for messages (e.g. the components with the largest error when a step fails).
  virtual std::string component_name(int i) const { return "y[" + std::to_string(i) + "]"; }
  virtual void roots(double t, const double* y, const double* yp, double* g) {}
};

struct DaeOptions {
  double rtol = 1e-6;         ///< relative tolerance
  std::vector<double> atol;   ///< absolute tolerance per component
  double max_step_s = 0.0;    ///< 0: no limit
  long max_num_steps = 200000;  ///< internal steps allowed between re-initialisations
  /// Leave algebraic unknowns out of the local error test (IDASetSuppressAlg; they are index-1
  /// functions of the differential ones and re-solved at every step).
  bool suppress_algebraic_error = false;
  /// Relative change of IDA's cj = alpha/h that triggers a new Jacobian and factorisation
  /// (IDASetDeltaCjLSetup; 0.25 is SUNDIALS's default). Between setups Newton scales its correction
  /// for the stale cj, so a larger value trades Jacobians for Newton iterations; the error test is
  /// unchanged.
  double lsetup_cj_change = 0.25;
};

/// IDA + KLU integrator over a DaeSystem, driven one internal step at a time.
class DaeIntegrator {
 public:
  enum class Status { Step, StopTime, Root };

  DaeIntegrator(DaeSystem& sys, const DaeOptions& opt);
  ~DaeIntegrator();
  DaeIntegrator(const DaeIntegrator&) = delete;
  DaeIntegrator& operator=(const DaeIntegrator&) = delete;

  /// (Re)start from a consistent state at t0; re-reads the system's root-function count.
  void reinit(double t0, const double* y0, const double* yp0);
  void set_stop_time(double t);
  /// Root directions: +1 only rising, -1 only falling, 0 both. Size must equal num_roots().
  void set_root_directions(const std::vector<int>& dirs);
  /// Take one internal step towards tout (which may be overshot unless a stop time is set).
  Status step(double tout);
  double time() const { return t_; }
  const double* y() const;
  const double* yp() const;
  /// Dense output inside the last step interval (IDAGetDky, k = 0).
  void interpolate(double t, double* y_out) const;
  /// Which root functions fired at the last Root return (non-zero entries).
  std::vector<int> roots_found() const;
  long num_steps() const;

 private:
  std::string largest_errors() const;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  double t_ = 0.0;
};

}  // namespace packlife
