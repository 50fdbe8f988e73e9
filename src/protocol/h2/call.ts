import type { MemberRequestError } from '../../util/errors.js';

/**
 * Completion of one call: status 0 on success, else a gRPC code, a message and the typed error.
 * `body` (the raw response, gRPC length prefix included) only for successful calls made with `wantBody`.
 */
export type UnaryCallback = (
  status: number,
  message: string | undefined,
  body?: Buffer,
  error?: MemberRequestError,
) => void;
/** Writes a call's protobuf body (of the length announced) into `dst` at `offset`. */
export type BodyWriter = (dst: Buffer, offset: number) => void;

/** One call's state; `src`/`srcOff` keep its body bytes (in a write slab, never reused) for one replay. */
export class H2Call {
  id = 0;
  /** Flow-controlled bytes received (padding included) and how many of them we gave back. */
  received = 0;
  returned = 0;
  bodyBytes = 0;
  src: Buffer | null = null;
  srcOff = 0;
  replays = 0;
  readonly body: Buffer[] | null;

  constructor(
    readonly method: number,
    readonly bodyLen: number,
    readonly write: BodyWriter,
    readonly cb: UnaryCallback,
    wantBody: boolean,
  ) {
    this.body = wantBody ? [] : null;
  }
}
