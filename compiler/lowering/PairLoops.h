// The `parallel` instructions of a lowered block: adjacent independent loops
// paired, each with the producers only it reads (see PairLoops.cpp).
#pragma once

#include "compiler/lowering/LowerFunctions.h"

namespace cairn::codegen {

/// Pairs the loops of `block` (its yields already set), counting in `report`;
/// an internal error if a pair would race (exec::parallelHazard).
Status pairLoops(exec::Block& block, LowerReport& report);

} // namespace cairn::codegen
