#include "packlife/core/dae.hpp"

#include <ida/ida.h>
#include <nvector/nvector_serial.h>
#include <sundials/sundials_context.h>
#include <sundials/sundials_linearsolver.h>
#include <sunmatrix/sunmatrix_sparse.h>
#include <klu.h>

#include <algorithm>
#include <array>
#include <cfloat>
#include <cmath>
#include <cstring>

#include "packlife/core/error.hpp"

namespace packlife {

void SparsityPattern::add(int row, int col) {
  if (row < 0 || row >= n_ || col < 0 || col >= n_)
    throw Error("sparsity pattern entry ({}, {}) outside a {}x{} matrix", row, col, n_, n_);
  cols_[col].push_back(row);
}

void SparsityPattern::finalize() {
  col_ptr_.assign(n_ + 1, 0);
  row_idx_.clear();
  for (int c = 0; c < n_; ++c) {
    auto& rows = cols_[c];
    std::sort(rows.begin(), rows.end());
    rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
    row_idx_.insert(row_idx_.end(), rows.begin(), rows.end());
    col_ptr_[c + 1] = static_cast<int>(row_idx_.size());
  }
}

int SparsityPattern::index(int row, int col) const {
  auto b = row_idx_.begin() + col_ptr_[col], e = row_idx_.begin() + col_ptr_[col + 1];
  auto it = std::lower_bound(b, e, row);
  return (it != e && *it == row) ? static_cast<int>(it - row_idx_.begin()) : -1;
}

void SparseJacobian::add_slow(int row, int col, double v) {
  const int k = p_.index(row, col);
  if (k < 0) throw Error("Jacobian entry ({}, {}) is not in the declared sparsity pattern", row, col);
  data_[k] += v;
  if (!trace_) return;
  if (replay_)
    diverged_ = true;  // the order changed: finish() drops the trace
  else
    trace_->entries_.push_back({row, col, k});
}

void SparseJacobian::finish() {
  if (!trace_) return;
  if (!replay_)
    trace_->recorded_ = true;
  else if (diverged_ || cursor_ != trace_->entries_.size())
    trace_->clear();
}

namespace {
struct ContextDeleter {
  void operator()(SUNContext c) const { SUNContext_Free(&c); }
};
struct VectorDeleter {
  void operator()(N_Vector v) const { N_VDestroy(v); }
};
struct MatrixDeleter {
  void operator()(SUNMatrix m) const { SUNMatDestroy(m); }
};
struct SolverDeleter {
  void operator()(SUNLinearSolver s) const { SUNLinSolFree(s); }
};
struct IdaDeleter {
  void operator()(void* m) const { IDAFree(&m); }
};
using ContextPtr = std::unique_ptr<std::remove_pointer_t<SUNContext>, ContextDeleter>;
using VectorPtr = std::unique_ptr<std::remove_pointer_t<N_Vector>, VectorDeleter>;
using MatrixPtr = std::unique_ptr<std::remove_pointer_t<SUNMatrix>, MatrixDeleter>;
using SolverPtr = std::unique_ptr<std::remove_pointer_t<SUNLinearSolver>, SolverDeleter>;
using IdaPtr = std::unique_ptr<void, IdaDeleter>;

void check(int flag, const char* what) {
  if (flag < 0) throw Error("SUNDIALS call {} failed with flag {}", what, flag);
}

/// A direct sparse linear solver on KLU (Davis and Palamadai Natarajan 2010) that keeps its symbolic
/// analysis and its numeric factorisation across IDA re-initialisations. SUNDIALS's own SUNLinSol_KLU
/// re-analyses (AMD ordering, block triangular form) and factors from scratch after every IDAReInit,
/// which the experiment engine calls at the start of every step of every cycle; the Jacobian's
/// pattern never changes within an integrator, so here the analysis is done once and every later
/// setup refactorises with the kept pivot order, unless KLU's reciprocal condition estimate falls below
/// uround^(2/3) (SUNDIALS's own test), when it factors afresh with new pivots.
struct PersistentKlu {
  klu_l_common common{};
  klu_l_symbolic* symbolic = nullptr;
  klu_l_numeric* numeric = nullptr;
  sunindextype last_flag = 0;

