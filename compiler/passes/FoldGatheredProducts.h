// Fold gathered products: dot(gather(C, idx), W) -> gather(C . W, idx) for
// constants C [V, K] (rows gathered along axis 0) and W [K, N] (or [N, K]
// read transposed), the table C . W computed once at compile time. A
// transpose between the gather and the dot that keeps the row dim last is
// looked through: it moves to the indices.
//
// Why: an embedding followed by a linear layer, `embed(tokens) W`, is the
// first product of every imported sequence model (the BiRNN classifiers'
// input projection, a decoder's per-step `embed(token) W_i`): each token's
// row of the product is a row of the constant table C . W, so gathering
// that row replaces K x N multiply-adds per token by a copy of N floats.
// The exported BiLSTM spends a fifth of its products there, the greedy
// decoder a fifth of each step's. Rows of the table equal the products
// they replace up to rounding (the interpreter computes the table in f64
// and rounds once). The table is made only where it has at most
// FoldGatheredProductsOptions::maxTableElements elements, since a real
// vocabulary times a wide layer would trade arithmetic for a table too
// large to keep.
#pragma once

#include <cstdint>
#include <memory>

#include "compiler/Pass.h"

namespace cairn {

struct FoldGatheredProductsOptions {
  /// Tables with more elements than this (V x N) are not made: 4M f32
  /// elements is 16 MiB.
  int64_t maxTableElements = int64_t(1) << 22;
};

/// Folds every such product in `m`; returns whether anything changed and
/// adds the products folded to `*numFolded`.
StatusOr<bool> foldGatheredProducts(Module& m, const FoldGatheredProductsOptions& options = {},
                                    int64_t* numFolded = nullptr);

std::unique_ptr<Pass> createFoldGatheredProductsPass();

} // namespace cairn
