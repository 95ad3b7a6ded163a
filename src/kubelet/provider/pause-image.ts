/**
 * The infra ("pause") container's image. Endpoints here (and many VCHs) reach no registry, so
 * the kubelet can make its own: a 129-byte static x86-64 ELF that loops on pause(2), imported
 * as a one-file image. On other architectures, or by choice, --infra-image names an image
 * (e.g. registry.k8s.io/pause) pulled like any other.
 */
import { pack } from "tar-stream";
import type { InfraImage } from "./container-spec.js";
import type { PodEngine } from "./engine.js";

export const BUILTIN_PAUSE_IMAGE = "dinv/pause:1";
const BASE = 0x400000;

/** `loop: mov eax, 34 (pause); syscall; jmp loop` as a minimal ELF64 executable. */
export function pauseElfAmd64(): Buffer {
  const code = Buffer.from([0xb8, 0x22, 0x00, 0x00, 0x00, 0x0f, 0x05, 0xeb, 0xf7]);
  const headerSize = 64;
  const phSize = 56;
  const total = headerSize + phSize + code.length;
  const elf = Buffer.alloc(total);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]).copy(elf, 0); // magic, 64-bit, LE, v1, SysV
  elf.writeUInt16LE(2, 16); // ET_EXEC
  elf.writeUInt16LE(0x3e, 18); // x86-64
  elf.writeUInt32LE(1, 20);
  elf.writeBigUInt64LE(BigInt(BASE + headerSize + phSize), 24); // entry
  elf.writeBigUInt64LE(BigInt(headerSize), 32); // program headers
  elf.writeUInt16LE(headerSize, 52);
  elf.writeUInt16LE(phSize, 54);
  elf.writeUInt16LE(1, 56);
  const ph = headerSize;
  elf.writeUInt32LE(1, ph); // PT_LOAD
  elf.writeUInt32LE(5, ph + 4); // R+X
  elf.writeBigUInt64LE(BigInt(BASE), ph + 16);
  elf.writeBigUInt64LE(BigInt(BASE), ph + 24);
  elf.writeBigUInt64LE(BigInt(total), ph + 32);
  elf.writeBigUInt64LE(BigInt(total), ph + 40);
  elf.writeBigUInt64LE(0x1000n, ph + 48);
  code.copy(elf, headerSize + phSize);
  return elf;
}

async function pauseRootfs(): Promise<Buffer> {
  const tar = pack();
  tar.entry({ name: "pause", mode: 0o755 }, pauseElfAmd64());
  tar.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of tar) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * The infra image to use: the one given, or the built-in one (imported once when missing).
 * undefined when none can be had without a flag (not x86-64).
 */
export async function ensureInfraImage(
  engine: PodEngine,
  arch: string,
  given: string | undefined,
): Promise<InfraImage | undefined> {
  if (given !== undefined) return { ref: given };
  if (arch !== "amd64" && arch !== "x86_64") return undefined;
  if (!(await engine.hasImage(BUILTIN_PAUSE_IMAGE))) {
    await engine.importImage(await pauseRootfs(), BUILTIN_PAUSE_IMAGE);
  }
  return { ref: BUILTIN_PAUSE_IMAGE, entrypoint: ["/pause"] };
}