  PersistentKlu() {
    klu_l_defaults(&common);
    // AMD fill-reducing ordering: on the battery models' nearly symmetric patterns (banded diffusion
    // blocks bordered by the current's dense row and column) it refactors ~3x faster than COLAMD
    // (measured on the SPMe, docs/benchmarks.md).
    common.ordering = 0;
  }
  ~PersistentKlu() {
    if (numeric) klu_l_free_numeric(&numeric, &common);
    if (symbolic) klu_l_free_symbolic(&symbolic, &common);
  }
  static PersistentKlu& of(SUNLinearSolver S) { return *static_cast<PersistentKlu*>(S->content); }

  static SUNLinearSolver_Type type(SUNLinearSolver) { return SUNLINEARSOLVER_DIRECT; }
  static SUNLinearSolver_ID id(SUNLinearSolver) { return SUNLINEARSOLVER_CUSTOM; }
  static int initialize(SUNLinearSolver S) {  // an IDA (re-)initialisation: the factors stay
    of(S).last_flag = SUNLS_SUCCESS;
    return SUNLS_SUCCESS;
  }
  static int setup(SUNLinearSolver S, SUNMatrix A) {
    PersistentKlu& k = of(S);
    sunindextype* ap = SUNSparseMatrix_IndexPointers(A);
    sunindextype* ai = SUNSparseMatrix_IndexValues(A);
    double* ax = SUNSparseMatrix_Data(A);
    const sunindextype n = SUNSparseMatrix_Columns(A);
    if (!k.symbolic) {
      k.symbolic = klu_l_analyze(n, ap, ai, &k.common);
      if (!k.symbolic) return k.last_flag = SUNLS_PACKAGE_FAIL_UNREC;
    }
    if (k.numeric) {
      const bool refactored = klu_l_refactor(ap, ai, ax, k.symbolic, k.numeric, &k.common) != 0 &&
                              klu_l_rcond(k.symbolic, k.numeric, &k.common) != 0 &&
                              k.common.rcond >= std::pow(DBL_EPSILON, 2.0 / 3.0);
      if (refactored) return k.last_flag = SUNLS_SUCCESS;
      klu_l_free_numeric(&k.numeric, &k.common);  // the kept pivots no longer serve: new ones
    }
    k.numeric = klu_l_factor(ap, ai, ax, k.symbolic, &k.common);
    if (!k.numeric) return k.last_flag = SUNLS_LUFACT_FAIL;  // singular: IDA retries with a smaller step
    return k.last_flag = SUNLS_SUCCESS;
  }
  static int solve(SUNLinearSolver S, SUNMatrix, N_Vector x, N_Vector b, realtype) {
    PersistentKlu& k = of(S);
    N_VScale(1.0, b, x);
    if (!klu_l_solve(k.symbolic, k.numeric, N_VGetLength(x), 1, N_VGetArrayPointer(x), &k.common))
      return k.last_flag = SUNLS_PACKAGE_FAIL_REC;
    return k.last_flag = SUNLS_SUCCESS;
  }
  static sunindextype lastflag(SUNLinearSolver S) { return of(S).last_flag; }
  static int free(SUNLinearSolver S) {
    if (!S) return SUNLS_SUCCESS;
    delete static_cast<PersistentKlu*>(S->content);
    S->content = nullptr;
    SUNLinSolFreeEmpty(S);
    return SUNLS_SUCCESS;
  }

