// Outbound SMTP: direct delivery to the recipient domain's MX, the smarthost, and `letterbox relay test`.
// Imports only src/core (DESIGN.md, "Who may import whom"); main.ts wires it to the store and the queue.
export { createDeliveryAgent, type DeliveryDeps, type DeliverySettings } from './agent.js';
export { testRelay, type RelayTestSettings } from './smarthost.js';
