/* An ahead-of-time compiled model used from C: no LLVM, no JIT, no C++ in
 * sight. CMake runs
 *   cairn-compile classifier.cairn -o classifier.o --header classifier.h
 *   cairn-compile ../elman_rnn.cairn -o elman.o --header elman.h
 * and links this file with the two objects and the runtime library.
 *
 *   aot_example OUT_DIR [BATCH] [STEPS]
 *
 * runs the classifier on BATCH rows (default 4) and the Elman RNN over STEPS
 * steps (default 5) on deterministic inputs, prints the results, and saves
 * every input and output as OUT_DIR/<model>_{in,out}<i>.npy so that a test
 * can run the same inputs through the JIT and compare
 * (tests/unit/AotExampleTest.cpp). It also shows what a caller sees when an
 * input has the wrong shape. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classifier.h"
#include "elman.h"

/* Deterministic inputs: a small linear congruential generator in [-1, 1). */
static uint32_t state = 12345u;
static float next_value(void) {
  state = state * 1664525u + 1013904223u;
  return (float)((state >> 8) & 0xffffff) / 8388608.0f - 1.0f;
}

/* A float tensor of the given dims filled with next_value(); free with free_tensor. */
static cairn_tensor make_tensor(int32_t rank, const int64_t* dims) {
  int64_t n = 1;
  int64_t* d = malloc(sizeof(int64_t) * (rank ? rank : 1));
  for (int32_t i = 0; i < rank; ++i) {
    d[i] = dims[i];
    n *= dims[i];
  }
  float* data = malloc(sizeof(float) * (n ? n : 1));
  for (int64_t i = 0; i < n; ++i) data[i] = next_value();
  cairn_tensor t = {CAIRN_F32, rank, d, data};
  return t;
}

static void free_tensor(cairn_tensor* t) {
  free((void*)t->dims);
  free(t->data);
}

/* Prints the error and exits when `s` is one. */
static void check(cairn_status* s, const char* what) {
  if (!s) return;
  fprintf(stderr, "aot_example: %s: %s\n", what, cairn_status_message(s));
  cairn_status_free(s);
  exit(1);
}

static void save(const char* dir, const char* model, const char* kind, int i, const cairn_tensor* t) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s_%s%d.npy", dir, model, kind, i);
  check(cairn_tensor_save_npy(path, t), path);
}

static void print_floats(const char* name, const cairn_tensor* t) {
  int64_t n = 1;
  for (int32_t i = 0; i < t->rank; ++i) n *= t->dims[i];
  printf("%s:", name);
  for (int64_t i = 0; i < n && i < 12; ++i) printf(" %.6f", ((const float*)t->data)[i]);
  printf("%s\n", n > 12 ? " ..." : "");
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: aot_example OUT_DIR [BATCH] [STEPS]\n");
    return 2;
  }
  const char* dir = argv[1];
  int64_t batch = argc > 2 ? atoll(argv[2]) : 4;
  int64_t steps = argc > 3 ? atoll(argv[3]) : 5;

  cairn_model* classifier = NULL;
  cairn_model* elman = NULL;
  check(classifier_load(&classifier), "loading the classifier");
  check(elman_load(&elman), "loading the Elman RNN");
  cairn_context* ctx = cairn_context_new();

  /* The classifier: probabilities and argmax over a dynamic batch. */
  int64_t xd[] = {batch, 8}, w1d[] = {8, 16}, b1d[] = {16}, w2d[] = {16, 3}, b2d[] = {3};
  cairn_tensor cin[5] = {make_tensor(2, xd), make_tensor(2, w1d), make_tensor(1, b1d),
                         make_tensor(2, w2d), make_tensor(1, b2d)};
  cairn_tensor probs, classes;
  check(classifier_classify(classifier, ctx, &cin[0], &cin[1], &cin[2], &cin[3], &cin[4], &probs,
                            &classes),
        "classify");
  print_floats("probabilities", &probs);
  printf("classes:");
  for (int64_t i = 0; i < classes.dims[0]; ++i) printf(" %lld", (long long)((int64_t*)classes.data)[i]);
  printf("\n");
  for (int i = 0; i < 5; ++i) save(dir, "classify", "in", i, &cin[i]);
  save(dir, "classify", "out", 0, &probs);
  save(dir, "classify", "out", 1, &classes);

  /* A wrong input shape is an error naming the problem, never a crash. */
  int64_t bad[] = {batch, 7};
  cairn_tensor wrong = make_tensor(2, bad);
  cairn_status* s = classifier_classify(classifier, ctx, &wrong, &cin[1], &cin[2], &cin[3], &cin[4],
                                        &probs, &classes);
  if (!s || cairn_status_code(s) != CAIRN_INVALID_ARGUMENT) {
    fprintf(stderr, "aot_example: a wrong input shape was not reported\n");
    return 1;
  }
  printf("wrong shape -> %s\n", cairn_status_message(s));
  cairn_status_free(s);
  free_tensor(&wrong);

  /* The Elman RNN: a while loop over a dynamic number of steps. */
  int64_t xsd[] = {steps, 2, 3}, h0d[] = {2, 4}, wxd[] = {3, 4}, whd[] = {4, 4}, bd[] = {4};
  cairn_tensor ein[5] = {make_tensor(3, xsd), make_tensor(2, h0d), make_tensor(2, wxd),
                         make_tensor(2, whd), make_tensor(1, bd)};
  cairn_tensor h;
  check(elman_elman_rnn(elman, ctx, &ein[0], &ein[1], &ein[2], &ein[3], &ein[4], &h), "elman_rnn");
  print_floats("final state", &h);
  for (int i = 0; i < 5; ++i) save(dir, "elman", "in", i, &ein[i]);
  save(dir, "elman", "out", 0, &h);

  for (int i = 0; i < 5; ++i) {
    free_tensor(&cin[i]);
    free_tensor(&ein[i]);
  }
  cairn_context_free(ctx);
  cairn_model_free(classifier);
  cairn_model_free(elman);
  return 0;
}
