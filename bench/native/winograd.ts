// Winograd convolutions off → on in one process: bench/native/ab.ts with NABLA_CONV_WINOGRAD 0 and
// 1 (median ms per training step, inference forward and batch-1 call).
//
//   NABLA_NUM_THREADS=2 npx tsx bench/native/winograd.ts [fmnist-cnn|resnet20] [blocks]
process.argv.splice(2, 0, "NABLA_CONV_WINOGRAD", "0", "1");
await import("./ab.js");
