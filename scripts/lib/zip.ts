import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import yazl from 'yazl';

/** 1980-01-01, the earliest time a zip entry can carry: the same bytes on every build. */
const FIXED_MTIME = new Date(Date.UTC(1980, 0, 1, 0, 0, 0));

/**
 * Writes a byte-for-byte reproducible zip: entries sorted by name, fixed
 * timestamps and permissions, so Terraform sees no change when the code did not.
 */
export async function writeReproducibleZip(path: string, entries: Array<{ name: string; data: Buffer }>): Promise<void> {
  const zip = new yazl.ZipFile();
  for (const e of [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    zip.addBuffer(e.data, e.name, { mtime: FIXED_MTIME, mode: 0o100644, compress: true, forceDosTimestamp: true });
  }
  zip.end();
  await pipeline(zip.outputStream, createWriteStream(path));
}
