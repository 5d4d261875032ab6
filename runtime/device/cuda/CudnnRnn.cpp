// cuDNN's RNN forward for one `rnn` op (see CudnnRnn.h; unused, never run).
//
// The steps, after cuDNN 9's documentation of the v8 RNN API:
//  1. an RNN descriptor: standard algorithm, CUDNN_LSTM or CUDNN_GRU (its
//     formula is the op's and PyTorch's), two biases, one direction, one
//     layer, f32 data and math restricted to FMA (no TF32: the op's f32 is
//     f32), padded I/O enabled for the unpacked sequence-major layout;
//  2. the weights packed into cuDNN's weight space: for each gate, the
//     address cudnnGetRNNWeightParams gives for linear layer id k (input
//     matrices and biases: k = gate; recurrent: k = G + gate; gate orders
//     i, f, g, o and r, z, n are cuDNN's ids 0..G-1) receives rows
//     [gate*H, (gate+1)*H) of w_ih / w_hh and the matching slice of b_ih /
//     b_hh, checked against the descriptor's sizes;
//  3. x and y as RNN data descriptors (SEQ_MAJOR_UNPACKED, per-row lengths,
//     padding fill 0), h and c as [1, B, H] tensors; the lengths also on
//     the device (cudnnRNNForward reads devSeqLengths there);
//  4. cudnnRNNForward with a workspace (and a reserve space when training).
#include "runtime/device/cuda/CudnnRnn.h"

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

/// Everything one call creates, released in the destructor (after the
/// stream has been synchronized, or on an error path).
struct Resources {
  cudnnHandle_t handle = nullptr;
  cudnnRNNDescriptor_t rnn = nullptr;
  cudnnDropoutDescriptor_t dropout = nullptr;
  cudnnRNNDataDescriptor_t xDesc = nullptr, yDesc = nullptr;
  cudnnTensorDescriptor_t hDesc = nullptr, mDesc = nullptr, bDesc = nullptr;
  std::vector<CUdeviceptr> memory;
  ~Resources() {
    for (CUdeviceptr p : memory)
      cuMemFree(p);
    if (bDesc) cudnnDestroyTensorDescriptor(bDesc);
    if (mDesc) cudnnDestroyTensorDescriptor(mDesc);
    if (hDesc) cudnnDestroyTensorDescriptor(hDesc);
    if (yDesc) cudnnDestroyRNNDataDescriptor(yDesc);
    if (xDesc) cudnnDestroyRNNDataDescriptor(xDesc);
    if (dropout) cudnnDestroyDropoutDescriptor(dropout);
    if (rnn) cudnnDestroyRNNDescriptor(rnn);
    if (handle) cudnnDestroy(handle);
  }
  Status alloc(size_t bytes, CUdeviceptr* out) {
    CAIRN_CU(cuMemAlloc(out, bytes ? bytes : 1));
    memory.push_back(*out);
    return Status::ok();
  }
};

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

Status checkArgs(const RnnForwardArgs& a) {
  if (a.T < 1 || a.B < 1 || a.I < 1 || a.H < 1)
    return errorf("cuDNN RNN: sizes must be positive (T {}, B {}, I {}, H {})", a.T, a.B, a.I, a.H);
  if (a.lengths.size() != static_cast<size_t>(a.B))
    return errorf("cuDNN RNN: {} lengths for a batch of {}", a.lengths.size(), a.B);
  for (int32_t b = 0; b < a.B; ++b)
    if (a.lengths[b] < 1 || a.lengths[b] > a.T)
      return errorf("cuDNN RNN: length {} of row {} is outside [1, {}]", a.lengths[b], b, a.T);
  if (a.lstm && (!a.c0 || !a.cn)) return errorf("cuDNN RNN: an LSTM needs c0 and c_n");
  return Status::ok();
}

} // namespace

