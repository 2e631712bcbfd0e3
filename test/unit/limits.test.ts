// The login guard (src/core/login-guard.ts) on a clock the test moves by hand: failures per client
// address and per account, attempts in flight counted before the password check, the addresses an
// account knows, and the state saved and taken up again. (Connections per client are counted at accept,
// in smtp/gate.ts: test/integration/smtp-limits.test.ts and smtp-slow-clients.test.ts.)
import t from 'tap';
import { LoginGuard, MAX_SAVED, type LoginAttempt, type LoginGuardPersistence, type LoginGuardSettings, type SavedLoginGuard } from '../../src/core/login-guard.js';

const settings: LoginGuardSettings = {
  authFailureDelayMs: 1_000,
  authFailureMaxDelayMs: 16_000,
  authFailureLimit: 10,
  authFailureWindowSeconds: 900,
  authAccountFailureLimit: 20,
  authKnownAddressSeconds: 30 * 86_400,
};

/** A guard, the hand that turns its clock, and (when asked) a store it saves into. */
function guarded(overrides: Partial<LoginGuardSettings> = {}, persistence?: LoginGuardPersistence) {
  let now = 1_700_000_000_000;
  const guard = new LoginGuard({ ...settings, ...overrides }, persistence, () => now);
  return { guard, advance: (ms: number) => void (now += ms), now: () => now };
}

function admitted(guard: LoginGuard, address: string, username = 'alice@example.com'): LoginAttempt {
  const admission = guard.begin(address, username);
  if (!admission.admitted) throw new Error(`refused (${admission.refused}) where an attempt was expected`);
  return admission.attempt;
}

function refused(guard: LoginGuard, address: string, username = 'alice@example.com'): string | undefined {
  const admission = guard.begin(address, username);
  if (admission.admitted) {
    admission.attempt.abandoned();
    return undefined;
  }
  return admission.refused;
}

/**
 * Keeps what is saved; `nextSave()` resolves at the next save, with the time it came, or fails after
 * `limitMs` (its timer also keeps the process alive: the guard's own save timer does not).
 */
function memoryStore(): LoginGuardPersistence & { saved: SavedLoginGuard[]; nextSave(limitMs?: number): Promise<number> } {
  const saved: SavedLoginGuard[] = [];
  const waiting: ((at: number) => void)[] = [];
  return {
    saved,
    load: async () => saved.at(-1),
    save: async (state) => {
      saved.push(structuredClone(state));
      for (const resolve of waiting.splice(0)) resolve(Date.now());
    },
    nextSave: (limitMs = 10_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`nothing was saved within ${limitMs / 1000} s`)), limitMs);
        waiting.push((at) => {
          clearTimeout(timer);
          resolve(at);
        });
      }),
  };
}

t.test('the delay doubles with each failure up to the maximum', async (t) => {
  const { guard } = guarded({ authFailureLimit: 100, authAccountFailureLimit: 100 });
  const delays = Array.from({ length: 8 }, () => admitted(guard, '192.0.2.1').failed());
  t.same(delays, [1_000, 2_000, 4_000, 8_000, 16_000, 16_000, 16_000, 16_000]);
  t.equal(admitted(guard, '192.0.2.2').failed(), 1_000, 'another client starts afresh');
});

t.test('an address is refused once it reaches the limit', async (t) => {
  const { guard } = guarded({ authFailureLimit: 3 });
  for (let i = 0; i < 2; i++) admitted(guard, '192.0.2.1').failed();
  t.equal(refused(guard, '192.0.2.1'), undefined, 'below the limit it may still try');
  admitted(guard, '192.0.2.1').failed();
  t.equal(refused(guard, '192.0.2.1'), 'address', 'at the limit it may not');
  t.equal(refused(guard, '192.0.2.2'), undefined, 'other clients are not affected');
});

