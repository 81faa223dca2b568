// The Tensor: dtypes and promotion, views sharing storage, copies only when needed, creation
// ops, the seedable generator, readback.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  DTypeError,
  Generator,
  ShapeError,
  ValueError,
  arange,
  eye,
  fromArray,
  full,
  linspace,
  manualSeed,
  ones,
  onesLike,
  rand,
  randint,
  randn,
  randperm,
  tensor,
  zeros,
  zerosLike,
} from "../../src/index.js";

test("dtypes: storage types, literal inference and casts", () => {
  assert.ok(tensor([1, 2]).storage instanceof Float32Array);
  assert.equal(tensor([true, false]).dtype, "bool");
  assert.ok(tensor([1], { dtype: "float64" }).storage instanceof Float64Array);
  assert.ok(zeros([2], { dtype: "int8" }).storage instanceof Int8Array);
  assert.ok(zeros([2], { dtype: "uint8" }).storage instanceof Uint8Array);
  assert.equal(arange(3).dtype, "int32");
  assert.equal(arange(0, 1, 0.5).dtype, "float32");
  assert.deepEqual(tensor([-1.7, 2.9]).to("int32").toArray(), [-1, 2]);
  assert.deepEqual(tensor([300, -1], { dtype: "int32" }).to("uint8").toArray(), [44, 255]);
  assert.deepEqual(tensor([0, NaN, 2]).bool().toArray(), [false, true, true]);
  assert.deepEqual(tensor([0.1]).double().toArray(), [Math.fround(0.1)]);
  const t = tensor([1, 2]);
  assert.equal(t.float(), t, "to() the same dtype returns the tensor itself");
});

test("dtype promotion follows PyTorch for tensor-tensor and tensor-scalar ops", () => {
  const i = tensor([1, 2], { dtype: "int32" });
  const f = tensor([1, 2]);
  const d = tensor([1, 2], { dtype: "float64" });
  const b = tensor([true, false]);
  assert.equal(i.add(f).dtype, "float32");
  assert.equal(f.add(d).dtype, "float64");
  assert.equal(i.add(2).dtype, "int32");
  assert.equal(i.add(2.5).dtype, "float32");
  assert.equal(f.mul(2).dtype, "float32", "a JS number never widens a float tensor");
  assert.equal(i.div(i).dtype, "float32", "true division of integers gives floats");
  assert.deepEqual(i.div(2).toArray(), [0.5, 1]);
  assert.equal(tensor([1], { dtype: "int8" }).add(tensor([1], { dtype: "uint8" })).dtype, "int32");
  assert.equal(b.add(b).dtype, "int32");
  assert.equal(i.lt(f).dtype, "bool");
  assert.equal(i.sum().dtype, "int32");
  assert.equal(b.sum().item(), 1);
  assert.equal(i.exp().dtype, "float32");
  assert.equal(tensor([-3], { dtype: "int32" }).abs().dtype, "int32");
  // Integer arithmetic wraps like the storage type.
  assert.deepEqual(tensor([2147483647], { dtype: "int32" }).add(1).toArray(), [-2147483648]);
  assert.deepEqual(tensor([127], { dtype: "int8" }).add(1).toArray(), [-128]);
});

test("views share storage: reshape, view, permute, transpose, expand, narrow, slice, select, squeeze", () => {
  const x = arange(24).float().reshape(2, 3, 4);
  const views = [
    x.reshape(6, 4),
    x.view(4, 6),
    x.permute(2, 0, 1),
    x.transpose(0, 2),
    x.narrow(1, 1, 2),
    x.slice(2, 0, 4, 2),
    x.select(0, 1),
    x.unsqueeze(0).squeeze(0),
    x.flatten(1),
    x.select(1, 0).expand(3, 2, 4),
    x.permute(1, 0, 2).unsqueeze(1), // a view of a permuted tensor needs no copy
    x.permute(2, 0, 1).reshape(4, 6), // merging dims 0 and 1, still adjacent after permute
  ];
  for (const v of views) assert.equal(v.storage, x.storage);
  // Writes through a view are seen by the base.
  const s = x.slice(2, 1, 4, 2); // [2, 3, 2] of elements 1 and 3 of every row
  s.storage[s.offset] = -5;
  assert.equal((x.toArray() as number[][][])[0]![0]![1], -5);
  assert.deepEqual(s.strides, [12, 4, 2]);
});

