/**
 * Leader election on a coordination.k8s.io/v1 Lease, with client-go's timings
 * and semantics: a lease is free when its holder is empty or it was not
 * renewed within its duration (as observed on our own clock); the leader
 * renews every retry period and gives up when it could not renew within the
 * renew deadline; on shutdown it releases the lease so another replica can
 * take over at once.
 */
import type { Logger } from "pino";
import { type KubeHttp, KubeRequestError } from "../kube/http.js";
import { leasePath } from "../kube/resources.js";

export interface LeaseOptions {
  readonly namespace: string;
  readonly name: string;
  readonly identity: string;
  readonly leaseDurationSeconds: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
}

interface Lease {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: {
    holderIdentity?: string | null;
    leaseDurationSeconds?: number;
    acquireTime?: string | null;
    renewTime?: string | null;
    leaseTransitions?: number;
  };
}

const microTime = (date: Date): string => date.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");

export class LeaderElector {
  private stopped = false;
  private leading = false;
  private observed: { holder: string; renewTime: string; at: number } | undefined;
  private wake: (() => void) | undefined;
  private lastForbiddenLog = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly kube: KubeHttp,
    private readonly options: LeaseOptions,
    private readonly log: Logger,
  ) {}

  get isLeader(): boolean {
    return this.leading;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /**
   * Blocks until this replica leads (or `stop()` is called), then renews in
   * the background; `onLost` is called once if leadership is lost.
   */
  async acquire(onLost: () => void): Promise<boolean> {
    while (!this.stopped) {
      if (await this.tryAcquireOrRenew()) {
        this.leading = true;
        this.log.info(
          { lease: this.options.name, identity: this.options.identity },
          "became leader",
        );
        void this.renewLoop(onLost);
        return true;
      }
      await this.sleep(this.options.retryPeriodMs);
    }
    return false;
  }

  private async renewLoop(onLost: () => void): Promise<void> {
    let lastRenew = Date.now();
    while (!this.stopped && this.leading) {
      await this.sleep(this.options.retryPeriodMs);
      if (this.stopped) return;
      if (await this.tryAcquireOrRenew()) {
        lastRenew = Date.now();
      } else if (Date.now() - lastRenew > this.options.renewDeadlineMs) {
        this.leading = false;
        this.log.error(
          { lease: this.options.name, identity: this.options.identity },
          "leader election lost",
        );
        onLost();
        return;
      }
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity, leaseDurationSeconds } = this.options;
    const now = new Date();
    try {
      let lease: Lease | undefined;
      try {
        lease = (await this.kube.request("GET", leasePath(namespace, name), { timeoutMs: 5_000 }))
          .body as Lease;
      } catch (error) {
        if (!(error instanceof KubeRequestError && error.status === 404)) throw error;
      }
      if (lease === undefined) {
        await this.kube.request("POST", leasePath(namespace), {
          timeoutMs: 5_000,
          body: {
            apiVersion: "coordination.k8s.io/v1",
            kind: "Lease",
            metadata: { name, namespace },
            spec: {
              holderIdentity: identity,
              leaseDurationSeconds,
              acquireTime: microTime(now),
              renewTime: microTime(now),
              leaseTransitions: 0,
            },
          },
        });
        return true;
      }
      const holder = lease.spec.holderIdentity ?? "";
      const renewTime = lease.spec.renewTime ?? "";
      if (this.observed?.holder !== holder || this.observed.renewTime !== renewTime) {
        this.observed = { holder, renewTime, at: Date.now() };
      }
      const duration = (lease.spec.leaseDurationSeconds ?? leaseDurationSeconds) * 1000;
      const heldByOther = holder !== "" && holder !== identity;
      if (heldByOther && this.observed.at + duration > Date.now()) return false;
      const transitions = lease.spec.leaseTransitions ?? 0;
      await this.kube.request("PUT", leasePath(namespace, name), {
        timeoutMs: 5_000,
        body: {
          ...lease,
          spec: {
            holderIdentity: identity,
            leaseDurationSeconds,
            acquireTime: holder === identity ? lease.spec.acquireTime : microTime(now),
            renewTime: microTime(now),
            leaseTransitions: holder === identity ? transitions : transitions + 1,
          },
        },
      });
      return true;
    } catch (error) {
      // A refusal (RBAC) needs an operator; a passing fault does not. Say the former at warn, once a minute.
      const forbidden = error instanceof KubeRequestError && error.status === 403;
      const now = Date.now();
      if (forbidden && now - this.lastForbiddenLog >= 60_000) {
        this.lastForbiddenLog = now;
        this.log.warn(
          { lease: name, namespace, reason: "Forbidden", err: String(error) },
          "forbidden to acquire or renew the leader lease",
        );
      } else {
        this.log.debug({ lease: name, err: String(error) }, "could not acquire or renew lease");
      }
      return false;
    }
  }

  /** Stops campaigning; a leader hands the lease back so the next one need not wait it out. */
  async release(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    if (!this.leading) return;
    this.leading = false;
    const { namespace, name, identity } = this.options;
    try {
      const lease = (
        await this.kube.request("GET", leasePath(namespace, name), { timeoutMs: 5_000 })
      ).body as Lease;
      if (lease.spec.holderIdentity !== identity) return;
      const now = microTime(new Date());
      await this.kube.request("PUT", leasePath(namespace, name), {
        timeoutMs: 5_000,
        body: {
          ...lease,
          spec: {
            ...lease.spec,
            holderIdentity: null,
            leaseDurationSeconds: 1,
            acquireTime: now,
            renewTime: now,
          },
        },
      });
      this.log.info({ lease: name, identity }, "released leader lease");
    } catch (error) {
      this.log.warn({ lease: name, err: String(error) }, "could not release leader lease");
    }
  }
}
