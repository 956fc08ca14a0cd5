package soap

import (
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"reflect"
	"time"
	"unicode/utf8"
)

// Envelope namespaces.
const (
	NamespaceSOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
	NamespaceSOAP12 = "http://www.w3.org/2003/05/soap-envelope"
)

// WS-Security namespaces and token types (OASIS WSS 1.0, UsernameToken
// Profile 1.0).
const (
	nsWSSE         = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
	nsWSU          = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
	passwordText   = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText"
	passwordDigest = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest"
	nonceEncoding  = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"
)

func (v Version) namespace() string {
	if v == SOAP12 {
		return NamespaceSOAP12
	}
	return NamespaceSOAP11
}

// The envelope is written with the "soap" prefix, so that the payload's
// own elements keep their namespaces (a default xmlns on the envelope
// would capture unqualified payload elements).
type envelope struct {
	XMLName xml.Name `xml:"soap:Envelope"`
	NS      string   `xml:"xmlns:soap,attr"`
	Header  *header  `xml:"soap:Header,omitempty"`
	Body    struct {
		Content []byte `xml:",innerxml"` // produced by xml.Marshal, so well-formed
	} `xml:"soap:Body"`
}

type header struct {
	Security *security `xml:"wsse:Security"`
}

type security struct {
	NSWSSE         string        `xml:"xmlns:wsse,attr"`
	NSWSU          string        `xml:"xmlns:wsu,attr,omitempty"`
	MustUnderstand string        `xml:"soap:mustUnderstand,attr"`
	Token          usernameToken `xml:"wsse:UsernameToken"`
}

type usernameToken struct {
	Username string `xml:"wsse:Username"`
	Password struct {
		Type  string `xml:"Type,attr"`
		Value string `xml:",chardata"`
	} `xml:"wsse:Password"`
	Nonce *struct {
		EncodingType string `xml:"EncodingType,attr"`
		Value        string `xml:",chardata"`
	} `xml:"wsse:Nonce,omitempty"`
	Created string `xml:"wsu:Created,omitempty"`
}

// UsernameToken is the WS-Security UsernameToken sent in the SOAP header
// of every request.
type UsernameToken struct {
	Username string
	Password string
	// Digest sends PasswordDigest (Base64(SHA-1(nonce + created +
	// password))) with a fresh nonce and creation time, instead of the
	// password as text. Use text only over TLS.
	Digest bool
}

func (u *UsernameToken) header(now time.Time) (*header, error) {
	s := &security{NSWSSE: nsWSSE, MustUnderstand: "1"}
	s.Token.Username = u.Username
	if !u.Digest {
		s.Token.Password.Type = passwordText
		s.Token.Password.Value = u.Password
		return &header{Security: s}, nil
	}
	nonce := make([]byte, 16)
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	created := now.UTC().Format("2006-01-02T15:04:05.000Z")
	h := sha1.New()
	h.Write(nonce)
	h.Write([]byte(created))
	h.Write([]byte(u.Password))
	s.NSWSU = nsWSU
	s.Token.Password.Type = passwordDigest
	s.Token.Password.Value = base64.StdEncoding.EncodeToString(h.Sum(nil))
	s.Token.Nonce = &struct {
		EncodingType string `xml:"EncodingType,attr"`
		Value        string `xml:",chardata"`
	}{nonceEncoding, base64.StdEncoding.EncodeToString(nonce)}
	s.Token.Created = created
	return &header{Security: s}, nil
}

// buildEnvelope marshals payload into a SOAP envelope of version v.
func buildEnvelope(v Version, sec *UsernameToken, payload any, now time.Time) ([]byte, error) {
	if err := checkXMLText(reflect.ValueOf(payload), 0); err != nil {
		return nil, err
	}
	content, err := xml.Marshal(payload)
	if err != nil {
		return nil, err
	}
	env := envelope{NS: v.namespace()}
	env.Body.Content = content
	if sec != nil {
		h, err := sec.header(now)
		if err != nil {
			return nil, err
		}
		env.Header = h
	}
	out, err := xml.Marshal(env)
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), out...), nil
}

// checkXMLText refuses strings with characters XML 1.0 cannot carry;
// encoding/xml would silently replace them with U+FFFD, and the partner
// would not receive the text that was sent.
func checkXMLText(v reflect.Value, depth int) error {
	if depth > 64 || !v.IsValid() {
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		return checkString(v.String())
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			return checkXMLText(v.Elem(), depth+1)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				if err := checkXMLText(v.Field(i), depth+1); err != nil {
					return err
				}
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 {
			return checkString(string(v.Bytes())) // written as text too
		}
		for i := range v.Len() {
			if err := checkXMLText(v.Index(i), depth+1); err != nil {
				return err
			}
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			if err := checkXMLText(it.Value(), depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkString(s string) error {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				return fmt.Errorf("text is not valid UTF-8 at byte %d", i)
			}
		}
		if !xmlChar(r) {
			return fmt.Errorf("text holds %U at byte %d, which XML 1.0 cannot carry", r, i)
		}
	}
	return nil
}

func xmlChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		(r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
}
