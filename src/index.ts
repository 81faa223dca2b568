// nabla's main entry point (Node.js): the core, plus the native backend when its addon loads
// (otherwise the TypeScript reference backend runs, and nabla says so once).
import { loadNativeBackend } from "./backend/native/index.js";
import { setBackend } from "./backend/registry.js";

export * from "./core.js";
export { loadNativeBackend, nativeInfo } from "./backend/native/index.js";
export * from "./data/index.js";

const native = loadNativeBackend();
if (native) setBackend(native);
