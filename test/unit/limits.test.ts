// The AUTH failure penalty per client, on a clock the test moves by hand. (Connections per client are
// counted at accept, in smtp/gate.ts: test/integration/smtp-limits.test.ts and smtp-slow-clients.test.ts.)
import t from 'tap';
import { AuthThrottle, type AuthThrottleSettings } from '../../src/smtp/limits.js';

const settings: AuthThrottleSettings = {
  authFailureDelayMs: 1_000,
  authFailureMaxDelayMs: 16_000,
  authFailureLimit: 10,
  authFailureWindowSeconds: 900,
};

/** A throttle and the hand that turns its clock. */
function throttled(overrides: Partial<AuthThrottleSettings> = {}) {
  let now = 1_700_000_000_000;
  const throttle = new AuthThrottle({ ...settings, ...overrides }, () => now);
  return { throttle, advance: (ms: number) => void (now += ms) };
}

t.test('the delay doubles with each failure up to the maximum', async (t) => {
  const { throttle } = throttled();
  const delays = Array.from({ length: 8 }, () => throttle.fail('192.0.2.1'));
  t.same(delays, [1_000, 2_000, 4_000, 8_000, 16_000, 16_000, 16_000, 16_000]);
  t.equal(throttle.fail('192.0.2.2'), 1_000, 'another client starts afresh');
});

t.test('a client is blocked once it reaches the limit', async (t) => {
  const { throttle } = throttled({ authFailureLimit: 3 });
  for (let i = 0; i < 2; i++) throttle.fail('192.0.2.1');
  t.notOk(throttle.blocked('192.0.2.1'), 'below the limit it may still try');
  throttle.fail('192.0.2.1');
  t.ok(throttle.blocked('192.0.2.1'), 'at the limit it may not');
  t.notOk(throttle.blocked('192.0.2.2'), 'other clients are not affected');
});

t.test('failures expire one by one at the end of the window', async (t) => {
  const { throttle, advance } = throttled({ authFailureLimit: 3, authFailureWindowSeconds: 60 });
  throttle.fail('192.0.2.1');
  advance(30_000);
  throttle.fail('192.0.2.1');
  throttle.fail('192.0.2.1');
  t.ok(throttle.blocked('192.0.2.1'));
  advance(29_999);
  t.ok(throttle.blocked('192.0.2.1'), 'the first failure is still inside the window');
  advance(1);
  t.notOk(throttle.blocked('192.0.2.1'), 'exactly one window after the first failure, it no longer counts');
  t.equal(throttle.fail('192.0.2.1'), 4_000, 'the two recent failures still count towards the delay');
  advance(60_000);
  t.equal(throttle.fail('192.0.2.1'), 1_000, 'after a quiet window the delay starts over');
});

t.test('clients whose failures have expired are forgotten', async (t) => {
  const { throttle, advance } = throttled({ authFailureWindowSeconds: 60 });
  for (let i = 0; i < 1_000; i++) throttle.fail(`198.51.100.${i}`);
  advance(61_000);
  throttle.fail('192.0.2.1');
  // The map is private; its size is the memory a long-running server holds for scanners that left.
  const failures = (throttle as unknown as { failures: Map<string, number[]> }).failures;
  t.same([...failures.keys()], ['192.0.2.1']);
});
