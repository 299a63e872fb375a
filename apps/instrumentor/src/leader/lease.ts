/**
 * Leader election on a coordination.k8s.io/v1 Lease, with client-go's timings and semantics:
 * a lease is free when its holder is empty or it was not renewed within its duration (as
 * observed on our own clock); the leader renews every retry period and gives up when it could
 * not renew within the renew deadline; when the scope closes it hands the lease back, so
 * another replica takes over at once.
 */
import { hostname } from "node:os";
import {
  hasStatus,
  KubeClient,
  type KubeClientApi,
  type KubeError,
  type KubeObject,
  Resources,
} from "@odigos/kube-client";
import type * as Cause from "effect/Cause";
import * as Clock from "effect/Clock";
import * as Context from "effect/Context";
import * as Deferred from "effect/Deferred";
import * as Effect from "effect/Effect";
import * as FiberId from "effect/FiberId";
import * as Layer from "effect/Layer";
import type * as Scope from "effect/Scope";
import type { Logger } from "pino";
import { Config } from "../config.js";
import { Log } from "../observability/log.js";
import { Metrics } from "../observability/metrics.js";

export interface LeaseOptions {
  readonly namespace: string;
  readonly name: string;
  readonly identity: string;
  readonly leaseDurationSeconds: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
}

export interface LeaderElectionApi {
  /** Completes once this replica leads (at once when leader election is off). */
  readonly acquire: Effect.Effect<void>;
  /** Completes if leadership is lost after being acquired: the process must exit. */
  readonly lost: Effect.Effect<void>;
  readonly isLeader: () => boolean;
}

export class LeaderElection extends Context.Tag("@odigos/instrumentor/LeaderElection")<
  LeaderElection,
  LeaderElectionApi
>() {}

interface LeaseSpec {
  holderIdentity?: string | null;
  leaseDurationSeconds?: number;
  acquireTime?: string | null;
  renewTime?: string | null;
  leaseTransitions?: number;
}

const microTime = (millis: number): string =>
  new Date(millis).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");

/** One replica's campaign for the lease. */
class Campaign {
  private leading = false;
  private observed: { holder: string; renewTime: string; at: number } | undefined;
  private lastForbiddenLog = Number.NEGATIVE_INFINITY;
  private readonly fields: { readonly lease: string; readonly identity: string };
  readonly lostSignal = Deferred.unsafeMake<void>(FiberId.none);

  constructor(
    private readonly client: KubeClientApi,
    private readonly log: Logger,
    private readonly options: LeaseOptions,
  ) {
    this.fields = { lease: options.name, identity: options.identity };
  }

  isLeader = () => this.leading;

  /** Blocks until we lead, then renews in `scope`. */
  acquire(scope: Scope.Scope): Effect.Effect<void> {
    return Effect.gen(this, function* () {
      this.log.info(
        { ...this.fields, namespace: this.options.namespace },
        "waiting to become leader",
      );
      while (!(yield* this.tryAcquireOrRenew())) yield* Effect.sleep(this.options.retryPeriodMs);
      this.leading = true;
      this.log.info(this.fields, "became leader");
      yield* Effect.forkIn(this.renew(), scope);
    });
  }

  private renew(): Effect.Effect<void> {
    return Effect.gen(this, function* () {
      let lastRenew = yield* Clock.currentTimeMillis;
      for (;;) {
        yield* Effect.sleep(this.options.retryPeriodMs);
        const now = yield* Clock.currentTimeMillis;
        if (yield* this.tryAcquireOrRenew()) lastRenew = now;
        else if (now - lastRenew > this.options.renewDeadlineMs) {
          this.leading = false;
          this.log.error(this.fields, "leader election lost");
          yield* Deferred.succeed(this.lostSignal, undefined);
          return;
        }
      }
    });
  }

  /** One attempt: true when we hold the lease afterwards. */
  private tryAcquireOrRenew(): Effect.Effect<boolean> {
    const { namespace, name, identity, leaseDurationSeconds } = this.options;
    return Effect.gen(this, function* () {
      const now = yield* Clock.currentTimeMillis;
      const lease = yield* this.client.get(Resources.Lease, name, { namespace }).pipe(
        Effect.map((found): KubeObject | undefined => found),
        Effect.catchIf(
          (error) => hasStatus(error, 404),
          () => Effect.succeed(undefined),
        ),
      );
      if (lease !== undefined) {
        const spec = (lease.spec ?? {}) as LeaseSpec;
        const holder = spec.holderIdentity ?? "";
        const renewTime = spec.renewTime ?? "";
        if (this.observed?.holder !== holder || this.observed.renewTime !== renewTime)
          this.observed = { holder, renewTime, at: now };
        const duration = (spec.leaseDurationSeconds ?? leaseDurationSeconds) * 1000;
        if (holder !== "" && holder !== identity && this.observed.at + duration > now) return false;
      }
      yield* this.takeOver(now, lease);
      return true;
    }).pipe(
      Effect.timeout(5_000),
      Effect.catchAll((error) => Effect.as(this.reportFailure(error), false)),
    );
  }

