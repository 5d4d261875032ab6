// The reference kernels, one include: every op family of ir/Ops.def as a
// plain function on cairn::Tensor (namespace cairn::kernels). The reference
// interpreter and constant folding call these.
#pragma once

#include "kernels/reference/Dot.h"
#include "kernels/reference/Elementwise.h"
#include "kernels/reference/Indexing.h"
#include "kernels/reference/Random.h"
#include "kernels/reference/Reduce.h"
#include "kernels/reference/Rnn.h"
#include "kernels/reference/RnnGrad.h"
#include "kernels/reference/Shape.h"
