import { statfs } from 'node:fs/promises';

/**
 * The bytes free to verite on the disk holding `folder` (`statfs`: the blocks available to an
 * unprivileged user times the block size, so a root-reserved share is not counted), or
 * undefined when the system cannot tell.
 */
export async function freeSpace(folder: string): Promise<number | undefined> {
  try {
    const fs = await statfs(folder);
    return fs.bavail * fs.bsize;
  } catch {
    return undefined;
  }
}

/** The error codes of a write the disk had no room for: full (ENOSPC), or the user's quota spent (EDQUOT). */
const DISK_FULL = new Set(['ENOSPC', 'EDQUOT']);

/** The code of a write that failed for want of room (`ENOSPC`, `EDQUOT`), looking through causes; else undefined. */
export function diskFullCode(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && typeof e === 'object' && depth < 10; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && DISK_FULL.has(code)) return code;
  }
  return undefined;
}
