// Every `nabla` subcommand, in the order `nabla --help` lists them. Add one line per command file.
import type { Command } from "commander";
import { register as registerDiff } from "./diff.js";
import { register as registerSummary } from "./summary.js";
import { register as registerBench } from "./bench.js";
import { register as registerTrain } from "./train.js";
import { register as registerEval } from "./eval.js";
import { register as registerPredict } from "./predict.js";
import { register as registerCompress } from "./compress.js";
import { register as registerExport } from "./export.js";

export type RegisterCommand = (program: Command) => void;

export const commands: RegisterCommand[] = [
  registerTrain,
  registerEval,
  registerPredict,
  registerDiff,
  registerSummary,
  registerCompress,
  registerBench,
  registerExport,
];
