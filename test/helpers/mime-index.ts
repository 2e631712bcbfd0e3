// Shared checks for the MIME indexer tests: the same index whatever the chunking, and offsets that
// tile the message (every part inside its parent, header then body, the root over every byte).
import { MimeIndexer } from '../../src/mailbox/mime/index.js';
import type { MessageIndex, MimePart } from '../../src/mailbox/mime/index.js';

/** Indexes `message` fed in pieces of `size` bytes. */
export function indexInChunks(message: Buffer, size: number): MessageIndex {
  const indexer = new MimeIndexer();
  for (let at = 0; at < message.length; at += size) indexer.write(message.subarray(at, at + size));
  return indexer.end();
}

const end = (part: MimePart) => part.body.start + part.body.length;

/** Problems with the offsets of `part` inside [from, to); an empty list when they tile. */
export function offsetProblems(part: MimePart, from: number, to: number): string[] {
  const problems: string[] = [];
  const where = `part '${part.section}'`;
  if (part.header.start !== from) problems.push(`${where} header starts at ${part.header.start}, not ${from}`);
  if (part.header.start + part.header.length !== part.body.start) problems.push(`${where} body does not follow header`);
  if (end(part) > to || part.header.length < 0 || part.body.length < 0) problems.push(`${where} runs past ${to}`);
  let cursor = part.body.start;
  for (const child of part.children) {
    if (child.header.start < cursor) problems.push(`${where} child '${child.section}' overlaps`);
    problems.push(...offsetProblems(child, child.header.start, end(part)));
    cursor = end(child);
  }
  if (part.message) problems.push(...offsetProblems(part.message, part.body.start, end(part)));
  if (part.message && end(part.message) !== end(part)) problems.push(`${where} enclosed message ends early`);
  return problems;
}

/** Every part, depth first, enclosed messages included. */
export function allParts(part: MimePart): MimePart[] {
  return [part, ...part.children.flatMap(allParts), ...(part.message ? allParts(part.message) : [])];
}
