// The names LIST and LSUB choose from: every folder of the account, plus each missing level above a
// folder (`a` when only `a/b` exists, as after `DELETE a`: RFC 3501 6.3.4), which lists as \Noselect.
// Sorted as clients show them: INBOX first, then level by level.
import type { FolderListing } from '../backend.js';
import { DELIMITER } from './names.js';

export interface ListNode {
  readonly name: string;
  /** A folder (selectable); false for a level that only holds others. */
  readonly exists: boolean;
  readonly specialUse: string | null;
  readonly subscribed: boolean;
  /** Some name lies under this one (RFC 3348 \HasChildren). */
  hasChildren: boolean;
}

/** Ancestors of a name, nearest last: `a/b/c` gives `a`, `a/b`. */
export function ancestorsOf(name: string): string[] {
  const levels = name.split(DELIMITER);
  const out: string[] = [];
  for (let i = 1; i < levels.length; i += 1) out.push(levels.slice(0, i).join(DELIMITER));
  return out;
}

function compareLevel(a: string, b: string, first: boolean): number {
  if (first && a !== b) {
    if (a === 'INBOX') return -1;
    if (b === 'INBOX') return 1;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/** INBOX first, then level by level (so `a/b` follows `a` and precedes `a b`). */
export function compareNames(a: string, b: string): number {
  const x = a.split(DELIMITER);
  const y = b.split(DELIMITER);
  for (let i = 0; i < Math.min(x.length, y.length); i += 1) {
    const order = compareLevel(x[i] as string, y[i] as string, i === 0);
    if (order !== 0) return order;
  }
  return x.length - y.length;
}

/** Every folder and missing level, sorted, with \HasChildren worked out. */
export function buildListTree(folders: readonly FolderListing[]): ListNode[] {
  const nodes = new Map<string, ListNode>();
  for (const folder of folders) {
    nodes.set(folder.name, { name: folder.name, exists: true, specialUse: folder.specialUse, subscribed: folder.subscribed, hasChildren: false });
  }
  for (const folder of folders) {
    for (const ancestor of ancestorsOf(folder.name)) {
      const node = nodes.get(ancestor);
      if (node) node.hasChildren = true;
      else nodes.set(ancestor, { name: ancestor, exists: false, specialUse: null, subscribed: false, hasChildren: true });
    }
  }
  return [...nodes.values()].sort((a, b) => compareNames(a.name, b.name));
}
