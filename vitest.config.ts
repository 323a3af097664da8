import { defineConfig } from "vitest/config";

/**
 * Four suites, all run by `npm test`:
 * - unit: pure logic, no sockets;
 * - integration: production code against real local emulators (dynalite, local-aws-sqs,
 *   aws-ses-v2-local) and the Lasso simulator over real HTTP, each test file starting its
 *   own stack on ephemeral loopback ports;
 * - infra: the CDK app synthesized in memory (functions bundled once per file, cdk-nag
 *   attached) and checked with CDK assertions;
 * - e2e: the local runner (`npm start`'s engine) in-process, asserting from the SES
 *   emulator's store and the .eml files (and once with the functions in a process of
 *   their own, as bench/pipeline.bench.ts runs them).
 */
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          pool: "forks",
        },
      },
      {
        test: {
          name: "infra",
          include: ["test/infra/**/*.test.ts"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          pool: "forks",
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          testTimeout: 60_000,
          hookTimeout: 200_000,
          pool: "forks",
        },
      },
    ],
  },
});
