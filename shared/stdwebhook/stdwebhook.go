// Package stdwebhook signs and verifies webhooks with the Standard Webhooks
// v1 scheme (HMAC-SHA256), see https://www.standardwebhooks.com.
//
// It is written in-house on the standard library only, so that the code that
// runs on every inbound request is small enough to review in one sitting and
// has no dependency that could change underneath it.
//
// A delivery carries three headers: webhook-id, webhook-timestamp (integer
// unix seconds) and webhook-signature, a space-separated list of
// "<version>,<base64>" entries. Only version "v1" is produced and accepted;
// other versions (for example the asymmetric "v1a") are ignored so that a
// sender may add them without breaking us. The signed content is
// "{id}.{timestamp}.{raw body}" over the exact bytes received.
//
// Every function is pure: the current time is always an argument, and the
// package keeps no state.
package stdwebhook