  static SUNLinearSolver create(SUNContext ctx) {
    SUNLinearSolver S = SUNLinSolNewEmpty(ctx);
    if (!S) return nullptr;
    S->ops->gettype = type;
    S->ops->getid = id;
    S->ops->initialize = initialize;
    S->ops->setup = setup;
    S->ops->solve = solve;
    S->ops->lastflag = lastflag;
    S->ops->free = free;
    S->content = new PersistentKlu();
    return S;
  }
};
}  // namespace

struct DaeIntegrator::Impl {
  DaeSystem& sys;
  DaeOptions opt;
  ContextPtr ctx;
  VectorPtr y, yp, atol, id, work;
  MatrixPtr A;
  SolverPtr LS;
  IdaPtr mem;
  int n;
  int nroots = -1;
  long steps_since_reinit = 0;
  bool initialised = false;
  std::string callback_error;  ///< last failing callback's message since the last re-initialisation
  std::string ida_message;     ///< last message from IDA's error handler
  std::array<JacobianTrace, 8> traces;  ///< value positions of the model's Jacobian assembly, per variant

  Impl(DaeSystem& s, const DaeOptions& o) : sys(s), opt(o), n(s.size()) {
    SUNContext c = nullptr;
    check(SUNContext_Create(nullptr, &c), "SUNContext_Create");
    ctx.reset(c);
    y.reset(N_VNew_Serial(n, ctx.get()));
    yp.reset(N_VNew_Serial(n, ctx.get()));
    atol.reset(N_VNew_Serial(n, ctx.get()));
    id.reset(N_VNew_Serial(n, ctx.get()));
    work.reset(N_VNew_Serial(n, ctx.get()));
    // Fused vector operations: IDAGetDky and the corrector use one pass per linear combination.
    for (N_Vector v : {y.get(), yp.get(), work.get()}) N_VEnableFusedOps_Serial(v, SUNTRUE);
    if (opt.atol.size() != static_cast<size_t>(n))
      throw Error("DAE absolute tolerance has {} entries for {} unknowns", opt.atol.size(), n);
    std::copy(opt.atol.begin(), opt.atol.end(), N_VGetArrayPointer(atol.get()));
    sys.differential_ids(N_VGetArrayPointer(id.get()));
    const SparsityPattern& p = sys.jacobian_pattern();
    A.reset(SUNSparseMatrix(n, n, std::max(1, p.nnz()), CSC_MAT, ctx.get()));
    // IDA zeroes the matrix before every Jacobian call; jac() below writes all of it (pattern and
    // values) each time, so that pass is skipped (~3 % of a lifecycle's time).
    if (A) A->ops->zero = [](SUNMatrix) { return 0; };
    LS.reset(PersistentKlu::create(ctx.get()));
    if (!A || !LS) throw Error("could not create the KLU sparse linear solver");
  }

  /// Runs a model callback so that no exception reaches SUNDIALS: 0 on success, +1 (recoverable: IDA
  /// retries with a smaller step) for RecoverableError, -1 otherwise; the message is kept for the report.
  template <class F>
  static int guarded(void* ud, F&& f) {
    auto* self = static_cast<Impl*>(ud);
    try {
      f(*self);
      return 0;
    } catch (const RecoverableError& e) {
      self->callback_error = e.what();
      return 1;
    } catch (const std::exception& e) {
      self->callback_error = e.what();
      return -1;
    }
  }

  static int res(realtype t, N_Vector y, N_Vector yp, N_Vector F, void* ud) {
    return guarded(ud, [&](Impl& self) {
      self.sys.residual(t, N_VGetArrayPointer(y), N_VGetArrayPointer(yp), N_VGetArrayPointer(F));
    });
  }

