// Initializer names → state-dict keys. PyTorch exports keep parameter names such as
// "layer1.0.conv1.weight"; splitting them at the dots gives the same dotted keys PyTorch's
// state_dict has. Other names ("onnx::Conv_193") are sanitised into one segment. A name that
// would clash (a path that is both a tensor and a prefix of another, or a duplicate after
// sanitising) falls back to a single flat segment with a numeric suffix.

const sanitize = (s: string): string => s.replace(/[^A-Za-z0-9_]/g, "_") || "_";

/** Map each name to the segments of its key (join with "." for the state-dict key). */
export function stateKeys(names: readonly string[]): Map<string, string[]> {
  const paths = new Map<string, string[]>();
  for (const name of names) paths.set(name, name.split(".").map(sanitize));

  const leaves = new Set<string>();
  const prefixes = new Set<string>();
  const count = new Map<string, number>();
  for (const segs of paths.values()) {
    const key = segs.join(".");
    leaves.add(key);
    count.set(key, (count.get(key) ?? 0) + 1);
    for (let i = 1; i < segs.length; i++) prefixes.add(segs.slice(0, i).join("."));
  }
  const clashes = (segs: string[]): boolean => {
    const key = segs.join(".");
    if (count.get(key)! > 1 || prefixes.has(key)) return true;
    for (let i = 1; i < segs.length; i++) if (leaves.has(segs.slice(0, i).join("."))) return true;
    return false;
  };

  const result = new Map<string, string[]>();
  const taken = new Set<string>();
  for (const segs of paths.values()) if (!clashes(segs)) taken.add(segs.join("."));
  for (const [name, segs] of paths) {
    if (!clashes(segs)) {
      result.set(name, segs);
      continue;
    }
    const flat = sanitize(name);
    let candidate = flat;
    for (let k = 2; taken.has(candidate) || prefixes.has(candidate); k++) candidate = `${flat}_${k}`;
    taken.add(candidate);
    result.set(name, [candidate]);
  }
  return result;
}
