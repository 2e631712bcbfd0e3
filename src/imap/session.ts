// What one connection holds that commands read and change (command.ts Session): the RFC 3501 3 state,
// the account once logged in, the selected folder as the client knows it, the extensions turned on.
import type { ImapAccount, ImapClient, SelectedFolder } from './backend.js';
import type { ImapLimits, Session, SessionState } from './command.js';
import { SelectedState, type SelectedHooks } from './selected.js';

export class ImapSession implements Session {
  state: SessionState = 'not-authenticated';
  account: ImapAccount | null = null;
  selected: SelectedState | null = null;
  readonly enabled = new Set<string>();

  constructor(
    readonly client: ImapClient,
    readonly limits: ImapLimits,
    private readonly capabilityList: () => string[],
    private readonly hooks: SelectedHooks,
  ) {}

  capabilities(): string[] {
    return this.capabilityList();
  }

  select(folder: SelectedFolder): SelectedState {
    this.selected?.close();
    this.selected = new SelectedState(folder, this.enabled, this.hooks);
    this.state = 'selected';
    return this.selected;
  }

  deselect(): void {
    this.selected?.close();
    this.selected = null;
    if (this.state === 'selected') this.state = 'authenticated';
  }

  /** LOGOUT or a closed connection: gives back the folder and the account. */
  end(): void {
    this.deselect();
    this.account?.close();
    this.account = null;
    this.state = 'logout';
  }
}
