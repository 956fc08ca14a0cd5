// Package httpx turns one HTTP exchange with a partner system into
// synclayer's error model. It is shared by the HTTP connectors (rest,
// webhook, soap, googlecalendar, caldav, arcgis) and is not public API. What
// users of a connector see of it is in package [partner]: the failure
// categories and the [partner.Error] built here.
//
// # Classification
//
// [Classifier.Check] takes what [http.Client.Do] returned and gives nil
// for a 2xx response (the body is left for the caller, who must close it,
// for instance with [Discard]) or an error:
//
//   - network errors, timeouts and broken connections: retryable, wrapping
//     [partner.ErrNetwork] and the cause (so errors.Is(err, context.DeadlineExceeded)
//     works);
//   - 408, 425, 500, 502, 503, 504, 507 and 520–524 (a proxy's origin
//     errors: unknown error, web server down, connection timed out, origin
//     unreachable, a timeout occurred): retryable, wrapping
//     [partner.ErrUnavailable];
//   - 429: retryable, wrapping [partner.ErrRateLimited];
//   - any other status: permanent ([synclayer.Permanent]), wrapping
//     [partner.ErrNotFound] (404, 410), [partner.ErrConflict] (409, 412),
//     [partner.ErrUnauthorized] (401, 403) or [partner.ErrRejected] (the rest).
//
// A Retry-After header on a retryable response, in seconds or as an
// HTTP-date (all three formats of RFC 9110 §5.6.7), becomes a
// [synclayer.RetryAfter] hint and [partner.Error.RetryAfter].
//
// Connectors whose partner reports errors inside the body whatever the
// status (SOAP faults, ArcGIS error objects) read the body themselves with
// [ReadBody] and judge it before falling back to [Classifier.Response].
//
// # Errors
//
// Every error is an [*partner.Error] (found with errors.As) carrying the method,
// the redacted URL, the status and a bounded snippet of the partner's
// body (at most [MaxSnippet] bytes), wrapped with [synclayer.Permanent] or
// [synclayer.RetryAfter] as classified. Its text starts with the
// classifier's Prefix, the connector's package name.
//
// # Redaction
//
// No secret reaches an error text, nor anything a caller reaches from an
// error with errors.As or Unwrap. Redaction goes by structure, not by
// guessing at text:
//
//   - The URL of an error keeps scheme, host and path only: never the
//     user info, and "?…" in place of a query. With HidePath only scheme
//     and host remain, for partners whose URL path is itself a credential.
//   - No request header and no request body is ever put into an error.
//   - The known credentials of the exchange are collected: the classifier's
//     Secrets; the values of the Authorization, Proxy-Authorization,
//     Cookie, X-Api-Key and X-Esri-Authorization headers, of SecretHeaders
//     and of any header whose name speaks of auth, tokens, keys, secrets,
//     passwords, sessions, signatures or cookies, with their credential
//     parts (the token after the scheme, the values of cookie headers'
//     name=value pairs unless only punctuation, the user:password of
//     Basic credentials and its base64 form); the URL's password and
//     secret query values (names holding token, secret, password,
//     signature, auth, credential, session or api/access/private key, and
//     the bare names key, code, sig); with HidePath the whole URL path and
//     those of its segments that look like tokens (eight bytes or more and
//     not a lowercase word, or sixteen bytes or more), not the short words
//     of an API ("api", "v1", "hooks"), which would scrub those words from
//     every text. They are taken from the request the connector built and
//     from the response's Request, which is the request as the caller's
//     transport sent it, with the credentials it added.
//   - The partner's texts (status reason, body snippet, the text of the
//     cause) lose each known credential in every encoding it may be echoed
//     in (raw, XML-escaped with either entity style, JSON-escaped with or
//     without HTML escaping, URL-escaped), whatever its length; URLs in
//     them are rendered as above; and secret-named header lines, JSON
//     members, XML elements (a WS-Security Password, a Nonce), name=value
//     pairs and Bearer or Basic credentials lose their values. If a known
//     credential is still there after that, the whole text is replaced by
//     [Withheld].
//   - The cause an [partner.Error] keeps is a scrubbed copy: a [Redactable] cause
//     (a SOAP fault, an ArcGIS error object) redacts its own texts; a
//     standard network, OS or context error with nothing to scrub is kept
//     as it is; anything else (a caller's transport error, which may quote
//     a header) is replaced by a stand-in with the scrubbed text that
//     still matches errors.Is as the original did and reports Timeout as
//     it did, but from which neither Unwrap nor errors.As reaches the
//     original. A *url.Error is taken apart into the method, the
//     redacted URL and its cause.
//
// # Request bodies
//
// [JSONBody] is the one rule of the JSON connectors (rest, webhook) for a
// request body: raw JSON as it is, anything else through encoding/json,
// and a payload that cannot be sent, being invalid or over the
// connector's limit, an error in [partner.ErrPayload].
//
// # Connection reuse
//
// Check drains (up to [MaxDrain] bytes) and closes the body of every
// response it turns into an error, and [Discard] does the same for
// successful ones, so the transport can reuse the connection.
package httpx
