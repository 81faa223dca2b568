// Helper for native-fused.test.ts (not a test itself): runs two SGD-momentum training steps of a
// small BN-ReLU-MaxPool CNN and one eval-mode forward on fixed inputs, and prints an FNV-1a hash
// of every parameter, buffer and output, so the test can compare runs bitwise across processes.
import * as nb from "../../src/index.js";
import { Sequential } from "../../src/nn/containers.js";
import { Conv2d } from "../../src/nn/layers/conv.js";
import { BatchNorm2d } from "../../src/nn/layers/batchnorm.js";
import { ReLU } from "../../src/nn/layers/activation.js";
import { MaxPool2d } from "../../src/nn/layers/pooling.js";
import { Flatten } from "../../src/nn/layers/misc.js";
import { Linear } from "../../src/nn/layers/linear.js";
import { SGD } from "../../src/optim/index.js";
import { crossEntropy } from "../../src/nn/losses.js";

function hash(a: ArrayLike<number> & { buffer: ArrayBufferLike; byteOffset: number; byteLength: number }) {
  const u = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  let h = 0x811c9dc5;
  for (let i = 0; i < u.length; i++) h = Math.imul(h ^ u[i]!, 0x01000193) >>> 0;
  return h.toString(16);
}

nb.manualSeed(3);
const model = new Sequential(
  new Conv2d(3, 16, 3, { padding: 1 }),
  new BatchNorm2d(16),
  new ReLU(),
  new MaxPool2d(2),
  new Conv2d(16, 32, 3, { padding: 1, bias: false }),
  new BatchNorm2d(32),
  new ReLU(),
  new MaxPool2d(2),
  new Flatten(),
  new Linear(32 * 4 * 4, 10),
);
const x = nb.randn([8, 3, 16, 16]);
const y = nb.randint(0, 10, [8]);
const opt = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
const hashes: string[] = [];
for (let step = 0; step < 2; step++) {
  opt.zeroGrad();
  const loss = crossEntropy(model.call(x), y);
  loss.backward();
  hashes.push(hash(loss.data as Float32Array));
  opt.step();
}
for (const [name, t] of model.stateDict()) hashes.push(`${name}:${hash(t.data as Float32Array)}`);
model.eval();
hashes.push(hash(nb.noGrad(() => model.call(x)).data as Float32Array));
console.log(hashes.join(","));
