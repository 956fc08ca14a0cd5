package synclayer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// Mapper turns an [Event] into the [Record] one connector pushes. A mapper
// must be deterministic (the same event gives the same Key every time) and
// should not do I/O. Its errors are permanent: an event that cannot be
// mapped now will not map on a retry. The dispatcher adds the event,
// connector and key to the error.
type Mapper interface {
	Map(ctx context.Context, ev Event) (Record, error)
}

// MapperFunc adapts an ordinary function to the [Mapper] interface.
type MapperFunc func(ctx context.Context, ev Event) (Record, error)

// Map calls f(ctx, ev).
func (f MapperFunc) Map(ctx context.Context, ev Event) (Record, error) { return f(ctx, ev) }

// MapJSON returns a Mapper that decodes Event.Data, a JSON object, into a
// value of type T and passes it to fn. Unknown fields are ignored, so a
// publisher may add fields. Malformed JSON, a field of the wrong type, or
// trailing data after the object give a permanent [ErrMapping] error that
// names the field or the byte offset. Checking required fields is fn's job:
// return an error naming the field, and MapJSON marks it permanent.
func MapJSON[T any](fn func(ctx context.Context, ev Event, v T) (Record, error)) Mapper {
	return MapperFunc(func(ctx context.Context, ev Event) (Record, error) {
		var v T
		if err := decodeJSON(ev.Data, &v); err != nil {
			return Record{}, err
		}
		rec, err := fn(ctx, ev, v)
		if err != nil {
			return Record{}, Permanent(fmt.Errorf("%w: %w", ErrMapping, err))
		}
		return rec, nil
	})
}

// decodeJSON decodes one JSON value from data into v and explains failures
// by field. json.Unmarshal does the work: it rejects trailing data too, and
// costs less than half of a json.Decoder (no reader, no buffer copy).
// Only a failure pays for the Decoder, which says where and why.
func decodeJSON[T any](data []byte, v *T) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return Permanent(fmt.Errorf("%w: data is empty, want a JSON object", ErrMapping))
	}
	if !utf8.Valid(data) {
		return Permanent(fmt.Errorf("%w: data is not valid UTF-8 (JSON would silently replace the bad bytes)", ErrMapping))
	}
	if err := json.Unmarshal(data, v); err != nil {
		return Permanent(fmt.Errorf("%w: %s", ErrMapping, explainJSON[T](data, err)))
	}
	return nil
}

// explainJSON says why data, which json.Unmarshal refused with err, does
// not decode into a T: it decodes it again, into a fresh T, with a
// json.Decoder, which tells a value followed by trailing content apart
// from malformed JSON.
func explainJSON[T any](data []byte, err error) string {
	var fresh T
	dec := json.NewDecoder(bytes.NewReader(data))
	if derr := dec.Decode(&fresh); derr != nil {
		return describeJSONError(derr)
	}
	if _, terr := dec.Token(); !errors.Is(terr, io.EOF) {
		return fmt.Sprintf("data has trailing content after the JSON value (offset %d)", dec.InputOffset())
	}
	return describeJSONError(err)
}

func describeJSONError(err error) string {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		if te.Field != "" {
			return fmt.Sprintf("field %q: got JSON %s, want %s", te.Field, te.Value, te.Type)
		}
		return fmt.Sprintf("got JSON %s, want %s", te.Value, te.Type)
	case errors.As(err, &se):
		return fmt.Sprintf("malformed JSON at offset %d: %v", se.Offset, se)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "malformed JSON: unexpected end of data"
	}
	return "decode data: " + err.Error()
}
