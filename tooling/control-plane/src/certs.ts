import { execFile } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { findOnPath } from "./binaries.js";
import type { Env } from "./layout.js";

const run = promisify(execFile);

/** PEM files of the control plane's PKI, all inside the data dir. */
export interface Pki {
  readonly caCert: string;
  readonly caKey: string;
  readonly servingCert: string;
  readonly servingKey: string;
  readonly adminCert: string;
  readonly adminKey: string;
  /** kube-controller-manager's own identity, so audit logs tell its writes from the tests'. */
  readonly controllerManagerCert: string;
  readonly controllerManagerKey: string;
  /** Signs and verifies service-account tokens (TokenRequest). */
  readonly serviceAccountKey: string;
  readonly serviceAccountPublicKey: string;
}

/** The user the admin client certificate authenticates as (group system:masters = cluster-admin). */
export const adminUser = "odigos-admin";

/** The user kube-controller-manager authenticates as. */
export const controllerManagerUser = "system:kube-controller-manager";

/** The user kube-scheduler authenticates as (Kubernetes' bootstrap RBAC grants it what it needs). */
export const schedulerUser = "system:kube-scheduler";

/** The user kwok authenticates as (group system:masters: it writes node and pod status, leases, deletes pods). */
export const kwokUser = "kwok-controller";

const validityDays = "30";
const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
const clientExtensions =
  "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n";
// Certificates are issued in parallel: a shared -CAcreateserial file would race, so each gets a random serial.
const randomSerial = () => `0x${randomBytes(16).toString("hex")}`;

function opensslOf(env: Env): string {
  const openssl = findOnPath("openssl", env);
  if (openssl === undefined) {
    throw new Error(
      "The control plane needs the `openssl` CLI to create its certificates; install it (apt-get install openssl, brew install openssl) or put it on PATH.",
    );
  }
  return openssl;
}

/** Issues `<dir>/<name>.crt` and `.key` signed by the CA, with the given subject and extensions. */
async function issue(
  openssl: string,
  ca: { caCert: string; caKey: string },
  dir: string,
  name: string,
  subject: string,
  extensions: string,
): Promise<{ cert: string; key: string }> {
  const path = (file: string) => join(dir, file);
  const cert = path(`${name}.crt`);
  const key = path(`${name}.key`);
  const csr = path(`${name}.csr`);
  const ext = path(`${name}.ext`);
  await writeFile(ext, extensions);
  await run(openssl, ["req", "-new", ...ec, "-subj", subject, "-keyout", key, "-out", csr]);
  // biome-ignore format: one openssl flag and its value per pair
  await run(openssl, [
    "x509", "-req", "-in", csr, "-CA", ca.caCert, "-CAkey", ca.caKey, "-set_serial", randomSerial(),
    "-days", validityDays, "-extfile", ext, "-out", cert,
  ]);
  return { cert, key };
}

/** A client certificate for `user` (in `groups`) signed by the control plane's CA, in the PKI folder. */
export async function issueClientCertificate(
  pki: Pki,
  name: string,
  identity: { user: string; groups?: readonly string[] },
  env: Env = process.env,
): Promise<{ cert: string; key: string }> {
  const subject = `${(identity.groups ?? []).map((group) => `/O=${group}`).join("")}/CN=${identity.user}`;
  return issue(opensslOf(env), pki, dirname(pki.caCert), name, subject, clientExtensions);
}

/**
 * Creates a throwaway CA, the apiserver serving certificate, an admin client certificate
 * and the service-account key pair with the `openssl` CLI (X.509 signing is not in node:crypto).
 */
export async function createPki(dir: string, env: Env = process.env): Promise<Pki> {
  const openssl = opensslOf(env);
  const path = (name: string) => join(dir, name);
  const pki: Pki = {
    caCert: path("ca.crt"),
    caKey: path("ca.key"),
    servingCert: path("apiserver.crt"),
    servingKey: path("apiserver.key"),
    adminCert: path("admin.crt"),
    adminKey: path("admin.key"),
    controllerManagerCert: path("controller-manager.crt"),
    controllerManagerKey: path("controller-manager.key"),
    serviceAccountKey: path("sa.key"),
    serviceAccountPublicKey: path("sa.pub"),
  };

  // biome-ignore format: one openssl flag and its value per pair
  await run(openssl, [
    "req", "-x509", ...ec, "-days", validityDays, "-subj", "/CN=odigos-test-ca",
    "-addext", "basicConstraints=critical,CA:TRUE",
    "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    "-keyout", pki.caKey, "-out", pki.caCert,
  ]);

  await Promise.all([
    issue(
      openssl,
      pki,
      dir,
      "apiserver",
      "/CN=kube-apiserver",
      [
        "basicConstraints=CA:FALSE",
        "keyUsage=critical,digitalSignature",
        "extendedKeyUsage=serverAuth",
        "subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc",
        "",
      ].join("\n"),
    ),
    issue(openssl, pki, dir, "admin", `/O=system:masters/CN=${adminUser}`, clientExtensions),
    // Without per-controller service-account credentials it needs cluster-wide rights.
    issue(
      openssl,
      pki,
      dir,
      "controller-manager",
      `/O=system:masters/CN=${controllerManagerUser}`,
      clientExtensions,
    ),
  ]);

  const serviceAccount = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  await writeFile(
    pki.serviceAccountKey,
    serviceAccount.privateKey.export({ type: "pkcs8", format: "pem" }),
  );
  await writeFile(
    pki.serviceAccountPublicKey,
    serviceAccount.publicKey.export({ type: "spki", format: "pem" }),
  );
  return pki;
}

/** Reads a PEM file as the base64 a kubeconfig's `*-data` fields hold. */
export async function pemAsBase64(file: string): Promise<string> {
  return (await readFile(file)).toString("base64");
}
