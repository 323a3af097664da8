#!/usr/bin/env node
// `lasso-reports`: a tiny launcher for the TypeScript CLI (cli/main.ts), run through tsx
// (a devDependency: `npx lasso-reports` works after `npm install` in this repository).
import { register } from "tsx/esm/api";

// The CLI runs on the operator's Node.js (>= 20.19, package.json engines); the SDK's notice
// about its Node 22 plan would repeat on every command. Lambda runs Node.js 22 or newer.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
// A reader that stops early (`lasso-reports --help | head`) closes the pipe: that is not
// an error of the command, so stop quietly instead of printing a stack.
process.stdout.on("error", (error) => {
  if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw error;
});
register();
const { runCli } = await import("./main.ts");
process.exitCode = await runCli(process.argv.slice(2));
