// The reference backend: every kernel in plain TypeScript. It is the readable definition of
// each op and the oracle the native backend is tested against.
import type { Backend, Kernels } from "../backend.js";
import { allocArray } from "../../tensor/dtype.js";
import { binary, copy, unary, where } from "./elementwise.js";
import { argReduce, reduce, softmax } from "./reduce.js";
import { matmul } from "./matmul.js";
import { conv2d, conv2dBackwardInput, conv2dBackwardWeight, conv2dFused, conv2dPairFused } from "./conv.js";
import { maxPool2d } from "./pool.js";
import { gather, pad, scatterAdd } from "./indexing.js";
import {
  batchNormBackward,
  batchNormReluPool,
  batchNormReluPoolBackward,
  batchNormStats,
  channelAffine,
  maxPool2dBackward,
  reluBackward,
} from "./normalization.js";
import { sgdStep } from "./optim.js";

export const refKernels: Kernels = {
  unary,
  binary,
  where,
  copy,
  reduce,
  argReduce,
  softmax,
  matmul,
  conv2d,
  conv2dFused,
  conv2dPairFused,
  conv2dBackwardInput,
  conv2dBackwardWeight,
  maxPool2d,
  maxPool2dBackward,
  reluBackward,
  batchNormStats,
  channelAffine,
  batchNormBackward,
  batchNormReluPool,
  batchNormReluPoolBackward,
  gather,
  scatterAdd,
  pad,
  sgdStep,
};

export const refBackend: Backend = {
  name: "ref",
  alloc: allocArray,
  kernels: refKernels,
};
