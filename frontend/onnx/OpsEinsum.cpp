// ONNX Einsum with one or two operands and explicit letters (no ellipsis,
// no repeated letter within an operand), as reductions, one general `dot`
// and a transpose.
//
// Algorithm:
//  1. Parse "lhs,rhs->out" (an implicit output is the letters seen once,
//     sorted, as numpy does).
//  2. Sum away each operand's letters that appear nowhere else.
//  3. Two operands: letters in both and in the output are batch dims,
//     letters in both but not in the output are contracted; `dot` gives
//     batch, lhs-free, rhs-free dims.
//  4. Transpose to the output's letter order.
#include <algorithm>
#include <map>

#include "frontend/onnx/OnnxInternal.h"

namespace cairn::onnx_import {
namespace {

std::string strip(const std::string& s) {
  std::string r;
  for (char ch : s)
    if (ch != ' ') r += ch;
  return r;
}

/// Sums x over its letters not in `keep`; returns the value and its letters.
std::pair<Val, std::string> sumAway(const Val& x, const std::string& letters,
                                    const std::string& keep) {
  std::vector<int64_t> dims;
  std::string left;
  for (size_t i = 0; i < letters.size(); ++i) {
    if (keep.find(letters[i]) == std::string::npos)
      dims.push_back(static_cast<int64_t>(i));
    else
      left += letters[i];
  }
  if (dims.empty()) return {x, letters};
  return {reduceSum(x, dims), left};
}

ValueList einsum(NodeContext& c) {
  std::string eq = strip(c.attrString("equation", ""));
  if (eq.find("...") != std::string::npos) throw Unsupported("Einsum with an ellipsis");
  size_t arrow = eq.find("->");
  std::string lhsAll = arrow == std::string::npos ? eq : eq.substr(0, arrow);
  std::vector<std::string> ins;
  for (size_t start = 0;;) {
    size_t comma = lhsAll.find(',', start);
    ins.push_back(lhsAll.substr(start, comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (ins.size() != c.numInputs()) throw InvalidModel("the equation and the inputs disagree");
  if (ins.size() > 2) throw Unsupported("Einsum of more than two operands");
  std::map<char, int> seen;
  for (size_t k = 0; k < ins.size(); ++k) {
    if (static_cast<int64_t>(ins[k].size()) != c.input(k).rank())
      throw InvalidModel(fmt::format("operand {} has rank {}, the equation says {}", k,
                                     c.input(k).rank(), ins[k].size()));
    for (char ch : ins[k]) {
      if (std::count(ins[k].begin(), ins[k].end(), ch) > 1)
        throw Unsupported("Einsum with a repeated letter in one operand (a diagonal)");
      ++seen[ch];
    }
  }
  std::string out;
  if (arrow != std::string::npos) {
    out = eq.substr(arrow + 2);
  } else {
    for (auto& [ch, n] : seen)
      if (n == 1) out += ch;
  }
  for (char ch : out)
    if (!seen.count(ch)) throw InvalidModel(fmt::format("output letter '{}' is in no input", ch));

  Val result;
  std::string letters;
  if (ins.size() == 1) {
    std::tie(result, letters) = sumAway(c.input(0), ins[0], out);
  } else {
    // Keep, in each operand, the letters the other operand or the output has.
    auto [a, la] = sumAway(c.input(0), ins[0], ins[1] + out);
    auto [b, lb] = sumAway(c.input(1), ins[1], la + out);
    std::tie(a, la) = sumAway(a, la, lb + out);
    DotDims dd;
    std::string batch, aFree, bFree;
    for (size_t i = 0; i < la.size(); ++i) {
      size_t j = lb.find(la[i]);
      if (j == std::string::npos) {
        aFree += la[i];
      } else if (out.find(la[i]) != std::string::npos) {
        batch += la[i];
        dd.lhsBatch.push_back(static_cast<int64_t>(i));
        dd.rhsBatch.push_back(static_cast<int64_t>(j));
      } else {
        dd.lhsContract.push_back(static_cast<int64_t>(i));
        dd.rhsContract.push_back(static_cast<int64_t>(j));
      }
    }
    for (char ch : lb)
      if (la.find(ch) == std::string::npos) bFree += ch;
    if (la.empty() || lb.empty()) {
      result = mul(a, b); // a scalar operand: a plain (broadcast) product
      letters = la.empty() ? lb : la;
    } else {
      if (dd.lhsContract.empty()) throw Unsupported("Einsum without a contracted letter");
      result = dot(a, b, dd);
      letters = batch + aFree + bFree;
    }
  }
  std::vector<int64_t> perm;
  for (char ch : out) {
    size_t i = letters.find(ch);
    if (i == std::string::npos) throw InvalidModel(fmt::format("letter '{}' was summed away", ch));
    perm.push_back(static_cast<int64_t>(i));
  }
  bool identity = true;
  for (size_t i = 0; i < perm.size(); ++i)
    identity &= perm[i] == static_cast<int64_t>(i);
  return {identity ? result : transpose(result, perm)};
}

} // namespace

void registerEinsumOps(ConverterTable& t) {
  t["Einsum"] = einsum;
}

} // namespace cairn::onnx_import
