// The names the tests give the appliance, its users and the far side, in one place, so that a test and
// the helpers it calls agree on them.

/** The appliance's own mail domain: provisioned by the helpers, local to the store. */
export const DOMAIN = 'letterbox.test';
/** The appliance's host name (EHLO, greeting, Reporting-MTA of its DSNs). */
export const HOSTNAME = `mx.${DOMAIN}`;
export const ALICE = `alice@${DOMAIN}`;
export const BOB = `bob@${DOMAIN}`;
/** A recipient at remote.test, the far side of the delivery and queue tests. */
export const CAROL = 'carol@remote.test';