  static int jac(realtype t, realtype cj, N_Vector y, N_Vector yp, N_Vector, SUNMatrix J, void* ud,
                 N_Vector, N_Vector, N_Vector) {
    return guarded(ud, [&](Impl& self) {
      const SparsityPattern& p = self.sys.jacobian_pattern();
      sunindextype* colptr = SUNSparseMatrix_IndexPointers(J);
      sunindextype* rowidx = SUNSparseMatrix_IndexValues(J);
      realtype* data = SUNSparseMatrix_Data(J);
      for (int c = 0; c <= p.n(); ++c) colptr[c] = p.col_ptr()[c];
      for (int k = 0; k < p.nnz(); ++k) rowidx[k] = p.row_idx()[k];
      std::fill(data, data + p.nnz(), 0.0);
      const int v = self.sys.jacobian_variant();
      SparseJacobian sj(p, data, v >= 0 && v < static_cast<int>(self.traces.size()) ? &self.traces[v] : nullptr);
      self.sys.jacobian(t, cj, N_VGetArrayPointer(y), N_VGetArrayPointer(yp), sj);
      sj.finish();
    });
  }

  static int roots(realtype t, N_Vector y, N_Vector yp, realtype* g, void* ud) {
    // Root functions have no recoverable failure in IDA: any error stops the integration.
    const int r = guarded(ud, [&](Impl& self) { self.sys.roots(t, N_VGetArrayPointer(y), N_VGetArrayPointer(yp), g); });
    return r == 0 ? 0 : -1;
  }