t.test('attempts in flight count until they succeed, so parallel attempts cannot exceed the limit', async (t) => {
  const { guard } = guarded({ authFailureLimit: 10 });
  const admissions = Array.from({ length: 20 }, () => guard.begin('192.0.2.1', 'alice@example.com'));
  const checked = admissions.flatMap((a) => (a.admitted ? [a.attempt] : []));
  t.equal(checked.length, 10, 'ten checked, ten refused before any was decided');
  for (const attempt of checked.slice(0, 5)) attempt.succeeded();
  t.equal(refused(guard, '192.0.2.1'), undefined, 'successes free their places');
  for (const attempt of checked.slice(5)) attempt.failed();
  t.equal(refused(guard, '192.0.2.1'), undefined, 'five failures are under the limit');
  for (let i = 0; i < 5; i++) admitted(guard, '192.0.2.1').abandoned();
  t.equal(refused(guard, '192.0.2.1'), undefined, 'an abandoned attempt (too busy, a fault of ours) counts as nothing');
  const again = admitted(guard, '192.0.2.1');
  again.failed();
  t.equal(again.failed(), 0, 'an attempt settles once');
});

t.test('failures expire one by one at the end of the window', async (t) => {
  const { guard, advance } = guarded({ authFailureLimit: 3, authFailureWindowSeconds: 60 });
  admitted(guard, '192.0.2.1').failed();
  advance(30_000);
  admitted(guard, '192.0.2.1').failed();
  admitted(guard, '192.0.2.1').failed();
  t.equal(refused(guard, '192.0.2.1'), 'address');
  advance(29_999);
  t.equal(refused(guard, '192.0.2.1'), 'address', 'the first failure is still inside the window');
  advance(1);
  t.equal(refused(guard, '192.0.2.1'), undefined, 'exactly one window after the first failure, it no longer counts');
  t.equal(admitted(guard, '192.0.2.1').failed(), 4_000, 'the two recent failures still count towards the delay');
  advance(60_000);
  t.equal(admitted(guard, '192.0.2.1').failed(), 1_000, 'after a quiet window the delay starts over');
});

t.test('an account under attack refuses unknown addresses and keeps letting in the ones that logged in before', async (t) => {
  const { guard, advance } = guarded({ authFailureLimit: 3, authAccountFailureLimit: 5, authFailureWindowSeconds: 600, authKnownAddressSeconds: 86_400 });
  admitted(guard, '192.0.2.1').succeeded(); // the real user, from the office
  for (let i = 0; i < 5; i++) admitted(guard, `198.51.100.${i}`, 'ALICE@example.com').failed();
  t.equal(refused(guard, '198.51.100.99'), 'account', 'a sixth address is refused for this account');
  t.equal(refused(guard, '198.51.100.99', 'bob@example.com'), undefined, 'but not for another');
  t.equal(refused(guard, '192.0.2.1'), undefined, 'the address that logged in before still may');
  admitted(guard, '192.0.2.1').failed();
  t.same(guard.toSaved().accounts.map(([account, failures]) => [account, failures.length]), [['alice@example.com', 5]], "a known address's own failure is no attacker's");
  advance(600_000);
  t.equal(refused(guard, '198.51.100.99'), undefined, 'after the window, others may try again');
  advance(86_400_000);
  for (let i = 0; i < 5; i++) admitted(guard, `198.51.100.${i}`).failed();
  t.equal(refused(guard, '192.0.2.1'), 'account', 'an address that has not logged in lately is known no longer');
});

t.test('unknown names are counted like real ones, so a refusal says nothing about which exist', async (t) => {
  const { guard } = guarded({ authAccountFailureLimit: 2 });
  admitted(guard, '198.51.100.1', 'nobody@example.com').failed();
  admitted(guard, '198.51.100.2', 'nobody@example.com').failed();
  t.equal(refused(guard, '198.51.100.3', 'nobody@example.com'), 'account');
});

t.test('an account remembers its last few addresses', async (t) => {
  const { guard, advance } = guarded({ authAccountFailureLimit: 1 });
  for (let i = 0; i < 9; i++) {
    admitted(guard, `192.0.2.${i}`).succeeded();
    advance(1_000);
  }
  admitted(guard, '198.51.100.1').failed();
  t.equal(refused(guard, '192.0.2.0'), 'account', 'the oldest of nine is forgotten');
  t.equal(refused(guard, '192.0.2.1'), undefined, 'the last eight are kept');
});

