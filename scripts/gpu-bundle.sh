#!/usr/bin/env bash
# Packs what scripts/gpu-check.sh needs on a GPU machine that has CUDA 13,
# PyTorch and JAX but no LLVM, no Debian packages and no package registry
# (docs/gpu.md, "The check on a GPU"): the test, fuzz and benchmark binaries
# (stripped), the real device layer, every shared library they load that a
# bare machine may lack (LLVM 19, OpenBLAS, fmt, protobuf, ...: all but
# glibc, libstdc++ and the driver's and CUDA's own), and the data. Written to
# .gpu/cairn-gpu.tar.xz (ignored by git; the device tool carries `.gpu`).
#
#   scripts/gpu-bundle.sh            # builds what is missing, packs, prints the size
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
data="${CAIRN_DATA_DIR:-$root/../shared/data}"
out="$root/.gpu"
stage="$out/stage"

"$root/scripts/build.sh" cairn_unit_tests cairn-fuzz-diff cairn-peer-bench
device_lib="$build/lib/libcairn_cuda_device.so"
[ -f "$device_lib" ] || { echo "gpu-bundle: $device_lib was not built (no CUDA toolkit?)" >&2; exit 1; }

rm -rf "$stage"
mkdir -p "$stage/bin" "$stage/lib" "$stage/data"
bins=("$build/tests/cairn_unit_tests" "$build/bin/cairn-fuzz-diff" "$build/bin/cairn-peer-bench")
for b in "${bins[@]}"; do strip -o "$stage/bin/$(basename "$b")" "$b"; done
strip -o "$stage/lib/libcairn_cuda_device.so" "$device_lib"
# cuDNN's RNN calls (runtime/device/cuda/CudnnRnn.h): found next to the
# device layer, so rnn ops run through cuDNN there.
cudnn_lib="$build/lib/libcairn_cudnn_rnn.so"
[ -f "$cudnn_lib" ] && strip -o "$stage/lib/libcairn_cudnn_rnn.so" "$cudnn_lib"

# Shared libraries: everything ldd resolves except the C runtime, the C++
# runtime (a CUDA 13 machine's are at least as new as Debian 12's) and the
# GPU's own (the driver, cuBLAS, cuDNN come from the GPU machine).
skip='^(linux-vdso|ld-linux|libc\.so|libm\.so|libdl\.so|librt\.so|libpthread\.so|libstdc\+\+|libgcc_s|libcuda\.so|libcublas|libcublasLt|libcudnn|libcudart|libnvrtc)'
for f in "${bins[@]}" "$device_lib"; do
  ldd "$f" | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}'
done | sort -u | while read -r name path; do
  if [[ "$name" =~ $skip ]]; then continue; fi
  cp -L "$path" "$stage/lib/$name"
  strip --strip-unneeded "$stage/lib/$name" 2>/dev/null || true
done
# OpenBLAS is dlopen'ed (runtime/exec/Blas.cpp), so ldd does not list it.
blas="$(sed -n 's/^CAIRN_OPENBLAS:[A-Z]*=//p' "$build/CMakeCache.txt")"
if [ -n "$blas" ] && [ -f "$blas" ]; then
  cp -L "$blas" "$stage/lib/$(basename "$blas")"
  ldd "$blas" | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' | while read -r name path; do
    [[ "$name" =~ $skip ]] || cp -L "$path" "$stage/lib/$name"
  done
fi

# The dev sets the golden cases and the timings read (the rest stays home).
if [ -d "$data" ]; then
  for f in snli/snli_1.0_dev.jsonl.gz sst/dev.txt glove README.md; do
    mkdir -p "$(dirname "$stage/data/$f")"
    cp -r "$data/$f" "$stage/data/$f"
  done
else
  echo "gpu-bundle: no data at $data: the golden cases and timings will be skipped there" >&2
fi
git -C "$root" rev-parse HEAD > "$stage/COMMIT"
echo "$root" > "$stage/SOURCE_DIR" # the tests read tests/golden and Inputs from there

tar -C "$stage" -cf - . | xz -T2 -6 > "$out/cairn-gpu.tar.xz"
rm -rf "$stage"
size=$(stat -c %s "$out/cairn-gpu.tar.xz")
tree=$(git -C "$root" ls-files -z | xargs -0 stat -c %s 2>/dev/null | awk '{s += $1} END {print s}')
echo "gpu-bundle: .gpu/cairn-gpu.tar.xz $((size / 1048576)) MiB (+ the source tree $((tree / 1048576)) MiB; the device tool carries 64 MiB)"
