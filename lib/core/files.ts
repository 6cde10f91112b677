/** File writing that never leaves half a file behind. */
import { mkdirSync, renameSync, writeFileSync } from "fs";
import { dirname } from "path";

let tmpCounter = 0;

/** Write a file through a temporary sibling and a rename (creating the folder), so readers never see half a file. */
export function writeFileAtomic(file: string, data: string | Buffer): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${++tmpCounter}`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}
