import { pino, type Logger } from 'pino';
import type { LogLevel } from '../config/types.js';

export type { Logger };

/** Creates the process logger; "pretty" is a compact human line format without extra dependencies. */
export function createLogger(
  level: LogLevel,
  format: 'json' | 'pretty',
  destination: NodeJS.WritableStream = process.stderr,
): Logger {
  if (format === 'json')
    return pino({ level, base: { service: 'etcd-monitor' } }, destination as pino.DestinationStream);
  return pino(
    { level, base: undefined, timestamp: false },
    {
      write(line: string) {
        const { level: lvl, msg, time: _t, ...rest } = JSON.parse(line) as Record<string, unknown>;
        const extra = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : '';
        destination.write(
          `${new Date().toISOString()} ${pino.levels.labels[lvl as number] ?? lvl} ${msg ?? ''}${extra}\n`,
        );
      },
    },
  );
}
