export interface ReadmeExampleOptions {
  /** The package name the README imports, e.g. `@odigos/cleanup`. */
  readonly packageName: string;
  /** The example file (importing `../index.js`, and `../<entry>/index.js` for a subpath export). */
  readonly exampleUrl: URL;
  /** The package README. */
  readonly readmeUrl: URL;
  /** Imports the example, which runs it (a literal `import()` in the caller, so vitest transforms it). */
  readonly runExample: () => Promise<unknown>;
  /** Environment variables to clear while the example runs. */
  readonly unsetEnv?: ReadonlyArray<string>;
}

/** Registers the two README tests in the calling test file. */
export declare const describeReadmeExample: (options: ReadmeExampleOptions) => void;
