// ListOps generator, after Nangia & Bowman 2018 ("ListOps: A Diagnostic
// Dataset for Latent Tree Learning"), written from the paper's description:
// an example is a list `[OP a1 .. an ]` whose arguments are digits or
// nested lists, with the left-branching tree the paper uses, so that a
// list's value can be computed one argument at a time.
//
// Algorithm:
//  1. Draw a list at depth 1: an operator uniformly from MAX, MIN, MED, SM,
//     then n uniformly from 2..maxArgs arguments.
//  2. Each argument of a list at depth d is a nested list (step 1 at d + 1)
//     with probability nestProbability / d while d < maxDepth, otherwise a
//     uniform digit; nesting thus thins out with depth and stops at maxDepth.
//     With thinWithDepth off the probability is nestProbability at every
//     depth, as in the paper's generator (a value with probability 0.75).
//  3. Emit SHIFT for the operator and the first argument's transitions, then
//     REDUCE after each argument and SHIFT `]` REDUCE at the end:
//     `( ( ( ( [MAX 1 ) 7 ) 2 ) ] )`.
//  4. A draw whose token count leaves [minLength, maxLength] is abandoned
//     (as soon as it gets too long) and redrawn from the same stream.
#include "frontend/data/DataInternal.h"

namespace cairn::data {
namespace {

const char* const kOperators[] = {"[MAX", "[MIN", "[MED", "[SM"};
const char* const kDigits[] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};

class Generator {
public:
  Generator(const ListOpsConfig& cfg, Rng& rng) : cfg_(cfg), rng_(rng) {}

  /// One draw into `out`; false when it went past maxLength.
  bool draw(Sentence& out) {
    out_ = &out;
    return list(1);
  }

private:
  /// Emits a list at `depth`; false as soon as the draw is too long.
  bool list(int depth) {
    shift(kOperators[rng_.below(4)]);
    uint64_t numArgs = 2 + rng_.below(static_cast<uint64_t>(cfg_.maxArgs - 1));
    for (uint64_t i = 0; i < numArgs; ++i) {
      double nest = cfg_.thinWithDepth ? cfg_.nestProbability / depth : cfg_.nestProbability;
      if (depth < cfg_.maxDepth && rng_.uniform() < nest) {
        if (!list(depth + 1)) return false;
      } else {
        shift(kDigits[rng_.below(10)]);
      }
      out_->transitions.push_back(kReduce);
      if (tooLong()) return false;
    }
    shift("]");
    out_->transitions.push_back(kReduce);
    return !tooLong();
  }

  bool tooLong() const { return static_cast<int64_t>(out_->tokens.size()) > cfg_.maxLength; }

  void shift(const char* token) {
    out_->tokens.emplace_back(token);
    out_->transitions.push_back(kShift);
  }

  const ListOpsConfig& cfg_;
  Rng& rng_;
  Sentence* out_ = nullptr;
};

} // namespace

ListOpsConfig listOpsPaperConfig() {
  ListOpsConfig c;
  c.maxDepth = 20;
  c.maxArgs = 5;
  c.minLength = 4; // the shortest list, [MAX 1 2 ]
  c.maxLength = 1000;
  c.nestProbability = 0.25;
  c.thinWithDepth = false;
  return c;
}

Status checkListOpsConfig(const ListOpsConfig& cfg) {
  // Bounds a user can reach from the command line: beyond them the
  // generator recurses too deep or draws forever.
  constexpr int kMaxDepth = 1000, kMaxArgs = 1000, kMaxLength = 1'000'000;
  if (cfg.maxArgs < 2 || cfg.maxArgs > kMaxArgs)
    return errorf("ListOps arguments per list (--listops-args) is {}: it must be in [2, {}]",
                  cfg.maxArgs, kMaxArgs);
  if (cfg.maxDepth < 1 || cfg.maxDepth > kMaxDepth)
    return errorf("ListOps depth (--listops-depth) is {}: it must be in [1, {}]", cfg.maxDepth,
                  kMaxDepth);
  if (cfg.maxLength < 4 || cfg.maxLength > kMaxLength)
    return errorf("ListOps length (--listops-length) is {}: it must be in [4, {}] tokens (the "
                  "shortest list, [MAX 1 2 ], has 4)",
                  cfg.maxLength, kMaxLength);
  if (cfg.minLength < 0 || cfg.minLength > cfg.maxLength)
    return errorf("ListOps lengths [{}, {}]: the minimum must be in [0, maximum]", cfg.minLength,
                  cfg.maxLength);
  if (!(cfg.nestProbability >= 0 && cfg.nestProbability <= 1))
    return errorf("ListOps nesting probability is {}: it must be in [0, 1]", cfg.nestProbability);
  return Status::ok();
}

StatusOr<std::vector<TreeExample>> generateListOps(const ListOpsConfig& cfg, uint64_t seed,
                                                   size_t count) {
  CAIRN_RETURN_IF_ERROR(checkListOpsConfig(cfg));
  Rng rng(seed);
  Generator gen(cfg, rng);
  std::vector<TreeExample> examples;
  examples.reserve(count);
  // A config whose lengths are (nearly) unreachable must fail, not spin.
  constexpr int64_t kMaxFailedDraws = 1'000'000;
  int64_t failed = 0;
  while (examples.size() < count) {
    TreeExample ex;
    bool fits =
        gen.draw(ex.sentence) && static_cast<int64_t>(ex.sentence.tokens.size()) >= cfg.minLength;
    if (!fits) {
      if (++failed >= kMaxFailedDraws)
        return errorf("ListOps: no list of depth <= {} with {}-{} tokens in {} draws in a row "
                      "(at {} of {} examples): widen the lengths or change the depth",
                      cfg.maxDepth, cfg.minLength, cfg.maxLength, kMaxFailedDraws,
                      examples.size(), count);
      continue;
    }
    failed = 0;
    StatusOr<int> value = evaluateListOps(ex.sentence.tokens);
    CAIRN_CHECK(value.isOk(), "generated example does not evaluate: {}", value.status().message());
    ex.label = *value;
    ex.line = static_cast<int64_t>(examples.size()) + 1;
    examples.push_back(std::move(ex));
  }
  return examples;
}

} // namespace cairn::data
