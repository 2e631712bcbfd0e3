// The FolderStore contract on the in-memory store that IMAP backend tests use (test/helpers/memory-folder-store.ts),
// so the two backends keep the same promises.
import t from 'tap';
import { folderStoreContract } from '../helpers/folder-store-contract.js';
import { MemoryFolderStore } from '../helpers/memory-folder-store.js';

t.test('the FolderStore contract on the in-memory store', async (t) => {
  folderStoreContract(t, async () => {
    const store = new MemoryFolderStore();
    return {
      store,
      createMessage: () => store.createMessage(),
      addUser: async (address, quota = 0) => store.addUser(address, 'secret', quota),
      close: async () => {},
    };
  });
});
