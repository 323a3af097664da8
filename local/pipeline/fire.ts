/**
 * `npm run fire -- SCHEDULE`: fires one schedule of a running `npm start -- --serve` now.
 */
import { readFile } from "node:fs/promises";
import { ENDPOINTS_FILE } from "./serve.ts";

const name = process.argv[2];
const endpoints = JSON.parse(await readFile(ENDPOINTS_FILE, "utf8")) as {
  control: string;
  schedules: string[];
};
if (!name || !endpoints.schedules.includes(name)) {
  console.error(`usage: npm run fire -- SCHEDULE   (one of: ${endpoints.schedules.join(", ")})`);
  process.exit(2);
}
const response = await fetch(`${endpoints.control}/schedules/${encodeURIComponent(name)}/fire`, {
  method: "POST",
});
console.log(await response.text());
process.exitCode = response.ok ? 0 : 1;
