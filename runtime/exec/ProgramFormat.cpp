// Layout (little-endian, as the host; objects are not moved between byte
// orders): "CPRG", u32 version, u32 program count, then each program, then
// a u64 FNV-1a checksum of everything before it. Every count is u32 and
// every index i32/i64; see write*/read* below, which mirror each other
// field by field.
#include "runtime/exec/ProgramFormat.h"

#include <cstring>
#include <functional>

#include <fmt/format.h>

#include "ir/OpKind.h"

namespace cairn::exec {

namespace {

constexpr char kMagic[4] = {'C', 'P', 'R', 'G'};
constexpr int kMaxNesting = 64;       ///< while/if/parallel blocks inside each other
constexpr int32_t kMaxSlots = 1 << 24;

uint64_t fnv1a(std::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ull;
  }
  return h;
}

void walkOps(const Region& r, std::vector<const Op*>& out) {
  for (const auto& op : r.ops()) {
    out.push_back(op.get());
    for (size_t i = 0; i < op->numRegions(); ++i)
      walkOps(op->region(i), out);
  }
}

// --- writing ---------------------------------------------------------------

class Writer {
public:
  explicit Writer(const std::map<const Op*, int64_t>& index) : index_(index) {}
  std::string out;

  template <typename T> void pod(T v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); }
  void count(size_t n) { pod(static_cast<uint32_t>(n)); }
  void str(const std::string& s) {
    count(s.size());
    out += s;
  }
  void slots(const std::vector<Slot>& v) {
    count(v.size());
    for (Slot s : v) pod(s);
  }
  void bools(const std::vector<bool>& v) {
    count(v.size());
    for (bool b : v) pod(static_cast<uint8_t>(b));
  }
  void type(const TensorType& t) {
    pod(static_cast<uint8_t>(t.dtype));
    count(t.shape.size());
    for (int64_t d : t.shape) pod(d);
  }
  void types(const std::vector<TensorType>& v) {
    count(v.size());
    for (const TensorType& t : v) type(t);
  }
  void tensor(const Tensor& t) {
    type(t.type());
    pod(static_cast<uint64_t>(t.byteSize()));
    out.append(reinterpret_cast<const char*>(t.rawData()), t.byteSize());
  }
  void extent(const Extent& e) {
    pod(e.factor);
    count(e.syms.size());
    for (int32_t s : e.syms) pod(s);
  }
  void extents(const std::vector<Extent>& v) {
    count(v.size());
    for (const Extent& e : v) extent(e);
  }
  void shape(const KernelShape& k) {
    count(k.sizes.size());
    for (const SizeSource& s : k.sizes) {
      pod(s.input);
      pod(s.dim);
    }
    count(k.checks.size());
    for (const ShapeCheck& c : k.checks) {
      extent(c.a);
      extent(c.b);
    }
    extents(k.params);
    count(k.outputs.size());
    for (const auto& o : k.outputs) extents(o);
  }
  void instruction(const Instruction& in) {
    pod(static_cast<uint8_t>(in.kind));
    pod(index_.at(in.op));
    slots(in.operands);
    slots(in.results);
    slots(in.frees);
    pod(static_cast<uint8_t>(in.inPlace));
    pod(in.kernel);
    types(in.outputTypes);
    pod(static_cast<uint8_t>(in.shape != nullptr));
    if (in.shape) shape(*in.shape);
    pod(static_cast<int32_t>(in.gemm.batchDims));
    pod(static_cast<int32_t>(in.gemm.contractDims));
    pod(static_cast<uint8_t>(in.gemm.transA));
    pod(static_cast<uint8_t>(in.gemm.transB));
    pod(in.constant);
    count(in.blocks.size());
    for (const Block& b : in.blocks) block(b);
    slots(in.carried);
    bools(in.moveInit);
  }
  void block(const Block& b) {
    count(b.insts.size());
    for (const Instruction& in : b.insts) instruction(in);
    slots(b.yields);
    bools(b.moveYield);
  }

private:
  const std::map<const Op*, int64_t>& index_;
};

