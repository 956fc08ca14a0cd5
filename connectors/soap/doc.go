// Package soap is a synclayer connector for SOAP 1.1 and SOAP 1.2
// endpoints: each record becomes one call, its Payload marshalled with
// encoding/xml as the content of the envelope's Body.
//
//	type UpsertRecord struct {
//		XMLName xml.Name `xml:"urn:example:records UpsertRecord"`
//		Key     string   `xml:"Key"`
//	}
//	conn, err := soap.New(soap.Config{
//		URL:     "https://partner.example.com/RecordService",
//		Version: soap.SOAP12,
//		Action:  "urn:example:records/Upsert",
//	})
//
// # Configuration
//
// [Config] is validated by [New]: a missing or relative URL, an unknown
// version, an action with a quote or CR/LF, a UsernameToken without a
// username, or a header that would override Content-Type or SOAPAction is
// an error then. SOAP 1.1 requests carry Content-Type text/xml and a
// quoted SOAPAction header; SOAP 1.2 requests carry application/soap+xml
// with the action as a Content-Type parameter. An optional WS-Security
// UsernameToken ([UsernameToken], text or digest password) goes in the
// Header of every envelope, marked mustUnderstand.
//
// The envelope uses the "soap" prefix, so the payload's elements keep
// their own namespaces. encoding/xml escapes all text, so values with
// <, &, quotes or "]]>" arrive exactly as sent; text holding characters
// XML 1.0 cannot carry (control characters, invalid UTF-8) is refused
// with [partner.ErrPayload] rather than altered.
//
// # Delivery semantics
//
// A SOAP call is a POST, and the connector cannot make it idempotent: the
// partner's operation must be an upsert by key (a "Save" or "Put"
// operation, not an "Add"), because the dispatcher retries after a lost
// response. Deletes send the record's Payload, or Config.DeleteBody, with
// DeleteAction.
//
// # Drift
//
// [Connector] implements drift.Verifier and drift.Repairer where the
// partner's WSDL has a read operation: set Config.Read to call it (with
// [Connector.Call], which sends any operation through the connector).
// [Connector.Verify] compares the XML of the record read with the XML of
// the payload, element by element (numbers, dateTimes and booleans as
// values; Config.OwnedFields skipped; elements the partner adds ignored).
// [Connector.Repair] reads again right before the call and returns
// drift.ErrConflict, calling nothing, when the record changed since
// Verify (SOAP has no ETags; an edit in the moment between that read and
// the call is not detected), and keeps the partner's values of the owned
// fields. Without Config.Read, both return the permanent [ErrNoRead].
//
// # Errors
//
// A response whose Body holds a Fault is judged by its fault code,
// whatever the HTTP status (some servers send faults with 200, SOAP 1.2
// sends Sender faults with 400): Server (1.1) and Receiver (1.2) faults
// are retried; Client, Sender, MustUnderstand, VersionMismatch and
// DataEncodingUnknown faults are synclayer.Permanent. A fault code is
// SOAP's own only when its prefix is bound, where the fault uses it, to
// the envelope's namespace (an unprefixed code under no default namespace
// counts as SOAP's too): an application's "app:Server" is an unknown code,
// and unknown codes are permanent ([Fault.Namespace] tells them apart).
// A fault cut at MaxResponseBytes (a huge detail) is judged by its code
// when the code came before the cut; its Detail then says the rest is cut
// off.
// Responses are read in the charset they declare (a byte order mark,
// which wins when present, the Content-Type's charset parameter, UTF-16
// bytes, or the XML
// declaration's encoding: ISO-8859-1, windows-1252, UTF-16 and any other
// IANA charset golang.org/x/text knows; a declared UTF-16 over a body
// whose "<?xml" is ASCII bytes, as a .NET StringWriter writes, is read
// as UTF-8); one it does not know is read as
// windows-1252, so that a fault's ASCII structure is still recognised. The [*Fault] (code,
// subcode, reason, actor, bounded detail) is found with errors.As, and its
// reason is in the error text. Without a fault, the HTTP status decides:
// network errors and 408, 425, 429, 500, 502, 503, 504, 507 and
// 520–524 (a proxy's origin errors) are retried, others permanent.
//
// A multipart/related answer (MTOM or SOAP with Attachments, as JAX-WS
// @MTOM and WCF messageEncoding="Mtom" services send every answer) is
// read in its root part, the one its start parameter names, else the
// first, in the charset of that part's Content-Type: the fault, the
// envelope check below and [Connector.Call]'s decoding all use it.
// [Connector.Call] decodes it with its attachments (XOP 1.0, SOAP 1.2
// MTOM): each xop:Include element (namespace
// http://www.w3.org/2004/08/xop/include) is read as the base64 text of
// the other part whose Content-ID its href names (a cid: URL, RFC 2392,
// %-escapes undone; the Content-ID with or without its angle brackets),
// so an xs:base64Binary field gets the attachment's bytes (encoding/xml
// keeps a []byte field's text as it is: decode the base64 with a type
// whose UnmarshalText does, or after) and a text field the base64 text a
// plain answer would carry. Parts no xop:Include names are ignored. An
// xop:Include whose href is not a cid: URL or names no part of the body
// makes the answer malformed: a permanent [partner.ErrRejected] naming
// the href. Faults and the envelope check do not read attachments.
// MaxResponseBytes bounds the whole multipart/related body, the
// attachments with the envelope: a longer answer is refused by Call as
// any other is. A multipart/related body that cannot be read, or has no
// root part, is not an envelope.
//
// A success status confirms a call only with a SOAP envelope: a 2xx
// response whose body is not one (the HTML page of a proxy or captive
// portal, JSON, other XML, or no body at all at 200) is not the
// partner's answer, and wraps [partner.ErrUnavailable], retryable (the
// call may or may not have been applied, and the operations are upserts
// by key); its error names the status, the Content-Type and the root
// element or why the body is not XML, with a bounded snippet of the body.
// A 202 or 204 without a body, the answer of a one-way operation (SOAP
// 1.2 Part 2 §7.5.2.2), is a success; a partner whose one-way operations
// answer 200 with no body (WS-I Basic Profile 1.1 R1112 allows it) has
// every push retried and failed, since a proxy answers the same.
//
// The UsernameToken password, the Authorization header and SecretHeaders
// never appear in errors, even when a partner echoes the request in its
// fault.
package soap
