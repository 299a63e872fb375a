/** Structured JSON logs (pino), one line per event, fields an operator can filter on. */
import * as Context from "effect/Context";
import * as Layer from "effect/Layer";
import { type Logger, pino } from "pino";

/** The process's logger; fields `workload`, `namespace`, `kind`, `reason` on every decision. */
export class Log extends Context.Tag("@odigos/instrumentor/Log")<Log, Logger>() {}

/** A pino logger writing JSON lines synchronously (nothing is lost when the process dies). */
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

/** Provides this logger as {@link Log}. */
export const logLayer = (logger: Logger): Layer.Layer<Log> => Layer.succeed(Log, logger);
