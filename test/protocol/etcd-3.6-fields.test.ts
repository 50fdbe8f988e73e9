// etcd 3.6 is not packaged anywhere this project can fetch from, so its answers are not captured. What
// is known to be new in them (api/etcdserverpb/rpc.proto of 3.6; ../shared/reference): StatusResponse
// gains storageVersion (11, string), dbSizeQuota (12, int64) and downgradeInfo (13, message); HashKV's
// response gains hash_revision (4, int64). Hand-made variants: the real 3.4 answers with those fields
// appended must decode to exactly what the 3.4 answers decode to — the new fields are skipped, not errors.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { normaliseStatus } from '../../src/etcd/normalise.js';
import { decodeHashKvResponse, decodeStatusResponse } from '../../src/protocol/protobuf/maintenance.js';
import { boolField, bytesField, varintField } from '../../src/protocol/protobuf/wire.js';

const capture = JSON.parse(
  readFileSync(new URL('../fixtures/etcd-3.4/grpc-messages.json', import.meta.url), 'utf8'),
) as { messages: Record<string, string> };
const bytes = (name: string): Buffer => Buffer.from(capture.messages[name] as string, 'hex');

/** DowngradeInfo { enabled = 1 (bool), targetVersion = 2 (string) }. */
const downgradeInfo = Buffer.concat([boolField(1, false), bytesField(2, '')]);

describe('etcd 3.6 fields in answers the exporter decodes', () => {
  it('StatusResponse with storageVersion, dbSizeQuota and downgradeInfo decodes as without them', () => {
    const v36 = Buffer.concat([
      bytes('Status'),
      bytesField(11, '3.6.0'),
      varintField(12, 2 * 1024 ** 3),
      bytesField(13, downgradeInfo),
    ]);
    expect(normaliseStatus(decodeStatusResponse(v36))).toEqual(
      normaliseStatus(decodeStatusResponse(bytes('Status'))),
    );
  });

  it('HashKVResponse with hash_revision decodes as without it', () => {
    const v36 = Buffer.concat([bytes('HashKV'), varintField(4, 12345)]);
    expect(decodeHashKvResponse(v36)).toEqual(decodeHashKvResponse(bytes('HashKV')));
  });
});
