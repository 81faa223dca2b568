// `nabla compress` flag validation: bad values fail with a typed error naming the flag, before any
// checkpoint is read. (The full pipeline runs in bench/compress/fmnist.ts on a trained model.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { main } from "../../src/cli/main.js";

async function run(args: string[]): Promise<{ code: number; err: string }> {
  const chunks: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string) => {
    chunks.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  try {
    return { code: await main(args), err: chunks.join("") };
  } finally {
    process.stderr.write = write;
  }
}

test("nabla compress rejects bad flags with a typed error", async () => {
  const cases: [string[], RegExp][] = [
    [["--quantize", "int4"], /ValueError: --quantize supports int8/],
    [["--prune-channels", "1.5"], /ValueError: --prune-channels must be a fraction/],
    [["--prune-scope", "model"], /ValueError: --prune-scope must be layer or global/],
    [["--calib-method", "kl"], /ValueError: --calib-method must be minmax or percentile/],
  ];
  for (const [flags, message] of cases) {
    const { code, err } = await run(["compress", "--checkpoint", "no-such-run", ...flags]);
    assert.equal(code, 1, flags.join(" "));
    assert.match(err, message);
  }
  const missing = await run(["compress", "--checkpoint", "no-such-run"]);
  assert.equal(missing.code, 1);
  assert.match(missing.err, /no-such-run: no such checkpoint/);
});
