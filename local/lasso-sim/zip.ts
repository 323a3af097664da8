/**
 * Zip archives of a batch's reports (GET /batches/{id}/download), written with yazl.
 * File names that occur more than once (a listener batch re-reporting a company, the same
 * cvr twice in a batch) get " (2)", " (3)", ... before ".pdf" so no entry is lost.
 */

import { ZipFile } from "yazl";

export interface ZipEntry {
  fileName: string;
  bytes: Uint8Array;
  mtime: Date;
}

/** Makes every name unique, keeping the first occurrence as is. */
export function uniqueNames(names: readonly string[]): string[] {
  const used = new Set<string>();
  return names.map((name) => {
    if (!used.has(name.toLowerCase())) {
      used.add(name.toLowerCase());
      return name;
    }
    const dot = name.toLowerCase().endsWith(".pdf") ? name.length - 4 : name.length;
    for (let n = 2; ; n++) {
      const candidate = `${name.slice(0, dot)} (${n})${name.slice(dot)}`;
      if (!used.has(candidate.toLowerCase())) {
        used.add(candidate.toLowerCase());
        return candidate;
      }
    }
  });
}

export function buildZip(entries: readonly ZipEntry[]): Promise<Buffer> {
  const zip = new ZipFile();
  const names = uniqueNames(entries.map((e) => e.fileName));
  entries.forEach((entry, i) => {
    zip.addBuffer(Buffer.from(entry.bytes), names[i] ?? entry.fileName, { mtime: entry.mtime });
  });
  zip.end();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    zip.outputStream.on("data", (chunk: Buffer) => chunks.push(chunk));
    zip.outputStream.on("error", reject);
    zip.outputStream.on("end", () => resolve(Buffer.concat(chunks)));
  });
}
