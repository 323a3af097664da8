/**
 * The one logging port of the use cases: a message and structured details. The handlers
 * adapt Powertools Logger to it ({@link logTo}); tests pass {@link silentLog} or a recorder.
 */
export interface Log {
  info(message: string, details?: Record<string, unknown>): void;
  warn(message: string, details?: Record<string, unknown>): void;
  error(message: string, details?: Record<string, unknown>): void;
}

export const silentLog: Log = { info: () => {}, warn: () => {}, error: () => {} };

/** A Powertools Logger (or a child of one) as a {@link Log}. */
export function logTo(logger: {
  info(message: string, details: Record<string, unknown>): void;
  warn(message: string, details: Record<string, unknown>): void;
  error(message: string, details: Record<string, unknown>): void;
}): Log {
  return {
    info: (message, details) => logger.info(message, details ?? {}),
    warn: (message, details) => logger.warn(message, details ?? {}),
    error: (message, details) => logger.error(message, details ?? {}),
  };
}
