// The program generator's state, shared by ProgramGenerator.cpp (functions,
// control flow, value makers) and GeneratorOps.cpp (data-flow ops). Not a
// public header: use ProgramGenerator.h.
//
// The generator keeps a pool of the values visible at the insertion point,
// each with a bound on its magnitude. A step appends one op family (a few IR
// ops) reading pool values and adds its results; entering a region opens a
// scope whose values are dropped when it closes, so nothing is used outside
// the region that defines it. Functions with `?` dims keep one invariant:
// every `?` has the same run-time size, so any two `?` dims agree.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "compiler/testing/ProgramGenerator.h"
#include "frontend/Builder.h"
#include "ir/SplitMix64.h"

namespace cairn::gen {

/// splitmix64: the same numbers on every platform, unlike <random>'s
/// distributions. For programs to be the same with every compiler, no
/// expression may make two draws (or emit two ops) in arguments of one call:
/// their order is unspecified in C++. Draw into locals first.
class Rng {
public:
  explicit Rng(uint64_t seed) : stream_(seed) {}
  uint64_t next() { return stream_.next(); }
  /// Uniform in [0, n); n > 0.
  int64_t below(int64_t n) { return static_cast<int64_t>(next() % static_cast<uint64_t>(n)); }
  /// Uniform in [lo, hi].
  int64_t range(int64_t lo, int64_t hi) { return lo + below(hi - lo + 1); }
  /// True with probability num/den.
  bool chance(int64_t num, int64_t den) { return below(den) < num; }
  /// Uniform in [0, 1).
  double uniform() { return stream_.uniform(); }

private:
  SplitMix64 stream_;
};

/// Bound of an integer value nothing is known about (wrapped arithmetic).
inline constexpr double kIntUnknown = 2147483648.0;
/// Largest static dim of a generated shape, and the run-time size of `?`.
inline constexpr int64_t kMaxDim = 5;
/// Largest rank of a derived value.
inline constexpr int64_t kMaxRank = 4;

/// A value with a bound on |element| (1 for i1, kIntUnknown at most for i32).
struct BVal {
  Val v;
  double bound = 0;
};

/// A pool entry: a visible value and how often generated ops read it.
struct Item {
  BVal b;
  int uses = 0;
};

/// A generated helper: its function and the bounds its results obey when
/// every float argument is within `paramBound`.
struct Helper {
  const Function* fn = nullptr;
  double paramBound = 1;
  std::vector<double> resultBounds;
};

class Generator {
public:
  Generator(uint64_t seed, const GeneratorOptions& options);
  std::unique_ptr<Module> run();

  // ---- Pool ---------------------------------------------------------------
  using Filter = std::function<bool(const BVal&)>;
  void add(BVal b);
  /// A random visible value matching `f` (recent ones more likely), marked
  /// used, or nullopt. With `localOnly`, only values of the innermost scope;
  /// only values defined before pool position `before` otherwise.
  std::optional<BVal> choose(const Filter& f, bool localOnly = false, size_t before = SIZE_MAX);
  void openScope() { scopes_.push_back(pool_.size()); }
  void closeScope();

  // ---- Shapes and types ----------------------------------------------------
  Shape randomShape(int64_t minRank = 0, int64_t maxRank = 3);
  DType randomDType(); ///< mostly f32
  /// Whether `a` and `b` broadcast numpy-style with `?` only against `?` or 1.
  static bool broadcastable(const Shape& a, const Shape& b);

  // ---- Values of a wanted kind -------------------------------------------------
  /// Float values above the limit are tamed (tanh, clamp or an exact scale).
  BVal tame(BVal x);
  /// Brings |x| within `target` (>= 1): tanh or clamp.
  BVal tameTo(BVal x, double target);
  /// A value of type `t` (built from the pool when possible); `preferLocal`
  /// favours values of the innermost scope (for yields).
  BVal makeOfType(const TensorType& t, bool preferLocal = false, int depth = 0);
  /// A data-dependent i32 scalar in [lo, hi].
  Val indexScalar(int64_t lo, int64_t hi);
  /// An i32 tensor of `shape` with elements in [0, n).
  Val indexTensor(const Shape& shape, int64_t n);
  /// A data-dependent i1 scalar.
  Val predicate();
  /// A random literal tensor of `t` (static).
  BVal literal(const TensorType& t);

  // ---- Steps (GeneratorOps.cpp for data flow, ProgramGenerator.cpp for
  // control flow); each returns false when the pool offers no operand. -----
  void steps(int n);
  bool step();
  bool emitUnary();
  bool emitBinary();
  bool emitCompare();
  bool emitSelect();
  bool emitCast();
  bool emitIdentity();
  bool emitBroadcast();
  bool emitReshape();
  bool emitTranspose();
  bool emitConcat();
  bool emitSlice();
  bool emitDynamicSlice();
  bool emitDynamicUpdateSlice();
  bool emitGather();
  bool emitScatter();
  bool emitReduce();
  bool emitArgmax();
  bool emitDot();
  bool emitConstant();
  bool emitIota();
  bool emitMisc();
  bool emitTwin();
  bool emitHazard();
  bool emitWhile();
  bool emitSequenceLoop();
  bool emitLoopPair();
  /// A sequence loop over the rows of `xs` (emitSequenceLoop), counting
  /// down when `down`; its results join the pool.
  void sequenceLoop(const BVal& xs, bool down);
  /// A static f32 value of rank 2 or 3 from the pool, or a new one.
  BVal sequenceInput();
  bool emitIf();
  bool emitCall();

  /// A partner for a binary op with `a`: same dtype, broadcastable shape.
  BVal partnerFor(const BVal& a);

  Rng rng;
  const GeneratorOptions& opt;
  FunctionBuilder* fb = nullptr;
  int depth = 0;
  /// The function being built has `?` dims (the static-only ops skip them).
  bool dynamicFn = false;
  /// i1 scalars, defined outside the regions being built, that are true
  /// whenever those regions run (n > 0 for a loop counting to n, p for the
  /// then-branch of `if p`): hazards are safe only where they hold. Each
  /// comes with the pool size when its region opened: values before it are
  /// invariant in that region.
  struct Guard {
    Val holds;
    size_t outerValues;
  };
  std::vector<Guard> guards;
  void pushGuard(Val holds) { guards.push_back({holds, scopes_.back()}); }

private:
  void buildHelper(int index);
  void buildMain();
  std::vector<Val> pickResults(size_t max);

  std::unique_ptr<Module> module_;
  std::vector<Item> pool_;
  std::vector<size_t> scopes_;
  std::vector<Helper> helpers_;
};

/// `kind` (a unary op) on `x`, its operand first brought into the op's
/// domain (log(|x| + c), sqrt(|x|), ...); the bound follows.
BVal applyUnary(Generator& g, OpKind kind, BVal x);
/// `x` converted to `to`, with the bound that follows.
BVal castTo(BVal x, DType to);

} // namespace cairn::gen
