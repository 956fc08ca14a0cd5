// Package webhook is a synclayer connector that delivers records as
// signed webhooks, by the Standard Webhooks scheme, and the [Verify]
// function that receivers use to check them.
//
// Each record is POSTed as a JSON [Message] with three headers:
// webhook-id (the same across retries, the receiver's idempotency key),
// webhook-timestamp (Unix seconds, fresh on every attempt) and
// webhook-signature ("v1," and the base64 HMAC-SHA256 of
// "{id}.{timestamp}.{body}", one per secret, space-separated).
//
// # Configuration
//
// [Config] is validated by [New]: a missing or relative URL, no secret, a
// secret that is not base64 (with or without its whsec_ prefix) or decodes
// to fewer than 16 bytes, or a header trying to set a webhook-* header is
// an error then. During a secret rotation give both secrets; every message
// then carries both signatures, and receivers holding either accept it.
// Without a Client, New builds one with a pool of Concurrency connections
// that does not follow redirects.
//
// # Delivery semantics
//
// At least once. Retries and redeliveries of one change carry the same
// webhook-id (see [Connector.MessageID]), so a receiver that remembers
// the ids it processed applies each change once; a receiver must also
// apply messages as upserts by key, since the same key can arrive again
// with a new id after the dispatcher's store forgot it. A delete is a
// message with "deleted":true.
//
// # Errors
//
// Sync classifies, the dispatcher retries: network errors, timeouts,
// 408, 425, 429, 500, 502, 503, 504, 507 and 520–524 (a proxy's origin
// errors) are retried (after the receiver's
// Retry-After, when one of these responses carries it); every other
// status, 3xx and 410 included, is
// synclayer.Permanent. Test the category with errors.Is ([partner.ErrRateLimited],
// [partner.ErrNotFound], ...) and read the details from [*partner.Error]. Error texts show
// only the scheme and host of the URL (many endpoints carry a credential
// in their path) and never a secret: neither as configured, nor without
// its whsec_ prefix, nor (when it is text) the key it decodes to; nor the
// value of a secret header (Authorization and the others of
// [Config].SecretHeaders).
//
// # Receiving
//
// [Verify] (or a [Verifier] with several secrets, a clock and a
// tolerance) checks the headers against the raw body, in constant time,
// and refuses timestamps more than five minutes away.
package webhook
