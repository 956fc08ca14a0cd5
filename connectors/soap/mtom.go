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
// ("application/xop+xml; charset=utf-8; type=..."). Attachments are not
// read: an xop:Include in the envelope is left as it is.

// envelopePart is the part of a response that holds its SOAP envelope.
type envelopePart struct {
	body        []byte // the envelope, or its start when cut
	contentType string // the Content-Type its charset comes from
	cut         bool   // the response was longer than MaxResponseBytes
	err         error  // why a multipart/related response has no root part
}

// rootPart returns the envelope part of a response with Content-Type
// contentType and body (its start when cut): the body itself, or the root
// part of a multipart/related body. A multipart/related body that cannot
// be read, or has no root part, gives a part with err set and no body.
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
	for {
		p, err := r.NextPart()
		if err != nil {
			what := "no part"
			if start != "" {
				what = fmt.Sprintf("no part with Content-ID <%s>", clip.String(start, maxFaultText))
			}
			return envelopePart{cut: cut, err: fmt.Errorf("multipart/related with %s (%s)", what, clip.String(err.Error(), maxFaultText))}
		}
		if start != "" && contentID(p.Header.Get("Content-Id")) != start {
			continue
		}
		b, err := io.ReadAll(p)
		if err != nil && !cut {
			return envelopePart{cut: cut, err: fmt.Errorf("multipart/related root part: %w", err)}
		}
		// A part cut at MaxResponseBytes is read as far as it goes, as
		// a cut body is.
		return envelopePart{body: b, contentType: p.Header.Get("Content-Type"), cut: cut}
	}
}

// contentID is a Content-ID without its angle brackets, so that a start
// parameter written with or without them names the same part.
func contentID(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "<")
	return strings.TrimSuffix(s, ">")
}
