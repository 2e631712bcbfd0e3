// The admin socket: a Unix socket in the data directory through which `letterbox` commands reach a
// running `serve` (LevelDB admits one process). One JSON request per line, one JSON answer per line.
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { chmod, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { LetterboxError, isLetterboxError, type ErrorCode } from '../core/errors.js';
import { runOperation, type AdminContext, type AdminParams } from './api.js';

export function adminSocketPath(dataDir: string): string {
  return join(dataDir, 'admin.sock');
}

interface Answer {
  ok: boolean;
  result?: unknown;
  error?: { code: string; message: string };
}

const MAX_REQUEST = 1024 * 1024;

export async function startAdminSocket(path: string, ctx: AdminContext, log: Logger): Promise<Server> {
  // A socket file left by a process that died holds nothing: the store lock already proved we are alone.
  await unlink(path).catch(() => {});
  const server = createServer((socket) => serveConnection(socket, ctx, log));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await chmod(path, 0o600);
  return server;
}

function serveConnection(socket: Socket, ctx: AdminContext, log: Logger): void {
  let buffered = '';
  socket.setEncoding('utf8');
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    if (buffered.length > MAX_REQUEST) return void socket.end(JSON.stringify({ ok: false, error: { code: 'INVALID', message: 'request too large' } }) + '\n');
    const newline = buffered.indexOf('\n');
    if (newline < 0) return;
    const line = buffered.slice(0, newline);
    socket.removeAllListeners('data');
    void answer(line, ctx, log).then((reply) => socket.end(JSON.stringify(reply) + '\n'));
  });
}

async function answer(line: string, ctx: AdminContext, log: Logger): Promise<Answer> {
  let op = '?';
  try {
    const request = JSON.parse(line) as { op?: unknown; params?: unknown };
    if (typeof request.op !== 'string') throw new LetterboxError('INVALID', 'request without op');
    op = request.op;
    const params = (request.params && typeof request.params === 'object' ? request.params : {}) as AdminParams;
    const result = await runOperation(ctx, op, params);
    log.info({ svc: 'admin', op }, 'admin operation');
    return { ok: true, result: result ?? null };
  } catch (err) {
    if (isLetterboxError(err)) return { ok: false, error: { code: err.code, message: err.message } };
    if (err instanceof SyntaxError) return { ok: false, error: { code: 'INVALID', message: 'request is not JSON' } };
    log.error({ svc: 'admin', op, err }, 'admin operation failed');
    return { ok: false, error: { code: 'INTERNAL', message: 'internal error; see the service log' } };
  }
}

/** Sends one request to a running `serve`; null when none is listening. */
export async function callAdminSocket(path: string, op: string, params: AdminParams): Promise<{ result: unknown } | null> {
  const socket = await new Promise<Socket | null>((resolve, reject) => {
    const s = createConnection(path);
    s.once('connect', () => resolve(s));
    s.once('error', (err: NodeJS.ErrnoException) => (err.code === 'ENOENT' || err.code === 'ECONNREFUSED' ? resolve(null) : reject(err)));
  });
  if (!socket) return null;
  socket.setEncoding('utf8');
  let received = '';
  socket.on('data', (chunk: string) => (received += chunk));
  socket.write(JSON.stringify({ op, params }) + '\n');
  await new Promise<void>((resolve, reject) => {
    socket.once('end', resolve);
    socket.once('error', reject);
  });
  const reply = JSON.parse(received) as Answer;
  if (!reply.ok) {
    const code = (reply.error?.code ?? 'STORE_FAILED') as ErrorCode;
    throw new LetterboxError(code, reply.error?.message ?? 'the service refused the request');
  }
  return { result: reply.result };
}
