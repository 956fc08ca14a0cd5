package caldav

import "errors"

// ErrUIDConflict marks a write refused because another object in the
// collection already uses the key's UID (CALDAV:no-uid-conflict).
// Permanent. The other categories are those of package partner.
var ErrUIDConflict = errors.New("UID already used by another object of the collection")
