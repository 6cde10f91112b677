/**
 * A pickle reader that executes nothing: an interpreter of the pickle opcodes (protocols 2-5) that
 * builds plain JavaScript values (dict -> Map, list and tuple -> array, str, int, float, bool, None ->
 * null) and resolves a GLOBAL only through the caller's allow-list of named constructors. Any other
 * GLOBAL (os.system, builtins.eval, a model class, ...) stops the read at that opcode, before anything
 * could be called, with a DataError naming it. That is enough for `torch.save`d state dicts
 * (torch-zip.ts); it is not a general unpickler. Opcode reference: CPython Lib/pickletools.py.
 */
import { DataError } from "../../core/errors";

/** What the reader does with a `module name` GLOBAL that the caller allows: a constructor called by REDUCE. */
export type PickleCallable = (args: unknown[]) => unknown;

/** Options of unpickle. */
export interface UnpickleOptions {
  /** File (and entry) name for errors. */
  file: string;
  /** Allowed globals by "module name" (e.g. "collections OrderedDict"); the value REDUCE calls. */
  globals: ReadonlyMap<string, PickleCallable | { marker: string }>;
  /** Value of a persistent id (BINPERSID); e.g. a torch storage reference. */
  persistentLoad?: (pid: unknown) => unknown;
  /** Description of what the file should hold, for the refusal message. */
  expected: string;
}

/** A reference to an allowed global that is not callable by REDUCE (e.g. torch.FloatStorage). */
export interface GlobalMarker { marker: string }

const MARK = Symbol("mark");

/** Interpret a pickle and return the value STOP leaves on the stack. */
export function unpickle(bytes: Uint8Array, o: UnpickleOptions): unknown {
  return unpickleAt(bytes, 0, o).value;
}

