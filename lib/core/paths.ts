/** Locating the project folder from any working directory (CLI, mocha, tslab kernels in notebooks/). */
import { existsSync, readFileSync } from "fs";
import { dirname, join, resolve } from "path";
import { RraError } from "./errors";

const PACKAGE_NAME = "rradistill-workbench";
let cached: string | undefined;

/** The project root: the nearest folder above this file whose package.json is named rradistill-workbench. */
export function projectRoot(): string {
  if (cached) return cached;
  let dir = resolve(__dirname);
  for (;;) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, "utf8")) as { name?: string }).name === PACKAGE_NAME) return (cached = dir);
      } catch {
        // not our package.json; keep walking up
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new RraError(`projectRoot: no package.json named "${PACKAGE_NAME}" in ${__dirname} or any folder above it`);
    dir = up;
  }
}

/** A path inside the project: `projectPath("data", "rra.sqlite")`. */
export function projectPath(...parts: string[]): string {
  return join(projectRoot(), ...parts);
}
