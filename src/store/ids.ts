// Identifiers for messages and queue entries: time-ordered (so queue and store listings come out in
// arrival order) and unguessable (so a queue id in a bounce reveals nothing else).
import { randomBytes } from 'node:crypto';

export function newId(): string {
  return Date.now().toString(36).padStart(9, '0') + randomBytes(5).toString('hex');
}

export const SEP = '\u0000';

export function uidKey(uid: number): string {
  return String(uid).padStart(10, '0');
}

export function chunkKey(messageId: string, index: number): string {
  return `${messageId}${SEP}${index.toString(16).padStart(8, '0')}`;
}

/** Key bounds covering every chunk of a message. */
export function chunkRange(messageId: string): { gt: string; lt: string } {
  return { gt: `${messageId}${SEP}`, lt: `${messageId}${SEP}\uffff` };
}

/** Key of a folder entry or of a vanished UID: `<folderId>\0<uid, 10 digits>`. */
export function entryKey(folderId: string, uid: number): string {
  return `${folderId}${SEP}${uidKey(uid)}`;
}

/** Key bounds covering every entry (or vanished UID) of a folder. */
export function folderRange(folderId: string): { gt: string; lt: string } {
  return { gt: `${folderId}${SEP}`, lt: `${folderId}${SEP}\uffff` };
}
