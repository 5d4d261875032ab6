#include "ir/OpKind.h"

#include <map>
#include <string>

namespace cairn {

static const OpInfo kOps[] = {
#define CAIRN_OP(Enum, Mnemonic, Family, NumOperands, NumResults, NumRegions, Summary, Desc)     \
  {OpKind::Enum, Mnemonic, OpFamily::Family, NumOperands, NumResults, NumRegions, Summary, Desc},
#include "ir/Ops.def"
};

const OpInfo& opInfo(OpKind kind) { return kOps[static_cast<size_t>(kind)]; }
std::string_view opName(OpKind kind) { return opInfo(kind).mnemonic; }

std::optional<OpKind> lookupOp(std::string_view mnemonic) {
  static const std::map<std::string, OpKind, std::less<>> byName = [] {
    std::map<std::string, OpKind, std::less<>> m;
    for (const OpInfo& info : kOps) m.emplace(std::string(info.mnemonic), info.kind);
    return m;
  }();
  auto it = byName.find(mnemonic);
  if (it == byName.end()) return std::nullopt;
  return it->second;
}

const OpInfo* allOps(size_t* count) {
  *count = sizeof(kOps) / sizeof(kOps[0]);
  return kOps;
}

} // namespace cairn
