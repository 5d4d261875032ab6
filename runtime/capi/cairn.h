/* The Cairn runtime's C API: load a model compiled ahead of time by
 * cairn-compile, and run its functions from any number of threads.
 *
 *   #include "model.h"                  // written by cairn-compile --header
 *   cairn_model* m = NULL;
 *   cairn_status* s = model_load(&m);   // cairn_model_load_aot(&model_aot, &m)
 *   cairn_context* ctx = cairn_context_new();
 *   cairn_tensor x = {CAIRN_F32, 2, dims, data}, y;
 *   s = model_f(m, ctx, &x, &y);        // cairn_run(m, ctx, "f", &x, 1, &y, 1)
 *   if (s) { fprintf(stderr, "%s\n", cairn_status_message(s)); cairn_status_free(s); }
 *
 * Every call that can fail returns a cairn_status*: NULL on success, else an
 * error the caller frees with cairn_status_free. Bad input (a wrong dtype,
 * rank or shape, an index out of range, a loop past its bound, a corrupt or
 * mismatched model, a size past int64) is an error naming the problem, never
 * a crash. No C++ exception crosses this API: allocation failure is
 * CAIRN_RESOURCE_EXHAUSTED. (Should allocating the status itself fail, the
 * call returns cairn_out_of_memory_status(), a static status that
 * cairn_status_free ignores.)
 *
 * Bounding a run (cairn_run_with_options): a timeout, a cancellation token
 * another thread may trigger, a cap on the bytes the run's values hold and
 * a bound on loop trips. Timeouts and cancellation are checked between
 * instructions and at every loop iteration, so a run stops within one
 * instruction of them, and the context stays usable.
 *
 * Ownership: inputs are read during the call (copied in). Results are owned by the
 * context and stay valid until its next run or until it is freed; copy them
 * to keep them.
 *
 * Thread-safety: a cairn_model is immutable once loaded; any number of
 * threads may run it at once, each with its own cairn_context. A context
 * serves one run at a time: a call on a context that is already running
 * returns CAIRN_BUSY (and leaves the running call alone).
 *
 * Linking: the runtime library (cairn_capi and what it depends on: the
 * executor, the reference kernels, OpenBLAS) and the model's object file.
 * No LLVM. A model compiled for CUDA (cairn-compile --target cuda) needs no
 * more at link time: the CUDA device layer (libcairn_cuda_device.so, the
 * driver and cuBLAS) is loaded when the model is (cairn_model_device). */
#ifndef CAIRN_CAPI_CAIRN_H
#define CAIRN_CAPI_CAIRN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cairn_code {
  CAIRN_OK = 0,
  CAIRN_INVALID_ARGUMENT = 1, /* inputs that do not match the function */
  CAIRN_NOT_FOUND = 2,        /* no function of that name */
  CAIRN_CORRUPT_MODEL = 3,    /* a model object that does not load */
  CAIRN_UNSUPPORTED_HOST = 4, /* the object needs CPU features this host lacks */
  CAIRN_RUNTIME_ERROR = 5,    /* the program failed (index out of range, loop bound, ...) */
  CAIRN_RESOURCE_EXHAUSTED = 6, /* a size past int64 or the memory cap; allocation failed */
  CAIRN_DEADLINE_EXCEEDED = 7,  /* the run's timeout passed */
  CAIRN_CANCELLED = 8,          /* the run's cancellation token was triggered */
  CAIRN_BUSY = 9                /* the context is running another call (one run at a time) */
} cairn_code;

typedef struct cairn_status cairn_status;
cairn_code cairn_status_code(const cairn_status* s);
const char* cairn_status_message(const cairn_status* s);
void cairn_status_free(cairn_status* s);
cairn_status* cairn_out_of_memory_status(void);

typedef enum cairn_dtype {
  CAIRN_F32 = 0,
  CAIRN_F64 = 1,
  CAIRN_I32 = 2,
  CAIRN_I64 = 3,
  CAIRN_I1 = 4 /* one byte per element, 0 or 1 */
} cairn_dtype;

/* A dense row-major tensor. `dims` has `rank` entries. */
typedef struct cairn_tensor {
  cairn_dtype dtype;
  int32_t rank;
  const int64_t* dims;
  void* data;
} cairn_tensor;

/* What cairn-compile puts in the object file (one per model, named
 * <prefix>_aot): the module, its lowered programs in a versioned binary form
 * (instructions, buffer plan, constants: the runtime runs them as they are,
 * without the compiler), the kernels' code and their fingerprints. */
typedef void (*cairn_kernel_fn)(void* const* buffers, int64_t begin, int64_t end);

