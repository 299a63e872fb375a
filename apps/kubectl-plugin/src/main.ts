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
import * as Layer from "effect/Layer";
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

const kube = Layer.unwrapEffect(
  Effect.map(loadCredentials(), (credentials) =>
    kubeClientLayer(credentials, { userAgent: `kubectl-odigos_instrumentor/${version}` }),
  ),
);

/** Runs a command with the user's credentials; a failure is one line on stderr and exit code 1. */
const print = <E extends { readonly message: string }>(
  command: Effect.Effect<string, E, KubeClient>,
) =>
  command.pipe(
    Effect.flatMap(Console.log),
    Effect.provide(kube),
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
      Options.withDescription("one namespace (default: the kubeconfig's, or default)"),
      Options.optional,
    ),
    allNamespaces: Options.boolean("all-namespaces").pipe(
      Options.withAlias("A"),
      Options.withDescription("every namespace"),
    ),
    output,
    odigosNamespace,
  },
  (options) => print(statusCommand(options)),
).pipe(Command.withDescription("what is instrumented, and why not: the fleet, then one row each"));

const explain = Command.make(
  "explain",
  { target: Args.text({ name: "NAMESPACE/KIND/NAME" }), output, odigosNamespace },
  (options) => print(explainCommand(options)),
).pipe(Command.withDescription("the whole chain for one workload, and what happens next"));

const root = Command.make("kubectl-odigos_instrumentor").pipe(
  Command.withSubcommands([status, explain]),
);

const cli = Command.run(root, { name: "kubectl odigos-instrumentor", version });

cli(process.argv).pipe(Effect.provide(NodeContext.layer), NodeRuntime.runMain);
