// Expand rnn: each `rnn` op (one direction of an LSTM/GRU layer, ir/Ops.def)
// becomes the `while` loop the frontend's BiRnn model builds from its cells
// (frontend/models/BiRnn.cpp, frontend/layers/Cells.cpp):
//
//   %T = dim %x {axis = 0}; %B = dim %x {axis = 1}      (of the lengths' dtype)
//   %len = gather (iota [T + 1]), %lengths {axis = 0}    (== %lengths; fails,
//                        at the rnn's location, for a length outside [0, T])
//   %bias = add %b_ih, %b_hh                             (LSTM only)
//   while (%t = 0 or T-1, %h = %h0, %ys = zeros [T, B, H], %c = %c0) max_trip %T
//     cond { %t < %T  or  %t >= 0 }
//     body { %x_t = row t of %x (dynamic_slice + reshape, or a gather when
//                   B is dynamic)
//            %xw = dot %x_t, %w_ih {rhs_contract = [1]}; %hw = dot %h, %w_hh ...
//            the cell's gates and state update (as the op's formula)
//            %live = broadcast (%t < %len) to [B, H]
//            %h' = select %live, %h_new, %h  (and %c'); %ys' = %ys with row t =
//            select %live, %h_new, 0
//            %t' = %t +- 1 }
//
// A weight that is `transpose %w {perm = [1, 0]}` is read as %w with the
// contraction on its first dim (exact), so a model storing [in, G*H] weights
// (BiRnnConfig::useRnnOp over the cells' parameters) gets the cells' loop.
// The loop passes apply unchanged: hoist-input-projection finds
// dot(row t of %x, %w_ih) with %t a counter, licm lifts the broadcast bias,
// autodiff tapes the loop. The op sequence is the one the reference kernel
// (kernels/reference/Rnn.h) evaluates, so the reference interpreter computes
// the same bits on the op and on its expansion.
// Why an op at all: the device executor can hand a whole layer to cuDNN's
// RNN API (docs/gpu.md, "cuDNN: the rnn op"); everything else sees loops.
#pragma once

#include <memory>

#include "compiler/Pass.h"

namespace cairn {

/// Replaces every `rnn` op of `m` by its loop, except those `keep` (when
/// given) holds for; returns whether any was expanded. `numExpanded`, when
/// given, receives how many.
StatusOr<bool> expandRnn(Module& m, int64_t* numExpanded = nullptr,
                         bool (*keep)(const Op&) = nullptr);

/// Whether the device executor hands `rnn` to Device::rnn (cuDNN) rather
/// than running its loop: f32 (docs/gpu.md, "cuDNN: the rnn op").
bool rnnRunsOnDevice(const Op& rnn);

/// "expand-rnn": every op. "expand-rnn-off-device": the ops
/// rnnRunsOnDevice refuses, first in the device pipeline
/// (deviceOptimizePipeline) when the device has Device::rnn.
std::unique_ptr<Pass> createExpandRnnPass();
std::unique_ptr<Pass> createExpandRnnOffDevicePass();

} // namespace cairn
