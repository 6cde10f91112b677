/**
 * File writing that never leaves half a file behind: the data goes to a temporary sibling, is flushed to
 * disk (fsync), and is renamed over the target; the folder is flushed too, so the rename survives a power
 * cut. On any failure the temporary file is removed, and a target that is a folder is refused up front.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, statSync, unlinkSync, writeSync } from "fs";
import { dirname } from "path";
import { DataError } from "./errors";

let tmpCounter = 0;

/** fsync a folder so that a rename inside it is durable; some file systems refuse, which is harmless. */
function syncFolder(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch {
    // EISDIR / EINVAL / EPERM on file systems that cannot fsync a folder: the rename is still atomic
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Write a file through a temporary sibling, fsync and a rename (creating the folder), so readers never
 * see half a file and a crash leaves the old file or the new one. Throws a DataError naming the file when
 * it is a folder or cannot be written; the temporary file never stays behind.
 */
export function writeFileAtomic(file: string, data: string | Buffer | Uint8Array): void {
  let existing: ReturnType<typeof statSync> | undefined;
  try {
    existing = statSync(file);
  } catch {
    existing = undefined;
  }
  if (existing?.isDirectory()) throw new DataError({ file }, "a file path to write", "a directory (give a file name inside it)");
  const tmp = `${file}.tmp-${process.pid}-${++tmpCounter}`;
  let fd: number | undefined;
  try {
    mkdirSync(dirname(file), { recursive: true });
    fd = openSync(tmp, "wx");
    const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    for (let off = 0; off < bytes.byteLength;) off += writeSync(fd, bytes, off, bytes.byteLength - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, file);
  } catch (e) {
    if (fd !== undefined) {
      try { closeSync(fd); } catch { /* already failing */ }
    }
    try { unlinkSync(tmp); } catch { /* never created, or already renamed */ }
    if (e instanceof DataError) throw e;
    throw new DataError({ file }, "a file that can be written", (e as Error).message);
  }
  syncFolder(dirname(file));
}
