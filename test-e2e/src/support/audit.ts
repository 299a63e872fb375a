import { readFile } from "node:fs/promises";
import { type AuditEvent, parseAuditLog } from "@odigos/control-plane";
import { inject } from "vitest";

/** Every request the API server audited so far (Metadata level, ResponseComplete stage). */
export async function auditEvents(): Promise<AuditEvent[]> {
  return parseAuditLog(await readFile(inject("auditLogPath"), "utf8")).filter(
    (event) => event.stage === "ResponseComplete",
  );
}

const writeVerbs = new Set(["create", "update", "patch", "delete", "deletecollection"]);

/** Writes an instrumentor sent, told apart by its User-Agent (`odigos-instrumentor/… pid/<pid>`); one process's only when `pid` is given. */
export function instrumentorWrites(events: readonly AuditEvent[], pid?: number): AuditEvent[] {
  return events.filter((event) => {
    const agent = event.userAgent ?? "";
    return (
      writeVerbs.has(event.verb) &&
      agent.startsWith("odigos-instrumentor/") &&
      (pid === undefined || agent.endsWith(` pid/${pid}`))
    );
  });
}
