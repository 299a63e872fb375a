// @ts-check
/**
 * `pnpm --filter @odigos/consumer-test test`: what a user of the published libraries gets.
 *
 * 1. `pnpm pack` each of the five libraries (they must be built: turbo's `^build` does it) into
 *    a temporary folder outside the workspace, and checks each tarball: only `dist/`, README,
 *    LICENSE and package.json (and crd-types' generated `crds/`), no test files, no
 *    `workspace:` ranges left, `publishConfig.access` public, a repository.
 * 2. Creates a scratch npm project there, `npm install`s the five tarballs plus effect,
 *    typescript and @types/node from the registry.
 * 3. Compiles fixture/main.ts with tsc (strict, NodeNext) and runs it; checks what it prints.
 *
 * Leaves nothing in the repository; removes the temporary folder (unless KEEP_CONSUMER_TEST=1).
 */
import { spawn } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
const fixture = fileURLToPath(new URL("../fixture/main.ts", import.meta.url));
const packages = ["kube-client", "crd-types", "instrumentation-rules", "device-patcher", "cleanup"];
const registryDeps = ["effect@3.22.4", "typescript@5.9.3", "@types/node@24.19.4"];

/** What the program must print, in order. */
const expected = [
  "decoded deployment-cart: 1 language(s)",
  "invalid runtime details rejected: true",
  "decision: true Instrument (NamespaceEnabled)",
  'devices: {"app":["instrumentation.odigos.io/go-ebpf-community"]}',
  // The precondition, the device and the pod-template label that rides along.
  "plan: Patch with 3 operation(s)",
  "applyDevicePlan: Patched, resourceVersion 3",
  "re-plan: NoChange",
  "cleanup plan: DeleteRuntimeDetails",
  "cleanup: 1 done, 0 failed, 0 runtime details left",
  "cronjob-nightly: Job template limits instrumentation.odigos.io/go-ebpf-community",
];

/**
 * @param {string} command
 * @param {ReadonlyArray<string>} args
 * @param {string} cwd
 * @returns {Promise<string>} stdout
 */
const run = (command, args, cwd) =>
  new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0
        ? resolve(stdout)
        : reject(
            new Error(
              `${command} ${args.join(" ")} (in ${cwd}) exited ${code}:\n${stdout}${stderr}`,
            ),
          ),
    );
  });

/** @param {string} line */
const say = (line) => process.stdout.write(`${line}\n`);

/**
 * Files a tarball may hold (paths inside `package/`).
 * @param {string} name
 * @param {string} file
 */
const allowed = (name, file) =>
  /^(package\.json|README\.md|LICENSE)$/.test(file) ||
  (/^dist\/.+\.(js|d\.ts|js\.map|d\.ts\.map)$/.test(file) && !/\.test\./.test(file)) ||
  (name === "crd-types" && /^crds\/[^/]+\.ya?ml$/.test(file));

const work = mkdtempSync(join(tmpdir(), "odigos-consumer-test-"));
const failures = [];
try {
  const tarballDir = join(work, "tarballs");
  mkdirSync(tarballDir);
  const tarballs = [];
  for (const name of packages) {
    const dir = join(repoRoot, "packages", name);
    const before = new Set(readdirSync(tarballDir));
    await run("pnpm", ["pack", "--pack-destination", tarballDir], dir);
    const tarball = readdirSync(tarballDir).find((file) => !before.has(file));
    if (tarball === undefined) throw new Error(`pnpm pack of ${name} produced no tarball`);
    const path = join(tarballDir, tarball);
    tarballs.push(path);

    const files = (await run("tar", ["-tzf", path], work))
      .split("\n")
      .filter((line) => line !== "" && !line.endsWith("/"))
      .map((line) => line.replace(/^package\//, ""));
    const extra = files.filter((file) => !allowed(name, file));
    for (const required of [
      "package.json",
      "README.md",
      "LICENSE",
      "dist/index.js",
      "dist/index.d.ts",
    ]) {
      if (!files.includes(required)) failures.push(`${tarball}: ${required} missing`);
    }
    if (extra.length > 0) failures.push(`${tarball}: unexpected files ${extra.join(", ")}`);
    const manifest = JSON.parse(await run("tar", ["-xzOf", path, "package/package.json"], work));
    const ranges = JSON.stringify({ ...manifest.dependencies, ...manifest.peerDependencies });
    if (ranges.includes("workspace:"))
      failures.push(`${tarball}: workspace: range left: ${ranges}`);
    if (manifest.publishConfig?.access !== "public")
      failures.push(`${tarball}: publishConfig.access is not public`);
    if (manifest.repository?.url === undefined) failures.push(`${tarball}: no repository`);
    if (manifest.license !== "Apache-2.0") failures.push(`${tarball}: license ${manifest.license}`);
    say(
      `packed ${tarball}: ${files.length} files, dependencies ${JSON.stringify(manifest.dependencies ?? {})}`,
    );
  }

  const project = join(work, "consumer");
  mkdirSync(join(project, "src"), { recursive: true });
  writeFileSync(
    join(project, "package.json"),
    `${JSON.stringify({ name: "odigos-consumer", private: true, type: "module" }, null, 2)}\n`,
  );
  writeFileSync(
    join(project, "tsconfig.json"),
    `${JSON.stringify(
      {
        compilerOptions: {
          target: "ES2022",
          lib: ["ES2022"],
          module: "NodeNext",
          moduleResolution: "NodeNext",
          types: ["node"],
          strict: true,
          exactOptionalPropertyTypes: true,
          noUncheckedIndexedAccess: true,
          verbatimModuleSyntax: true,
          skipLibCheck: false,
          outDir: "dist",
          rootDir: "src",
        },
        include: ["src"],
      },
      null,
      2,
    )}\n`,
  );
  copyFileSync(fixture, join(project, "src", "main.ts"));

  say(`npm install ${tarballs.length} tarballs + ${registryDeps.join(" ")} in ${project}`);
  // npm reaches the registry through the machine's TLS proxy, if any, with NODE_EXTRA_CA_CERTS
  // (turbo.json passes it through): without it, every fetch failed SELF_SIGNED_CERT_IN_CHAIN and
  // npm fell back to its cache, 70 s a package, or, with an empty cache, to ERESOLVE.
  await run(
    "npm",
    [
      "install",
      "--no-audit",
      "--no-fund",
      "--ignore-scripts",
      "--loglevel=error",
      ...tarballs,
      ...registryDeps,
    ],
    project,
  );
  say((await run("npm", ["ls", "--all", "--depth=1", "@odigos/crd-types"], project)).trim());
  await run(join(project, "node_modules", ".bin", "tsc"), ["-p", "tsconfig.json"], project);
  say("tsc (strict, NodeNext, skipLibCheck false): ok");
  const output = (await run(process.execPath, ["dist/main.js"], project)).trim().split("\n");
  for (const line of output) say(`  ${line}`);
  if (JSON.stringify(output) !== JSON.stringify(expected)) {
    failures.push(`the program printed\n${output.join("\n")}\nexpected\n${expected.join("\n")}`);
  }
} finally {
  if (process.env.KEEP_CONSUMER_TEST === "1") say(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
if (failures.length > 0) {
  process.stderr.write(`consumer test failed:\n${failures.join("\n")}\n`);
  process.exit(1);
}
say("consumer test passed");
