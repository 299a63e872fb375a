// Keeps the README honest: its example is test-support/readme-example.ts verbatim, runs, and prints what it says.
import { describeReadmeExample } from "@odigos/readme-example";

describeReadmeExample({
  packageName: "@odigos/monitoring",
  exampleUrl: new URL("./test-support/readme-example.ts", import.meta.url),
  readmeUrl: new URL("../README.md", import.meta.url),
  runExample: () => import("./test-support/readme-example.js"),
});
