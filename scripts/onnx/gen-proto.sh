#!/bin/sh
# Regenerate the static protobuf code for ONNX's ModelProto (run once; the output is committed).
# Source: the official onnx.proto shipped by Debian's python3-onnx (onnx 1.12, IR version 8).
# Needs the dev dependency protobufjs-cli.
set -e
cd "$(dirname "$0")/../.."
PROTO=${ONNX_PROTO:-/usr/lib/python3/dist-packages/onnx/onnx.proto}
OUT=src/io/onnx/proto
mkdir -p "$OUT"
cp "$PROTO" "$OUT/onnx.proto"
npx pbjs -t static-module -w es6 --no-create --no-verify --no-convert --no-delimited --no-service \
  -o "$OUT/onnx.js" "$OUT/onnx.proto"
npx pbts -o "$OUT/onnx.d.ts" "$OUT/onnx.js"
npx prettier --write "$OUT/onnx.js" "$OUT/onnx.d.ts"
