package soap

import (
	"fmt"
	"strconv"
)

// Version is a SOAP version.
type Version int

const (
	// SOAP11 is SOAP 1.1: text/xml and a SOAPAction header. The default.
	SOAP11 Version = 11
	// SOAP12 is SOAP 1.2: application/soap+xml with an action parameter.
	SOAP12 Version = 12
)

// versionNames are the texts of the known versions.
var versionNames = map[Version]string{SOAP11: "SOAP 1.1", SOAP12: "SOAP 1.2"}

// String returns "SOAP 1.1" or "SOAP 1.2", and "Version(n)" for any other
// value.
func (v Version) String() string {
	if n, ok := versionNames[v]; ok {
		return n
	}
	return "Version(" + strconv.Itoa(int(v)) + ")"
}

// MarshalText encodes the version as its name ("SOAP 1.1", "SOAP 1.2"),
// and the zero Version, which means the default, as the empty text. An
// unknown version is an error.
func (v Version) MarshalText() ([]byte, error) {
	if v == 0 {
		return []byte{}, nil
	}
	if n, ok := versionNames[v]; ok {
		return []byte(n), nil
	}
	return nil, fmt.Errorf("soap: unknown version %d", int(v))
}

// UnmarshalText decodes a version name; the empty text gives the zero
// Version (the default). An unknown name is an error.
func (v *Version) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*v = 0
		return nil
	}
	for ver, n := range versionNames {
		if n == string(b) {
			*v = ver
			return nil
		}
	}
	return fmt.Errorf("soap: unknown version %q", b)
}
