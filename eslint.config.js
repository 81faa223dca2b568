// Lint rules. The core (tensor, autograd, reference backend, calculus, nn, models, optim) must run
// in a browser too, so it may not import Node built-ins; file, process and native access live in
// data/, io/, cli/, train/ and the native backend loader.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

const nodeBuiltins = [
  "node:*",
  "fs",
  "path",
  "os",
  "child_process",
  "worker_threads",
  "zlib",
  "url",
  "module",
  "crypto",
];

export default tseslint.config(
  {
    ignores: [
      "dist/**",
      "build/**",
      "node_modules/**",
      "data/**",
      "tmp/**",
      "runs/**",
      "src/io/onnx/proto/**",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-non-null-assertion": "off",
    },
  },
  {
    files: [
      "src/tensor/**",
      "src/autograd/**",
      "src/backend/ref/**",
      "src/backend/*.ts",
      "src/calculus/**",
      "src/nn/**",
      "src/models/**",
      "src/optim/**",
    ],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: nodeBuiltins.map((n) => ({
            group: [n],
            message: "the core must not import Node built-ins",
          })),
        },
      ],
    },
  },
  {
    files: ["**/*.js", "**/*.cjs", "**/*.mjs"],
    languageOptions: {
      globals: {
        process: "readonly",
        console: "readonly",
        require: "readonly",
        module: "readonly",
        __dirname: "readonly",
      },
    },
  },
);
