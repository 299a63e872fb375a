/**
 * Kubernetes Events (events.k8s.io/v1) on the objects decisions are about,
 * de-duplicated so a reconcile loop cannot flood the API server. Best effort:
 * a failed event is logged, never retried.
 */
import { hostname } from "node:os";
import type { Logger } from "pino";
import type { KubeHttp } from "../kube/http.js";
import { eventsPath } from "../kube/resources.js";

export interface EventTarget {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid?: string | undefined;
}

export interface EventRecorder {
  readonly normal: (target: EventTarget, reason: string, action: string, note: string) => void;
  readonly warning: (target: EventTarget, reason: string, action: string, note: string) => void;
}

/** How long an identical event is suppressed. */
const dedupeWindowMs = 10 * 60_000;
const maxRemembered = 20_000;
/** Events sent at once, and waiting at most. */
const maxInFlight = 2;
const maxQueued = 10_000;

const microTime = (date: Date): string => date.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");

export const makeEventRecorder = (
  kube: KubeHttp,
  log: Logger,
  onSent: (result: "ok" | "error") => void,
): EventRecorder => {
  const lastSent = new Map<string, number>();
  let sequence = 0;
  const instance = process.env.POD_NAME ?? hostname();
  const emit = (
    type: "Normal" | "Warning",
    target: EventTarget,
    reason: string,
    action: string,
    note: string,
  ) => {
    const key = `${target.kind}/${target.namespace}/${target.name}/${target.uid ?? ""}|${reason}|${note}`;
    const now = Date.now();
    const previous = lastSent.get(key);
    if (previous !== undefined && now - previous < dedupeWindowMs) return;
    if (lastSent.size >= maxRemembered) {
      for (const [oldKey, at] of lastSent) if (now - at >= dedupeWindowMs) lastSent.delete(oldKey);
      if (lastSent.size >= maxRemembered) lastSent.clear();
    }
    lastSent.set(key, now);
    const body = {
      apiVersion: "events.k8s.io/v1",
      kind: "Event",
      // Named like client-go's events: <object>.<time in hex>, unique per object and moment.
      metadata: {
        name: `${target.name.slice(0, 200)}.${(BigInt(now) * 1_000_000n + BigInt(sequence++ % 1_000_000)).toString(16)}`,
        namespace: target.namespace,
      },
      eventTime: microTime(new Date(now)),
      reportingController: "odigos.io/instrumentor",
      reportingInstance: instance,
      action,
      reason,
      type,
      note: note.slice(0, 1024),
      regarding: {
        apiVersion: target.apiVersion,
        kind: target.kind,
        namespace: target.namespace,
        name: target.name,
        ...(target.uid === undefined ? {} : { uid: target.uid }),
      },
    };
    if (outbox.length >= maxQueued) {
      dropped++;
      return;
    }
    outbox.push({
      namespace: target.namespace,
      body,
      fields: { reason, kind: target.kind, namespace: target.namespace, name: target.name },
    });
    pump();
  };

  // Events trail the writes they describe: a few at a time, so a mass change's device patches keep the
  // API server's attention. Best effort: beyond the bound they are dropped and counted.
  interface Pending {
    readonly namespace: string;
    readonly body: unknown;
    readonly fields: Record<string, string>;
  }
  const outbox: Array<Pending> = [];
  let inFlight = 0;
  let dropped = 0;
  const pump = (): void => {
    if (dropped > 0) {
      log.warn({ dropped }, "event outbox full: dropped events");
      dropped = 0;
    }
    while (inFlight < maxInFlight) {
      const next = outbox.shift();
      if (next === undefined) return;
      inFlight++;
      kube
        .request("POST", eventsPath(next.namespace), { body: next.body })
        .then(
          () => onSent("ok"),
          (error: unknown) => {
            onSent("error");
            log.warn({ err: String(error), ...next.fields }, "could not record event");
          },
        )
        .finally(() => {
          inFlight--;
          pump();
        });
    }
  };
  return {
    normal: (target, reason, action, note) => emit("Normal", target, reason, action, note),
    warning: (target, reason, action, note) => emit("Warning", target, reason, action, note),
  };
};
