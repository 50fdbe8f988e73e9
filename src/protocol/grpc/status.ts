// gRPC status codes (grpc/grpc doc/statuscodes.md). The client sets some itself; the server's come from
// the grpc-status trailer.
import { GRPC_STATUS_NAMES } from '../../util/errors.js';

export const GRPC_OK = 0;
export const GRPC_CANCELLED = 1;
export const GRPC_UNKNOWN = 2;
export const GRPC_INVALID_ARGUMENT = 3;
export const GRPC_DEADLINE_EXCEEDED = 4;
export const GRPC_RESOURCE_EXHAUSTED = 8;
export const GRPC_INTERNAL = 13;
export const GRPC_UNAVAILABLE = 14;
export const GRPC_UNAUTHENTICATED = 16;

/** Name of a gRPC status number (`UNAVAILABLE` for 14); a number outside the list is `CODE_<n>`. */
export function grpcCodeName(code: number): string {
  return (GRPC_STATUS_NAMES as readonly string[])[code] ?? `CODE_${code}`;
}
