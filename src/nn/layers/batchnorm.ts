// Batch normalisation layers. Parameters weight (γ, ones) and bias (β, zeros); buffers
// running_mean (zeros), running_var (ones) and num_batches_tracked, named as in PyTorch so state
// dicts line up. num_batches_tracked is an int32 scalar here (PyTorch: int64).
//
// Training: normalise with the batch's statistics and update the running ones,
//   running ← (1 − momentum)·running + momentum·batch   (unbiased variance for running_var),
// with momentum = null meaning a cumulative average (momentum = 1/num_batches_tracked).
// Evaluation: normalise with the running statistics (or batch ones if trackRunningStats=false).
import type { Tensor } from "../../tensor/tensor.js";
import { ones, zeros, type CreateOptions } from "../../tensor/creation.js";
import type { DType } from "../../tensor/dtype.js";
import { formatShape } from "../../tensor/shape.js";
import { ShapeError, ValueError } from "../../errors.js";
import { Module } from "../module.js";
import { Parameter } from "../parameter.js";
import * as F from "../functional.js";
import { batchNormReluPool } from "../../autograd/ops/normalization.js";

export interface BatchNormLayerOptions {
  eps?: number;
  /** Weight of the current batch in the running statistics; null for a cumulative average. */
  momentum?: number | null;
  /** Learn a per-channel scale and shift. */
  affine?: boolean;
  /** Keep running statistics (else batch statistics are used in eval mode too). */
  trackRunningStats?: boolean;
  dtype?: DType;
}

abstract class BatchNormBase extends Module {
  readonly eps: number;
  readonly momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  readonly weight: Parameter | null;
  readonly bias: Parameter | null;
  readonly runningMean: Tensor | null;
  readonly runningVar: Tensor | null;
  readonly numBatchesTracked: Tensor | null;

  protected abstract checkInput(x: Tensor): void;

  constructor(
    readonly numFeatures: number,
    options: BatchNormLayerOptions = {},
  ) {
    super();
    if (!Number.isInteger(numFeatures) || numFeatures < 1)
      throw new ValueError(`${new.target.name}: numFeatures must be a positive integer, got ${numFeatures}`);
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum === undefined ? 0.1 : options.momentum;
    this.affine = options.affine ?? true;
    this.trackRunningStats = options.trackRunningStats ?? true;
    const create: CreateOptions = { dtype: options.dtype ?? "float32" };
    this.weight = this.registerParameter(
      "weight",
      this.affine ? new Parameter(ones([numFeatures], create)) : null,
    );
    this.bias = this.registerParameter(
      "bias",
      this.affine ? new Parameter(zeros([numFeatures], create)) : null,
    );
    const track = this.trackRunningStats;
    this.runningMean = this.registerBuffer("running_mean", track ? zeros([numFeatures], create) : null);
    this.runningVar = this.registerBuffer("running_var", track ? ones([numFeatures], create) : null);
    this.numBatchesTracked = this.registerBuffer(
      "num_batches_tracked",
      track ? zeros([], { dtype: "int32" }) : null,
    );
  }

  /** Running statistics back to mean 0, variance 1, no batches seen. */
  resetRunningStats(): void {
    this.runningMean?.data.fill(0);
    this.runningVar?.data.fill(1);
    this.numBatchesTracked?.data.fill(0);
  }

  forward(x: Tensor): Tensor {
    return this.normalize(x, false);
  }

  /** relu(forward(x)) in one pass: what nn's fusion runs for BatchNorm → ReLU (see fuse.ts). */
  forwardRelu(x: Tensor): Tensor {
    return this.normalize(x, true);
  }

  /** relu(forward(x) + residual) in one pass: a residual block's tail (see fuse.ts). */
  forwardAddRelu(x: Tensor, residual: Tensor): Tensor {
    return this.normalize(x, true, false, residual);
  }

  /**
   * maxPool2d(relu(forward(x)), 2) with the ReLU output never stored (training mode; otherwise
   * the three steps in turn): what nn's fusion runs for BatchNorm2d → ReLU → MaxPool2d(2).
   */
  forwardReluPool(x: Tensor): Tensor {
    return this.normalize(x, true, true);
  }

  private normalize(x: Tensor, relu: boolean, pool = false, residual: Tensor | null = null): Tensor {
    this.checkInput(x);
    let momentum = this.momentum ?? 0;
    if (this.training && this.numBatchesTracked) {
      const count = this.numBatchesTracked.data;
      count[0] = count[0]! + 1;
      if (this.momentum === null) momentum = 1 / count[0]!;
    }
    const useBatchStats = this.training || this.runningMean === null;
    return (pool ? batchNormReluPool : F.batchNorm)(x, {
      // In eval mode without running stats, batch statistics are used and nothing is updated.
      runningMean: this.training || this.trackRunningStats ? this.runningMean : null,
      runningVar: this.training || this.trackRunningStats ? this.runningVar : null,
      weight: this.weight,
      bias: this.bias,
      training: useBatchStats,
      momentum,
      eps: this.eps,
      relu,
      residual,
    });
  }

  override extraRepr(): string {
    return (
      `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}, affine=${this.affine}, ` +
      `trackRunningStats=${this.trackRunningStats}`
    );
  }
}

/** Over [N, C] or [N, C, L] inputs. */
export class BatchNorm1d extends BatchNormBase {
  protected checkInput(x: Tensor): void {
    if (x.ndim !== 2 && x.ndim !== 3)
      throw new ShapeError(`BatchNorm1d: expected 2-D or 3-D input, got ${formatShape(x.shape)}`);
    checkChannels("BatchNorm1d", x, this.numFeatures);
  }
}

/** Over [N, C, H, W] inputs. */
export class BatchNorm2d extends BatchNormBase {
  protected checkInput(x: Tensor): void {
    if (x.ndim !== 4) throw new ShapeError(`BatchNorm2d: expected 4-D input, got ${formatShape(x.shape)}`);
    checkChannels("BatchNorm2d", x, this.numFeatures);
  }
}

function checkChannels(layer: string, x: Tensor, c: number): void {
  if (x.shape[1] !== c) {
    throw new ShapeError(`${layer}: input ${formatShape(x.shape)} has ${x.shape[1]} channels, expected ${c}`);
  }
}
