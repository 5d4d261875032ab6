// The oracle of the SPINN tests: docs/models.md's encoder written the way a
// define-by-run framework runs it, one example at a time with a std::vector
// for the stack, in double precision, plus helpers to build padded batches
// and run the graphs in the reference interpreter.
#pragma once

#include <array>
#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "frontend/layers/Params.h"
#include "frontend/models/Spinn.h"
#include "ir/IR.h"
#include "runtime/reference/Interpreter.h"

namespace cairn::spinnref {

using Vec = std::vector<double>;

/// Parameter values by name.
struct Params {
  std::map<std::string, Tensor> byName;
  const Tensor& at(const std::string& n) const {
    auto it = byName.find(n);
    if (it == byName.end()) ADD_FAILURE() << "no parameter " << n;
    return it->second;
  }
  bool has(const std::string& n) const { return byName.count(n) != 0; }
};

inline Params paramsOf(const ParamStore& ps, const std::vector<Tensor>& values) {
  Params p;
  for (size_t i = 0; i < ps.size(); ++i)
    p.byName[ps.specs()[i].name] = values[i];
  return p;
}

inline double sigmoid(double x) {
  return 1.0 / (1.0 + std::exp(-x));
}

/// x · w (+ b): w [in, out].
inline Vec affine(const Vec& x, const Tensor& w, const Tensor* b = nullptr) {
  const int64_t in = w.shape()[0], out = w.shape()[1];
  EXPECT_EQ(static_cast<int64_t>(x.size()), in);
  Vec y(static_cast<size_t>(out), 0.0);
  for (int64_t j = 0; j < out; ++j) {
    double acc = b ? b->getDouble(j) : 0.0;
    for (int64_t k = 0; k < in; ++k)
      acc += x[static_cast<size_t>(k)] * w.getDouble(k * out + j);
    y[static_cast<size_t>(j)] = acc;
  }
  return y;
}

inline Vec linear(const Params& p, const std::string& name, const Vec& x) {
  const Tensor* b = p.has(name + ".bias") ? &p.at(name + ".bias") : nullptr;
  return affine(x, p.at(name + ".weight"), b);
}

inline Vec cat(std::initializer_list<Vec> parts) {
  Vec out;
  for (const Vec& v : parts)
    out.insert(out.end(), v.begin(), v.end());
  return out;
}

struct State {
  Vec h, c;
};

/// LSTMCell(name): gates i, f, g, o.
inline State lstmCell(const Params& p, const std::string& name, const Vec& x, const State& s) {
  Vec g = affine(x, p.at(name + ".wx"), &p.at(name + ".b"));
  Vec gh = affine(s.h, p.at(name + ".wh"));
  const size_t n = s.h.size();
  State out{Vec(n), Vec(n)};
  for (size_t j = 0; j < n; ++j) {
    double i = sigmoid(g[j] + gh[j]), f = sigmoid(g[n + j] + gh[n + j]);
    double cand = std::tanh(g[2 * n + j] + gh[2 * n + j]),
           o = sigmoid(g[3 * n + j] + gh[3 * n + j]);
    out.c[j] = f * s.c[j] + i * cand;
    out.h[j] = o * std::tanh(out.c[j]);
  }
  return out;
}

/// TreeLSTMReduce(name): gates a, i, f1, f2, o.
inline State treeReduce(const Params& p, const std::string& name, const State& left,
                        const State& right, const Vec& trackH) {
  Vec g = affine(left.h, p.at(name + ".left.weight"), &p.at(name + ".left.bias"));
  Vec gr = affine(right.h, p.at(name + ".right.weight"));
  Vec gt = trackH.empty() ? Vec(g.size(), 0.0) : affine(trackH, p.at(name + ".track.weight"));
  const size_t n = left.h.size();
  State out{Vec(n), Vec(n)};
  for (size_t j = 0; j < n; ++j) {
    auto gate = [&](size_t k) { return g[k * n + j] + gr[k * n + j] + gt[k * n + j]; };
    out.c[j] = std::tanh(gate(0)) * sigmoid(gate(1)) + sigmoid(gate(2)) * left.c[j] +
               sigmoid(gate(3)) * right.c[j];
    out.h[j] = sigmoid(gate(4)) * std::tanh(out.c[j]);
  }
  return out;
}

struct Encoded {
  Vec h;                                     ///< root h
  std::vector<int> moves;                    ///< the move taken per step (0 = none)
  std::vector<std::array<double, 2>> logits; ///< predicted mode: raw logits per step
};

/// One example through docs/models.md's encoder. PI mode follows
/// `transitions` (its length is the step count); predicted mode runs
/// 2 * length - 1 steps and takes the argmax of the valid moves.
inline Encoded encode(const Params& p, const SpinnConfig& cfg, const std::vector<int>& tokens,
                      const std::vector<int>& transitions) {
  const size_t H = static_cast<size_t>(cfg.hidden), T = static_cast<size_t>(cfg.trackerSize);
  const int length = static_cast<int>(tokens.size());
  std::vector<State> buffer;
  for (int tok : tokens) {
    Vec e;
    const Tensor& w = p.at("embed.weight");
    for (int64_t k = 0; k < cfg.embed; ++k)
      e.push_back(w.getDouble(tok * cfg.embed + k));
    Vec hc = linear(p, "projection", e);
    buffer.push_back({Vec(hc.begin(), hc.begin() + H), Vec(hc.begin() + H, hc.end())});
  }
  std::vector<State> stack;
  State tracker{Vec(T, 0.0), Vec(T, 0.0)};
  size_t bp = 0;
  const State none{Vec(H, 0.0), Vec(H, 0.0)};
  Encoded out;
  const int steps = cfg.predictTransitions ? 2 * length - 1 : static_cast<int>(transitions.size());
  for (int s = 0; s < steps; ++s) {
    const State& bufTop = bp < buffer.size() ? buffer[bp] : none;
    const State& top = stack.size() >= 1 ? stack.back() : none;
    const State& second = stack.size() >= 2 ? stack[stack.size() - 2] : none;
    State next = tracker;
    if (T > 0) next = lstmCell(p, "tracker.cell", cat({bufTop.h, top.h, second.h}), tracker);
    int move;
    if (cfg.predictTransitions) {
      Vec l = linear(p, "predictor", next.h);
      out.logits.push_back({l[0], l[1]});
      const double inf = std::numeric_limits<double>::infinity();
      double shift = bp < buffer.size() ? l[0] : -inf, reduce = stack.size() >= 2 ? l[1] : -inf;
      move = reduce > shift ? 2 : 1;
    } else {
      move = transitions[static_cast<size_t>(s)];
    }
    if (s >= 2 * length - 1) move = 0;
    if (move == 1 && bp < buffer.size()) {
      stack.push_back(buffer[bp++]);
    } else if (move == 2 && stack.size() >= 2) {
      State right = stack.back();
      stack.pop_back();
      State left = stack.back();
      stack.pop_back();
      stack.push_back(treeReduce(p, "reduce", left, right, T > 0 ? next.h : Vec()));
    } else {
      move = 0;
    }
    if (move != 0) tracker = next;
    out.moves.push_back(move);
  }
  out.h = stack.empty() ? Vec(H, 0.0) : stack.back().h;
  return out;
}

/// An example: token ids and (PI mode) its transitions.
struct Example {
  std::vector<int> tokens;
  std::vector<int> transitions;
};

/// Transitions of a left-branching tree over n tokens: S S R S R ...
inline std::vector<int> leftBranching(int n) {
  std::vector<int> t{1};
  for (int i = 1; i < n; ++i) {
    t.push_back(1);
    t.push_back(2);
  }
  return t;
}

/// Transitions of a right-branching tree over n tokens: S ... S R ... R.
inline std::vector<int> rightBranching(int n) {
  std::vector<int> t(static_cast<size_t>(n), 1);
  t.insert(t.end(), static_cast<size_t>(n - 1), 2);
  return t;
}

/// Padded batch tensors; width/steps at least the maxima (extra padding
/// allowed); `padToken` fills token padding.
struct Batch {
  Tensor tokens, transitions, lengths;
};
inline Batch makeBatch(const std::vector<Example>& xs, int64_t width = 0, int64_t steps = 0,
                       int padToken = 0) {
  for (const Example& x : xs) {
    width = std::max<int64_t>(width, static_cast<int64_t>(x.tokens.size()));
    steps = std::max<int64_t>(steps, static_cast<int64_t>(x.transitions.size()));
  }
  const int64_t b = static_cast<int64_t>(xs.size());
  Batch out{Tensor(TensorType(DType::I32, {b, width})), Tensor(TensorType(DType::I32, {b, steps})),
            Tensor(TensorType(DType::I32, {b}))};
  for (int64_t i = 0; i < b; ++i) {
    const Example& x = xs[static_cast<size_t>(i)];
    out.lengths.setInt(i, static_cast<int64_t>(x.tokens.size()));
    for (int64_t j = 0; j < width; ++j)
      out.tokens.setInt(i * width + j, j < static_cast<int64_t>(x.tokens.size())
                                           ? x.tokens[static_cast<size_t>(j)]
                                           : padToken);
    for (int64_t j = 0; j < static_cast<int64_t>(x.transitions.size()); ++j)
      out.transitions.setInt(i * steps + j, x.transitions[static_cast<size_t>(j)]);
  }
  return out;
}

/// Runs `f` on data inputs followed by the parameter values; fails the test
/// on an interpreter error.
inline std::vector<Tensor> runModel(const Function& f, std::vector<Tensor> data,
                                    const std::vector<Tensor>& params) {
  data.insert(data.end(), params.begin(), params.end());
  auto r = interpret(f, data);
  EXPECT_TRUE(r.isOk()) << r.status().message();
  return r.isOk() ? *r : std::vector<Tensor>{};
}

/// Row `row` of a [rows, n] (or [..., n]) f32 tensor.
inline Vec rowOf(const Tensor& t, int64_t row) {
  const int64_t n = t.shape().back();
  Vec v;
  for (int64_t k = 0; k < n; ++k)
    v.push_back(t.getDouble(row * n + k));
  return v;
}

inline double maxAbsDiff(const Vec& a, const Vec& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i)
    worst = std::max(worst, std::abs(a[i] - b[i]));
  return worst;
}

