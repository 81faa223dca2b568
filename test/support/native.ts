// Whether the native-backend tests can run: the addon must be built (build/Release) and the run
// not forced onto the TypeScript backend. `skip` is the reason to pass to node:test, or false.
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const addonFile = path.join(root, "build", "Release", "nabla_native.node");
export const built = existsSync(addonFile);
export const skip: string | false = !built
  ? "native addon not built"
  : process.env["NABLA_BACKEND"] === "ref"
    ? "NABLA_BACKEND=ref"
    : false;