// --- reading ---------------------------------------------------------------

/// Bounded reads; the first failure sticks and names the byte offset.
class Reader {
public:
  Reader(std::string_view bytes, const std::vector<const Op*>& ops, size_t numKernels)
      : b_(bytes), ops_(ops), numKernels_(numKernels) {}

  Status status() const { return error_.empty() ? Status::ok() : Status::error(error_); }
  bool ok() const { return error_.empty(); }
  bool fail(const std::string& what) {
    if (error_.empty()) error_ = fmt::format("program data, byte {}: {}", pos_, what);
    return false;
  }
  bool atEnd() const { return pos_ == b_.size(); }

  template <typename T> bool pod(T& v) {
    if (b_.size() - pos_ < sizeof v) return fail("truncated");
    std::memcpy(&v, b_.data() + pos_, sizeof v);
    pos_ += sizeof v;
    return true;
  }
  /// A count of elements of at least `minBytes` each: no more than the
  /// bytes left could hold (a corrupt count allocates nothing huge).
  bool count(size_t& n, size_t minBytes = 1) {
    uint32_t c = 0;
    if (!pod(c)) return false;
    if (static_cast<uint64_t>(c) * minBytes > b_.size() - pos_)
      return fail(fmt::format("count {} exceeds the remaining data", c));
    n = c;
    return true;
  }
  bool flag(bool& v) {
    uint8_t u = 0;
    if (!pod(u)) return false;
    if (u > 1) return fail(fmt::format("flag byte {} is not 0 or 1", u));
    v = u;
    return true;
  }
  bool str(std::string& s) {
    size_t n = 0;
    if (!count(n)) return false;
    s.assign(b_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  bool slot(Slot& s) {
    if (!pod(s)) return false;
    if (s < 0 || s >= numSlots_) return fail(fmt::format("slot {} outside [0, {})", s, numSlots_));
    return true;
  }
  bool slots(std::vector<Slot>& v) {
    size_t n = 0;
    if (!count(n, sizeof(Slot))) return false;
    v.resize(n);
    for (Slot& s : v)
      if (!slot(s)) return false;
    return true;
  }
  bool bools(std::vector<bool>& v) {
    size_t n = 0;
    if (!count(n)) return false;
    v.resize(n);
    for (size_t i = 0; i < n; ++i) {
      bool x = false;
      if (!flag(x)) return false;
      v[i] = x;
    }
    return true;
  }
  bool type(TensorType& t) {
    uint8_t d = 0;
    if (!pod(d)) return false;
    if (d > static_cast<uint8_t>(DType::I64)) return fail(fmt::format("dtype {} is unknown", d));
    t.dtype = static_cast<DType>(d);
    size_t rank = 0;
    if (!count(rank, sizeof(int64_t))) return false;
    if (rank > 32) return fail(fmt::format("rank {} is over 32", rank));
    t.shape.resize(rank);
    for (int64_t& x : t.shape) {
      if (!pod(x)) return false;
      if (x < kDynamic) return fail(fmt::format("dim {} is negative", x));
    }
    return true;
  }
  bool types(std::vector<TensorType>& v) {
    size_t n = 0;
    if (!count(n, 2)) return false;
    v.resize(n);
    for (TensorType& t : v)
      if (!type(t)) return false;
    return true;
  }
  bool tensor(Tensor& t) {
    TensorType type;
    uint64_t bytes = 0;
    if (!this->type(type) || !pod(bytes)) return false;
    if (!type.hasStaticShape()) return fail("a constant has a dynamic dim");
    std::optional<int64_t> want = checkedByteSize(type.shape, type.dtype);
    if (!want || static_cast<uint64_t>(*want) != bytes || bytes > b_.size() - pos_)
      return fail(fmt::format("constant {} has {} bytes of data", type.toString(), bytes));
    std::vector<std::byte> data(bytes);
    if (bytes) std::memcpy(data.data(), b_.data() + pos_, bytes);
    pos_ += bytes;
    t = Tensor::fromBytes(type, std::move(data));
    return true;
  }
  bool extent(Extent& e, size_t numSizes) {
    size_t n = 0;
    if (!pod(e.factor) || !count(n, sizeof(int32_t))) return false;
    e.syms.resize(n);
    for (int32_t& s : e.syms) {
      if (!pod(s)) return false;
      if (s < 0 || static_cast<size_t>(s) >= numSizes)
        return fail(fmt::format("extent names size {} of {}", s, numSizes));
    }
    return true;
  }
  bool extents(std::vector<Extent>& v, size_t numSizes) {
    size_t n = 0;
    if (!count(n, 12)) return false;
    v.resize(n);
    for (Extent& e : v)
      if (!extent(e, numSizes)) return false;
    return true;
  }
  bool shape(KernelShape& k, size_t numInputs, const std::vector<TensorType>& outputTypes) {
    size_t n = 0;
    if (!count(n, 8)) return false;
    k.sizes.resize(n);
    for (SizeSource& s : k.sizes) {
      if (!pod(s.input) || !pod(s.dim)) return false;
      if (s.input < 0 || static_cast<size_t>(s.input) >= numInputs || s.dim < -1 || s.dim >= 32)
        return fail(fmt::format("kernel size from input {} dim {} of {} inputs", s.input, s.dim,
                                numInputs));
    }
    if (!count(n, 24)) return false;
    k.checks.resize(n);
    for (ShapeCheck& c : k.checks)
      if (!extent(c.a, k.sizes.size()) || !extent(c.b, k.sizes.size())) return false;
    if (!extents(k.params, k.sizes.size()) || !count(n, 4)) return false;
    if (n != outputTypes.size())
      return fail(fmt::format("kernel shape has {} outputs, the kernel {}", n, outputTypes.size()));
    k.outputs.resize(n);
    for (size_t o = 0; o < n; ++o) {
      if (!extents(k.outputs[o], k.sizes.size())) return false;
      if (k.outputs[o].size() != outputTypes[o].shape.size())
        return fail("kernel shape's output rank differs from its type");
    }
    return true;
  }

  bool instruction(Instruction& in, size_t numConstants, int depth) {
    uint8_t kind = 0;
    int64_t opIndex = 0;
    if (!pod(kind) || !pod(opIndex)) return false;
    if (kind > static_cast<uint8_t>(InstKind::Parallel))
      return fail(fmt::format("instruction kind {} is unknown", kind));
    in.kind = static_cast<InstKind>(kind);
    if (opIndex < 0 || static_cast<size_t>(opIndex) >= ops_.size())
      return fail(fmt::format("op #{} of a module with {} ops", opIndex, ops_.size()));
    in.op = ops_[static_cast<size_t>(opIndex)];
    bool hasShape = false;
    int32_t batchDims = 0, contractDims = 0;
    uint8_t transA = 0, transB = 0;
    size_t numBlocks = 0;
    if (!slots(in.operands) || !slots(in.results) || !slots(in.frees) || !flag(in.inPlace) ||
        !pod(in.kernel) || !types(in.outputTypes) || !flag(hasShape))
      return false;
    if (hasShape) {
      auto k = std::make_shared<KernelShape>();
      if (!shape(*k, in.operands.size(), in.outputTypes)) return false;
      in.shape = std::move(k);
    }
    if (!pod(batchDims) || !pod(contractDims) || !pod(transA) || !pod(transB) ||
        !pod(in.constant) || !count(numBlocks, 12))
      return false;
    in.gemm = GemmShape{batchDims, contractDims, transA != 0, transB != 0};
    if (depth >= kMaxNesting && numBlocks) return fail("blocks nested too deep");
    in.blocks.resize(numBlocks);
    for (Block& b : in.blocks)
      if (!block(b, numConstants, depth + 1)) return false;
    if (!slots(in.carried) || !bools(in.moveInit)) return false;
    return check(in, numConstants);
  }
  bool block(Block& b, size_t numConstants, int depth) {
    size_t n = 0;
    if (!count(n, 16)) return false;
    b.insts.resize(n);
    for (Instruction& in : b.insts)
      if (!instruction(in, numConstants, depth)) return false;
    if (!slots(b.yields) || !bools(b.moveYield)) return false;
    if (b.moveYield.size() != b.yields.size()) return fail("a block's yield flags do not match");
    return true;
  }

  /// What the executor relies on, per kind.
  bool check(const Instruction& in, size_t numConstants) {
    const Op& op = *in.op;
    auto need = [&](bool cond, const char* what) {
      return cond || fail(fmt::format("{} instruction for '{}' op: {}",
                                      static_cast<int>(in.kind), op.name(), what));
    };
    if (in.kind == InstKind::Parallel) {
      if (!need(!in.blocks.empty(), "no blocks")) return false;
      for (const Block& b : in.blocks)
        if (!need(b.yields.empty(), "a parallel block yields")) return false;
      std::string hazard = parallelHazard(in);
      return need(hazard.empty(), hazard.c_str());
    }
    if (!need(in.operands.size() == op.numOperands(), "operand count differs from the op's") ||
        !need(in.results.size() == op.numResults(), "result count differs from the op's"))
      return false;
    switch (in.kind) {
    case InstKind::Kernel:
      return need(in.kernel >= 0 && static_cast<size_t>(in.kernel) < numKernels_,
                  "kernel index outside the object's table") &&
             need(in.outputTypes.size() == in.results.size(), "output types differ from results");
    case InstKind::Gemm:
      return need(op.kind() == OpKind::Dot && in.operands.size() == 2, "not a dot") &&
             need(in.gemm.batchDims >= 0 && in.gemm.batchDims <= 32 && in.gemm.contractDims >= 0 &&
                      in.gemm.contractDims <= 32,
                  "GEMM dims out of range");
    case InstKind::Rows: {
      return need(isRowOp(op.kind()) && !in.operands.empty() && in.results.size() == 1,
                  "not a row op");
    }
    case InstKind::Fallback:
      return need(op.kind() != OpKind::While && op.kind() != OpKind::If, "a region op");
    case InstKind::Constant:
      return need(in.constant >= 0 && static_cast<size_t>(in.constant) < numConstants &&
                      in.results.size() == 1,
                  "constant index outside the program's table");
    case InstKind::Alias:
      return need(in.operands.size() >= 1 && in.results.size() == 1, "not one operand and result");
    case InstKind::While: {
      size_t n = in.carried.size();
      return need(op.kind() == OpKind::While, "not a while") &&
             need(n == in.results.size() && in.moveInit.size() == n &&
                      (in.operands.size() == n || in.operands.size() == n + 1),
                  "carried values do not match") &&
             need(in.blocks.size() == 2 && in.blocks[0].yields.size() == 1 &&
                      in.blocks[1].yields.size() == n,
                  "cond or body yields do not match");
    }
    case InstKind::If:
      return need(op.kind() == OpKind::If && in.blocks.size() == 2 && !in.operands.empty() &&
                      in.blocks[0].yields.size() == in.results.size() &&
                      in.blocks[1].yields.size() == in.results.size(),
                  "branches do not match");
    case InstKind::Parallel: break;
    }
    return true;
  }

  bool program(LoweredFunction& p, const Module& m) {
    uint32_t function = 0;
    if (!str(p.name) || !pod(function)) return false;
    if (function >= m.functions().size())
      return fail(fmt::format("function #{} of a module with {}", function, m.functions().size()));
    const Function& f = *m.functions()[function];
    if (f.name != p.name)
      return fail(fmt::format("program '{}' is paired with function @{}", p.name, f.name));
    p.loc = f.loc;
    if (!pod(p.numSlots)) return false;
    if (p.numSlots < 0 || p.numSlots > kMaxSlots)
      return fail(fmt::format("{} slots", p.numSlots));
    numSlots_ = p.numSlots;
    if (!types(p.argTypes) || !types(p.resultTypes) || !slots(p.args)) return false;
    if (p.argTypes != f.argumentTypes() || p.resultTypes != f.resultTypes ||
        p.args.size() != p.argTypes.size())
      return fail(fmt::format("program '{}' does not have @{}'s signature", p.name, f.name));
    size_t n = 0;
    if (!count(n, 10)) return false;
    p.constants.resize(n);
    for (Tensor& t : p.constants)
      if (!tensor(t)) return false;
    if (!block(p.body, p.constants.size(), 0)) return false;
    if (p.body.yields.size() != p.resultTypes.size())
      return fail(fmt::format("program '{}' yields {} values for {} results", p.name,
                              p.body.yields.size(), p.resultTypes.size()));
    return true;
  }

private:
  std::string_view b_;
  size_t pos_ = 0;
  std::string error_;
  const std::vector<const Op*>& ops_;
  size_t numKernels_;
  int32_t numSlots_ = 0;
};

} // namespace

std::vector<const Op*> opsInOrder(const Module& m) {
  std::vector<const Op*> out;
  for (const auto& f : m.functions())
    walkOps(f->body(), out);
  return out;
}

std::string writePrograms(const LoweredFunctions& programs, const Module& m) {
  std::map<const Op*, int64_t> index;
  std::vector<const Op*> ops = opsInOrder(m);
  for (size_t i = 0; i < ops.size(); ++i)
    index[ops[i]] = static_cast<int64_t>(i);
  Writer w(index);
  w.out.append(kMagic, sizeof kMagic);
  w.pod(kProgramFormatVersion);
  w.count(programs.size());
  for (const auto& [name, p] : programs) {
    uint32_t function = 0;
    while (m.functions()[function]->name != name) ++function;
    w.str(name);
    w.pod(function);
    w.pod(p.numSlots);
    w.types(p.argTypes);
    w.types(p.resultTypes);
    w.slots(p.args);
    w.count(p.constants.size());
    for (const Tensor& t : p.constants) w.tensor(t);
    w.block(p.body);
  }
  w.pod(fnv1a(w.out));
  return std::move(w.out);
}

void resealPrograms(std::string& bytes) {
  if (bytes.size() < 8) return;
  uint64_t h = fnv1a(std::string_view(bytes).substr(0, bytes.size() - 8));
  std::memcpy(bytes.data() + bytes.size() - 8, &h, 8);
}

StatusOr<LoweredFunctions> readPrograms(std::string_view bytes, const Module& m,
                                        size_t numKernels) {
  if (bytes.size() < 20 || std::memcmp(bytes.data(), kMagic, 4) != 0)
    return errorf("program data does not start with the Cairn program magic");
  uint32_t version = 0, n = 0;
  std::memcpy(&version, bytes.data() + 4, 4);
  if (version != kProgramFormatVersion)
    return errorf("program data has format version {}, this runtime reads version {}: recompile "
                  "the model with this release's cairn-compile",
                  version, kProgramFormatVersion);
  uint64_t stored = 0;
  std::memcpy(&stored, bytes.data() + bytes.size() - 8, 8);
  if (stored != fnv1a(bytes.substr(0, bytes.size() - 8)))
    return errorf("program data is corrupt (its checksum does not match)");
  std::memcpy(&n, bytes.data() + 8, 4);
  std::vector<const Op*> ops = opsInOrder(m);
  Reader r(bytes.substr(12, bytes.size() - 20), ops, numKernels);
  LoweredFunctions out;
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    LoweredFunction p;
    if (!r.program(p, m)) break;
    std::string name = p.name;
    if (!out.emplace(name, std::move(p)).second) r.fail("program '" + name + "' appears twice");
  }
  if (r.ok() && !r.atEnd()) r.fail("data after the last program");
  CAIRN_RETURN_IF_ERROR(r.status());
  return out;
}

} // namespace cairn::exec
