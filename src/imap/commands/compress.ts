// RFC 4978 3
//   command-auth =/ compress
//   compress = "COMPRESS" SP algorithm ; algorithm = "DEFLATE"
// Raw DEFLATE (RFC 1951) both ways from right after the OK.
import type { ConnectionCommandSpec } from '../command.js';
import { keyword } from '../wire/arguments.js';

export const compress: ConnectionCommandSpec = {
  name: 'COMPRESS',
  states: ['authenticated', 'selected'],
  async run(ctx) {
    const [algorithm, extra] = ctx.command.args;
    if (keyword(algorithm) !== 'DEFLATE' || extra !== undefined) return ctx.bad('Expected COMPRESS DEFLATE');
    if (ctx.connection.compressed) return ctx.no('DEFLATE is already active', 'COMPRESSIONACTIVE');
    ctx.connection.startCompression();
    ctx.ok('DEFLATE active');
  },
};
