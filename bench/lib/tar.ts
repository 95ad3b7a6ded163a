/** A minimal ustar writer: directories and small files, enough for a host's certificates. */

export interface TarEntry {
  name: string;
  mode: number;
  /** Absent for a directory. */
  body?: string | Buffer;
}

function octal(value: number, length: number): string {
  return value.toString(8).padStart(length - 1, "0") + "\0";
}

function header(name: string, mode: number, size: number, type: "0" | "5", mtime: number): Buffer {
  if (Buffer.byteLength(name) > 100) throw new Error(`tar name too long: ${name}`);
  const block = Buffer.alloc(512);
  block.write(name, 0, 100, "utf8");
  block.write(octal(mode, 8), 100, 8, "ascii");
  block.write(octal(0, 8), 108, 8, "ascii"); // uid
  block.write(octal(0, 8), 116, 8, "ascii"); // gid
  block.write(octal(size, 12), 124, 12, "ascii");
  block.write(octal(mtime, 12), 136, 12, "ascii");
  block.write("        ", 148, 8, "ascii"); // checksum placeholder
  block.write(type, 156, 1, "ascii");
  block.write("ustar\u000000", 257, 8, "ascii");
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(octal(sum, 7) + " ", 148, 8, "ascii");
  return block;
}

export function tar(entries: readonly TarEntry[]): Buffer {
  const mtime = Math.floor(Date.now() / 1000);
  const parts: Buffer[] = [];
  for (const entry of entries) {
    if (entry.body === undefined) {
      parts.push(header(entry.name.endsWith("/") ? entry.name : `${entry.name}/`, entry.mode, 0, "5", mtime));
      continue;
    }
    const body = Buffer.isBuffer(entry.body) ? entry.body : Buffer.from(entry.body, "utf8");
    parts.push(header(entry.name, entry.mode, body.length, "0", mtime), body);
    const pad = (512 - (body.length % 512)) % 512;
    if (pad) parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}
