import { readFile } from "node:fs/promises";
import { type AuditEvent, filterAudit, parseAuditLog, writeVerbs } from "@odigos/control-plane";
import type { InstrumentorProcess } from "@odigos/harness";
import { inject } from "vitest";

/** Every request the API server audited so far (Metadata level, ResponseComplete stage). */
export async function auditEvents(): Promise<AuditEvent[]> {
  return parseAuditLog(await readFile(inject("auditLogPath"), "utf8")).filter(
    (event) => event.stage === "ResponseComplete",
  );
}

/** Writes one instrumentor process sent, told apart by its User-Agent (`odigos-instrumentor/… pid/<pid>`). */
export function instrumentorWrites(
  events: readonly AuditEvent[],
  by: InstrumentorProcess,
): AuditEvent[] {
  return filterAudit(events, { verbs: writeVerbs, userAgent: (agent) => by.sent(agent) });
}
