package rest

import "errors"

// ErrKey marks a record key that cannot be a URL path segment ("." and
// ".." would be resolved away). Permanent. The other categories are those
// of package partner.
var ErrKey = errors.New("rest: key cannot be a path segment")
