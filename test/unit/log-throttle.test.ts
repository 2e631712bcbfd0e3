// The rate limit on log lines about clients (src/core/log-throttle.ts), on a clock the test moves by hand:
// lines per address and kind, the total over all addresses, and one report of what was held back.
import t from 'tap';
import { LogThrottle, type LogThrottleSettings, type Suppressed } from '../../src/core/log-throttle.js';

const settings: LogThrottleSettings = { linesPerWindow: 10, linesPerWindowAllSources: 100, windowMs: 60_000, maxSources: 1_000 };

function throttled(overrides: Partial<LogThrottleSettings> = {}) {
  let now = 1_700_000_000_000;
  const reports: Suppressed[] = [];
  const throttle = new LogThrottle({ ...settings, ...overrides }, (r) => reports.push(r), () => now, false);
  return { throttle, reports, advance: (ms: number) => void (now += ms) };
}

function admitted(throttle: LogThrottle, times: number, source: string, kind = 'tls'): number {
  let lines = 0;
  for (let i = 0; i < times; i++) if (throttle.admit(source, kind)) lines += 1;
  return lines;
}

t.test('ten lines per address and kind a minute, then one report of the rest', async (t) => {
  const { throttle, reports, advance } = throttled();
  t.equal(admitted(throttle, 1_000, '192.0.2.1'), 10, 'a thousand handshakes dropped: ten lines');
  t.equal(admitted(throttle, 5, '192.0.2.1', 'refused'), 5, 'another kind has its own share');
  t.equal(admitted(throttle, 5, '192.0.2.2'), 5, 'and so has another address');
  throttle.flush();
  t.same(reports, [], 'nothing is reported before the minute is over');
  advance(60_000);
  throttle.flush();
  t.same(reports, [{ kind: 'tls', source: '192.0.2.1', suppressed: 990 }], 'then what was held back, once');
  throttle.flush();
  t.equal(reports.length, 1, 'and only once');
  t.equal(admitted(throttle, 20, '192.0.2.1'), 10, 'a new minute, a new share');
});

t.test('a window that ends with a new line reports what it held back', async (t) => {
  const { throttle, reports, advance } = throttled({ linesPerWindow: 1 });
  admitted(throttle, 3, '192.0.2.1');
  advance(60_000);
  t.ok(throttle.admit('192.0.2.1', 'tls'));
  t.same(reports, [{ kind: 'tls', source: '192.0.2.1', suppressed: 2 }]);
});

t.test('many addresses together are held to the total per kind', async (t) => {
  const { throttle, reports, advance } = throttled();
  let lines = 0;
  for (let i = 0; i < 500; i++) lines += admitted(throttle, 2, `198.51.100.${i}`);
  t.equal(lines, 100, 'a thousand lines from five hundred addresses: a hundred written');
  advance(60_000);
  throttle.flush();
  t.same(reports, [{ kind: 'tls', source: undefined, suppressed: 900 }]);
});

t.test('the table of addresses is bounded', async (t) => {
  const { throttle } = throttled({ maxSources: 10, linesPerWindowAllSources: 10_000 });
  let lines = 0;
  for (let i = 0; i < 100; i++) lines += admitted(throttle, 20, `198.51.100.${i}`);
  t.equal(lines, 10 * 10 + 90 * 20, 'addresses past the table are held to the total only');
  t.equal((throttle as unknown as { bySource: Map<string, unknown> }).bySource.size, 10);
});

t.test('dispose reports what was held back so far', async (t) => {
  const { throttle, reports } = throttled({ linesPerWindow: 1 });
  admitted(throttle, 4, '192.0.2.1', 'gone');
  throttle.dispose();
  t.same(reports, [{ kind: 'gone', source: '192.0.2.1', suppressed: 3 }]);
});
