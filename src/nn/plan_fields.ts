// The field guard of an inference plan (plan.ts): whether a module's own fields still hold what
// they held when its plan was recorded. Arrays of numbers (stride, padding) are compared by value,
// everything else by identity, and the list of keys must be unchanged (an own `forward` added
// later, say, would shadow the method the plan recorded).
//
// The check runs for every module of the tree before every replay. Read generically, with
// Object.values or one loop over the keys, it cost ~0.4 µs per module (about 35 µs for resnet20's
// 75 modules at batch 1): Object.values builds a fresh array each call, and a loop reading
// module[key] for every class sees so many object shapes that V8 stops caching the lookups. So
// each list of keys gets its own small compiled function, `m.a === v[0] && m.b === v[1] && …`,
// which only ever sees the few shapes with those keys and compares them in ~40 ns. Where code
// cannot be compiled at run time (a page whose Content-Security-Policy forbids it), the
// generic comparison is used.

/** What a module's fields held at recording. */
export interface FieldState {
  readonly module: object;
  readonly keys: readonly string[];
  /** The values, in keys' order (arrays of numbers as copies). */
  readonly values: readonly unknown[];
  /** Per key: compared by value (an array of numbers) rather than by identity. */
  readonly byValue: readonly boolean[];
  readonly check: Checker | null;
}

type Checker = (module: object, keys: readonly string[], values: readonly unknown[]) => boolean;

function isNumberArray(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((e) => typeof e === "number");
}

/** Whether the current value of a number-array field equals the saved copy. */
function sameNumbers(now: unknown, saved: readonly number[]): boolean {
  if (!Array.isArray(now) || now.length !== saved.length) return false;
  for (let i = 0; i < saved.length; i++) if (now[i] !== saved[i]) return false;
  return true;
}

/** Whether `now` lists exactly `keys`, in order. */
function sameKeys(now: readonly string[], keys: readonly string[]): boolean {
  if (now.length !== keys.length) return false;
  for (let i = 0; i < keys.length; i++) if (now[i] !== keys[i]) return false;
  return true;
}

/** Compiled checkers by signature (the keys, each marked as compared by value or by identity). */
const checkers = new Map<string, Checker | null>();

function compileChecker(keys: readonly string[], byValue: readonly boolean[]): Checker | null {
  const signature = JSON.stringify([keys, byValue]);
  if (checkers.has(signature)) return checkers.get(signature)!;
  // Each key is written as a string literal (JSON.stringify escapes it), never as code.
  const terms = keys.map((k, i) =>
    byValue[i] ? `sameNumbers(m[${JSON.stringify(k)}], v[${i}])` : `m[${JSON.stringify(k)}] === v[${i}]`,
  );
  let checker: Checker | null = null;
  try {
    const make = new Function(
      "sameKeys",
      "sameNumbers",
      `return function checkFields(m, keys, v) { return sameKeys(Object.keys(m), keys)${terms.map((t) => ` && ${t}`).join("")}; };`,
    ) as (sk: typeof sameKeys, sn: typeof sameNumbers) => Checker;
    checker = make(sameKeys, sameNumbers);
  } catch {
    checker = null; // no run-time code here: the generic comparison
  }
  checkers.set(signature, checker);
  return checker;
}

/** The module's fields as they are now. */
export function snapshotFields(module: object): FieldState {
  const keys = Object.keys(module);
  const raw = keys.map((k) => (module as Record<string, unknown>)[k]);
  const byValue = raw.map(isNumberArray);
  const values = raw.map((v, i) => (byValue[i] ? [...(v as number[])] : v));
  return { module, keys, values, byValue, check: compileChecker(keys, byValue) };
}

/** Whether the module's fields still hold what `f` recorded. */
export function sameFields(f: FieldState): boolean {
  if (f.check !== null) return f.check(f.module, f.keys, f.values);
  const m = f.module as Record<string, unknown>;
  if (!sameKeys(Object.keys(m), f.keys)) return false;
  for (let i = 0; i < f.keys.length; i++) {
    const saved = f.values[i];
    const now = m[f.keys[i]!];
    if (f.byValue[i] ? !sameNumbers(now, saved as number[]) : now !== saved) return false;
  }
  return true;
}
