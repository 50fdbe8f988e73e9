import { pino, type Logger } from 'pino';

export type { Logger };

/** pino's level names, lowest first; `silent` logs nothing (the library's default). --log-level takes one. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** --log-format: `json` is pino's one object per line; `pretty` the compact human line below. */
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Creates the process logger; "pretty" is a compact human line format without extra dependencies. */
export function createLogger(
  level: LogLevel,
  format: LogFormat,
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
