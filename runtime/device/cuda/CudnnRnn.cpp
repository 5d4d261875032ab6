// cuDNN's RNN API for the `rnn` op and its gradient (CudnnRnn.h).
//
// Each call, after cuDNN 9's documentation of the v8 RNN API:
//  1. an RNN descriptor: standard algorithm, CUDNN_LSTM or CUDNN_GRU (its
//     formula is the op's and PyTorch's), two biases, one direction, one
//     layer, f32 data and math restricted to FMA (no TF32: the op's f32 is
//     f32), padded I/O enabled for the unpacked sequence-major layout;
//  2. the weights packed into cuDNN's weight space: for each gate, the
//     address cudnnGetRNNWeightParams gives for linear layer id k (input
//     matrices and biases: k = gate; recurrent: k = G + gate; gate orders
//     i, f, g, o and r, z, n are cuDNN's ids 0..G-1) receives rows
//     [gate*H, (gate+1)*H) of w_ih / w_hh and the matching slice of b_ih /
//     b_hh, checked against the descriptor's sizes (the gradient reads its
//     weight gradients back from the same addresses of the dweight space);
//  3. x and y as RNN data descriptors (SEQ_MAJOR_UNPACKED, per-row lengths,
//     padding fill 0), h and c as [1, B, H] tensors; the lengths also on
//     the device (the calls read devSeqLengths there);
//  4. cudnnRNNForward, and for the gradient its training mode then
//     cudnnRNNBackwardData_v8 and cudnnRNNBackwardWeights_v8 (which only
//     adds: the dweight space is zeroed first).
// Everything is issued on the context's stream; buffers the context keeps
// are grown (after a synchronize) and reused, so a call allocates nothing
// once the largest layer has run.
#include "runtime/device/cuda/CudnnRnn.h"

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <cudnn.h>

