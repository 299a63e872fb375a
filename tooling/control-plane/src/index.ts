export {
  type Binaries,
  BinariesUnavailableError,
  binaryCacheKey,
  type EnsureBinariesOptions,
  ensureBinaries,
  findOnPath,
  hostGoPlatform,
  missingToolchainMessage,
  type PinnedVersions,
  readPinnedVersions,
  resolveKubebuilderAssets,
} from "./binaries.js";
export { adminUser, controllerManagerUser } from "./certs.js";
export {
  type AuditEvent,
  type ControlPlane,
  type ControlPlaneOptions,
  type ControlPlanePids,
  defaultAuditPolicy,
  parseAuditLog,
  startControlPlane,
} from "./control-plane.js";
export { type InstallCrdsOptions, installCrds, readCrds, waitForCrdsEstablished } from "./crds.js";
export {
  binaryCacheDir,
  cacheRoot,
  clusterStateFile,
  defaultCrdDir,
  goBuildModuleDir,
  repoRoot,
} from "./layout.js";
