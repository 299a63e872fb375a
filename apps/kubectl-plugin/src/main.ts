#!/usr/bin/env node
/**
 * `kubectl odigos-instrumentor status | explain` (the executable `kubectl-odigos_instrumentor`
 * on PATH): read-only, with the user's kubeconfig and RBAC; arguments by `@effect/cli`.
 */
import * as Args from "@effect/cli/Args";
import * as Command from "@effect/cli/Command";
import * as Options from "@effect/cli/Options";
import * as NodeContext from "@effect/platform-node/NodeContext";
import * as NodeRuntime from "@effect/platform-node/NodeRuntime";
import { loadCredentials } from "@odigos/instrumentor";
import { type KubeClient, layer as kubeClientLayer } from "@odigos/kube-client";
import * as Console from "effect/Console";
import * as Effect from "effect/Effect";
import { explainCommand, statusCommand } from "./commands.js";

const version = "0.1.0";

const odigosNamespace = Options.text("odigos-namespace").pipe(
  Options.withDescription("the namespace Odigos runs in"),
  Options.withDefault("odigos-system"),
);
const output = Options.choice("output", ["table", "wide", "json"]).pipe(
  Options.withAlias("o"),
  Options.withDescription("table (default), wide (with message and remedy) or json"),
  Options.withDefault("table" as const),
);

const leaseName = Options.text("leader-election-id").pipe(
  Options.withDescription(
    "the instrumentor's leader Lease, which names the pod to ask for live facts",
  ),
  Options.withDefault("instrumentor.odigos.io"),
);
const instrumentorPod = Options.text("instrumentor-pod").pipe(
  Options.withDescription("ask this pod for live facts instead of the Lease's holder"),
  Options.optional,
);

/**
 * Runs a command with the user's credentials, given the kubeconfig's namespace (the current
 * context's, else `default`); a failure is one line on stderr and exit code 1.
 */
const print = <E extends { readonly message: string }>(
  command: (currentNamespace: string) => Effect.Effect<string, E, KubeClient>,
) =>
  loadCredentials().pipe(
    Effect.flatMap((credentials) =>
      command(credentials.namespace ?? "default").pipe(
        Effect.provide(
          kubeClientLayer(credentials, { userAgent: `kubectl-odigos_instrumentor/${version}` }),
        ),
      ),
    ),
    Effect.flatMap(Console.log),
    Effect.catchAll((error: { readonly message: string }) =>
      Effect.zipRight(
        Console.error(`error: ${error.message}`),
        Effect.sync(() => {
          process.exitCode = 1;
        }),
      ),
    ),
  );

const status = Command.make(
  "status",
  {
    namespace: Options.text("namespace").pipe(
      Options.withAlias("n"),
      Options.withDescription("one namespace (default: the current context's, else default)"),
      Options.optional,
    ),
    allNamespaces: Options.boolean("all-namespaces").pipe(
      Options.withAlias("A"),
      Options.withDescription("every namespace"),
    ),
    output,
    odigosNamespace,
    leaseName,
    instrumentorPod,
  },
  (options) => print((current) => statusCommand(options, current)),
).pipe(Command.withDescription("what is instrumented, and why not: the fleet, then one row each"));

const explain = Command.make(
  "explain",
  {
    target: Args.text({ name: "NAMESPACE/KIND/NAME" }),
    output,
    odigosNamespace,
    leaseName,
    instrumentorPod,
  },
  (options) => print(() => explainCommand(options)),
).pipe(Command.withDescription("the whole chain for one workload, and what happens next"));

const root = Command.make("kubectl-odigos_instrumentor").pipe(
  Command.withSubcommands([status, explain]),
);

const cli = Command.run(root, { name: "kubectl odigos-instrumentor", version });

cli(process.argv).pipe(Effect.provide(NodeContext.layer), NodeRuntime.runMain);
