// Knowledge distillation (Hinton et al. 2015): the student matches the teacher's
// temperature-softened class distribution as well as the hard labels,
//   L = α·T²·KL(softmax(t/T) ‖ softmax(s/T)) + (1 − α)·CE(s, y)
// (T² keeps the soft term's gradient scale independent of T). Use with fit() through
// `distillationObjective`, which splits L into fit's lossFn (the hard term) and extraLoss (the
// soft term, which needs the batch's inputs to run the teacher).
import type { Tensor } from "../tensor/tensor.js";
import { noGrad } from "../autograd/engine.js";
import { crossEntropy, klDiv } from "../nn/losses.js";
import type { Module } from "../nn/module.js";
import { ValueError } from "../errors.js";
import type { Batch, LossFn } from "../train/fit.js";

export interface DistillOptions {
  /** Softening temperature T (default 4). */
  temperature?: number;
  /** Weight α of the soft (teacher) term (default 0.7). */
  alpha?: number;
}

function check(options: DistillOptions): { t: number; alpha: number } {
  const t = options.temperature ?? 4;
  const alpha = options.alpha ?? 0.7;
  if (!(t > 0)) throw new ValueError(`distillation: temperature must be > 0, got ${t}`);
  if (!(alpha >= 0 && alpha <= 1))
    throw new ValueError(`distillation: alpha must be in [0, 1], got ${alpha}`);
  return { t, alpha };
}

/** T²·KL(softmax(teacher/T) ‖ softmax(student/T)), batch mean. */
export function softTargetLoss(studentLogits: Tensor, teacherLogits: Tensor, temperature: number): Tensor {
  const logP = studentLogits.div(temperature).logSoftmax(1);
  const q = teacherLogits.detach().div(temperature).softmax(1);
  return klDiv(logP, q, { reduction: "batchmean" }).mul(temperature * temperature);
}

/** The full distillation loss for one batch. */
export function distillationLoss(
  studentLogits: Tensor,
  teacherLogits: Tensor,
  targets: Tensor,
  options: DistillOptions = {},
): Tensor {
  const { t, alpha } = check(options);
  const soft = softTargetLoss(studentLogits, teacherLogits, t).mul(alpha);
  return alpha === 1 ? soft : soft.add(crossEntropy(studentLogits, targets).mul(1 - alpha));
}

/** fit() options that train a student from `teacher` (run in eval mode, without gradients). */
export function distillationObjective(
  teacher: Module,
  options: DistillOptions = {},
): { lossFn: LossFn; extraLoss: (batch: Batch, logits: Tensor) => Tensor } {
  const { t, alpha } = check(options);
  teacher.eval();
  return {
    lossFn: (logits, targets) => crossEntropy(logits, targets).mul(1 - alpha),
    extraLoss: (batch, logits) => {
      const teacherLogits = noGrad(() => teacher.call(batch.inputs));
      return softTargetLoss(logits, teacherLogits, t).mul(alpha);
    },
  };
}