test("contiguous copies only when needed", () => {
  const x = arange(12).float().reshape(3, 4);
  assert.equal(x.contiguous(), x);
  assert.ok(x.isContiguous);
  const t = x.t();
  assert.ok(!t.isContiguous);
  const c = t.contiguous();
  assert.notEqual(c.storage, x.storage);
  assert.ok(c.isContiguous);
  assert.deepEqual(c.toArray(), t.toArray());
  // reshape of a transposed matrix into a vector cannot be a view: it copies.
  assert.notEqual(t.reshape(12).storage, x.storage);
  assert.throws(() => t.view(12), ShapeError);
  // size-1 dims do not break contiguity.
  assert.ok(x.narrow(0, 1, 1).isContiguous);
  // clone always copies.
  assert.notEqual(x.clone().storage, x.storage);
  // `data` is a live view of contiguous storage and a copy otherwise.
  x.data[0] = 100;
  assert.equal((x.toArray() as number[][])[0]![0], 100);
  t.data[0] = -1;
  assert.equal((x.toArray() as number[][])[0]![0], 100);
});

test("creation ops", () => {
  assert.deepEqual(zeros([2, 2]).toArray(), [
    [0, 0],
    [0, 0],
  ]);
  assert.deepEqual(ones([2]).toArray(), [1, 1]);
  assert.deepEqual(full([2], 7, { dtype: "int32" }).toArray(), [7, 7]);
  assert.deepEqual(arange(2, 8, 3).toArray(), [2, 5]);
  assert.deepEqual(arange(1, 0, -0.25).toArray(), [1, 0.75, 0.5, 0.25]);
  assert.deepEqual(linspace(0, 1, 5).toArray(), [0, 0.25, 0.5, 0.75, 1]);
  assert.deepEqual(eye(2, 3).toArray(), [
    [1, 0, 0],
    [0, 1, 0],
  ]);
  const x = tensor([[1, 2]], { dtype: "float64" });
  assert.equal(zerosLike(x).dtype, "float64");
  assert.deepEqual(onesLike(x).shape, [1, 2]);
  assert.deepEqual(tensor(5).shape, []);
  assert.deepEqual(tensor([]).shape, [0]);
  const arr = new Float64Array([1, 2, 3, 4]);
  const w = fromArray(arr, [2, 2]);
  assert.equal(w.storage, arr, "fromArray wraps without copying");
  assert.equal(w.dtype, "float64");
  assert.throws(() => fromArray(arr, [3]), ShapeError);
  assert.throws(() => tensor([[1, 2], [3]]), ShapeError);
  assert.throws(() => zeros([2, -1]), ShapeError);
  assert.throws(() => arange(0, 1, 0), ValueError);
  const perm = randperm(10, { generator: new Generator(1) }).toArray() as number[];
  assert.deepEqual(
    [...perm].sort((a, b) => a - b),
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  );
  const r = randint(3, 6, [200], { generator: new Generator(2) }).toArray() as number[];
  assert.ok(r.every((v) => v >= 3 && v < 6) && new Set(r).size === 3);
  const u = rand([1000], { generator: new Generator(3) }).data;
  assert.ok(u.every((v) => v >= 0 && v < 1));
});

test("the generator: same seed gives the same numbers; state save/restore resumes exactly", () => {
  const a = randn([50], { generator: new Generator(123) }).toArray();
  const b = randn([50], { generator: new Generator(123) }).toArray();
  const c = randn([50], { generator: new Generator(124) }).toArray();
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  const g = new Generator(9);
  randn([3], { generator: g }); // leaves a spare normal cached
  const state = g.getState();
  const first = randn([7], { generator: g }).toArray();
  g.setState(state);
  assert.deepEqual(randn([7], { generator: g }).toArray(), first);
  // The default generator is seeded with manualSeed.
  manualSeed(5);
  const d1 = rand([4]).toArray();
  manualSeed(5);
  assert.deepEqual(rand([4]).toArray(), d1);
  // Roughly standard normal.
  const n = randn([20000], { dtype: "float64", generator: new Generator(4) });
  assert.ok(Math.abs(n.mean().item()) < 0.03);
  assert.ok(Math.abs(n.std().item() - 1) < 0.03);
});

test("readback: item, toArray, data of views, 0-d and empty tensors", () => {
  const x = tensor(
    [
      [1, 2, 3],
      [4, 5, 6],
    ],
    { dtype: "int32" },
  );
  assert.deepEqual(x.t().toArray(), [
    [1, 4],
    [2, 5],
    [3, 6],
  ]);
  assert.deepEqual(Array.from(x.t().data), [1, 4, 2, 5, 3, 6]);
  assert.equal(x.select(0, 1).select(0, 2).item(), 6);
  assert.throws(() => x.item(), DTypeError);
  assert.equal(tensor(2.5).toArray(), 2.5);
  assert.deepEqual(zeros([2, 0]).toArray(), [[], []]);
  assert.deepEqual(tensor([true, false]).toArray(), [true, false]);
  assert.equal(x.numel, 6);
  assert.equal(x.ndim, 2);
  assert.equal(x.size(-1), 3);
});
