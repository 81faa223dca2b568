// Which backend the CLI runs on: the native one when its addon loads, else the TypeScript one.
import { getBackend, setBackend } from "../backend/registry.js";
import { loadNativeBackend } from "../backend/native/index.js";
// Every command runs its models as the package entry would: with inference plans (nn/plan.ts
// installs them when loaded; the package loads it through nn/index.ts).
import "../nn/plan.js";

let initialised = false;

export function initBackend(): void {
  if (initialised) return;
  initialised = true;
  const native = loadNativeBackend();
  if (native) setBackend(native);
}

export function activeBackendName(): string {
  return getBackend().name;
}
