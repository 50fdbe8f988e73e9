/** etcdserverpb.Auth messages (field numbers from etcd's api/etcdserverpb/rpc.proto): Authenticate. */
import { BYTES, bytesField, Reader } from './wire.js';

export const AUTH_AUTHENTICATE = '/etcdserverpb.Auth/Authenticate';

/** AuthenticateRequest: name 1, password 2. */
export function encodeAuthenticateRequest(name: string, password: string): Buffer {
  return Buffer.concat([bytesField(1, name), bytesField(2, password)]);
}

/** AuthenticateResponse: header 1, token 2. */
export function decodeAuthenticateResponse(bytes: Uint8Array): { token: string } {
  const r = new Reader(bytes);
  let token = '';
  while (!r.done) {
    const [field, type] = r.tag();
    if (field === 2 && type === BYTES) token = r.string();
    else r.skip(type);
  }
  return { token };
}
