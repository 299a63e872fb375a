/**
 * Kubernetes Events (events.k8s.io/v1) on the objects decisions are about, de-duplicated so a
 * reconcile loop cannot flood the API server. Best effort: events wait in a bounded outbox and
 * go out two at a time, after the writes they describe; a failed one is logged, never retried.
 */
import { hostname } from "node:os";
import { KubeClient, type KubeObject, Resources } from "@odigos/kube-client";
import * as Context from "effect/Context";
import * as Effect from "effect/Effect";
import * as Layer from "effect/Layer";
import * as Option from "effect/Option";
import * as Queue from "effect/Queue";
import type { Logger } from "pino";
import { Config } from "../config.js";
import { Log } from "./log.js";

/** The object an Event is about. */
export interface EventTarget {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid?: string | undefined;
}

export interface EventRecorderApi {
  readonly normal: (target: EventTarget, reason: string, action: string, note: string) => void;
  readonly warning: (target: EventTarget, reason: string, action: string, note: string) => void;
}

export class EventRecorder extends Context.Tag("@odigos/instrumentor/EventRecorder")<
  EventRecorder,
  EventRecorderApi
>() {}

/** How long an identical event is suppressed. */
const dedupeWindowMs = 10 * 60_000;
const maxRemembered = 20_000;
/** Events sent at once, and waiting at most. */
const senders = 2;
const maxQueued = 10_000;
/** On shutdown, how long waiting events may still go out. */
const flushOnCloseMs = 2_000;

const microTime = (millis: number): string =>
  new Date(millis).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");

/** An events.k8s.io/v1 Event, named like client-go's: `<object>.<time in hex>`, unique per object and moment. */
const eventBody = (
  type: "Normal" | "Warning",
  target: EventTarget,
  reason: string,
  action: string,
  note: string,
  at: { readonly now: number; readonly sequence: number; readonly instance: string },
): KubeObject => ({
  apiVersion: "events.k8s.io/v1",
  kind: "Event",
  metadata: {
    name: `${target.name.slice(0, 200)}.${(BigInt(at.now) * 1_000_000n + BigInt(at.sequence % 1_000_000)).toString(16)}`,
    namespace: target.namespace,
  },
  eventTime: microTime(at.now),
  reportingController: "odigos.io/instrumentor",
  reportingInstance: at.instance,
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
});

interface Pending {
  readonly body: KubeObject;
  readonly fields: Record<string, string>;
}

/** The recorder over `KubeClient`; waiting events get a short grace when the scope closes. */
const dryRunRecorder = (log: Logger): EventRecorderApi => {
  const say =
    (type: string) => (target: EventTarget, reason: string, _action: string, note: string) =>
      log.debug(
        { kind: target.kind, namespace: target.namespace, name: target.name, reason, type },
        `dry run: would record Event: ${note}`,
      );
  return { normal: say("Normal"), warning: say("Warning") };
};

export const EventRecorderLive: Layer.Layer<EventRecorder, never, KubeClient | Log | Config> =
  Layer.scoped(
    EventRecorder,
    Effect.gen(function* () {
      const client = yield* KubeClient;
      const log = yield* Log;
      // A dry run writes nothing, Events included: they are logged at debug level instead.
      if ((yield* Config).dryRun) return dryRunRecorder(log);
      const outbox = yield* Queue.dropping<Pending>(maxQueued);
      const lastSent = new Map<string, number>();
      const instance = process.env.POD_NAME ?? hostname();
      let sequence = 0;
      let dropped = 0;

      const send = Effect.gen(function* () {
        const next = yield* Queue.take(outbox);
        yield* client
          .create(Resources.Event, next.body)
          .pipe(
            Effect.catchAll((error) =>
              Effect.sync(() =>
                log.warn({ ...next.fields, err: error.message }, "could not record event"),
              ),
            ),
          );
      });
      for (let i = 0; i < senders; i++) yield* Effect.forkScoped(Effect.forever(send));
      // Wall-clock bounded, whatever clock the program runs on: shutdown must end.
      yield* Effect.addFinalizer(() =>
        Effect.promise(async () => {
          const deadline = Date.now() + flushOnCloseMs;
          while (outbox.unsafeSize().pipe(Option.getOrElse(() => 0)) > 0 && Date.now() < deadline)
            await new Promise((resolve) => setTimeout(resolve, 20));
        }),
      );
      const emit = (
        type: "Normal" | "Warning",
        target: EventTarget,
        reason: string,
        action: string,
        note: string,
      ): void => {
        const key = `${target.kind}/${target.namespace}/${target.name}/${target.uid ?? ""}|${reason}|${note}`;
        const now = Date.now();
        const previous = lastSent.get(key);
        if (previous !== undefined && now - previous < dedupeWindowMs) return;
        if (lastSent.size >= maxRemembered) {
          for (const [old, at] of lastSent) if (now - at >= dedupeWindowMs) lastSent.delete(old);
          if (lastSent.size >= maxRemembered) lastSent.clear();
        }
        lastSent.set(key, now);
        const body = eventBody(type, target, reason, action, note, {
          now,
          sequence: sequence++,
          instance,
        });
        const fields = {
          reason,
          kind: target.kind,
          namespace: target.namespace,
          name: target.name,
        };
        const accepted = Queue.unsafeOffer(outbox, { body, fields });
        if (!accepted) {
          dropped += 1;
          if (dropped === 1 || dropped % 1000 === 0)
            log.warn({ dropped }, "event outbox full: dropping events");
        } else if (dropped > 0) {
          dropped = 0;
        }
      };
      return {
        normal: (target, reason, action, note) => emit("Normal", target, reason, action, note),
        warning: (target, reason, action, note) => emit("Warning", target, reason, action, note),
      };
    }),
  );
