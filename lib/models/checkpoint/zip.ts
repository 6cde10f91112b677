/**
 * A minimal zip reader for the archives `torch.save` writes (PKWARE APPNOTE: end of central directory,
 * its zip64 form, central directory entries, local headers). Entries are stored (method 0, what
 * torch writes) or deflated (method 8, in case a tool re-zipped the file); anything else is refused.
 * Reads through a file descriptor, so a large checkpoint is never held in memory twice.
 */
import { closeSync, fstatSync, openSync, readSync } from "fs";
import { inflateRawSync } from "zlib";
import { DataError } from "../../core/errors";

/** One entry of the central directory. */
export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

/** An open zip archive. */
export interface ZipArchive {
  file: string;
  entries: Map<string, ZipEntry>;
  /** The bytes of one entry (decompressed). */
  read(name: string): Buffer;
  close(): void;
}

const EOCD = 0x06054b50, EOCD64 = 0x06064b50, EOCD64_LOCATOR = 0x07064b50, CENTRAL = 0x02014b50, LOCAL = 0x04034b50;

function readAt(fd: number, length: number, position: number, file: string): Buffer {
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, position + got);
    if (n === 0) throw new DataError({ file }, `${length} bytes at byte ${position}`, `the end of the file after ${got} bytes (the archive is truncated)`);
    got += n;
  }
  return buf;
}

/** Open a zip archive and read its central directory; DataError when it is not a (complete) zip file. */
export function openZip(file: string): ZipArchive {
  const fd = openSync(file, "r");
  try {
    const size = fstatSync(fd).size;
    const tailLen = Math.min(size, 22 + 65535);
    const tail = readAt(fd, tailLen, size - tailLen, file);
    let at = -1;
    for (let i = tailLen - 22; i >= 0; i--) if (tail.readUInt32LE(i) === EOCD) { at = i; break; }
    if (at < 0) throw new DataError({ file }, "a zip archive (torch.save's format since PyTorch 1.6)", "no end-of-central-directory record (not a zip file, a legacy torch pickle, or a truncated download)");
    let count = tail.readUInt16LE(at + 10);
    let cdSize = tail.readUInt32LE(at + 12);
    let cdOffset = tail.readUInt32LE(at + 16);
    if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      const loc = at - 20;
      if (loc < 0 || tail.readUInt32LE(loc) !== EOCD64_LOCATOR) throw new DataError({ file }, "a zip64 end-of-central-directory locator", "none");
      const eocd64 = readAt(fd, 56, Number(tail.readBigUInt64LE(loc + 8)), file);
      if (eocd64.readUInt32LE(0) !== EOCD64) throw new DataError({ file }, "a zip64 end-of-central-directory record", "another signature");
      count = Number(eocd64.readBigUInt64LE(32));
      cdSize = Number(eocd64.readBigUInt64LE(40));
      cdOffset = Number(eocd64.readBigUInt64LE(48));
    }
    if (cdOffset + cdSize > size) throw new DataError({ file }, `a central directory inside the file's ${size} bytes`, `[${cdOffset}, ${cdOffset + cdSize}) (the archive is truncated)`);
    const cd = readAt(fd, cdSize, cdOffset, file);
    const entries = new Map<string, ZipEntry>();
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p + 46 > cd.length || cd.readUInt32LE(p) !== CENTRAL) throw new DataError({ file }, `central directory entry ${i + 1} of ${count}`, "a damaged directory");
      const method = cd.readUInt16LE(p + 10);
      let compressedSize = cd.readUInt32LE(p + 20), uncompressed = cd.readUInt32LE(p + 24);
      const nameLen = cd.readUInt16LE(p + 28), extraLen = cd.readUInt16LE(p + 30), commentLen = cd.readUInt16LE(p + 32);
      let localHeaderOffset = cd.readUInt32LE(p + 42);
      const name = cd.toString("utf8", p + 46, p + 46 + nameLen);
      // zip64 extended information: the 0xFFFFFFFF fields, in this order.
      let e = p + 46 + nameLen;
      const end = e + extraLen;
      while (e + 4 <= end) {
        const id = cd.readUInt16LE(e), len = cd.readUInt16LE(e + 2);
        if (id === 0x0001) {
          let q = e + 4;
          if (uncompressed === 0xffffffff) { uncompressed = Number(cd.readBigUInt64LE(q)); q += 8; }
          if (compressedSize === 0xffffffff) { compressedSize = Number(cd.readBigUInt64LE(q)); q += 8; }
          if (localHeaderOffset === 0xffffffff) localHeaderOffset = Number(cd.readBigUInt64LE(q));
        }
        e += 4 + len;
      }
      entries.set(name, { name, method, compressedSize, size: uncompressed, localHeaderOffset });
      p = end + commentLen;
    }
    let closed = false;
    return {
      file,
      entries,
      read(name: string): Buffer {
        if (closed) throw new DataError({ file }, "an open archive", "a closed one");
        const entry = entries.get(name);
        if (!entry) throw new DataError({ file, field: name }, "an entry of the archive", "no such entry");
        const local = readAt(fd, 30, entry.localHeaderOffset, file);
        if (local.readUInt32LE(0) !== LOCAL) throw new DataError({ file, field: name }, "a local file header", "another signature (damaged archive)");
        const start = entry.localHeaderOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
        if (start + entry.compressedSize > size) throw new DataError({ file, field: name }, `${entry.compressedSize} bytes of data`, `a file that ends ${start + entry.compressedSize - size} bytes early (truncated)`);
        const data = readAt(fd, entry.compressedSize, start, file);
        if (entry.method === 0) return data;
        if (entry.method === 8) return inflateRawSync(data);
        throw new DataError({ file, field: name }, "a stored (0) or deflated (8) entry", `compression method ${entry.method}`);
      },
      close() {
        if (!closed) closeSync(fd);
        closed = true;
      },
    };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}
