// Power cuts ('posix' mode: unsynced contents and unsynced directory entries dropped) while four senders deliver messages
// of mixed sizes: no acknowledged message lost or damaged, the store consistent after every cut (issue 14).
// LETTERBOX_POWERCUT_CUTS sets how many (20); `npm run soak` runs many more.
import t from 'tap';
import { testCutsDuringAcceptance } from '../helpers/powercut-mail.js';

// 20 cuts, each a restart and a full check: minutes, not the seconds of an ordinary file.
t.setTimeout(600_000);

testCutsDuringAcceptance('posix');
