// A memory limit for a process under test, as a Pi with 512 MB gives one: a memory cgroup (v2, else v1)
// the process is moved into, removed again at teardown. Needs root and a writable cgroup file system;
// where there is none the caller falls back to V8's heap limit and RSS checks.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TapLike } from './remote-mta.js';

export interface MemoryLimit {
  kind: 'cgroup v2' | 'cgroup v1';
  /** The most the processes inside have used so far, in bytes, when the kernel says. */
  peakBytes(): number | undefined;
}

const V2_ROOT = '/sys/fs/cgroup';
const V1_ROOT = '/sys/fs/cgroup/memory';

/** Puts `pid` under a memory limit of `bytes`; null when this machine offers no cgroup to do it with. */
export function limitMemory(t: TapLike, pid: number, bytes: number): MemoryLimit | null {
  const name = `letterbox-test-${process.pid}-${pid}`;
  const v2 = existsSync(join(V2_ROOT, 'cgroup.controllers')) && readFileSync(join(V2_ROOT, 'cgroup.controllers'), 'utf8').includes('memory');
  const root = v2 ? V2_ROOT : existsSync(join(V1_ROOT, 'memory.limit_in_bytes')) ? V1_ROOT : null;
  if (!root) return null;
  const dir = join(root, name);
  try {
    mkdirSync(dir);
    writeFileSync(join(dir, v2 ? 'memory.max' : 'memory.limit_in_bytes'), String(bytes));
    writeFileSync(join(dir, 'cgroup.procs'), String(pid));
  } catch {
    try {
      rmdirSync(dir);
    } catch {
      // It was never made.
    }
    return null;
  }
  // Normally the process has ended by then (its own teardown kills it); one still inside is moved out
  // to the root group first, since only an empty cgroup can be removed.
  t.teardown(async () => {
    for (let tries = 0; tries < 20; tries++) {
      try {
        return rmdirSync(dir);
      } catch {
        for (const inside of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
          writeFileSync(join(root, 'cgroup.procs'), inside);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  });
  const peakFile = join(dir, v2 ? 'memory.peak' : 'memory.max_usage_in_bytes');
  return {
    kind: v2 ? 'cgroup v2' : 'cgroup v1',
    peakBytes: () => (existsSync(peakFile) ? Number(readFileSync(peakFile, 'utf8')) : undefined),
  };
}