t.test('the state is saved at most once a second, and a new guard takes it up', async (t) => {
  const store = memoryStore();
  const { guard, now } = guarded({ authFailureLimit: 2, authAccountFailureLimit: 50 }, store);
  admitted(guard, '192.0.2.7', 'alice@example.com').succeeded();
  admitted(guard, '198.51.100.1').failed();
  admitted(guard, '198.51.100.1').failed();
  const changedAt = Date.now();
  t.equal(store.saved.length, 0, 'nothing is written at once');
  const savedAt = await store.nextSave();
  t.ok(savedAt - changedAt >= 900, `written a second later (${savedAt - changedAt} ms)`);
  t.equal(store.saved.length, 1, 'one write for the three changes');
  admitted(guard, '198.51.100.2').failed();
  await guard.stop();
  t.equal(store.saved.length, 2, 'and the last change at stop');
  t.match(store.saved.at(-1), { version: 1, addresses: [['198.51.100.1', [0, 0]], ['198.51.100.2', [0]]], known: [['alice@example.com', [['192.0.2.7', 0]]]] });

  let later = now();
  const restarted = new LoginGuard({ ...settings, authFailureLimit: 2, authFailureWindowSeconds: 900 }, store, () => later);
  await restarted.load();
  t.equal(refused(restarted, '198.51.100.1'), 'address', 'a blocked address is still blocked after a restart');
  t.equal(refused(restarted, '198.51.100.2'), undefined, 'one failure is not a block');
  later += 900_000;
  t.equal(refused(restarted, '198.51.100.1'), undefined, 'and the window still ends');
});

t.test('a damaged saved state is ignored', async (t) => {
  for (const damaged of [null, 'x', { version: 2 }, { version: 1, savedAt: 1, addresses: [[1, 2]], accounts: [], known: [] }]) {
    const guard = new LoginGuard(settings, { load: async () => damaged, save: async () => {} });
    await guard.load();
    t.equal(refused(guard, '192.0.2.1'), undefined);
  }
});

t.test('what is kept is bounded', async (t) => {
  const { guard, advance } = guarded({ authFailureWindowSeconds: 60 });
  for (let i = 0; i < 2_000; i++) admitted(guard, `198.51.${i >> 8}.${i & 255}`, `user${i}@example.com`).failed();
  const saved = guard.toSaved();
  t.equal(saved.addresses.length, MAX_SAVED, 'the saved form keeps the most recent addresses');
  t.equal(saved.accounts.length, MAX_SAVED, 'and accounts');
  t.equal(saved.addresses.at(-1)?.[0], '198.51.7.207');
  t.ok(JSON.stringify(saved).length < 100_000, `and stays small (${JSON.stringify(saved).length} bytes)`);
  advance(61_000);
  admitted(guard, '192.0.2.1').failed();
  // The maps are private; their size is the memory a long-running server holds for scanners that left.
  const sizes = guard as unknown as { addresses: Map<string, unknown>; accounts: Map<string, unknown> };
  t.same([...sizes.addresses.keys()], ['192.0.2.1'], 'addresses whose failures expired are forgotten');
  t.same([...sizes.accounts.keys()], ['alice@example.com']);
});

t.test('a store that cannot be written is reported once, and the guard works on from memory', async (t) => {
  const errors: unknown[] = [];
  const guard = new LoginGuard({ ...settings, authFailureLimit: 2 }, { load: async () => undefined, save: async () => Promise.reject(new Error('disk full')) }, Date.now, (err) => errors.push(err));
  admitted(guard, '198.51.100.1').failed();
  await guard.stop();
  admitted(guard, '198.51.100.1').failed();
  await guard.stop();
  t.equal(errors.length, 1, 'told once, not at every save');
  t.equal(refused(guard, '198.51.100.1'), 'address');
});
