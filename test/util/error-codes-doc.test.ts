import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { GRPC_STATUS_NAMES, TRANSPORT_ERROR_CODES } from '../../src/util/errors.js';

const readme = readFileSync(path.resolve(import.meta.dirname, '../../README.md'), 'utf8');
const section = readme.slice(readme.indexOf('### Error codes'), readme.indexOf('### REST API'));

describe('error codes', () => {
  it('every transport code is documented in the README (gRPC statuses as GRPC_<NAME>)', () => {
    expect(section.length).toBeGreaterThan(0);
    const undocumented = Object.keys(TRANSPORT_ERROR_CODES).filter(
      (code) => !code.startsWith('GRPC_') && !section.includes(`\`${code}\``),
    );
    expect(undocumented).toEqual([]);
    expect(section).toContain('GRPC_<NAME>');
  });

  it('every gRPC status but OK, DEADLINE_EXCEEDED and UNAUTHENTICATED has a GRPC_ code of its own', () => {
    const own = GRPC_STATUS_NAMES.filter((n) => !['OK', 'DEADLINE_EXCEEDED', 'UNAUTHENTICATED'].includes(n));
    expect(own.map((n) => `GRPC_${n}`).filter((c) => !(c in TRANSPORT_ERROR_CODES))).toEqual([]);
    expect(Object.keys(TRANSPORT_ERROR_CODES)).toEqual(
      expect.arrayContaining(['REQUEST_TIMEOUT', 'UNAUTHENTICATED']),
    );
  });
});
