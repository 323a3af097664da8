/**
 * Error answers: JSON `{ "errorCode": <int>, "message": "<readable>" }` (validation errors
 * also list every problem in `errors`). errorCode 26 for the rate limit is the provider's;
 * the others are the simulator's own numbering.
 */

export const ERROR_CODES = {
  internal: 1,
  unauthorized: 2,
  unavailable: 3,
  notFound: 4,
  methodNotAllowed: 5,
  validation: 10,
  conflict: 11,
  payloadTooLarge: 12,
  rateLimited: 26,
} as const;

export interface ErrorBody {
  errorCode: number;
  message: string;
  errors?: string[];
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: number,
    message: string,
    readonly errors?: string[],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "ApiError";
  }

  body(): ErrorBody {
    return this.errors === undefined
      ? { errorCode: this.errorCode, message: this.message }
      : { errorCode: this.errorCode, message: this.message, errors: this.errors };
  }
}

export const badRequest = (message: string, errors?: string[]): ApiError =>
  new ApiError(400, ERROR_CODES.validation, message, errors);
export const notFound = (message: string): ApiError => new ApiError(404, ERROR_CODES.notFound, message);
export const conflict = (message: string): ApiError => new ApiError(409, ERROR_CODES.conflict, message);

export function statusError(status: 500 | 503 | 429, retryAfterSeconds = 1): ApiError {
  if (status === 429) {
    return new ApiError(429, ERROR_CODES.rateLimited, "Rate limit exceeded, retry later", undefined, {
      "retry-after": String(retryAfterSeconds),
    });
  }
  if (status === 503) return new ApiError(503, ERROR_CODES.unavailable, "Service temporarily unavailable");
  return new ApiError(500, ERROR_CODES.internal, "An unexpected error occurred");
}
