/** Structured JSON logs (pino), one line per event, fields an operator can filter on. */
import { type Logger, pino } from "pino";

export const makeLogger = (level: string, destination?: NodeJS.WritableStream): Logger =>
  pino(
    {
      level,
      base: { component: "instrumentor" },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? pino.destination({ sync: true }),
  );
