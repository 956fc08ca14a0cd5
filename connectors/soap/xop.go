package soap

import (
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"net/url"
	"strings"

	"github.com/hmsplatform/synclayer/internal/clip"
)

// An MTOM answer (XOP 1.0, SOAP 1.2 MTOM) sends a large xs:base64Binary
// value as a part of its own, beside the envelope, and leaves in the
// envelope's element an xop:Include whose href is a cid: URL (RFC 2392)
// naming that part's Content-ID. The value is that of the element whose
// only content the xop:Include is, as if its text were the base64 of the
// part's bytes (XOP 1.0 §3.2). Call's decoding reads the envelope so:
// each xop:Include comes out as that base64 text, which a base64Binary
// field decodes to the bytes and a text field keeps as a plain answer
// would carry it. An xop:Include whose part is not in the answer makes
// the answer malformed.

// namespaceXOP is the namespace of the xop:Include element.
const namespaceXOP = "http://www.w3.org/2004/08/xop/include"

// xopReader reads the tokens of d, an envelope of a multipart/related
// answer, with each xop:Include element replaced by the base64 text of
// the part it names: one of parts, by Content-ID.
type xopReader struct {
	d        *xml.Decoder
	parts    map[string][]byte
	partsErr error // why not all the parts could be read
}

// Token implements xml.TokenReader.
func (x *xopReader) Token() (xml.Token, error) {
	tok, err := x.d.Token()
	if err != nil {
		return tok, err
	}
	start, ok := tok.(xml.StartElement)
	if !ok || start.Name.Space != namespaceXOP || start.Name.Local != "Include" {
		return tok, nil
	}
	b, err := x.part(start)
	if err != nil {
		return nil, err
	}
	if err := x.d.Skip(); err != nil {
		return nil, err
	}
	return xml.CharData(base64.StdEncoding.EncodeToString(b)), nil
}

// part returns the bytes of the part that the xop:Include start names
// with its href: a cid: URL, whose %-escapes are undone (RFC 2392), or,
// for a partner that escapes its Content-IDs too, kept.
func (x *xopReader) part(start xml.StartElement) ([]byte, error) {
	href, ok := "", false
	for _, a := range start.Attr {
		if a.Name.Space == "" && a.Name.Local == "href" {
			href, ok = a.Value, true
		}
	}
	if !ok {
		return nil, fmt.Errorf("xop:Include without an href")
	}
	if len(href) < len("cid:") || !strings.EqualFold(href[:len("cid:")], "cid:") {
		return nil, fmt.Errorf("xop:Include href %q is not a cid: URL", clip.String(href, maxFaultText))
	}
	id := href[len("cid:"):]
	if unescaped, err := url.PathUnescape(id); err == nil {
		if b, ok := x.parts[contentID(unescaped)]; ok {
			return b, nil
		}
	}
	if b, ok := x.parts[contentID(id)]; ok {
		return b, nil
	}
	err := fmt.Errorf("xop:Include of %s: the multipart/related answer has no part with that Content-ID", clip.String(href, maxFaultText))
	if x.partsErr != nil {
		err = fmt.Errorf("%w (its parts could not all be read: %s)", err, clip.String(x.partsErr.Error(), maxFaultText))
	}
	return nil, err
}
