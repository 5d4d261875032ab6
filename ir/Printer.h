// The text form's printer: Module -> `.cairn` text.
//
// The output is canonical, so print(parse(print(m))) == print(m): attributes
// sorted by name, values named by their non-numeric hints (made unique within
// the function) or numbered %0, %1, ... in order of definition, floats in
// shortest round-trip form.
#pragma once

#include <string>

#include "ir/IR.h"

namespace cairn {

std::string printModule(const Module& m);
std::string printFunction(const Function& f);
/// One op (with its regions) for debugging and messages; names are local.
std::string printOp(const Op& op);

} // namespace cairn
