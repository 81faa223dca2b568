// The op table: ONNX op type → implementation. An op not listed here is reported at load time
// with its node name and opset, never guessed at.
import type { OnnxNode } from "../decode.js";
import { NotSupportedError } from "../../../errors.js";
import type { OpImpl } from "./context.js";
import { elementwiseOps } from "./elementwise.js";
import { nnOps } from "./nn.js";
import { resizeOps } from "./resize.js";
import { shapeOps } from "./shape.js";

export { OpContext, type OpImpl } from "./context.js";

const DEFAULT_DOMAIN: Record<string, OpImpl> = { ...elementwiseOps, ...shapeOps, ...nnOps, ...resizeOps };

// ONNX Runtime's contrib domain: Gelu appears in transformer-optimised graphs.
const CONTRIB_DOMAIN: Record<string, OpImpl> = { Gelu: elementwiseOps["Gelu"]! };

/** The implementation of a node's op, or a NotSupportedError naming the op, node and opset. */
export function lookupOp(node: OnnxNode, opset: number, source: string): OpImpl {
  const table =
    node.domain === "" || node.domain === "ai.onnx"
      ? DEFAULT_DOMAIN
      : node.domain === "com.microsoft"
        ? CONTRIB_DOMAIN
        : null;
  const impl = table && Object.hasOwn(table, node.opType) ? table[node.opType] : undefined;
  if (!impl) {
    const domain = node.domain ? ` (domain "${node.domain}")` : "";
    throw new NotSupportedError(
      `${source}: op ${node.opType}${domain} of node "${node.name}" (opset ${opset}) is not supported by nabla's ONNX importer`,
    );
  }
  return impl;
}

/** Every supported op type of the default domain, sorted (for docs and `nabla summary`). */
export function supportedOps(): string[] {
  return Object.keys(DEFAULT_DOMAIN).sort();
}
