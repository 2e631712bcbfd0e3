// How a DSN tells the queue lifetime that ran out: in the largest whole unit, never rounded to zero.
import t from 'tap';
import { describeLifetime } from '../../src/queue/results.js';

t.test('lifetimes in words', async (t) => {
  const cases: [number, string][] = [
    [432_000, '5 days'],
    [86_400, '1 day'],
    [14_400, '4 hours'],
    [3_600, '1 hour'],
    [5_400, '90 minutes'],
    [120, '2 minutes'],
    [90, '90 seconds'],
    [3, '3 seconds'],
    [1, '1 second'],
  ];
  for (const [seconds, words] of cases) t.equal(describeLifetime(seconds), words, `${seconds} s`);
});
