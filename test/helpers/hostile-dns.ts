// A DNS server that misbehaves on request, over UDP on 127.0.0.1 and a free port: each question about MX,
// A or AAAA records is answered at once, late by a chosen number of milliseconds, or never, as the test
// scripts. dnsmasq (test/helpers/dnsmasq.ts) cannot be made slow or silent per name; this can, and it
// counts what it was asked. Only what delivery asks is spoken: one question per query, answers without
// compression beyond a pointer to the question, no EDNS in the reply (RFC 6891 7 lets a server omit it).
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv4, isIPv6 } from 'node:net';
import type { TapLike } from './remote-mta.js';

/** How to treat one question: 0 answers at once, a number answers that many ms late, 'never' drops it. */
export type DnsTiming = number | 'never';

export interface HostileDnsZone {
  /** MX records by domain. */
  mx?: Record<string, { host: string; preference: number }[]>;
  /** A and AAAA records by host name (IPv4 and IPv6 addresses mixed). */
  hosts?: Record<string, string[]>;
  /** When to answer each question; `nth` counts the questions asked so far, from 1. Default: at once. */
  timing?: (question: DnsQuestion, nth: number) => DnsTiming;
}

export interface DnsQuestion {
  type: 'MX' | 'A' | 'AAAA' | string;
  /** Lower case, without the final dot. */
  name: string;
}

export interface HostileDns {
  /** For DeliverySettings.dnsServers: "127.0.0.1:port". */
  server: string;
  /** Every question asked so far, as "TYPE name", in order. */
  questions(): string[];
  /** Answers sent so far, and questions dropped on purpose. */
  readonly answered: number;
  readonly dropped: number;
}

const TYPES: Record<number, string> = { 1: 'A', 15: 'MX', 28: 'AAAA' };
const TYPE_CODES: Record<string, number> = { A: 1, MX: 15, AAAA: 28 };
const NXDOMAIN = 3;
const FORMERR = 1;

export async function startHostileDns(t: TapLike, zone: HostileDnsZone): Promise<HostileDns> {
  const socket = createSocket('udp4');
  const asked: string[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const state = { answered: 0, dropped: 0 };
  socket.on('message', (query: Buffer, from: RemoteInfo) => {
    const question = parseQuestion(query);
    if (!question) return void send(socket, errorReply(query, FORMERR), from);
    asked.push(`${question.type} ${question.name}`);
    const timing = zone.timing?.(question, asked.length) ?? 0;
    if (timing === 'never') return void state.dropped++;
    const reply = answer(query, question, zone);
    const timer = setTimeout(() => {
      timers.delete(timer);
      state.answered++;
      send(socket, reply, from);
    }, timing);
    timers.add(timer);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => resolve());
  });
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        socket.close(() => resolve());
      }),
  );
  return {
    server: `127.0.0.1:${socket.address().port}`,
    questions: () => [...asked],
    get answered() {
      return state.answered;
    },
    get dropped() {
      return state.dropped;
    },
  };
}

function send(socket: Socket, reply: Buffer, to: RemoteInfo): void {
  // The socket may be closed by teardown while a late answer is still due.
  try {
    socket.send(reply, to.port, to.address);
  } catch {
    /* closed */
  }
}

interface ParsedQuestion extends DnsQuestion {
  /** Where the question section ends in the query (RFC 1035 4.1.2). */
  end: number;
}

function parseQuestion(query: Buffer): ParsedQuestion | null {
  if (query.length < 12 || query.readUInt16BE(4) !== 1) return null;
  const labels: string[] = [];
  let offset = 12;
  for (;;) {
    const length = query[offset];
    if (length === undefined || length > 63) return null;
    offset += 1;
    if (length === 0) break;
    labels.push(query.toString('latin1', offset, offset + length));
    offset += length;
  }
  if (offset + 4 > query.length) return null;
  const code = query.readUInt16BE(offset);
  return { type: TYPES[code] ?? String(code), name: labels.join('.').toLowerCase(), end: offset + 4 };
}

function header(query: Buffer, rcode: number, answers: number): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt16BE(query.readUInt16BE(0), 0);
  // QR, AA, RD as asked, RA (RFC 1035 4.1.1).
  head.writeUInt16BE(0x8000 | 0x0400 | (query.readUInt16BE(2) & 0x0100) | 0x0080 | rcode, 2);
  head.writeUInt16BE(1, 4);
  head.writeUInt16BE(answers, 6);
  return head;
}

function errorReply(query: Buffer, rcode: number): Buffer {
  const head = Buffer.alloc(12);
  query.copy(head, 0, 0, Math.min(12, query.length));
  head.writeUInt16BE(0x8000 | rcode, 2);
  head.fill(0, 4);
  return head;
}

function answer(query: Buffer, question: ParsedQuestion, zone: HostileDnsZone): Buffer {
  const questionBytes = query.subarray(12, question.end);
  const known = question.name in (zone.mx ?? {}) || question.name in (zone.hosts ?? {});
  if (!known) return Buffer.concat([header(query, NXDOMAIN, 0), questionBytes]);
  const records = recordData(question, zone).map((data) => resourceRecord(TYPE_CODES[question.type] ?? 0, data));
  return Buffer.concat([header(query, 0, records.length), questionBytes, ...records]);
}

function recordData(question: DnsQuestion, zone: HostileDnsZone): Buffer[] {
  if (question.type === 'MX') {
    return (zone.mx?.[question.name] ?? []).map(({ host, preference }) => {
      const pref = Buffer.alloc(2);
      pref.writeUInt16BE(preference);
      return Buffer.concat([pref, encodeName(host)]);
    });
  }
  const addresses = zone.hosts?.[question.name] ?? [];
  if (question.type === 'A') return addresses.filter((a) => isIPv4(a)).map((a) => Buffer.from(a.split('.').map(Number)));
  if (question.type === 'AAAA') return addresses.filter((a) => isIPv6(a)).map(ipv6Bytes);
  return [];
}

/** The owner is the question's name, by a pointer to offset 12 (RFC 1035 4.1.4); TTL 60. */
function resourceRecord(type: number, data: Buffer): Buffer {
  const fixed = Buffer.alloc(12);
  fixed.writeUInt16BE(0xc00c, 0);
  fixed.writeUInt16BE(type, 2);
  fixed.writeUInt16BE(1, 4);
  fixed.writeUInt32BE(60, 6);
  fixed.writeUInt16BE(data.length, 10);
  return Buffer.concat([fixed, data]);
}

function encodeName(name: string): Buffer {
  const labels = name.replace(/\.$/, '').split('.').filter(Boolean);
  return Buffer.concat([...labels.map((label) => Buffer.concat([Buffer.from([label.length]), Buffer.from(label, 'latin1')])), Buffer.from([0])]);
}

function ipv6Bytes(address: string): Buffer {
  const [head = '', tail = ''] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = address.includes('::') ? (tail ? tail.split(':') : []) : [];
  const groups = [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  const bytes = Buffer.alloc(16);
  groups.forEach((group, i) => bytes.writeUInt16BE(parseInt(group, 16), i * 2));
  return bytes;
}
