/** Facts about other processes on this machine, and about this process's threads (Linux /proc). */
import { existsSync, readlinkSync } from "fs";

/** True when process `pid` runs on this machine (signal 0 checks without sending anything). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The calling thread's id under /proc/self/task (Linux), or 0 where there is none. */
export function linuxThreadId(): number {
  try {
    const id = Number(readlinkSync("/proc/thread-self").split("/").pop());
    return Number.isInteger(id) && id > 0 ? id : 0;
  } catch {
    return 0;
  }
}

/** False when the thread with Linux thread id `tid` is no longer one of this process's (true when unknown: 0, or no /proc). */
export function threadAlive(tid: number): boolean {
  if (tid <= 0 || !existsSync("/proc/self/task")) return true;
  return existsSync(`/proc/self/task/${tid}`);
}
