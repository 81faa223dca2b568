// How an inference plan (plan.ts) replays its recorded kernel calls: one by one, or, on a backend
// with programs (the native one), as a few recorded programs, each run with a single call.
//
// At batch 1 a kernel call's crossing into native code (reading and checking its arguments) costs
// about 1 µs, as much as a small kernel: 6 of them in an fmnist-cnn call, 25 in resnet20's. So
// after recording, the plan's calls are run once more with the backend recording them, and each
// run of consecutive calls that the backend recorded becomes one program. A call it did not
// record (one its wrapper left to the reference kernels, say) stays a step of its own between
// programs. A program replays exactly the recorded calls, on the same arrays, with the new
// input's array in place of the recorded one.
import type { Backend, KernelProgram } from "../backend/backend.js";
import type { TypedArray } from "../tensor/dtype.js";
import type { Tensor } from "../tensor/tensor.js";

/** One recorded kernel call. */
export interface Step {
  fn: (...args: unknown[]) => unknown;
  args: unknown[];
  /** Where the input's storage goes: [argument index, field name or null for the argument itself]. */
  input: [number, string | null][];
}

/** A run of calls recorded as one program, or a call on its own. */
export type Segment = { program: KernelProgram; step?: undefined } | { program?: undefined; step: Step };

/** A plan's calls as programs and single steps. */
export interface Compiled {
  readonly backend: Backend;
  readonly segments: readonly Segment[];
  /**
   * Every array the programs use besides the input, with its byte length when recorded. A
   * program holds their addresses, so before each run none may have been detached (length 0).
   */
  readonly arrays: readonly (readonly [TypedArray, number])[];
}

let programsEnabled = true;

/** Turn the replay by programs off (or back on), e.g. to compare. Returns the previous setting. */
export function setInferencePrograms(on: boolean): boolean {
  const previous = programsEnabled;
  programsEnabled = on;
  return previous;
}

/** The step's kernel call, with x's storage where the recorded input's was. */
export function runStep(step: Step, x: Tensor): void {
  if (step.input.length === 0) {
    step.fn(...step.args);
    return;
  }
  const args = step.args.slice();
  for (const [i, field] of step.input) {
    args[i] = field === null ? x.storage : { ...(args[i] as object), [field]: x.storage };
  }
  step.fn(...args);
}

/**
 * The steps as programs, made by running them once more (on x, the input they were recorded
 * with, so this is one more replay); null when the backend has no programs, records none of the
 * calls, or something goes wrong (the plan then replays step by step).
 */
export function compile(
  steps: readonly Step[],
  x: Tensor,
  backend: Backend,
  arraysOf: (step: Step) => TypedArray[],
): Compiled | null {
  const programs = backend.programs;
  if (programs === undefined || !programs.begin(x.storage)) return null;
  const segments: Segment[] = [];
  const arrays = new Set<TypedArray>();
  let recorded: Step[] = []; // the steps in the program being recorded
  // Ends the program being recorded (it must hold exactly `recorded`), then starts another.
  const cut = (again: boolean): boolean => {
    const program = programs.end();
    if ((program === null) !== (recorded.length === 0)) return false;
    if (program !== null) segments.push({ program });
    for (const step of recorded) for (const a of arraysOf(step)) if (a !== x.storage) arrays.add(a);
    recorded = [];
    return again ? programs.begin(x.storage) : true;
  };
  try {
    for (const step of steps) {
      const before = programs.recorded();
      runStep(step, x);
      const added = programs.recorded() - before;
      if (added === 1) {
        recorded.push(step);
      } else if (added === 0) {
        if (!cut(true)) return abandon(backend);
        segments.push({ step });
      } else {
        return abandon(backend); // a call that made several: not the whole of one step
      }
    }
    if (!cut(false)) return abandon(backend);
  } catch {
    return abandon(backend);
  }
  if (!segments.some((s) => s.program !== undefined)) return null;
  return { backend, segments, arrays: [...arrays].map((a) => [a, a.byteLength] as const) };
}

function abandon(backend: Backend): null {
  backend.programs!.end();
  return null;
}

/** Whether the programs can run: every array they use is still attached. */
export function runnable(c: Compiled): boolean {
  for (const [a, bytes] of c.arrays) if (a.byteLength !== bytes) return false;
  return true;
}

/** Replays the steps, by the compiled programs when there are some (and they are enabled). */
export function replaySteps(steps: readonly Step[], compiled: Compiled | null, x: Tensor): void {
  if (compiled === null || !programsEnabled) {
    for (const step of steps) runStep(step, x);
    return;
  }
  const programs = compiled.backend.programs!;
  for (const s of compiled.segments) {
    if (s.program !== undefined) programs.run(s.program, x.storage);
    else runStep(s.step, x);
  }
}
