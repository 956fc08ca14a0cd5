package soap

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/ianaindex"
	"golang.org/x/text/encoding/unicode"

	"github.com/hmsplatform/synclayer/internal/clip"
)

// Responses are read in the charset they declare, as partners really send
// them: Java servers often answer in ISO-8859-1 or windows-1252, some
// .NET ones in UTF-16. The charset comes from, in order of precedence
// (RFC 7303 §3.2 and XML 1.0 Appendix F): a byte order mark, which is
// authoritative when present, whatever the Content-Type says; the charset
// parameter of the Content-Type; the bytes of a UTF-16 "<?xml"; and the
// encoding of the XML declaration, unless that names UTF-16 (or another
// charset in which "<?xml" is not ASCII bytes) over a body that begins
// with the ASCII "<?xml", which is then read as UTF-8. Any IANA charset
// name that golang.org/x/text knows is accepted.

// errCharset marks a charset the connector cannot decode.
var errCharset = errors.New("unsupported charset")

// lookupCharset returns the encoding of an IANA charset name; nil for
// UTF-8 and US-ASCII, which need no decoding. A name it does not know
// gives windows-1252 and an error wrapping errCharset: the structure of
// an envelope (its element names, the fault codes) is ASCII and reads
// right in any ASCII-compatible charset, so a fault is still recognised
// (only its texts may come out wrong), rather than taken for a success.
func lookupCharset(name string) (encoding.Encoding, error) {
	name = strings.TrimSpace(name)
	switch strings.ToLower(name) {
	case "", "utf-8", "utf8", "us-ascii", "ascii":
		return nil, nil
	}
	enc, err := ianaindex.IANA.Encoding(name)
	if err != nil || enc == nil {
		return charmap.Windows1252, fmt.Errorf("%w %q", errCharset, clip.String(name, maxFaultText))
	}
	if enc == unicode.UTF8 {
		return nil, nil
	}
	return enc, nil
}

// toUTF8 returns body as UTF-8 when its charset is known before the XML
// declaration is read (a byte order mark, the Content-Type's charset, or
// UTF-16 without a mark); decoded is then true and the declaration's own
// encoding must be ignored. Otherwise body is returned as it is. err is
// set only when the bytes do not decode.
func toUTF8(body []byte, contentType string) (out []byte, decoded bool, err error) {
	var enc encoding.Encoding
	switch {
	case bytes.HasPrefix(body, []byte("\xef\xbb\xbf")):
		return body[3:], true, nil
	case bytes.HasPrefix(body, []byte{0xFE, 0xFF}), bytes.HasPrefix(body, []byte{0xFF, 0xFE}):
		enc = unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM)
	}
	if enc == nil {
		if _, params, perr := mime.ParseMediaType(contentType); perr == nil && params["charset"] != "" {
			enc, _ = lookupCharset(params["charset"])
			if enc == nil {
				return body, true, nil
			}
		}
	}
	if enc == nil {
		switch {
		case bytes.HasPrefix(body, []byte{0x00, '<', 0x00, '?'}):
			enc = unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM)
		case bytes.HasPrefix(body, []byte{'<', 0x00, '?', 0x00}):
			enc = unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM)
		default:
			return body, false, nil
		}
	}
	out, err = enc.NewDecoder().Bytes(body)
	if err != nil {
		return nil, false, fmt.Errorf("decode %s: %w", enc, err)
	}
	// A byte order mark survives some decoders as U+FEFF.
	return bytes.TrimPrefix(out, []byte("\xef\xbb\xbf")), true, nil
}

// newDecoder returns an XML decoder of body, read in the charset that
// contentType or body declares. err is set only when the bytes do not
// decode (see toUTF8).
func newDecoder(body []byte, contentType string) (*xml.Decoder, error) {
	body, decoded, err := toUTF8(body, contentType)
	if err != nil {
		return nil, err
	}
	d := xml.NewDecoder(bytes.NewReader(body))
	d.CharsetReader = charsetReader(decoded)
	return d, nil
}

// charsetReader is the xml.Decoder's CharsetReader: it decodes the
// charset the XML declaration names, or, when the body was decoded
// already, passes it through.
//
// A declaration the decoder read as ASCII bytes, with no byte order mark
// and no charset parameter before it, cannot be right when it names a
// charset in which "<?xml" is not those bytes (UTF-16, UTF-32, EBCDIC:
// XML 1.0 Appendix F): a .NET service serialising through a StringWriter
// declares utf-16 over UTF-8 bytes. Such a body is read as UTF-8.
func charsetReader(decoded bool) func(string, io.Reader) (io.Reader, error) {
	return func(label string, in io.Reader) (io.Reader, error) {
		if decoded {
			return in, nil
		}
		enc, _ := lookupCharset(label) // an unknown one reads as windows-1252
		if enc == nil || !asciiCompatible(enc) {
			return in, nil
		}
		return enc.NewDecoder().Reader(in), nil
	}
}

// asciiCompatible reports whether enc writes "<?xml" as those ASCII
// bytes, as a declaration read byte by byte must have been written.
func asciiCompatible(enc encoding.Encoding) bool {
	b, err := enc.NewEncoder().String("<?xml")
	return err == nil && b == "<?xml"
}
