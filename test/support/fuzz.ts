// Property tests run with a fixed seed so CI is reproducible; set NABLA_FUZZ_SEED to explore
// other inputs locally (a failure prints the seed and path to replay it).
import fc from "fast-check";

const seed = process.env["NABLA_FUZZ_SEED"] === undefined ? 20261126 : Number(process.env["NABLA_FUZZ_SEED"]);
fc.configureGlobal({ seed });

export { fc };
