import { readFile } from "node:fs/promises";
import { type AuditEvent, parseAuditLog } from "@odigos/control-plane";
import type { InstrumentorProcess } from "@odigos/harness";
import { inject } from "vitest";

/** Every request the API server audited so far (Metadata level, ResponseComplete stage). */
export async function auditEvents(): Promise<AuditEvent[]> {
  return parseAuditLog(await readFile(inject("auditLogPath"), "utf8")).filter(
    (event) => event.stage === "ResponseComplete",
  );
}

const writeVerbs = new Set(["create", "update", "patch", "delete", "deletecollection"]);

/** Writes one instrumentor process sent, told apart by its User-Agent (`odigos-instrumentor/… pid/<pid>`). */
export function instrumentorWrites(
  events: readonly AuditEvent[],
  by: InstrumentorProcess,
): AuditEvent[] {
  return events.filter((event) => writeVerbs.has(event.verb) && by.sent(event.userAgent));
}
