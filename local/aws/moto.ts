/**
 * moto's server (https://github.com/getmoto/moto), an AWS emulator nobody on this project
 * wrote, as the second local backend (`LOCAL_AWS_BACKEND=moto`): one process serves
 * DynamoDB, SQS, SES v2 and Secrets Manager on one port.
 *
 * It is started through a few lines of Python rather than the `moto_server` script because
 * that script always serves requests in parallel threads, and moto's conditional writes
 * are not atomic then (real DynamoDB's are): `MOTO_THREADED=0` (the default here) serves
 * one request at a time, so a conditional write means what it means on AWS.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";

/** Exit code of the launcher when Python cannot import moto's server. */
const MOTO_MISSING = 3;

const LAUNCHER = `
import os, sys
try:
    from werkzeug.serving import run_simple
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
except ImportError as error:
    print(f"cannot import moto's server: {error}", file=sys.stderr)
    sys.exit(${MOTO_MISSING})
import threading
def _exit_with_parent():
    sys.stdin.read()  # end of file: the Node.js process that started us is gone
    os._exit(0)
threading.Thread(target=_exit_with_parent, daemon=True).start()
host, port = sys.argv[1], int(sys.argv[2])
os.environ["MOTO_PORT"] = str(port)
run_simple(host, port, DomainDispatcherApplication(create_backend_app),
           threaded=os.environ.get("MOTO_THREADED", "0") != "0")
`;

export const MOTO_MISSING_MESSAGE =
  "LOCAL_AWS_BACKEND=moto needs Python's moto with its server (pip install 'moto[server]'), " +
  "importable by python3 (or by the interpreter MOTO_PYTHON names)";

export interface MotoServer {
  url: string;
  stop(): Promise<void>;
}

const lastLine = (text: string): string => text.trim().split("\n").at(-1) ?? "";

const motoPython = (): string => process.env.MOTO_PYTHON ?? "python3";

/** moto's version, or an error that says what to install. */
export function motoVersion(): Promise<string> {
  return new Promise((resolve, reject) => {
    const check = spawn(motoPython(), ["-c", "import moto, moto.server; print(moto.__version__)"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    check.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
    });
    check.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      err += chunk;
    });
    check.once("error", () => reject(new Error(`${MOTO_MISSING_MESSAGE}: ${motoPython()} not found`)));
    check.once("close", (code) =>
      code === 0
        ? resolve(out.trim())
        : reject(new Error(`${MOTO_MISSING_MESSAGE}: ${motoPython()} cannot import it: ${lastLine(err)}`)),
    );
  });
}

/** A port nobody listens on right now (the moto process binds it a moment later). */
async function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, host, () => {
      const address = probe.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill("SIGKILL"), 3000);
    child.once("exit", () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

/** Resolves when moto answers HTTP; rejects when the process ends first or never answers. */
async function untilServing(child: ChildProcess, url: string, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      if (child.exitCode === MOTO_MISSING) throw new Error(`${MOTO_MISSING_MESSAGE}: ${stderr().trim()}`);
      throw new Error(`moto's server ended with exit code ${child.exitCode}: ${stderr().trim().slice(-600)}`);
    }
    try {
      const response = await fetch(`${url}/moto-api/config`);
      await response.arrayBuffer();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw new Error(`moto's server did not answer at ${url} within 20 s: ${stderr().trim().slice(-600)}`);
}

async function startOnce(host: string, port: number): Promise<MotoServer> {
  const python = motoPython();
  const child = spawn(python, ["-c", LAUNCHER, host, String(port)], {
    // stdin stays open while we live: moto exits when it closes, even if we are killed.
    stdio: ["pipe", "ignore", "pipe"],
    env: { ...process.env, MOTO_THREADED: process.env.MOTO_THREADED ?? "0" },
  });
  let stderr = "";
  child.stderr?.setEncoding("utf8");
  // werkzeug logs one line per request on stderr: keep only the tail, for error messages.
  child.stderr?.on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const spawned = new Promise<void>((resolve, reject) => {
    child.once("spawn", resolve);
    child.once("error", (error: NodeJS.ErrnoException) =>
      reject(error.code === "ENOENT" ? new Error(`${MOTO_MISSING_MESSAGE}: ${python} not found`) : error),
    );
  });
  await spawned;
  const url = `http://${host}:${port}`;
  try {
    await untilServing(child, url, () => stderr);
  } catch (error) {
    await stopProcess(child);
    throw error;
  }
  return { url, stop: () => stopProcess(child) };
}

/** Starts moto's server on `port` (0: a free one, retried if another process takes it first). */
export async function startMotoServer(host: string, port = 0): Promise<MotoServer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(host, port === 0 ? await freePort(host) : port);
    } catch (error) {
      const portTaken = error instanceof Error && /Address already in use/i.test(error.message);
      if (!portTaken || port !== 0 || attempt >= 3) throw error;
    }
  }
}
