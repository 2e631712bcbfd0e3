// The event bus: how the queue and the servers tell the panel and the web page what happens, without
// either side importing the other. Listeners must be quick and must not throw; the bus isolates them.
import { EventEmitter } from 'node:events';
import type { RecipientState } from './types.js';

export interface LetterboxEvents {
  'service.listening': { service: string; address: string; port: number };
  'service.stopped': { service: string };
  /** A message was accepted with 250 and is durable. */
  'message.received': { messageId: string; sender: string; local: string[]; remote: string[]; size: number; port: number };
  'message.queued': { queueId: string; messageId: string; recipients: string[] };
  'recipient.state': { queueId: string; recipient: string; state: RecipientState; detail?: string };
  'queue.depth': { messages: number; recipients: number; deferred: number };
  'smtp.rejected': { port: number; reason: string; remoteAddress: string };
  'auth.failed': { service: string; remoteAddress: string; username: string };
}

export type EventName = keyof LetterboxEvents;

export class EventBus {
  private readonly emitter = new EventEmitter();
  private readonly onListenerError: (err: unknown, event: string) => void;

  constructor(onListenerError: (err: unknown, event: string) => void = () => {}) {
    this.emitter.setMaxListeners(100);
    this.onListenerError = onListenerError;
  }

  emit<E extends EventName>(event: E, payload: LetterboxEvents[E]): void {
    for (const listener of this.emitter.listeners(event)) {
      try {
        (listener as (p: LetterboxEvents[E]) => void)(payload);
      } catch (err) {
        // A broken panel must never break mail flow.
        this.onListenerError(err, event);
      }
    }
  }

  on<E extends EventName>(event: E, listener: (payload: LetterboxEvents[E]) => void): () => void {
    this.emitter.on(event, listener);
    return () => this.emitter.off(event, listener);
  }
}
