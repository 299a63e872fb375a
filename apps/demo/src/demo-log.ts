/**
 * The demo's two outputs: JSON log lines on stdout (like the instrumentor's, with a `component`
 * of their own: `demo`, `demo-node-agent`) and, on stderr, the text a person reads.
 */
import * as Either from "effect/Either";
import { type DestinationStream, type Logger, pino } from "pino";

/**
 * A pino logger like the instrumentor's (JSON lines), for one demo component: synchronous on
 * stdout, or to `destination` (tests).
 */
export const demoLogger = (
  component: string,
  level: string,
  destination?: DestinationStream,
): Logger =>
  pino(
    {
      level,
      base: { component },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? pino.destination({ sync: true }),
  );

/** One line of the demo's narrative, for the person at the terminal (stderr, bold). */
export const say = (line: string): void => {
  process.stderr.write(`\x1b[1m▶ ${line}\x1b[0m\n`);
};

/**
 * `ODIGOS_DEMO_SECONDS`: unset, the demo runs until Ctrl-C; a whole number N > 0, it stops by
 * itself N seconds after printing its steps (as Ctrl-C would), for scripts and tests.
 */
export const parseDemoSeconds = (
  value: string | undefined,
): Either.Either<number | undefined, string> => {
  if (value === undefined || value === "") return Either.right(undefined);
  const seconds = Number(value);
  return /^\d+$/.test(value) && seconds > 0
    ? Either.right(seconds)
    : Either.left(
        `ODIGOS_DEMO_SECONDS=${value}: expected a whole number of seconds > 0 (how long the demo runs after printing its steps)`,
      );
};