/** Interpret the pickle that starts at byte `start` (files that hold several, one after another); returns its value and the byte after its STOP. */
export function unpickleAt(bytes: Uint8Array, start: number, o: UnpickleOptions): { value: unknown; end: number } {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: unknown[] = [];
  const memo = new Map<number, unknown>();
  let p = start;
  const fail = (expected: string, got: string): never => {
    throw new DataError({ file: o.file, field: `pickle byte ${p}` }, expected, got, `${o.file} was not loaded; only ${o.expected} is read, and nothing in it is executed`);
  };
  const need = (n: number): void => {
    if (p + n > buf.length) fail(`${n} more bytes`, `the end of the pickle (truncated)`);
  };
  const u8 = (): number => { need(1); return buf[p++]; };
  const u16 = (): number => { need(2); const v = buf.readUInt16LE(p); p += 2; return v; };
  const u32 = (): number => { need(4); const v = buf.readUInt32LE(p); p += 4; return v; };
  const i32 = (): number => { need(4); const v = buf.readInt32LE(p); p += 4; return v; };
  const take = (n: number): Buffer => { need(n); const v = buf.subarray(p, p + n); p += n; return v; };
  const line = (): string => {
    const end = buf.indexOf(0x0a, p);
    if (end < 0) fail("a newline-terminated argument", "the end of the pickle");
    const s = buf.toString("latin1", p, end);
    p = end + 1;
    return s;
  };
  const pop = (): unknown => {
    if (stack.length === 0) fail("a value on the stack", "an empty stack (malformed pickle)");
    return stack.pop();
  };
  const popMark = (): unknown[] => {
    const i = stack.lastIndexOf(MARK);
    if (i < 0) fail("a MARK on the stack", "none (malformed pickle)");
    const items = stack.slice(i + 1);
    stack.length = i;
    return items;
  };
  const top = (): unknown => {
    if (stack.length === 0) fail("a value on the stack", "an empty stack (malformed pickle)");
    return stack[stack.length - 1];
  };
  const resolveGlobal = (module: string, name: string): unknown => {
    const g = o.globals.get(`${module} ${name}`);
    if (g === undefined) fail(`one of the allowed globals (${[...o.globals.keys()].map((k) => k.replace(" ", ".")).join(", ")})`, `GLOBAL ${module}.${name}`);
    return g;
  };
  const setItems = (items: unknown[]): void => {
    const d = top();
    if (!(d instanceof Map)) fail("a dict to set items on", typeof d);
    for (let i = 0; i + 1 < items.length; i += 2) (d as Map<unknown, unknown>).set(items[i], items[i + 1]);
  };
  for (;;) {
    const at = p;
    const op = u8();
    switch (op) {
      case 0x80: u8(); break; // PROTO
      case 0x95: take(8); break; // FRAME: a length hint
      case 0x2e: return { value: pop(), end: p }; // STOP
      case 0x28: stack.push(MARK); break; // MARK
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x29: stack.push([]); break; // EMPTY_TUPLE
      case 0x74: stack.push(popMark()); break; // TUPLE
      case 0x85: stack.push([pop()]); break; // TUPLE1
      case 0x86: { const b = pop(), a = pop(); stack.push([a, b]); break; } // TUPLE2
      case 0x87: { const c = pop(), b = pop(), a = pop(); stack.push([a, b, c]); break; } // TUPLE3
      case 0x6c: stack.push(popMark()); break; // LIST
      case 0x64: { const items = popMark(); const d = new Map(); for (let i = 0; i + 1 < items.length; i += 2) d.set(items[i], items[i + 1]); stack.push(d); break; } // DICT
      case 0x58: stack.push(take(u32()).toString("utf8")); break; // BINUNICODE
      case 0x8c: stack.push(take(u8()).toString("utf8")); break; // SHORT_BINUNICODE
      case 0x8d: { need(8); const n = Number(buf.readBigUInt64LE(p)); p += 8; stack.push(take(n).toString("utf8")); break; } // BINUNICODE8
      case 0x55: stack.push(take(u8()).toString("latin1")); break; // SHORT_BINSTRING
      case 0x54: stack.push(take(u32()).toString("latin1")); break; // BINSTRING
      case 0x43: stack.push(Uint8Array.from(take(u8()))); break; // SHORT_BINBYTES
      case 0x42: stack.push(Uint8Array.from(take(u32()))); break; // BINBYTES
      case 0x4a: stack.push(i32()); break; // BININT
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x8a: { // LONG1: little-endian two's complement
        const n = u8();
        const b = take(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
        if (n > 0 && b[n - 1] & 0x80) v -= 1n << BigInt(8 * n);
        stack.push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        break;
      }
      case 0x47: { need(8); stack.push(buf.readDoubleBE(p)); p += 8; break; } // BINFLOAT
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x68: case 0x6a: { // BINGET, LONG_BINGET
        const k = op === 0x68 ? u8() : u32();
        if (!memo.has(k)) fail(`memo entry ${k}`, "none (malformed pickle)");
        stack.push(memo.get(k));
        break;
      }
      case 0x63: { const module = line(); const name = line(); stack.push(resolveGlobal(module, name)); break; } // GLOBAL
      case 0x93: { const name = pop(), module = pop(); stack.push(resolveGlobal(String(module), String(name))); break; } // STACK_GLOBAL
      case 0x52: { // REDUCE
        const args = pop(), fn = pop();
        if (typeof fn !== "function") fail("a callable allowed global before REDUCE", `${(fn as GlobalMarker)?.marker ?? typeof fn}`);
        if (!Array.isArray(args)) fail("an argument tuple for REDUCE", typeof args);
        stack.push((fn as PickleCallable)(args as unknown[]));
        break;
      }
      case 0x51: { // BINPERSID
        const pid = pop();
        if (!o.persistentLoad) fail("no persistent ids", "BINPERSID");
        stack.push((o.persistentLoad as (pid: unknown) => unknown)(pid));
        break;
      }
      case 0x73: { const v = pop(), k = pop(); setItems([k, v]); break; } // SETITEM
      case 0x75: setItems(popMark()); break; // SETITEMS
      case 0x61: { const v = pop(); const l = top(); if (!Array.isArray(l)) fail("a list to append to", typeof l); (l as unknown[]).push(v); break; } // APPEND
      case 0x65: { const items = popMark(); const l = top(); if (!Array.isArray(l)) fail("a list to append to", typeof l); (l as unknown[]).push(...items); break; } // APPENDS
      case 0x62: { // BUILD: only the instance attributes of an OrderedDict (a state dict's _metadata) are accepted, and ignored
        const state = pop();
        if (!(top() instanceof Map) || !(state instanceof Map || state === null)) fail("BUILD of a dict's attributes (state_dict _metadata)", "BUILD of another object");
        break;
      }
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: stack.push(top()); break; // DUP
      default:
        p = at;
        fail("an opcode of a plain data pickle", `opcode 0x${op.toString(16).padStart(2, "0")} (${JSON.stringify(String.fromCharCode(op))})`);
    }
  }
}
