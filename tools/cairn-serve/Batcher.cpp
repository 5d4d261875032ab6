#include "Batcher.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

namespace cairn::serve {

namespace {

bool leadsWithBatch(const TensorType& t) {
  return t.rank() >= 1 && t.shape[0] == kDynamic;
}

/// An argument's batch dim: its first dynamic one (SPINN's pair classifier
/// takes tokens [2, ?, ?]: premises and hypotheses, then the batch), or -1.
int batchAxis(const TensorType& t) {
  for (size_t d = 0; d < t.shape.size(); ++d)
    if (t.shape[d] == kDynamic) return static_cast<int>(d);
  return -1;
}

/// Rows [from, from + count) of `t` along dim 0.
Tensor rowsOf(const Tensor& t, int64_t from, int64_t count) {
  Shape shape = t.shape();
  int64_t rowBytes = shape[0] ? static_cast<int64_t>(t.byteSize()) / shape[0] : 0;
  shape[0] = count;
  Tensor out(TensorType(t.dtype(), shape));
  if (count)
    std::memcpy(out.rawData(), t.rawData() + from * rowBytes,
                static_cast<size_t>(count * rowBytes));
  return out;
}

/// `t` copied into rows [row, row + t.dim(axis)) of `dst` along `axis`,
/// whose other dims are at least t's; the rest stays as it is (zero).
void copyPadded(const Tensor& t, Tensor& dst, int axis, int64_t row) {
  const Shape& from = t.shape();
  const Shape& to = dst.shape();
  const size_t rank = from.size();
  if (t.numElements() == 0) return;
  const size_t elem = t.byteSize() / static_cast<size_t>(t.numElements());
  // Runs along the last dim are contiguous on both sides: one memcpy each.
  const int64_t run = rank ? from[rank - 1] : 1;
  std::vector<int64_t> index(rank, 0);
  for (int64_t src = 0; src < t.numElements(); src += run) {
    int64_t at = 0;
    for (size_t d = 0; d < rank; ++d)
      at = at * to[d] + (d == static_cast<size_t>(axis) ? index[d] + row : index[d]);
    std::memcpy(dst.rawData() + at * static_cast<int64_t>(elem),
                t.rawData() + src * static_cast<int64_t>(elem), static_cast<size_t>(run) * elem);
    // Next index, counting over every dim but the last.
    for (size_t d = rank - 1; d-- > 0;) {
      if (++index[d] < from[d]) break;
      index[d] = 0;
    }
  }
}

/// Whether `t` has a dynamic dim past its batch dim.
bool hasDynamicPastBatch(const TensorType& t) {
  int axis = batchAxis(t);
  return axis >= 0 && std::any_of(t.shape.begin() + axis + 1, t.shape.end(),
                                  [](int64_t d) { return d == kDynamic; });
}

/// The box [from, from + extent[0]) x [0, extent[1]) x ... of `t`: a
/// request's rows of a batched result, cut back to its own extents.
Tensor boxOf(const Tensor& t, int64_t from, const Shape& extent) {
  Tensor out(TensorType(t.dtype(), extent));
  if (out.numElements() == 0) return out;
  const Shape& full = t.shape();
  const size_t rank = full.size();
  const size_t elem = t.byteSize() / static_cast<size_t>(t.numElements());
  const int64_t run = extent[rank - 1];
  std::vector<int64_t> index(rank, 0);
  for (int64_t dst = 0; dst < out.numElements(); dst += run) {
    int64_t at = 0;
    for (size_t d = 0; d < rank; ++d)
      at = at * full[d] + (d == 0 ? index[d] + from : index[d]);
    std::memcpy(out.rawData() + dst * static_cast<int64_t>(elem),
                t.rawData() + at * static_cast<int64_t>(elem), static_cast<size_t>(run) * elem);
    for (size_t d = rank - 1; d-- > 0;) {
      if (++index[d] < extent[d]) break;
      index[d] = 0;
    }
  }
  return out;
}

} // namespace

std::vector<std::vector<Batcher::Source>> Batcher::resultSources(const FunctionInfo& f) {
  std::vector<std::vector<Source>> sources;
  for (const TensorType& r : f.results) {
    std::vector<Source> dims(r.shape.size());
    for (size_t d = 1; d < r.shape.size(); ++d) {
      if (r.shape[d] != kDynamic) continue;
      // The first batched argument with a dynamic dim d past its batch dim.
      for (size_t i = 0; i < f.args.size() && dims[d].arg < 0; ++i) {
        int axis = batchAxis(f.args[i]);
        if (axis < 0) continue;
        size_t at = static_cast<size_t>(axis) + d;
        if (at < f.args[i].shape.size() && f.args[i].shape[at] == kDynamic)
          dims[d] = {static_cast<int>(i), static_cast<int>(at)};
      }
    }
    sources.push_back(std::move(dims));
  }
  return sources;
}

bool Batcher::paddable(const FunctionInfo& f) {
  if (!batchable(f)) return false;
  std::vector<std::vector<Source>> sources = resultSources(f);
  for (size_t r = 0; r < f.results.size(); ++r)
    for (size_t d = 1; d < f.results[r].shape.size(); ++d)
      if (f.results[r].shape[d] == kDynamic && sources[r][d].arg < 0) return false;
  return std::any_of(f.args.begin(), f.args.end(), hasDynamicPastBatch);
}

bool Batcher::batchable(const FunctionInfo& f) {
  if (f.results.empty()) return false;
  for (const TensorType& t : f.results)
    if (!leadsWithBatch(t)) return false;
  return std::any_of(f.args.begin(), f.args.end(),
                     [](const TensorType& t) { return batchAxis(t) >= 0; });
}

Batcher::Batcher(const ServedModel& model, FunctionInfo f, BatchOptions options)
    : model_(model), f_(std::move(f)), o_(options) {
  for (const TensorType& t : f_.args)
    axis_.push_back(batchAxis(t));
  pad_ = o_.pad && paddable(f_);
  if (pad_) sources_ = resultSources(f_);
  for (int i = 0; i < std::max(1, o_.workers); ++i)
    workers_.emplace_back([this] { work(); });
}

Batcher::~Batcher() {
  {
    std::lock_guard<std::mutex> lock(m_);
    stop_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : workers_)
    t.join();
}

Batcher::Stats Batcher::stats() const {
  std::lock_guard<std::mutex> lock(m_);
  return stats_;
}

StatusOr<std::vector<Tensor>> Batcher::run(std::vector<Tensor> inputs, const RunLimits& limits) {
  auto p = std::make_shared<Pending>();
  p->limits = limits;
  p->rows = -1;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (axis_[i] < 0) continue; // shared
    int64_t rows = inputs[i].rank() > axis_[i] ? inputs[i].shape()[size_t(axis_[i])] : 0;
    if (p->rows >= 0 && rows != p->rows) // the model says what is wrong, alone
      return model_.run(f_.name, inputs, limits);
    p->rows = rows;
  }
  p->inputs = std::move(inputs);
  std::future<StatusOr<std::vector<Tensor>>> answer = p->done.get_future();
  {
    std::lock_guard<std::mutex> lock(m_);
    queue_.push_back(p);
  }
  cv_.notify_all();
  return answer.get();
}