  static void err_handler(int code, const char* module, const char* function, char* msg, void* ud) {
    auto* self = static_cast<Impl*>(ud);
    self->ida_message = fmt::format("{}: {}", function ? function : "IDA", msg ? msg : "");
  }
};

DaeIntegrator::DaeIntegrator(DaeSystem& sys, const DaeOptions& opt)
    : impl_(std::make_unique<Impl>(sys, opt)) {}

DaeIntegrator::~DaeIntegrator() = default;

void DaeIntegrator::reinit(double t0, const double* y0, const double* yp0) {
  Impl& m = *impl_;
  std::memcpy(N_VGetArrayPointer(m.y.get()), y0, sizeof(double) * m.n);
  std::memcpy(N_VGetArrayPointer(m.yp.get()), yp0, sizeof(double) * m.n);
  if (!m.initialised) {
    m.mem.reset(IDACreate(m.ctx.get()));
    if (!m.mem) throw Error("IDACreate failed");
    void* mem = m.mem.get();
    check(IDASetErrHandlerFn(mem, &Impl::err_handler, &m), "IDASetErrHandlerFn");
    check(IDAInit(mem, &Impl::res, t0, m.y.get(), m.yp.get()), "IDAInit");
    check(IDASetUserData(mem, &m), "IDASetUserData");
    check(IDASVtolerances(mem, m.opt.rtol, m.atol.get()), "IDASVtolerances");
    check(IDASetId(mem, m.id.get()), "IDASetId");
    if (m.opt.suppress_algebraic_error) check(IDASetSuppressAlg(mem, SUNTRUE), "IDASetSuppressAlg");
    check(IDASetLinearSolver(mem, m.LS.get(), m.A.get()), "IDASetLinearSolver");
    check(IDASetJacFn(mem, &Impl::jac), "IDASetJacFn");
    check(IDASetDeltaCjLSetup(mem, m.opt.lsetup_cj_change), "IDASetDeltaCjLSetup");
    if (m.opt.max_step_s > 0) check(IDASetMaxStep(mem, m.opt.max_step_s), "IDASetMaxStep");
    m.initialised = true;
  } else {
    check(IDAReInit(m.mem.get(), t0, m.y.get(), m.yp.get()), "IDAReInit");
  }
  const int nr = m.sys.num_roots();
  check(IDARootInit(m.mem.get(), nr, nr > 0 ? &Impl::roots : nullptr), "IDARootInit");
  m.nroots = nr;
  m.steps_since_reinit = 0;
  m.callback_error.clear();
  t_ = t0;
}

void DaeIntegrator::set_stop_time(double t) { check(IDASetStopTime(impl_->mem.get(), t), "IDASetStopTime"); }

void DaeIntegrator::set_root_directions(const std::vector<int>& dirs) {
  if (static_cast<int>(dirs.size()) != impl_->nroots)
    throw Error("{} root directions for {} root functions", dirs.size(), impl_->nroots);
  if (dirs.empty()) return;
  std::vector<int> d(dirs);
  check(IDASetRootDirection(impl_->mem.get(), d.data()), "IDASetRootDirection");
}

DaeIntegrator::Status DaeIntegrator::step(double tout) {
  Impl& m = *impl_;
  realtype tret = t_;
  const int flag = IDASolve(m.mem.get(), tout, &tret, m.y.get(), m.yp.get(), IDA_ONE_STEP);
  t_ = tret;
  // In one-step mode IDA's own step limit applies per call, so the budget is kept here: a solution
  // creeping towards a wall (repeated recoverable failures, ever smaller steps) must not run forever.
  if (flag >= 0 && ++m.steps_since_reinit > m.opt.max_num_steps) {
    std::string msg = fmt::format("more than {} internal steps since the last re-initialisation", m.opt.max_num_steps);
    if (!m.callback_error.empty()) msg += fmt::format(" (last model error: {})", m.callback_error);
    msg += largest_errors();
    throw SolverError(IDA_TOO_MUCH_WORK, t_, msg);
  }
  if (flag < 0) {
    std::string msg = m.ida_message;
    if (!m.callback_error.empty()) msg += fmt::format(" (last model error: {})", m.callback_error);
    msg += largest_errors();
    double tcur = t_;
    IDAGetCurrentTime(m.mem.get(), &tcur);
    throw SolverError(flag, tcur, msg);
  }
  if (flag == IDA_ROOT_RETURN) return Status::Root;
  if (flag == IDA_TSTOP_RETURN) return Status::StopTime;
  return Status::Step;
}

std::string DaeIntegrator::largest_errors() const {
  // The weighted local error estimates of the failed step: which unknowns the error test or the
  // Newton iteration could not bring within tolerance.
  Impl& m = *impl_;
  if (IDAGetErrWeights(m.mem.get(), m.work.get()) < 0) return "";
  VectorPtr ele(N_VNew_Serial(m.n, m.ctx.get()));
  if (!ele || IDAGetEstLocalErrors(m.mem.get(), ele.get()) < 0) return "";
  const double* w = N_VGetArrayPointer(m.work.get());
  const double* e = N_VGetArrayPointer(ele.get());
  std::vector<std::pair<double, int>> v;
  for (int i = 0; i < m.n; ++i) v.emplace_back(std::abs(e[i] * w[i]), i);
  const size_t k = std::min<size_t>(3, v.size());
  std::partial_sort(v.begin(), v.begin() + k, v.end(), std::greater<>());
  if (k == 0 || !(v[0].first > 0)) return "";
  std::string s = "; largest weighted local errors:";
  for (size_t i = 0; i < k; ++i) s += fmt::format(" {} {:.3g}", m.sys.component_name(v[i].second), v[i].first);
  long nsteps = 0;
  IDAGetNumSteps(m.mem.get(), &nsteps);
  return s + fmt::format(" (after {} steps)", nsteps);
}

const double* DaeIntegrator::y() const { return N_VGetArrayPointer(impl_->y.get()); }
const double* DaeIntegrator::yp() const { return N_VGetArrayPointer(impl_->yp.get()); }

void DaeIntegrator::interpolate(double t, double* y_out) const {
  Impl& m = *impl_;
  const int flag = IDAGetDky(m.mem.get(), t, 0, m.work.get());
  if (flag < 0) throw SolverError(flag, t, "dense output outside the last step");
  std::memcpy(y_out, N_VGetArrayPointer(m.work.get()), sizeof(double) * m.n);
}

std::vector<int> DaeIntegrator::roots_found() const {
  std::vector<int> r(std::max(0, impl_->nroots), 0);
  if (!r.empty()) IDAGetRootInfo(impl_->mem.get(), r.data());
  return r;
}

long DaeIntegrator::num_steps() const {
  long n = 0;
  IDAGetNumSteps(impl_->mem.get(), &n);
  return n;
}


}  // namespace packlife
