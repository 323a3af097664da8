/**
 * `npm run test:conformance`: the integration and end-to-end suites once more, on moto
 * (LOCAL_AWS_BACKEND=moto), an AWS emulator nobody on this project wrote, so that no code
 * leans on a quirk of the default emulators (docs/architecture.md, "Two local backends").
 * moto serves one request at a time (MOTO_THREADED=0): its conditional writes are atomic
 * only then, as real DynamoDB's always are. Needs Python's moto; not part of `npm test`.
 */
import { spawnSync } from "node:child_process";
import { motoVersion } from "#local/aws/moto.ts";

try {
  console.log(`moto ${await motoVersion()}: integration and e2e suites on LOCAL_AWS_BACKEND=moto`);
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
}
const run = spawnSync(
  "npx",
  ["vitest", "run", "--project", "integration", "--project", "e2e", ...process.argv.slice(2)],
  { stdio: "inherit", env: { ...process.env, LOCAL_AWS_BACKEND: "moto", MOTO_THREADED: "0" } },
);
process.exit(run.status ?? 1);