bool Batcher::fits(const Pending& a, const Pending& b) const {
  for (size_t i = 0; i < a.inputs.size(); ++i) {
    const Tensor &x = a.inputs[i], &y = b.inputs[i];
    if (x.dtype() != y.dtype() || x.rank() != y.rank()) return false;
    if (axis_[i] >= 0) {
      // Padded: the signature already holds the static dims equal.
      for (size_t d = 0; d < x.shape().size() && !pad_; ++d)
        if (d != size_t(axis_[i]) && x.shape()[d] != y.shape()[d]) return false;
    } else if (x.shape() != y.shape() || std::memcmp(x.rawData(), y.rawData(), x.byteSize()) != 0) {
      return false;
    }
  }
  return true;
}

void Batcher::work() {
  std::unique_lock<std::mutex> lock(m_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return; // stopping, nothing left
    std::shared_ptr<Pending> first = queue_.front();
    auto rowsThatFit = [&] {
      int64_t rows = 0;
      for (const auto& p : queue_)
        if (p == first || fits(*first, *p)) rows += std::max<int64_t>(p->rows, 1);
      return rows;
    };
    auto until = std::min(std::chrono::steady_clock::now() + o_.wait, first->limits.deadline);
    auto nobodyElse = [&] {
      return o_.eager && o_.inFlight && o_.inFlight() <= static_cast<int64_t>(queue_.size());
    };
    cv_.wait_until(lock, until, [&] {
      return stop_ || queue_.empty() || queue_.front() != first || rowsThatFit() >= o_.maxRows ||
             nobodyElse();
    });
    if (queue_.empty() || queue_.front() != first) continue; // another worker took it
    std::vector<std::shared_ptr<Pending>> batch;
    int64_t rows = 0;
    for (auto it = queue_.begin(); it != queue_.end();) {
      int64_t r = std::max<int64_t>((*it)->rows, 1);
      if ((*it == first || fits(*first, **it)) && (batch.empty() || rows + r <= o_.maxRows)) {
        rows += r;
        batch.push_back(*it);
        it = queue_.erase(it);
      } else {
        ++it;
      }
    }
    stats_.requests += static_cast<int64_t>(batch.size());
    stats_.batches += 1;
    stats_.rows += rows;
    lock.unlock();
    runBatch(batch);
    lock.lock();
  }
}

