// Where the executables of the local servers are (npm start on a bare machine, test/throwaway.ts), and who we run as.
import { access, constants, readdir } from 'node:fs/promises'
import { delimiter, join } from 'node:path'

export const isRoot = (): boolean => process.getuid?.() === 0

async function isExecutable(path: string): Promise<boolean> {
  try { await access(path, constants.X_OK); return true } catch { return false }
}

const STANDARD_DIRS = ['/usr/local/bin', '/usr/bin', '/usr/sbin', '/sbin', '/opt/homebrew/bin']

/**
 * Finds an executable in `dirs` first, then on PATH. The caller passes PATH in: this module reads no environment.
 * Debian keeps sbin directories off a non-root PATH, so they are searched as well.
 */
export async function findExecutable(name: string, searchPath = '', dirs: string[] = []): Promise<string | undefined> {
  const onPath = searchPath.split(delimiter).filter(Boolean)
  for (const dir of [...dirs, ...onPath, ...STANDARD_DIRS]) {
    const candidate = join(dir, name)
    if (await isExecutable(candidate)) return candidate
  }
  return undefined
}

/** Debian installs each PostgreSQL major in /usr/lib/postgresql/<major>/bin, off PATH; newest first. */
export async function debianPostgresBinDirs(): Promise<string[]> {
  const root = '/usr/lib/postgresql'
  const majors = await readdir(root).catch(() => [] as string[])
  return majors.filter((m) => /^\d+$/.test(m)).sort((a, b) => Number(b) - Number(a)).map((m) => join(root, m, 'bin'))
}