/// Counts the `while` ops of `f`, nested ones included.
inline int countWhiles(const Function& f) {
  int n = 0;
  walk(f, [&](Op& op) { n += op.kind() == OpKind::While; });
  return n;
}

/// Checks that `moves` (one row, 2L - 1 meaningful steps then padding) is a
/// complete shift-reduce sequence over `length` tokens; returns a message
/// describing the first problem, or "".
inline std::string checkValidSequence(const std::vector<int>& moves, int length) {
  int sp = 0, bp = 0;
  for (size_t s = 0; s < moves.size(); ++s) {
    const int m = moves[s];
    if (static_cast<int>(s) >= 2 * length - 1) {
      if (m != 0)
        return "move " + std::to_string(m) + " after the end at step " + std::to_string(s);
      continue;
    }
    if (m == 1) {
      if (bp >= length) return "shift past the buffer at step " + std::to_string(s);
      ++bp, ++sp;
    } else if (m == 2) {
      if (sp < 2)
        return "reduce with " + std::to_string(sp) + " items at step " + std::to_string(s);
      --sp;
    } else {
      return "no-op at live step " + std::to_string(s);
    }
  }
  if (sp != 1 || bp != length)
    return "ends with " + std::to_string(sp) + " items, " + std::to_string(bp) + " shifted";
  return "";
}

} // namespace cairn::spinnref
