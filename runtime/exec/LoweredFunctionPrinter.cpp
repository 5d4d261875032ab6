// loweredFunctionToString: the executor's program as text, e.g.
//
//   program @f(%s0, %s1) slots=9
//     %s2 = kernel fusion [static] (%s0, %s1) frees %s1
//     %s3 = gemm dot (%s2, %s0) batch=0 contract=1 transA=0 transB=0 frees %s0, %s2
//     %s4..%s5 = while (%s3, %s6) carried (%s4, %s5) moveInit (1, 0)
//       cond: ... yield %s7
//       body: ...
//     yield %s4
#include <fmt/format.h>

#include "runtime/exec/Executable.h"

namespace cairn::exec {
namespace {

std::string slots(const std::vector<Slot>& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i)
    out += fmt::format("{}%s{}", i ? ", " : "", s[i]);
  return out;
}

const char* kindName(InstKind k) {
  switch (k) {
  case InstKind::Kernel:
    return "kernel";
  case InstKind::Gemm:
    return "gemm";
  case InstKind::Rows:
    return "rows";
  case InstKind::Fallback:
    return "fallback";
  case InstKind::Constant:
    return "constant";
  case InstKind::Alias:
    return "alias";
  case InstKind::While:
    return "while";
  case InstKind::If:
    return "if";
  case InstKind::Parallel:
    return "parallel";
  }
  return "?";
}

void printBlock(const Block& b, int indent, std::string& out);

void printInst(const Instruction& in, int indent, std::string& out) {
  std::string pad(static_cast<size_t>(indent), ' ');
  out += pad;
  if (!in.results.empty()) out += slots(in.results) + " = ";
  out +=
      fmt::format("{} {} ({})", kindName(in.kind), in.op ? in.op->name() : "?", slots(in.operands));
  if (in.kind == InstKind::Kernel)
    out += fmt::format(" [#{} {}]", in.kernel, in.shape ? "dynamic" : "static");
  if (in.kind == InstKind::Gemm)
    out += fmt::format(" batch={} contract={} transA={} transB={}", in.gemm.batchDims,
                       in.gemm.contractDims, int(in.gemm.transA), int(in.gemm.transB));
  if (in.inPlace) out += in.kind == InstKind::Alias ? " [alias]" : " [in place]";
  if (in.kind == InstKind::While) {
    out += " carried (" + slots(in.carried) + ") moveInit (";
    for (size_t i = 0; i < in.moveInit.size(); ++i)
      out += fmt::format("{}{}", i ? ", " : "", int(in.moveInit[i]));
    out += ")";
  }
  if (!in.frees.empty()) out += " frees " + slots(in.frees);
  out += "\n";
  for (size_t i = 0; i < in.blocks.size(); ++i) {
    const char* names[3][2] = {{"cond", "body"}, {"then", "else"}, {"thread 0", "thread 1"}};
    int row = in.kind == InstKind::If ? 1 : in.kind == InstKind::Parallel ? 2 : 0;
    out += pad + "  " + names[row][i % 2] + ":\n";
    printBlock(in.blocks[i], indent + 4, out);
  }
}

void printBlock(const Block& b, int indent, std::string& out) {
  for (const Instruction& in : b.insts)
    printInst(in, indent, out);
  out += std::string(static_cast<size_t>(indent), ' ') + "yield " + slots(b.yields);
  bool anyMove = false;
  for (bool m : b.moveYield)
    anyMove |= m;
  if (anyMove) {
    out += " move (";
    for (size_t i = 0; i < b.moveYield.size(); ++i)
      out += fmt::format("{}{}", i ? ", " : "", int(b.moveYield[i]));
    out += ")";
  }
  out += "\n";
}

} // namespace

std::string loweredFunctionToString(const LoweredFunction& p) {
  std::string out = fmt::format("program @{}({}) slots={}\n", p.name, slots(p.args), p.numSlots);
  printBlock(p.body, 2, out);
  return out;
}

} // namespace cairn::exec
