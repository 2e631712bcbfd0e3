// Stored messages end their lines with CRLF (RFC 5322 2.3), whatever the client sent: a Unix client's
// APPEND or a sloppy SMTP client may send bare LF. IMAP (RFC 3501 2.3.1) and POP3 (RFC 1939 3) send
// messages with CRLF, and the sizes they announce (RFC822.SIZE, BODYSTRUCTURE, LIST) must be the sizes of
// what they send; Dovecot converts on every read, Letterbox once, as the message is written.

const LF = 0x0a;
const CR = 0x0d;

/** Turns bare LF into CRLF across the chunks of one message (a CR may end one chunk and its LF start the next). */
export class CrlfLineEnds {
  private afterCr = false;

  canonical(chunk: Buffer): Buffer {
    if (chunk.length === 0) return chunk;
    const bare: number[] = [];
    for (let at = chunk.indexOf(LF); at !== -1; at = chunk.indexOf(LF, at + 1)) {
      const before = at === 0 ? this.afterCr : chunk[at - 1] === CR;
      if (!before) bare.push(at);
    }
    this.afterCr = chunk[chunk.length - 1] === CR;
    if (bare.length === 0) return chunk;
    const out = Buffer.allocUnsafe(chunk.length + bare.length);
    let from = 0;
    let to = 0;
    for (const at of bare) {
      to += chunk.copy(out, to, from, at);
      out[to++] = CR;
      from = at;
    }
    chunk.copy(out, to, from);
    return out;
  }
}