/* A model compiled for CUDA (cairn-compile --target cuda) also carries its
 * device code. Per GPU architecture, one module of the model's kernels
 * (entries cairn_kernel_<k>) and one of the fixed row kernels (gathers,
 * scatters, slices, reductions), each as PTX and, where ptxas was found at
 * compile time, as a cubin. The host entries of the same kernels run them on
 * the emulated device (CAIRN_DEVICE=emulated: tests, machines without a
 * GPU); they take cuLaunchKernel's argument array. */
typedef void (*cairn_emulated_kernel_fn)(void** params, uint32_t grid, uint32_t block);
typedef struct cairn_aot_device_code {
  const char* arch; /* "sm_80", "sm_90" */
  const char* ptx;
  uint64_t ptx_size;
  const void* cubin; /* NULL where ptxas was not available */
  uint64_t cubin_size;
} cairn_aot_device_code;
typedef struct cairn_aot_device {
  uint64_t num_archs;
  const cairn_aot_device_code* kernels;     /* num_archs modules of the model's kernels */
  const cairn_aot_device_code* row_kernels; /* num_archs modules of the row kernels */
  const cairn_emulated_kernel_fn* emulated_kernels;     /* num_kernels host entries */
  uint64_t num_row_kernels;                             /* the compiler's row kernel set */
  const cairn_emulated_kernel_fn* emulated_row_kernels; /* num_row_kernels host entries */
  uint64_t num_op_kernels;
  const int64_t* op_kernels; /* pairs: an op's position (ProgramFormat.h), its kernel */
} cairn_aot_device;

#define CAIRN_AOT_ABI_VERSION 3
typedef struct cairn_aot_model {
  uint64_t abi_version;
  const char* module_text; /* the optimized module, Cairn IR text */
  uint64_t module_size;
  uint64_t num_kernels;
  const cairn_kernel_fn* kernels;
  const uint64_t* kernel_fingerprints; /* one per kernel (for tools; not needed to load) */
  const char* target_cpu;              /* the CPU the kernels were compiled for */
  const char* target_features;         /* every feature of that CPU: "+avx2,+fma,..." */
  const char* program_data;            /* the programs (runtime/exec/ProgramFormat.h) */
  uint64_t program_size;
  /* NULL: the kernels are CPU code (`kernels`). Else the model runs on a
   * CUDA device, `kernels` is NULL and num_kernels counts device kernels. */
  const cairn_aot_device* device;
} cairn_aot_model;

typedef struct cairn_model cairn_model;
typedef struct cairn_context cairn_context;

/* A function's argument or result as the model declares it: dims of -1 are
 * dynamic (any size at run time). Owned by the model. */
typedef struct cairn_value_info {
  cairn_dtype dtype;
  int32_t rank;
  const int64_t* dims;
} cairn_value_info;

/* Loads an ahead-of-time compiled model: checks the ABI version and the
 * host's CPU features, reads and verifies the module, and reads and checks
 * the programs (no compiler, no lowering: any corruption or mismatch is
 * CAIRN_CORRUPT_MODEL naming what is wrong). */
cairn_status* cairn_model_load_aot(const cairn_aot_model* aot, cairn_model** out);
/* Loads a model from a shared object written by `cairn-compile --shared`
 * (it exports the descriptor as CAIRN_MODEL_ENTRY_SYMBOL): dlopen'ed with
 * RTLD_LOCAL, so any number of models load side by side, and closed by
 * cairn_model_free. A file that is not such an object is
 * CAIRN_CORRUPT_MODEL. */
#define CAIRN_MODEL_ENTRY_SYMBOL "cairn_model_entry"
cairn_status* cairn_model_load_file(const char* path, cairn_model** out);
/* The same from the shared object's bytes in memory (e.g. fetched from a
 * model store): written to an anonymous memory file (memfd) and loaded from
 * there; Linux only (CAIRN_UNSUPPORTED_HOST elsewhere). */
cairn_status* cairn_model_load_memory(const void* data, size_t size, cairn_model** out);
void cairn_model_free(cairn_model* m);
/* Where the model runs: "cpu", or for a model compiled for CUDA the device
 * it was loaded on (the GPU's name, or "emulated"). Such a model loads on
 * the first GPU; CAIRN_DEVICE=emulated puts it on the emulated device (the
 * host runs its kernels: tests, machines without a GPU), CAIRN_DEVICE=auto
 * on the GPU if there is one, else the emulated device. With no GPU and
 * neither setting its load is CAIRN_UNSUPPORTED_HOST saying why. Runs of
 * one such model from several threads take turns on the device. A context
 * keeps the device state (uploaded constants, recorded loops) of the last
 * such model it ran: alternating two models on one context starts each
 * afresh; give each its own context to keep both warm. */
