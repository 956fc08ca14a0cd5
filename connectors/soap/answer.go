package soap

import (
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/hmsplatform/synclayer/internal/clip"
)

// A success status alone confirms nothing: a proxy or a captive portal in
// front of the partner answers 200 with its own HTML page, and a broken
// server 200 with nothing at all. Only a SOAP envelope is the partner's
// answer to a call. The one exception is the answer of a one-way
// operation, a 202 Accepted (SOAP 1.2 Part 2 §7.5.2.2) or a 204 No
// Content without a body. An empty 200, which WS-I Basic Profile 1.1
// R1112 also allows for one-way operations, cannot be told from a broken
// proxy's, and is not taken as a confirmation.

// notEnvelope reports why a success response (its status, its
// Content-Type and the part of its body that holds the envelope, see
// rootPart) is not a SOAP partner's answer, or nil when it is one. It
// reads only as far as the root element.
func notEnvelope(status int, contentType string, env envelopePart) error {
	what := "no Content-Type"
	if contentType != "" {
		what = fmt.Sprintf("Content-Type %q", clip.String(contentType, maxFaultText))
	}
	if env.err != nil {
		return fmt.Errorf("the %d response is not a SOAP envelope: %s, %w", status, what, env.err)
	}
	if len(env.body) == 0 {
		if status == http.StatusAccepted || status == http.StatusNoContent {
			return nil
		}
		return fmt.Errorf("the %d response is not a SOAP envelope: empty body, %s", status, what)
	}
	root, err := rootElement(env.body, env.contentType)
	switch {
	case err != nil:
		return fmt.Errorf("the %d response is not a SOAP envelope: %s, not XML (%s)", status, what, clip.String(err.Error(), maxFaultText))
	case root.Local != "Envelope" || (root.Space != NamespaceSOAP11 && root.Space != NamespaceSOAP12):
		return fmt.Errorf("the %d response is not a SOAP envelope: %s, root element %s", status, what, clip.String(qualified(root), maxFaultText))
	}
	return nil
}

// rootElement returns the name of the first element of an XML document,
// read in the charset contentType or the body declares.
func rootElement(body []byte, contentType string) (xml.Name, error) {
	d, err := newDecoder(body, contentType)
	if err != nil {
		return xml.Name{}, err
	}
	for {
		tok, err := d.Token()
		if err != nil {
			return xml.Name{}, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return t.Name, nil
		case xml.CharData:
			if strings.TrimSpace(string(t)) != "" {
				return xml.Name{}, errors.New("text before the root element")
			}
		}
	}
}

// qualified names an element as {namespace}local, or local alone.
func qualified(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return "{" + n.Space + "}" + n.Local
}