Status cudnnRnnForwardUnused(CUstream stream, const RnnForwardArgs& a, RnnReserve* reserve) {
  CAIRN_RETURN_IF_ERROR(checkArgs(a));
  const int32_t G = a.lstm ? 4 : 3;
  Resources r;
  CAIRN_DNN(cudnnCreate(&r.handle));
  // CUstream and cudaStream_t are the same handle type (CUstream_st*).
  CAIRN_DNN(cudnnSetStream(r.handle, reinterpret_cast<cudaStream_t>(stream)));

  // 1. The network: one layer, one direction, no dropout (dropout 0 needs
  // no random states).
  CAIRN_DNN(cudnnCreateDropoutDescriptor(&r.dropout));
  CAIRN_DNN(cudnnSetDropoutDescriptor(r.dropout, r.handle, 0.0f, nullptr, 0, 0));
  CAIRN_DNN(cudnnCreateRNNDescriptor(&r.rnn));
  CAIRN_DNN(cudnnSetRNNDescriptor_v8(
      r.rnn, CUDNN_RNN_ALGO_STANDARD, a.lstm ? CUDNN_LSTM : CUDNN_GRU, CUDNN_RNN_DOUBLE_BIAS,
      CUDNN_UNIDIRECTIONAL, CUDNN_LINEAR_INPUT, CUDNN_DATA_FLOAT, CUDNN_DATA_FLOAT, CUDNN_FMA_MATH,
      a.I, a.H, /*projSize=*/a.H, /*numLayers=*/1, r.dropout, CUDNN_RNN_PADDED_IO_ENABLED));

  // 2. The weight space, filled gate by gate.
  size_t weightBytes = 0;
  CAIRN_DNN(cudnnGetRNNWeightSpaceSize(r.handle, r.rnn, &weightBytes));
  CUdeviceptr weights = 0;
  CAIRN_RETURN_IF_ERROR(r.alloc(weightBytes, &weights));
  CAIRN_DNN(cudnnCreateTensorDescriptor(&r.mDesc));
  CAIRN_DNN(cudnnCreateTensorDescriptor(&r.bDesc));
  for (int32_t id = 0; id < 2 * G; ++id) {
    const bool recurrent = id >= G;
    const int64_t gate = id % G, cols = recurrent ? a.H : a.I;
    void* mAddr = nullptr;
    void* bAddr = nullptr;
    CAIRN_DNN(cudnnGetRNNWeightParams(r.handle, r.rnn, /*pseudoLayer=*/0, weightBytes,
                                      reinterpret_cast<void*>(weights), id, r.mDesc, &mAddr,
                                      r.bDesc, &bAddr));
    CAIRN_ASSIGN_OR_RETURN(int64_t mElems, elementsOf(r.mDesc));
    CAIRN_ASSIGN_OR_RETURN(int64_t bElems, elementsOf(r.bDesc));
    if (!mAddr || !bAddr || mElems != a.H * cols || bElems != a.H)
      return errorf("cuDNN RNN: linear layer {} has a {}-element matrix and a {}-element bias; "
                    "expected {} and {}",
                    id, mElems, bElems, a.H * cols, a.H);
    const CUdeviceptr w = recurrent ? a.wHh : a.wIh, b = recurrent ? a.bHh : a.bIh;
    const size_t f = sizeof(float);
    CAIRN_CU(cuMemcpyDtoDAsync(reinterpret_cast<CUdeviceptr>(mAddr), w + gate * a.H * cols * f,
                               a.H * cols * f, stream));
    CAIRN_CU(cuMemcpyDtoDAsync(reinterpret_cast<CUdeviceptr>(bAddr), b + gate * a.H * f, a.H * f,
                               stream));
  }

  // 3. The data: padded sequence-major with per-row lengths, padding 0.
  float paddingFill = 0.0f;
  CAIRN_DNN(cudnnCreateRNNDataDescriptor(&r.xDesc));
  CAIRN_DNN(cudnnSetRNNDataDescriptor(r.xDesc, CUDNN_DATA_FLOAT,
                                      CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED, a.T, a.B, a.I,
                                      a.lengths.data(), &paddingFill));
  CAIRN_DNN(cudnnCreateRNNDataDescriptor(&r.yDesc));
  CAIRN_DNN(cudnnSetRNNDataDescriptor(r.yDesc, CUDNN_DATA_FLOAT,
                                      CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED, a.T, a.B, a.H,
                                      a.lengths.data(), &paddingFill));
  const int dims[3] = {1, a.B, a.H}, strides[3] = {a.B * a.H, a.H, 1};
  CAIRN_DNN(cudnnCreateTensorDescriptor(&r.hDesc));
  CAIRN_DNN(cudnnSetTensorNdDescriptor(r.hDesc, CUDNN_DATA_FLOAT, 3, dims, strides));
  CUdeviceptr devLengths = 0;
  CAIRN_RETURN_IF_ERROR(r.alloc(a.lengths.size() * sizeof(int32_t), &devLengths));
  CAIRN_CU(
      cuMemcpyHtoDAsync(devLengths, a.lengths.data(), a.lengths.size() * sizeof(int32_t), stream));

  // 4. The forward.
  const cudnnForwardMode_t mode = a.training ? CUDNN_FWD_MODE_TRAINING : CUDNN_FWD_MODE_INFERENCE;
  size_t workBytes = 0, reserveBytes = 0;
  CAIRN_DNN(cudnnGetRNNTempSpaceSizes(r.handle, r.rnn, mode, r.xDesc, &workBytes, &reserveBytes));
  CUdeviceptr work = 0;
  CAIRN_RETURN_IF_ERROR(r.alloc(workBytes, &work));
  RnnReserve kept;
  if (a.training) {
    CAIRN_CU(cuMemAlloc(&kept.ptr, reserveBytes ? reserveBytes : 1));
    kept.bytes = reserveBytes;
  }
  auto ptr = [](CUdeviceptr p) { return reinterpret_cast<void*>(p); };
  cudnnStatus_t ran = cudnnRNNForward(
      r.handle, r.rnn, mode, reinterpret_cast<const int32_t*>(devLengths), r.xDesc, ptr(a.x),
      r.yDesc, ptr(a.ys), r.hDesc, ptr(a.h0), ptr(a.hn), r.hDesc, a.lstm ? ptr(a.c0) : nullptr,
      a.lstm ? ptr(a.cn) : nullptr, weightBytes, ptr(weights), workBytes, ptr(work),
      a.training ? kept.bytes : 0, a.training ? ptr(kept.ptr) : nullptr);
  CUresult synced = cuStreamSynchronize(stream); // before `r` frees the workspace
  if (ran != CUDNN_STATUS_SUCCESS || synced != CUDA_SUCCESS) {
    if (kept.ptr) cuMemFree(kept.ptr);
    if (ran != CUDNN_STATUS_SUCCESS) return errorf("cudnnRNNForward: {}", cudnnGetErrorString(ran));
    CAIRN_CU(synced);
  }
  if (reserve)
    *reserve = kept;
  else if (kept.ptr)
    cuMemFree(kept.ptr);
  return Status::ok();
}

} // namespace cairn::device::cudnn