const char* cairn_model_device(const cairn_model* m);
/* The number of functions, and the name of function i (owned by the model). */
size_t cairn_model_num_functions(const cairn_model* m);
const char* cairn_model_function_name(const cairn_model* m, size_t i);

/* The signature of function `name`: its arguments and results, so a host
 * can validate requests before running. Arrays owned by the model. A
 * function whose types have no C dtype (f16, bf16) is CAIRN_INVALID_ARGUMENT. */
cairn_status* cairn_model_function_signature(const cairn_model* m, const char* name,
                                             size_t* num_args, const cairn_value_info** args,
                                             size_t* num_results,
                                             const cairn_value_info** results);

/* The name argument `i` of function `name` has in the model's IR
 * ("embed.weight"; "" for an unnamed one), owned by the model; NULL for no
 * such function or argument. A server binds weights to arguments by it. */
const char* cairn_model_function_arg_name(const cairn_model* m, const char* name, size_t i);

/* NULL only when memory is exhausted. */
cairn_context* cairn_context_new(void);
void cairn_context_free(cairn_context* ctx);

/* A cancellation token: cairn_cancel (from any thread) makes every run
 * given this token stop with CAIRN_CANCELLED at its next check; the token
 * stays triggered. Free it only after the runs using it have returned. */
typedef struct cairn_cancel_token cairn_cancel_token;
cairn_cancel_token* cairn_cancel_token_new(void);
void cairn_cancel(cairn_cancel_token* token);
void cairn_cancel_token_free(cairn_cancel_token* token);

/* Limits of one run. Zero-initialize, then set what you need; every zero
 * field means "no limit" (or the default). `struct_size` is
 * sizeof(cairn_run_options) as the caller was compiled: a struct from an
 * earlier header (at least through max_loop_trips, 40 bytes) is read up to
 * its size, the later fields as zero. */
typedef struct cairn_run_options {
  uint64_t struct_size;
  int64_t timeout_ns;                /* from the call's start; 0: none */
  const cairn_cancel_token* cancel;  /* NULL: not cancellable */
  int64_t max_bytes;                 /* bytes the run's values may hold at once; 0: no cap */
  int64_t max_loop_trips;            /* bound on a while without max_trip; 0: none */
  /* Nonzero: the run uses the calling thread only (OpenBLAS's threads stay
   * the process's, cairn_set_blas_threads). By default a model's two
   * independent loops (a bidirectional RNN's directions) run on two threads
   * when the caller may use two CPUs: the second on the context's own side
   * thread, which polls up to 200 us for the next pair before it sleeps;
   * and oneDNN's products, and elementwise kernels, gathers and argmaxes of
   * more than ~16,000 elements, use the threads cairn_set_blas_threads
   * gives products (OpenMP's, all CPUs unless set). */
  int32_t one_thread;
} cairn_run_options;

/* Runs function `name` on `inputs`; fills `outputs` (num_outputs must be the
 * function's result count) with tensors owned by `ctx`. */
cairn_status* cairn_run(const cairn_model* m, cairn_context* ctx, const char* name,
                        const cairn_tensor* inputs, size_t num_inputs, cairn_tensor* outputs,
                        size_t num_outputs);
/* The same within limits (options may be NULL: none). */
cairn_status* cairn_run_with_options(const cairn_model* m, cairn_context* ctx, const char* name,
                                     const cairn_tensor* inputs, size_t num_inputs,
                                     cairn_tensor* outputs, size_t num_outputs,
                                     const cairn_run_options* options);

/* The threads each BLAS call may use, and the large elementwise kernels,
 * gathers and argmaxes split over. Process-wide and the embedder's choice:
 * a run never changes it (set it at startup, not while runs are in flight;
 * OPENBLAS_NUM_THREADS gives the initial value). n < 1 is ignored. */
int cairn_blas_threads(void);
void cairn_set_blas_threads(int n);

/* .npy files (the format numpy.save writes; little-endian, C order), for
 * exchanging tensors with Python and with cairn-run. A loaded tensor is
 * owned by the caller: free it with cairn_tensor_free. */
cairn_status* cairn_tensor_load_npy(const char* path, cairn_tensor* out);
cairn_status* cairn_tensor_save_npy(const char* path, const cairn_tensor* t);
void cairn_tensor_free(cairn_tensor* t);

#ifdef __cplusplus
}
#endif

#endif /* CAIRN_CAPI_CAIRN_H */
