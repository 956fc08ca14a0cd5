package soap

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/partner"
	"github.com/hmsplatform/synclayer/internal/httpx"
)

// Call sends one more operation of the partner's WSDL through the
// connector (its client, headers, UsernameToken and limits): body
// marshalled with encoding/xml as the Body's content, with action. The
// content of the response's Body (its first element) is decoded into out
// with encoding/xml, unless out is nil; in an MTOM answer, each
// xop:Include reads as the base64 of the attachment it names (see the
// package doc). Errors are classified as Sync's
// are (a success response that is not a SOAP envelope is a retryable
// [partner.ErrUnavailable]); an envelope whose content does not decode
// into out is a permanent [partner.ErrRejected]. It is meant
// for Config.Read: a read operation (GetRecord, say) for Verify.
func (c *Connector) Call(ctx context.Context, action string, body, out any) error {
	if body == nil {
		return synclayer.Permanent(fmt.Errorf("soap: %w: no body (nil)", partner.ErrPayload))
	}
	env, err := buildEnvelope(c.cfg.Version, c.cfg.Security, body, c.cfg.Now())
	if err != nil {
		return synclayer.Permanent(fmt.Errorf("soap: %w: %s", partner.ErrPayload, c.classes.Redact(nil, err.Error())))
	}
	if len(env) > c.cfg.MaxPayloadBytes {
		return synclayer.Permanent(fmt.Errorf("soap: %w: envelope of %d bytes, over the limit of %d", partner.ErrPayload, len(env), c.cfg.MaxPayloadBytes))
	}
	req, resp, got, err := c.exchange(ctx, action, env)
	if err != nil || out == nil {
		return err
	}
	if got.cut {
		return httpx.Wrap(c.classes.New(req, resp, nil, partner.ErrRejected, fmt.Errorf("response over MaxResponseBytes (%d)", c.cfg.MaxResponseBytes)))
	}
	if err := decodeBody(got, out); err != nil {
		return httpx.Wrap(c.classes.New(req, resp, got.body, partner.ErrRejected, err))
	}
	return nil
}

// decodeBody decodes the first element of the Body of a SOAP 1.1 or 1.2
// envelope into out: the envelope of env, read with the attachments of a
// multipart/related answer in place of its xop:Include elements (see
// xopReader).
func decodeBody(env envelopePart, out any) error {
	d, err := newDecoder(env.body, env.contentType)
	if err != nil {
		return err
	}
	if env.parts != nil {
		d = xml.NewTokenDecoder(&xopReader{d: d, parts: env.parts, partsErr: env.partsErr})
	}
	depth := 0
	for {
		tok, err := d.Token()
		if err != nil {
			return fmt.Errorf("no content in the response's Body: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			switch {
			case depth == 1 && (t.Name.Local != "Envelope" || (t.Name.Space != NamespaceSOAP11 && t.Name.Space != NamespaceSOAP12)):
				return errors.New("the response is not a SOAP envelope")
			case depth == 2 && t.Name.Local == "Header":
				if err := d.Skip(); err != nil {
					return err
				}
				depth--
			case depth == 2 && t.Name.Local != "Body":
				return fmt.Errorf("unexpected %s in the envelope", t.Name.Local)
			case depth == 3:
				if err := d.DecodeElement(out, &t); err != nil {
					return fmt.Errorf("decoding the response's %s: %w", t.Name.Local, err)
				}
				return nil
			}
		case xml.EndElement:
			depth--
			if depth < 2 {
				return errors.New("the response's Body is empty")
			}
		}
	}
}
