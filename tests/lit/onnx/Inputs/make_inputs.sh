#!/usr/bin/env bash
# Regenerates the .onnx inputs of these lit tests from their text protos
# (protoc from protobuf-compiler; the checked-in .onnx files are the result,
# so the tests themselves need no protoc).
set -euo pipefail
cd "$(dirname "$0")"
for f in *.txtpb; do
  grep -v '^#' "$f" | protoc --encode=onnx.ModelProto -I/usr/include onnx/onnx.proto > "${f%.txtpb}.onnx"
done
head -c 60 symbolic_matmul.onnx > truncated.onnx
printf 'this is not a protobuf\xff\xff\xff' > garbage.onnx