namespace cairn::device::cudnn {
namespace {

#define CAIRN_DNN(call)                                                                            \
  do {                                                                                             \
    cudnnStatus_t cairn_s = (call);                                                                \
    if (cairn_s != CUDNN_STATUS_SUCCESS)                                                           \
      return errorf("{}: {}", #call, cudnnGetErrorString(cairn_s));                                \
  } while (0)

#define CAIRN_CU(call)                                                                             \
  do {                                                                                             \
    CUresult cairn_r = (call);                                                                     \
    if (cairn_r != CUDA_SUCCESS) {                                                                 \
      const char* cairn_name = nullptr;                                                            \
      cuGetErrorName(cairn_r, &cairn_name);                                                        \
      return errorf("{}: {}", #call, cairn_name ? cairn_name : "CUDA error");                      \
    }                                                                                              \
  } while (0)

/// A device buffer grown on demand and kept.
struct Buffer {
  CUdeviceptr ptr = 0;
  size_t bytes = 0;
};

/// What cairn_cudnn_rnn_open makes: the handle and the reused buffers.
struct Context {
  CUstream stream = nullptr;
  cudnnHandle_t handle = nullptr;
  Buffer weights, dweights, work, reserve, lengths;
  ~Context() {
    cuStreamSynchronize(stream); // nothing in flight uses the buffers
    for (Buffer* b : {&weights, &dweights, &work, &reserve, &lengths})
      if (b->ptr) cuMemFree(b->ptr);
    if (handle) cudnnDestroy(handle);
  }
  /// `b` at least `bytes` large. Growing waits for the stream first: work
  /// issued earlier may still read the old buffer.
  Status ensure(Buffer& b, size_t bytes) {
    if (b.bytes >= bytes && b.ptr) return Status::ok();
    CAIRN_CU(cuStreamSynchronize(stream));
    if (b.ptr) cuMemFree(b.ptr);
    b = Buffer();
    CAIRN_CU(cuMemAlloc(&b.ptr, bytes ? bytes : 1));
    b.bytes = bytes;
    return Status::ok();
  }
};

/// The descriptors of one call, destroyed with it (cuDNN's descriptors are
/// host objects: destroying them does not wait for the work they describe).
struct Descriptors {
  cudnnRNNDescriptor_t rnn = nullptr;
  cudnnDropoutDescriptor_t dropout = nullptr;
  cudnnRNNDataDescriptor_t x = nullptr, y = nullptr;
  cudnnTensorDescriptor_t h = nullptr, matrix = nullptr, bias = nullptr;
  size_t weightBytes = 0;
  ~Descriptors() {
    if (bias) cudnnDestroyTensorDescriptor(bias);
    if (matrix) cudnnDestroyTensorDescriptor(matrix);
    if (h) cudnnDestroyTensorDescriptor(h);
    if (y) cudnnDestroyRNNDataDescriptor(y);
    if (x) cudnnDestroyRNNDataDescriptor(x);
    if (dropout) cudnnDestroyDropoutDescriptor(dropout);
    if (rnn) cudnnDestroyRNNDescriptor(rnn);
  }
};

CUdeviceptr dev(const void* p) {
  return reinterpret_cast<CUdeviceptr>(p);
}
void* ptr(CUdeviceptr p) {
  return reinterpret_cast<void*>(p);
}

/// Elements described by `desc` (a weight matrix or bias of the weight space).
StatusOr<int64_t> elementsOf(cudnnTensorDescriptor_t desc) {
  cudnnDataType_t type;
  int nb = 0, dims[8], strides[8];
  CAIRN_DNN(cudnnGetTensorNdDescriptor(desc, 8, &type, &nb, dims, strides));
  int64_t n = 1;
  for (int i = 0; i < nb; ++i)
    n *= dims[i];
  return n;
}

Status checkArgs(const RnnArgs& a) {
  if (a.T < 1 || a.B < 1 || a.I < 1 || a.H < 1)
    return errorf("cuDNN RNN: sizes must be positive (T {}, B {}, I {}, H {})", a.T, a.B, a.I, a.H);
  if (a.lengths.size() != static_cast<size_t>(a.B))
    return errorf("cuDNN RNN: {} lengths for a batch of {}", a.lengths.size(), a.B);
  for (int64_t b = 0; b < a.B; ++b)
    if (a.lengths[size_t(b)] < 1 || a.lengths[size_t(b)] > a.T)
      return errorf("cuDNN RNN: length {} of row {} is outside [1, {}]", a.lengths[size_t(b)], b,
                    a.T);
  if (a.lstm && (!a.c0 || !a.cn)) return errorf("cuDNN RNN: an LSTM needs c0 and c_n");
  return Status::ok();
}

/// Steps 1 and 3: the network, the data descriptors and the lengths on the
/// device.
Status describe(Context& c, const RnnArgs& a, Descriptors& d) {
  const int T = int(a.T), B = int(a.B), I = int(a.I), H = int(a.H);
  CAIRN_DNN(cudnnCreateDropoutDescriptor(&d.dropout));
  CAIRN_DNN(cudnnSetDropoutDescriptor(d.dropout, c.handle, 0.0f, nullptr, 0, 0));
  CAIRN_DNN(cudnnCreateRNNDescriptor(&d.rnn));
  CAIRN_DNN(cudnnSetRNNDescriptor_v8(
      d.rnn, CUDNN_RNN_ALGO_STANDARD, a.lstm ? CUDNN_LSTM : CUDNN_GRU, CUDNN_RNN_DOUBLE_BIAS,
      CUDNN_UNIDIRECTIONAL, CUDNN_LINEAR_INPUT, CUDNN_DATA_FLOAT, CUDNN_DATA_FLOAT, CUDNN_FMA_MATH,
      I, H, /*projSize=*/H, /*numLayers=*/1, d.dropout, CUDNN_RNN_PADDED_IO_ENABLED));
  CAIRN_DNN(cudnnGetRNNWeightSpaceSize(c.handle, d.rnn, &d.weightBytes));
  float paddingFill = 0.0f;
  CAIRN_DNN(cudnnCreateRNNDataDescriptor(&d.x));
  CAIRN_DNN(cudnnSetRNNDataDescriptor(d.x, CUDNN_DATA_FLOAT,
                                      CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED, T, B, I,
                                      a.lengths.data(), &paddingFill));
  CAIRN_DNN(cudnnCreateRNNDataDescriptor(&d.y));
  CAIRN_DNN(cudnnSetRNNDataDescriptor(d.y, CUDNN_DATA_FLOAT,
                                      CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED, T, B, H,
                                      a.lengths.data(), &paddingFill));
  const int dims[3] = {1, B, H}, strides[3] = {B * H, H, 1};
  CAIRN_DNN(cudnnCreateTensorDescriptor(&d.h));
  CAIRN_DNN(cudnnSetTensorNdDescriptor(d.h, CUDNN_DATA_FLOAT, 3, dims, strides));
  CAIRN_DNN(cudnnCreateTensorDescriptor(&d.matrix));
  CAIRN_DNN(cudnnCreateTensorDescriptor(&d.bias));
  const size_t lengthBytes = a.lengths.size() * sizeof(int32_t);
  CAIRN_RETURN_IF_ERROR(c.ensure(c.lengths, lengthBytes));
  // Asynchronous from pageable memory: the driver stages it before
  // returning, so `a.lengths` may go away.
  CAIRN_CU(cuMemcpyHtoDAsync(c.lengths.ptr, a.lengths.data(), lengthBytes, c.stream));
  return Status::ok();
}

/// Step 2 for the weights (toSpace) or its inverse for their gradients:
/// every gate's matrix and bias between the op's layout and `space`.
Status moveWeights(Context& c, const Descriptors& d, CUdeviceptr space, const RnnArgs& a,
                   bool toSpace, CUdeviceptr wIh, CUdeviceptr wHh, CUdeviceptr bIh,
                   CUdeviceptr bHh) {
  const int32_t G = a.lstm ? 4 : 3;
  const size_t f = sizeof(float);
  for (int32_t id = 0; id < 2 * G; ++id) {
    const bool recurrent = id >= G;
    const int64_t gate = id % G, cols = recurrent ? a.H : a.I;
    void* mAddr = nullptr;
    void* bAddr = nullptr;
    CAIRN_DNN(cudnnGetRNNWeightParams(c.handle, d.rnn, /*pseudoLayer=*/0, d.weightBytes, ptr(space),
                                      id, d.matrix, &mAddr, d.bias, &bAddr));
    CAIRN_ASSIGN_OR_RETURN(int64_t mElems, elementsOf(d.matrix));
    CAIRN_ASSIGN_OR_RETURN(int64_t bElems, elementsOf(d.bias));
    if (!mAddr || !bAddr || mElems != a.H * cols || bElems != a.H)
      return errorf("cuDNN RNN: linear layer {} has a {}-element matrix and a {}-element bias; "
                    "expected {} and {}",
                    id, mElems, bElems, a.H * cols, a.H);
    const CUdeviceptr w = (recurrent ? wHh : wIh) + gate * a.H * cols * f;
    const CUdeviceptr b = (recurrent ? bHh : bIh) + gate * a.H * f;
    const CUdeviceptr m = dev(mAddr), bias = dev(bAddr);
    CAIRN_CU(cuMemcpyDtoDAsync(toSpace ? m : w, toSpace ? w : m, a.H * cols * f, c.stream));
    CAIRN_CU(cuMemcpyDtoDAsync(toSpace ? bias : b, toSpace ? b : bias, a.H * f, c.stream));
  }
  return Status::ok();
}

/// Steps 1-3 and the forward, inference or training (the reserve space in
/// the context then holds what the backward calls need).
Status forward(Context& c, const RnnArgs& a, Descriptors& d, bool training) {
  CAIRN_RETURN_IF_ERROR(checkArgs(a));
  CAIRN_RETURN_IF_ERROR(describe(c, a, d));
  CAIRN_RETURN_IF_ERROR(c.ensure(c.weights, d.weightBytes));
  CAIRN_RETURN_IF_ERROR(
      moveWeights(c, d, c.weights.ptr, a, true, dev(a.wIh), dev(a.wHh), dev(a.bIh), dev(a.bHh)));
  const cudnnForwardMode_t mode = training ? CUDNN_FWD_MODE_TRAINING : CUDNN_FWD_MODE_INFERENCE;
  size_t workBytes = 0, reserveBytes = 0;
  CAIRN_DNN(cudnnGetRNNTempSpaceSizes(c.handle, d.rnn, mode, d.x, &workBytes, &reserveBytes));
  CAIRN_RETURN_IF_ERROR(c.ensure(c.work, workBytes));
  if (training) CAIRN_RETURN_IF_ERROR(c.ensure(c.reserve, reserveBytes));
  CAIRN_DNN(cudnnRNNForward(c.handle, d.rnn, mode, reinterpret_cast<const int32_t*>(c.lengths.ptr),
                            d.x, a.x, d.y, a.ys, d.h, a.h0, a.hn, d.h, a.lstm ? a.c0 : nullptr,
                            a.lstm ? a.cn : nullptr, d.weightBytes, ptr(c.weights.ptr),
                            c.work.bytes, ptr(c.work.ptr), training ? c.reserve.bytes : 0,
                            training ? ptr(c.reserve.ptr) : nullptr));
  return Status::ok();
}

Status backward(Context& c, const RnnBackwardArgs& g) {
  const RnnArgs& a = g.forward;
  Descriptors d;
  CAIRN_RETURN_IF_ERROR(forward(c, a, d, /*training=*/true));
  const int32_t* lengths = reinterpret_cast<const int32_t*>(c.lengths.ptr);
  CAIRN_DNN(cudnnRNNBackwardData_v8(
      c.handle, d.rnn, lengths, d.y, a.ys, g.dys, d.x, g.dx, d.h, a.h0, g.dhn, g.dh0, d.h,
      a.lstm ? a.c0 : nullptr, a.lstm ? g.dcn : nullptr, a.lstm ? g.dc0 : nullptr, d.weightBytes,
      ptr(c.weights.ptr), c.work.bytes, ptr(c.work.ptr), c.reserve.bytes, ptr(c.reserve.ptr)));
  CAIRN_RETURN_IF_ERROR(c.ensure(c.dweights, d.weightBytes));
  CAIRN_CU(cuMemsetD8Async(c.dweights.ptr, 0, d.weightBytes, c.stream)); // the call adds
  CAIRN_DNN(cudnnRNNBackwardWeights_v8(
      c.handle, d.rnn, CUDNN_WGRAD_MODE_ADD, lengths, d.x, a.x, d.h, a.h0, d.y, a.ys, d.weightBytes,
      ptr(c.dweights.ptr), c.work.bytes, ptr(c.work.ptr), c.reserve.bytes, ptr(c.reserve.ptr)));
  return moveWeights(c, d, c.dweights.ptr, a, false, dev(g.dwIh), dev(g.dwHh), dev(g.dbIh),
                     dev(g.dbHh));
}

int report(const Status& s, char* error, size_t errorSize) {
  if (s.isOk()) return 0;
  if (error && errorSize) std::snprintf(error, errorSize, "%s", s.message().c_str());
  return 1;
}

StatusOr<Context*> open(CUstream stream) {
  auto c = std::make_unique<Context>();
  c->stream = stream;
  CAIRN_DNN(cudnnCreate(&c->handle));
  // CUstream and cudaStream_t are the same handle type (CUstream_st*).
  CAIRN_DNN(cudnnSetStream(c->handle, reinterpret_cast<cudaStream_t>(stream)));
  return c.release();
}

} // namespace
} // namespace cairn::device::cudnn

using namespace cairn::device::cudnn;

extern "C" void* cairn_cudnn_rnn_open(CUstream stream, char* error, size_t errorSize) {
  cairn::StatusOr<Context*> c = open(stream);
  if (!c.isOk()) {
    report(c.status(), error, errorSize);
    return nullptr;
  }
  return *c;
}

extern "C" void cairn_cudnn_rnn_close(void* context) {
  delete static_cast<Context*>(context);
}

extern "C" int cairn_cudnn_rnn_forward(void* context, const cairn::device::RnnArgs* args,
                                       char* error, size_t errorSize) {
  Descriptors d;
  return report(forward(*static_cast<Context*>(context), *args, d, false), error, errorSize);
}

extern "C" int cairn_cudnn_rnn_backward(void* context, const cairn::device::RnnBackwardArgs* args,
                                        char* error, size_t errorSize) {
  return report(backward(*static_cast<Context*>(context), *args), error, errorSize);
}
