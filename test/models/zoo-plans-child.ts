// Run by test/models/zoo-plans.test.ts in a process of its own: it loads the zoo without the
// package entry (as the CLI does), runs a model's batch-1 inference a few times, and only then
// loads nn/plan.ts to ask whether those calls were planned. Prints the plan's step count.
import { createModel } from "../../src/models/index.js";
import { noGrad } from "../../src/autograd/engine.js";
import { randn } from "../../src/tensor/creation.js";

const model = createModel("fmnist-cnn");
model.eval();
const x = randn([1, 1, 28, 28]);
for (let i = 0; i < 3; i++) noGrad(() => model.call(x));
const { inferencePlanSteps } = await import("../../src/nn/plan.js");
process.stdout.write(`${inferencePlanSteps(model)}\n`);
