/**
 * Reads a function's configuration from its environment once, at cold start, and fails
 * loudly with the variable's name: no `|| ""` defaults that hide a missing setting.
 */

export class MissingConfigError extends Error {
  override readonly name = "MissingConfigError";
}

export function requireEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (value === undefined || value.trim() === "") {
    throw new MissingConfigError(`environment variable ${name} is required`);
  }
  return value.trim();
}

export function optionalEnv(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}

export function intEnv(
  name: string,
  options: { default?: number; min?: number; max?: number } = {},
  env: NodeJS.ProcessEnv = process.env,
): number {
  const raw = optionalEnv(name, env);
  if (raw === undefined) {
    if (options.default !== undefined) return options.default;
    throw new MissingConfigError(`environment variable ${name} is required`);
  }
  const value = Number(raw);
  if (!Number.isInteger(value))
    throw new MissingConfigError(`environment variable ${name} must be an integer, got "${raw}"`);
  if (options.min !== undefined && value < options.min) {
    throw new MissingConfigError(
      `environment variable ${name} must be at least ${options.min}, got ${value}`,
    );
  }
  if (options.max !== undefined && value > options.max) {
    throw new MissingConfigError(`environment variable ${name} must be at most ${options.max}, got ${value}`);
  }
  return value;
}

export function listEnv(name: string, env: NodeJS.ProcessEnv = process.env): string[] {
  return requireEnv(name, env)
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part !== "");
}

export function boolEnv(name: string, defaultValue: boolean, env: NodeJS.ProcessEnv = process.env): boolean {
  const raw = optionalEnv(name, env)?.toLowerCase();
  if (raw === undefined) return defaultValue;
  if (raw === "true" || raw === "1") return true;
  if (raw === "false" || raw === "0") return false;
  throw new MissingConfigError(`environment variable ${name} must be true or false, got "${raw}"`);
}