void Batcher::runBatch(std::vector<std::shared_ptr<Pending>>& batch) {
  if (batch.size() == 1) {
    Pending& p = *batch[0];
    p.done.set_value(model_.run(f_.name, p.inputs, p.limits));
    return;
  }
  // One run over the requests' rows, under the earliest deadline.
  std::vector<Tensor> inputs;
  RunLimits limits = batch[0]->limits;
  int64_t total = 0;
  for (const auto& p : batch) {
    limits.deadline = std::min(limits.deadline, p->limits.deadline);
    total += p->rows;
  }
  bool padded = false;
  for (size_t i = 0; i < f_.args.size(); ++i) {
    if (axis_[i] < 0) { // shared
      inputs.push_back(batch[0]->inputs[i]);
      continue;
    }
    // The largest extent of every other dim (equal unless padding).
    const size_t axis = static_cast<size_t>(axis_[i]);
    Shape shape = batch[0]->inputs[i].shape();
    shape[axis] = total;
    for (const auto& p : batch)
      for (size_t d = 0; d < shape.size(); ++d) {
        if (d == axis) continue;
        padded = padded || p->inputs[i].shape()[d] != shape[d];
        shape[d] = std::max(shape[d], p->inputs[i].shape()[d]);
      }
    Tensor all(TensorType(batch[0]->inputs[i].dtype(), shape)); // zeros
    int64_t row = 0;
    for (const auto& p : batch) {
      copyPadded(p->inputs[i], all, axis_[i], row);
      row += p->rows;
    }
    inputs.push_back(std::move(all));
  }
  if (padded) {
    std::lock_guard<std::mutex> lock(m_);
    ++stats_.paddedBatches;
  }
  StatusOr<std::vector<Tensor>> out = model_.run(f_.name, inputs, limits);
  bool split = out.isOk() && out->size() == f_.results.size();
  for (size_t r = 0; split && r < out->size(); ++r) {
    const Tensor& t = (*out)[r];
    split = t.rank() == f_.results[r].rank() && t.rank() >= 1 && t.shape()[0] == total;
    // A dim cut back to each request's own extent must be its argument's
    // padded one (a model that does otherwise is run a request at a time).
    for (size_t d = 1; split && pad_ && d < t.shape().size(); ++d)
      if (const Source& src = sources_[r][d]; src.arg >= 0)
        split = t.shape()[d] == inputs[size_t(src.arg)].shape()[size_t(src.dim)];
  }
  if (!split) { // one request at a time: a bad one fails alone
    {
      std::lock_guard<std::mutex> lock(m_);
      stats_.retriedAlone += static_cast<int64_t>(batch.size());
    }
    for (const auto& p : batch)
      p->done.set_value(model_.run(f_.name, p->inputs, p->limits));
    return;
  }
  int64_t from = 0;
  for (const auto& p : batch) {
    std::vector<Tensor> mine;
    for (size_t r = 0; r < out->size(); ++r) {
      const Tensor& t = (*out)[r];
      Shape extent = t.shape();
      extent[0] = p->rows;
      bool cut = false;
      for (size_t d = 1; pad_ && d < extent.size(); ++d)
        if (const Source& src = sources_[r][d]; src.arg >= 0) {
          extent[d] = p->inputs[size_t(src.arg)].shape()[size_t(src.dim)];
          cut = cut || extent[d] != t.shape()[d];
        }
      mine.push_back(cut ? boxOf(t, from, extent) : rowsOf(t, from, p->rows));
    }
    from += p->rows;
    p->done.set_value(std::move(mine));
  }
}

} // namespace cairn::serve
