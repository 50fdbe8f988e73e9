import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { eventsFromAlerts, parseEventLine } from '../../src/alerts/history-event.js';
import { parseWebhookPayload } from '../../src/alerts/webhook-payload.js';

// The alert history file holds one JSON line per event; lines written by earlier versions are read back
// after an upgrade, so the field order and set of a line are a stored format, whatever the type says.
const capture = (name: string) =>
  parseWebhookPayload(
    JSON.parse(
      readFileSync(path.resolve(import.meta.dirname, '../fixtures/alertmanager-0.25', name), 'utf8'),
    ),
  );

const LINE_FIELDS = [
  'seq',
  'receivedAt',
  'receiver',
  'groupKey',
  'status',
  'alertname',
  'cluster',
  'severity',
  'member',
  'labels',
  'annotations',
  'startsAt',
  'endsAt',
  'generatorURL',
  'fingerprint',
];

describe('alert history event line', () => {
  it.each([
    ['webhook-firing-critical.json', false],
    ['webhook-firing-member.json', true],
    ['webhook-resolved-critical.json', false],
  ])('%s: fields in the stored order, member only for member alerts, read back unchanged', (file, member) => {
    const payload = capture(file);
    const events = eventsFromAlerts(payload, payload.alerts, new Date('2024-05-01T12:00:00Z'), 7);
    expect(events.length).toBe(payload.alerts.length);
    for (const [i, event] of events.entries()) {
      const line = JSON.stringify(event);
      expect(Object.keys(JSON.parse(line) as object)).toEqual(
        LINE_FIELDS.filter((f) => member || f !== 'member'),
      );
      expect(event.seq).toBe(7 + i);
      expect(event.status).toBe(payload.alerts[i]?.status);
      expect(event.receiver).toBe(payload.receiver);
      expect(parseEventLine(line)).toEqual(event);
    }
  });
});
