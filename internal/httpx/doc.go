// Package httpx turns one HTTP exchange with a partner system into
// synclayer's error model. It is shared by the HTTP connectors (rest,
// webhook, soap, googlecalendar, caldav, arcgis) and is not public API;
// connectors re-export what their users need (the sentinels and the
// [Error] type, as aliases).
//
// # Classification
//
// [Classifier.Check] takes what [http.Client.Do] returned and gives nil
// for a 2xx response (the body is left for the caller, who must close it,
// for instance with [Discard]) or an error:
//
//   - network errors, timeouts and broken connections: retryable, wrapping
//     [ErrNetwork] and the cause (so errors.Is(err, context.DeadlineExceeded)
//     works);
//   - 408, 425, 500, 502, 503, 504: retryable, wrapping [ErrUnavailable];
//   - 429: retryable, wrapping [ErrRateLimited];
//   - any other status: permanent ([synclayer.Permanent]), wrapping
//     [ErrNotFound] (404, 410), [ErrConflict] (409, 412),
//     [ErrUnauthorized] (401, 403) or [ErrRejected] (the rest).
//
// A Retry-After header on a retryable response, in seconds or as an
// HTTP-date (all three formats of RFC 9110 §5.6.7), becomes a
// [synclayer.RetryAfter] hint and [Error.RetryAfter].
//
// Connectors whose partner reports errors inside the body whatever the
// status (SOAP faults, ArcGIS error objects) read the body themselves with
// [ReadSnippet] and judge it before falling back to [Classifier.Response].
//
// # Errors
//
// Every error is an [*Error] (found with errors.As) carrying the method,
// the redacted URL, the status and a bounded snippet of the partner's
// body (at most [MaxSnippet] bytes), wrapped with [synclayer.Permanent] or
// [synclayer.RetryAfter] as classified. Its text starts with the
// classifier's Prefix, the connector's package name.
//
// # Redaction
//
// No secret reaches an error text. The URL loses its userinfo password and
// the values of query parameters whose names look secret (any name holding
// token, secret, password, signature, auth, credential, session or
// api/access/private key, and the bare names key, code, sig); with
// HidePath it also loses its path and query. The same name=value pairs,
// and Bearer or Basic credentials, are scrubbed from free text. The values of the request's
// Authorization, Proxy-Authorization, Cookie and X-Api-Key headers, of
// the classifier's SecretHeaders, and its literal Secrets are replaced by
// "REDACTED" wherever they appear: in the body snippet (partners echo
// requests) and in the text of the cause.
//
// # Connection reuse
//
// Check drains (up to [MaxDrain] bytes) and closes the body of every
// response it turns into an error, and [Discard] does the same for
// successful ones, so the transport can reuse the connection.
package httpx
