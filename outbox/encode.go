package outbox

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/hmsplatform/synclayer"
)

// encodeEvent appends ev to dst as the JSON document the relay decodes
// with encoding/json, without reflection: the fields of synclayer.Event
// under their JSON names, empty ones left out. It decodes to the event
// json.Marshal's output decodes to. Strings are copied as they are but for
// the characters JSON must escape (an invalid UTF-8 byte decodes to
// U+FFFD, as it does from json.Marshal's \ufffd); Data is checked to be
// valid JSON and copied as given.
func encodeEvent(dst []byte, ev synclayer.Event) ([]byte, error) {
	dst = append(dst, `{"id":`...)
	dst = appendString(dst, ev.ID)
	dst = append(dst, `,"type":`...)
	dst = appendString(dst, ev.Type)
	if ev.Source != "" {
		dst = append(dst, `,"source":`...)
		dst = appendString(dst, ev.Source)
	}
	if ev.Subject != "" {
		dst = append(dst, `,"subject":`...)
		dst = appendString(dst, ev.Subject)
	}
	if !ev.Time.IsZero() {
		if y := ev.Time.Year(); y < 0 || y > 9999 {
			return nil, errors.New("event time year outside of range [0,9999]")
		}
		if _, off := ev.Time.Zone(); off <= -24*60*60 || off >= 24*60*60 {
			return nil, errors.New("event time zone offset outside of range (-24h,24h)")
		}
		dst = append(dst, `,"time":"`...)
		dst = ev.Time.AppendFormat(dst, time.RFC3339Nano)
		dst = append(dst, '"')
	}
	if len(ev.Data) > 0 {
		if !json.Valid(ev.Data) {
			return nil, errors.New("data is not valid JSON")
		}
		dst = append(dst, `,"data":`...)
		dst = append(dst, ev.Data...)
	}
	if len(ev.Meta) > 0 {
		dst = append(dst, `,"meta":{`...)
		first := true
		for k, v := range ev.Meta {
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = appendString(dst, k)
			dst = append(dst, ':')
			dst = appendString(dst, v)
		}
		dst = append(dst, '}')
	}
	return append(dst, '}'), nil
}

// appendString appends s as a JSON string: quotes, backslashes and
// control characters escaped, everything else as it is.
func appendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// encodedSize estimates the length of ev's document, to size buffers.
func encodedSize(ev synclayer.Event) int {
	n := 64 + len(ev.ID) + len(ev.Type) + len(ev.Source) + len(ev.Subject) + len(ev.Data)
	for k, v := range ev.Meta {
		n += len(k) + len(v) + 6
	}
	return n
}
