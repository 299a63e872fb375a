import { describeReadmeExample } from "@odigos/readme-example";

describeReadmeExample({
  packageName: "@odigos/kube-client",
  readmeUrl: new URL("../README.md", import.meta.url),
  exampleUrl: new URL("./test-support/readme-example.ts", import.meta.url),
  runExample: () => import("./test-support/readme-example.js"),
});
