// `nabla train` — train a zoo model on a dataset with mini-batch SGD (or Adam/AdamW), test it on
// the held-out split after every epoch, and keep checkpoints, a JSONL log and plots in --out.
//
//   nabla train --model fmnist-cnn --data fashion-mnist --epochs 15 --out runs/fmnist
//   nabla train --model resnet20 --data cifar10 --root ~/data/cifar10 --epochs 30 --augment --out runs/c10
//   nabla train --model fmnist-cnn --data ./frames --epochs 5 --out runs/dms   (frames/train/<class>/*.png)
//   nabla train ... --resume        continue the run in --out from its latest checkpoint
import type { Command } from "commander";
import { readFileSync, existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { load as loadOnnx } from "../../io/onnx/index.js";
import type { Module } from "../../nn/module.js";
import { zeros } from "../../tensor/creation.js";
import { noGrad } from "../../autograd/engine.js";
import { manualSeed } from "../../tensor/random.js";
import { crossEntropy } from "../../nn/losses.js";
import { fit } from "../../train/fit.js";
import { buildModel, buildOptimizer, buildScheduler, makeLoaders, openData } from "../../train/setup.js";
import { ValueError } from "../../errors.js";
import { parseInteger, parseNonNegativeNumber, parsePositiveNumber } from "../parse.js";
import { activeBackendName } from "../backend.js";

interface TrainFlags {
  model?: string;
  onnx?: string;
  data: string;
  root?: string;
  epochs: string;
  batchSize: string;
  lr: string;
  optimizer: string;
  schedule: string;
  momentum: string;
  weightDecay: string;
  seed: string;
  out: string;
  resume?: boolean;
  augment?: boolean;
  workers: string;
  patience?: string;
  channels?: string;
  size?: string;
  download?: boolean;
  progress: string;
}

export function register(program: Command): void {
  program
    .command("train")
    .description("train a model, test it after every epoch, write checkpoints, log.jsonl and plots to --out")
    .option("--model <name>", "zoo model (see `nabla summary --help`), e.g. fmnist-cnn, resnet20")
    .option(
      "--onnx <file>",
      "start from an ONNX model instead of a zoo model (its initializers become the trained parameters)",
    )
    .requiredOption(
      "--data <name|dir>",
      "fashion-mnist, fashion-mnist-subset, mnist, cifar10, or a folder with train/<class>/ and test/<class>/",
    )
    .option("--root <dir>", "where the dataset files are (default: $NABLA_DATA, system and cache locations)")
    .requiredOption("--epochs <n>", "number of epochs")
    .option("--batch-size <n>", "mini-batch size", "64")
    .option("--lr <x>", "learning rate", "0.01")
    .option("--optimizer <name>", "sgd, adam or adamw", "sgd")
    .option(
      "--schedule <name>",
      "learning-rate schedule: cosine (anneal to 0 over the epochs), step, onecycle or none",
      "cosine",
    )
    .option("--momentum <x>", "SGD momentum", "0.9")
    .option("--weight-decay <x>", "L2 weight decay (decoupled for adamw)", "0")
    .option("--seed <n>", "seed for initialisation, shuffling and augmentation", "0")
    .requiredOption("--out <dir>", "output folder: log.jsonl, checkpoints, best.safetensors, plots")
    .option("--resume", "continue from the latest checkpoint in --out")
    .option("--augment", "random crop + horizontal flip on the training images")
    .option("--workers <n>", "worker threads preparing batches", "0")
    .option("--patience <n>", "stop early after n epochs without a better test accuracy")
    .option("--channels <n>", "image folders: 1 (grayscale) or 3 (RGB)")
    .option("--size <n>", "image folders: resize images to n×n")
    .option("--download", "download the dataset if it is not found (needs internet)")
    .option("--progress <mode>", "auto, bar, line or none", "auto")
    .action(async (flags: TrainFlags) => {
      if ((flags.model === undefined) === (flags.onnx === undefined)) {
        throw new ValueError("give exactly one of --model <name> and --onnx <file>");
      }
      const modelName = flags.model ?? "onnx";
      const epochs = parseInteger("--epochs", flags.epochs, 1);
      const batchSize = parseInteger("--batch-size", flags.batchSize, 1);
      const lr = parsePositiveNumber("--lr", flags.lr);
      const momentum = parseNonNegativeNumber("--momentum", flags.momentum);
      const weightDecay = parseNonNegativeNumber("--weight-decay", flags.weightDecay);
      const seed = parseInteger("--seed", flags.seed);
      const workers = parseInteger("--workers", flags.workers);
      const patience =
        flags.patience === undefined ? undefined : parseInteger("--patience", flags.patience, 1);
      if (!["auto", "bar", "line", "none"].includes(flags.progress)) {
        throw new ValueError(`--progress must be auto, bar, line or none, got "${flags.progress}"`);
      }
      const channels =
        flags.channels === undefined ? undefined : parseInteger("--channels", flags.channels, 1);
      if (channels !== undefined && channels !== 1 && channels !== 3)
        throw new ValueError("--channels must be 1 or 3");
      const size = flags.size === undefined ? undefined : parseInteger("--size", flags.size, 1);
      if (flags.resume && existsSync(join(flags.out, "latest.json"))) {
        checkSameRun(flags.out, modelName, flags.data);
      }

      manualSeed(seed);
      const log = (m: string) => process.stderr.write(m + "\n");
      const data = await openData(flags.data, {
        ...(flags.root !== undefined ? { root: flags.root } : {}),
        ...(flags.download ? { download: true } : {}),
        ...(channels !== undefined ? { channels: channels as 1 | 3 } : {}),
        ...(size !== undefined ? { size } : {}),
        log,
      });
      const model = flags.onnx
        ? startFromOnnx(flags.onnx, data.classes.length, data.sampleShape)
        : buildModel(modelName, data.classes.length, data.sampleShape);
      const optimizer = buildOptimizer(flags.optimizer, model.parameters(), { lr, momentum, weightDecay });
      const { trainLoader, testLoader } = makeLoaders(data, {
        batchSize,
        seed,
        augment: flags.augment ?? false,
        workers,
      });
      const schedule = buildScheduler(flags.schedule, optimizer, epochs, trainLoader.length, lr);
      process.stderr.write(
        `nabla: training ${flags.onnx ?? modelName} on ${flags.data} (${data.train.length} train / ${data.test.length} test images, ` +
          `${data.sampleShape.join("×")}, ${data.classes.length} classes) on the ${activeBackendName()} backend\n`,
      );
      const result = await fit({
        model,
        optimizer,
        ...(schedule ? { scheduler: schedule.scheduler, schedulerInterval: schedule.interval } : {}),
        lossFn: (logits, targets) => crossEntropy(logits, targets),
        trainLoader,
        testLoader,
        epochs,
        numClasses: data.classes.length,
        classNames: data.classes,
        outDir: flags.out,
        resume: flags.resume ?? false,
        progress: flags.progress as "auto",
        ...(patience !== undefined ? { earlyStoppingPatience: patience } : {}),
        meta: {
          model: modelName,
          ...(flags.onnx ? { onnx: resolve(flags.onnx) } : {}),
          data: flags.data,
          classes: data.classes,
          input: data.sampleShape,
          normalization: data.normalization,
          batch_size: batchSize,
          optimizer: flags.optimizer,
          schedule: flags.schedule,
          lr,
          seed,
        },
      });
      const last = result.history[result.history.length - 1];
      if (last?.test_acc !== null && last !== undefined) {
        process.stdout.write(
          `test accuracy ${(100 * last.test_acc!).toFixed(2)}% after epoch ${last.epoch}` +
            (result.best
              ? ` (best ${(100 * result.best.test_acc).toFixed(2)}% at epoch ${result.best.epoch})`
              : "") +
            "\n",
        );
      }
      process.stdout.write(
        `wrote ${flags.out}/log.jsonl, checkpoints, best.safetensors, loss/accuracy/confusion plots\n`,
      );
    });
}

/** An ONNX model to fine-tune: it must take the data's images and output one score per class. */
function startFromOnnx(
  file: string,
  numClasses: number,
  sampleShape: readonly [number, number, number],
): Module {
  const model = loadOnnx(file);
  const out = noGrad(() => model.eval().call(zeros([1, ...sampleShape])));
  if (out.ndim !== 2 || out.shape[1] !== numClasses) {
    throw new ValueError(
      `${file}: the model maps a [1, ${sampleShape.join(", ")}] input to [${out.shape.join(", ")}], but the data has ${numClasses} classes`,
    );
  }
  return model.train();
}

/** Resuming into a folder that holds a different run would silently mix two trainings. */
function checkSameRun(out: string, model: string, data: string): void {
  try {
    const pointer = JSON.parse(readFileSync(join(out, "latest.json"), "utf8")) as { sidecar: string };
    const sidecar = JSON.parse(readFileSync(join(out, pointer.sidecar), "utf8")) as {
      state?: { meta?: { model?: string; data?: string } };
    };
    const meta = sidecar.state?.meta;
    if (meta && (meta.model !== model || meta.data !== data)) {
      throw new ValueError(
        `--resume: ${out} holds a run of ${meta.model} on ${meta.data}, not ${model} on ${data}`,
      );
    }
  } catch (err) {
    if (err instanceof ValueError) throw err;
  }
}