  private takeOver(now: number, lease: KubeObject | undefined) {
    const { namespace, name, identity, leaseDurationSeconds } = this.options;
    const spec = (lease?.spec ?? {}) as LeaseSpec;
    const wasOurs = spec.holderIdentity === identity;
    const transitions = spec.leaseTransitions ?? 0;
    const next: LeaseSpec = {
      holderIdentity: identity,
      leaseDurationSeconds,
      acquireTime: wasOurs ? (spec.acquireTime ?? microTime(now)) : microTime(now),
      renewTime: microTime(now),
      leaseTransitions: lease === undefined ? 0 : wasOurs ? transitions : transitions + 1,
    };
    return lease === undefined
      ? this.client.create(Resources.Lease, {
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: { name, namespace },
          spec: next,
        })
      : this.client.replace(Resources.Lease, { ...lease, spec: next });
  }

  /** A refusal (RBAC) needs an operator; a passing fault does not. Say the former at warn, once a minute. */
  private reportFailure(error: KubeError | Cause.TimeoutException): Effect.Effect<void> {
    return Effect.map(Clock.currentTimeMillis, (now) => {
      const forbidden = error._tag === "KubeStatusError" && error.code === 403;
      if (forbidden && now - this.lastForbiddenLog >= 60_000) {
        this.lastForbiddenLog = now;
        this.log.warn(
          {
            ...this.fields,
            namespace: this.options.namespace,
            reason: "Forbidden",
            err: error.message,
          },
          "forbidden to acquire or renew the leader lease",
        );
      } else
        this.log.debug({ ...this.fields, err: error.message }, "could not acquire or renew lease");
    });
  }

  /** Hands the lease back (if we hold it) so another replica need not wait it out. */
  release(): Effect.Effect<void> {
    const { namespace, name, identity } = this.options;
    return Effect.gen(this, function* () {
      if (!this.leading) return;
      this.leading = false;
      const lease = yield* this.client.get(Resources.Lease, name, { namespace });
      const spec = (lease.spec ?? {}) as LeaseSpec;
      if (spec.holderIdentity !== identity) return;
      const now = microTime(yield* Clock.currentTimeMillis);
      yield* this.client.replace(Resources.Lease, {
        ...lease,
        spec: {
          ...spec,
          holderIdentity: null,
          leaseDurationSeconds: 1,
          acquireTime: now,
          renewTime: now,
        },
      });
      this.log.info(this.fields, "released leader lease");
    }).pipe(
      Effect.timeout(5_000),
      Effect.catchAll((error) =>
        Effect.sync(() =>
          this.log.warn({ ...this.fields, err: error.message }, "could not release leader lease"),
        ),
      ),
    );
  }
}

/** Campaigns for `options.name`; releases the lease when the scope closes. */
export const makeLeaderElection = (
  options: LeaseOptions,
): Effect.Effect<LeaderElectionApi, never, KubeClient | Log | Scope.Scope> =>
  Effect.gen(function* () {
    const campaign = new Campaign(yield* KubeClient, yield* Log, options);
    yield* Effect.addFinalizer(() => campaign.release());
    const scope = yield* Effect.scope;
    return {
      acquire: campaign.acquire(scope),
      lost: Deferred.await(campaign.lostSignal),
      isLeader: campaign.isLeader,
    };
  });

/** Campaigns with client-go's timings when `--leader-elect` is on; otherwise always leads. */
export const LeaderElectionLive: Layer.Layer<
  LeaderElection,
  never,
  Config | KubeClient | Log | Metrics
> = Layer.scoped(
  LeaderElection,
  Effect.gen(function* () {
    const config = yield* Config;
    const metrics = yield* Metrics;
    // A dry run writes nothing, so it never takes the lease from the replica that writes.
    if (!config.leaderElect || config.dryRun)
      return { acquire: Effect.void, lost: Effect.never, isLeader: () => true };
    const gauge = { name: config.leaderElectionId };
    metrics.isLeader.set(gauge, 0);
    const election = yield* makeLeaderElection({
      namespace: config.odigosNamespace,
      name: config.leaderElectionId,
      identity: `${process.env.POD_NAME ?? hostname()}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`,
      leaseDurationSeconds: 15,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
    });
    return {
      ...election,
      acquire: Effect.tap(election.acquire, () => metrics.isLeader.set(gauge, 1)),
      lost: Effect.tap(election.lost, () => metrics.isLeader.set(gauge, 0)),
    };
  }),
);
