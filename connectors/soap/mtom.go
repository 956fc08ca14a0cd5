package soap

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"strings"

	"github.com/hmsplatform/synclayer/internal/clip"
)

// A partner with MTOM or SOAP with Attachments enabled (JAX-WS @MTOM, WCF
// messageEncoding="Mtom") answers every call as multipart/related
// (RFC 2387), attachments or not: the envelope is the root part, the one
// whose Content-ID the start parameter names, or the first part without
// one, in the charset of that part's own Content-Type
// ("application/xop+xml; charset=utf-8; type=..."). The other parts are
// its attachments, kept by Content-ID for the xop:Include elements of the
// envelope (see xop.go). They come out of the same body, read up to
// MaxResponseBytes, so that bound covers the envelope and all of them.

// envelopePart is the part of a response that holds its SOAP envelope.
type envelopePart struct {
	body        []byte // the envelope, or its start when cut
	contentType string // the Content-Type its charset comes from
	cut         bool   // the response was longer than MaxResponseBytes
	err         error  // why a multipart/related response has no root part

	// parts holds the other parts of a multipart/related response by
	// Content-ID (see contentID), the first of each; nil for any other
	// response. partsErr is why the parts after the root could not all
	// be read.
	parts    map[string][]byte
	partsErr error
}

// rootPart returns the envelope part of a response with Content-Type
// contentType and body (its start when cut): the body itself, or the root
// part of a multipart/related body, with the other parts that read to
// their end in parts. A multipart/related body that cannot be read, or
// has no root part, gives a part with err set and no body.
func rootPart(contentType string, body []byte, cut bool) envelopePart {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || !strings.EqualFold(mt, "multipart/related") || len(body) == 0 {
		return envelopePart{body: body, contentType: contentType, cut: cut}
	}
	if params["boundary"] == "" {
		return envelopePart{cut: cut, err: errors.New("multipart/related without a boundary")}
	}
	start := contentID(params["start"])
	r := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	var root *envelopePart
	parts := make(map[string][]byte)
	for {
		p, err := r.NextPart()
		if err != nil && root != nil {
			if err != io.EOF {
				root.partsErr = err
			}
			root.parts = parts
			return *root
		}
		if err != nil {
			what := "no part"
			if start != "" {
				what = fmt.Sprintf("no part with Content-ID <%s>", clip.String(start, maxFaultText))
			}
			return envelopePart{cut: cut, err: fmt.Errorf("multipart/related with %s (%s)", what, clip.String(err.Error(), maxFaultText))}
		}
		id := contentID(p.Header.Get("Content-Id"))
		if root == nil && (start == "" || id == start) {
			b, err := io.ReadAll(p)
			if err != nil && !cut {
				return envelopePart{cut: cut, err: fmt.Errorf("multipart/related root part: %w", err)}
			}
			// A part cut at MaxResponseBytes is read as far as it goes, as
			// a cut body is.
			root = &envelopePart{body: b, contentType: p.Header.Get("Content-Type"), cut: cut}
			continue
		}
		if _, seen := parts[id]; id == "" || seen {
			continue // no xop:Include can name it
		}
		// A part that does not read to its end (the body was cut) is
		// dropped: the next NextPart fails, and says why.
		if b, err := io.ReadAll(p); err == nil {
			parts[id] = b
		}
	}
}

// contentID is a Content-ID without its angle brackets, so that a start
// parameter written with or without them names the same part.
func contentID(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "<")
	return strings.TrimSuffix(s, ">")
}
