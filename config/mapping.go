package config

import (
	"context"
	"fmt"
	"math"
	"strconv"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/internal/clip"
)

// Mapping is a route's compiled mapping: CEL programs for the key, the
// version, the delete flag and the record, checked against the connector
// kind's record fields. It is a [synclayer.Mapper], so config routes run
// through the same path as Go ones. A Mapping is safe for concurrent use.
type Mapping struct {
	partner, eventType string
	kind               *Kind
	key, version, del  *program
	whole              *program
	fields             []*program
}

// program is one compiled expression and the field it gives.
type program struct {
	field string // "key", "version", "delete", "record" or a record field
	typ   FieldType
	text  string
	prg   cel.Program
}

// compiler compiles the expressions of one configuration.
type compiler struct {
	env       *cel.Env
	file      string
	costLimit uint64
	errs      Errors
}

func (c *compiler) errorAt(at pos, path, format string, args ...any) {
	if len(c.errs) < maxErrors {
		c.errs = append(c.errs, &Error{File: c.file, Line: at.line, Column: at.col, Path: path, Msg: fmt.Sprintf(format, args...)})
	}
}

// compile parses and type-checks e, which gives a value of type want for
// field. It records problems and returns nil after one.
func (c *compiler) compile(e Expr, field string, want FieldType) *program {
	ast := c.check(e, field, want)
	if ast == nil {
		return nil
	}
	return c.program(ast, e, field, want)
}

// check parses and type-checks e, which gives a value of type want for
// field. It records problems and returns nil after one.
func (c *compiler) check(e Expr, field string, want FieldType) *cel.Ast {
	ast, iss := c.env.Compile(e.Text)
	if iss != nil && iss.Err() != nil {
		for _, ce := range iss.Errors() {
			at := e.at
			if ce.Location != nil && ce.Location.Line() > 0 {
				at = e.place(ce.Location.Line(), ce.Location.Column())
			}
			c.errorAt(at, e.path, "expression does not compile: %s", literalHint(ce.Message))
		}
		return nil
	}
	if !assignable(want, ast.OutputType()) {
		c.errorAt(e.at, e.path, "expression gives %s, but %s takes %s", ast.OutputType(), field, want)
		return nil
	}
	if why := unsendable(ast.OutputType()); why != "" {
		c.errorAt(e.at, e.path, "expression gives %s, which cannot be sent: %s", ast.OutputType(), why)
		return nil
	}
	return ast
}

// program makes the program of e, checked as ast.
func (c *compiler) program(ast *cel.Ast, e Expr, field string, want FieldType) *program {
	prg, err := c.env.Program(ast, cel.EvalOptions(cel.OptOptimize), cel.CostLimit(c.costLimit))
	if err != nil {
		c.errorAt(e.at, e.path, "expression cannot run: %v", err)
		return nil
	}
	return &program{field: field, typ: want, text: e.Text, prg: prg}
}

// literalHint adds to CEL's message about a number literal that does not
// fit its type (CEL's int is 64 bits) the range it must be in.
func literalHint(msg string) string {
	switch msg {
	case "invalid int literal":
		return fmt.Sprintf("%s: an integer beyond int64 (%d to %d); write a larger number as a string", msg, math.MinInt64, math.MaxInt64)
	case "invalid uint literal":
		return fmt.Sprintf("%s: an unsigned integer beyond uint64 (at most %d)", msg, uint64(math.MaxUint64))
	}
	return msg
}

// compileRoute compiles one route of a partner of kind k.
func (c *compiler) compileRoute(partner string, k *Kind, r *Route) *Mapping {
	before := len(c.errs)
	m := &Mapping{partner: partner, eventType: r.EventType, kind: k}
	m.key = c.compile(r.Key, "key", String)
	if r.Version.Set() {
		m.version = c.compile(r.Version, "version", Int)
	}
	if r.Delete.Set() {
		m.del = c.compile(r.Delete, "delete", Bool)
	}
	if r.Record.Whole.Set() {
		want := Map
		if k.Open {
			want = Any
		}
		if ast := c.check(r.Record.Whole, "record", want); ast != nil {
			if !k.Open {
				c.checkLiteral(k, r.Record, ast)
			}
			m.whole = c.program(ast, r.Record.Whole, "record", want)
		}
	}
	seen := map[string]bool{}
	for _, f := range r.Record.Fields {
		p := pathKey(r.Record.path, f.Name)
		if seen[f.Name] {
			c.errorAt(f.at, p, "field %q given twice", f.Name)
			continue
		}
		seen[f.Name] = true
		typ := Any
		if !k.Open {
			kf, ok := k.field(f.Name)
			if !ok {
				c.errorAt(f.at, p, "kind %s takes no record field %q (it takes %s)", k.Name, clip.String(f.Name, 64), fieldNames(k))
				continue
			}
			typ = kf.Type
		}
		if !f.Expr.Set() {
			c.errorAt(f.at, p, "the field has no expression")
			continue
		}
		m.fields = append(m.fields, c.compile(f.Expr, "record field "+strconv.Quote(f.Name), typ))
	}
	// A record given as fields, or not at all (record: {}), must hold the
	// required ones; a whole-record map literal is checked by checkLiteral,
	// and any other whole-record expression when it runs.
	if !k.Open && !r.Record.Whole.Set() {
		for _, kf := range k.Fields {
			if kf.Required && !seen[kf.Name] {
				c.errorAt(r.Record.at, pathKey(r.Record.path, kf.Name), "kind %s needs record field %q (%s)", k.Name, kf.Name, kf.Type)
			}
		}
	}
	if len(c.errs) > before {
		return nil
	}
	return m
}

func fieldNames(k *Kind) string {
	var s string
	for i, f := range k.Fields {
		if i > 0 {
			s += ", "
		}
		s += f.Name
	}
	return s
}

// Map evaluates the mapping for ev. A failure (data that is not JSON, a
// missing field, a value of the wrong type, an expression over its cost
// limit) is a permanent [synclayer.ErrMapping] error naming the partner,
// the route, the field and the expression.
func (m *Mapping) Map(ctx context.Context, ev synclayer.Event) (synclayer.Record, error) {
	rec, _, err := m.evaluate(ev)
	return rec, err
}

// activation holds the variables of one evaluation.
type activation struct {
	event eventVars
	data  any
}

// ResolveName implements the CEL activation.
func (a *activation) ResolveName(name string) (any, bool) {
	switch name {
	case "event":
		return &a.event, true
	case "data":
		return a.data, true
	}
	return nil, false
}

// Parent implements the CEL activation.
func (a *activation) Parent() cel.Activation { return nil }

// evaluate maps ev, returning the record and its fields as evaluated.
func (m *Mapping) evaluate(ev synclayer.Event) (synclayer.Record, RecordValue, error) {
	data, err := decodeData(ev.Data)
	if err != nil {
		return synclayer.Record{}, RecordValue{}, m.fail("data", "", err)
	}
	act := &activation{
		event: eventVars{ID: ev.ID, Type: ev.Type, Source: ev.Source, Subject: ev.Subject, Time: ev.Time, Meta: ev.Meta},
		data:  data,
	}
	var rec synclayer.Record
	key, err := m.key.eval(act)
	if err != nil {
		return rec, RecordValue{}, m.fail("key", m.key.text, err)
	}
	rec.Key = key.(string)
	if rec.Key == "" {
		return rec, RecordValue{}, m.fail("key", m.key.text, fmt.Errorf("the key is empty"))
	}
	if m.version != nil {
		v, err := m.version.eval(act)
		if err != nil {
			return rec, RecordValue{}, m.fail("version", m.version.text, err)
		}
		rec.Version = v.(int64)
	}
	if m.del != nil {
		v, err := m.del.eval(act)
		if err != nil {
			return rec, RecordValue{}, m.fail("delete", m.del.text, err)
		}
		rec.Delete = v.(bool)
	}
	var rv RecordValue
	if m.whole != nil {
		v, err := m.whole.eval(act)
		if err != nil {
			return rec, rv, m.fail("record", m.whole.text, err)
		}
		if rv, err = m.wholeRecord(v); err != nil {
			return rec, rv, m.fail("record", m.whole.text, err)
		}
	} else {
		rv.names = make([]string, len(m.fields))
		rv.values = make([]any, len(m.fields))
		for i, p := range m.fields {
			v, err := p.eval(act)
			if err != nil {
				return rec, rv, m.fail(p.field, p.text, err)
			}
			rv.names[i] = p.field[len(`record field "`) : len(p.field)-1]
			rv.values[i] = v
		}
		if rv, err = m.completeFields(rv); err != nil {
			return rec, rv, m.fail("record", "", err)
		}
	}
	if rec.Payload, err = m.kind.Payload(rv); err != nil {
		return rec, rv, m.fail("record", "", err)
	}
	return rec, rv, nil
}

// wholeRecord checks a whole-record value against the kind's fields.
func (m *Mapping) wholeRecord(v any) (RecordValue, error) {
	if m.kind.Open {
		return RecordValue{whole: v, isWhole: true}, nil
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return RecordValue{}, fmt.Errorf("want an object, got %s", typeName(v))
	}
	var rv RecordValue
	for _, f := range m.kind.Fields {
		if x, ok := obj[f.Name]; ok {
			cv, err := convertField(f.Type, x)
			if err != nil {
				return rv, fmt.Errorf("field %q: %w", f.Name, err)
			}
			rv.names = append(rv.names, f.Name)
			rv.values = append(rv.values, cv)
		}
	}
	if len(rv.names) != len(obj) {
		for name := range obj {
			if _, ok := m.kind.field(name); !ok {
				return rv, fmt.Errorf("kind %s takes no record field %q", m.kind.Name, clip.String(name, 64))
			}
		}
	}
	return m.completeFields(rv)
}

// completeFields checks that the required fields are there.
func (m *Mapping) completeFields(rv RecordValue) (RecordValue, error) {
	for _, f := range m.kind.Fields {
		if !f.Required {
			continue
		}
		if _, ok := rv.Get(f.Name); !ok {
			return rv, fmt.Errorf("record field %q is required", f.Name)
		}
	}
	return rv, nil
}

// fail builds the permanent mapping error of one field.
func (m *Mapping) fail(field, text string, err error) error {
	where := fmt.Sprintf("config: partner %q route %q: %s", m.partner, m.eventType, field)
	if text != "" {
		where += fmt.Sprintf(" (expression %q)", clip.String(text, 200))
	}
	return synclayer.Permanent(fmt.Errorf("%w: %s: %w", synclayer.ErrMapping, where, err))
}

// eval runs the program and converts its result to the field's Go type.
func (p *program) eval(act *activation) (any, error) {
	out, _, err := p.prg.Eval(act)
	if err != nil {
		return nil, err
	}
	v, err := native(out, 0)
	if err != nil {
		return nil, err
	}
	return convertField(p.typ, v)
}

// maxValueDepth bounds the nesting of a value an expression gives.
const maxValueDepth = 64

// native converts a CEL value to plain Go: string, int64, uint64 (a uint
// beyond int64), float64, bool, nil, time.Time, []byte, []any or
// map[string]any.
func native(v ref.Val, depth int) (any, error) {
	if depth > maxValueDepth {
		return nil, fmt.Errorf("value nested deeper than %d levels", maxValueDepth)
	}
	switch x := v.(type) {
	case *types.Err:
		return nil, x
	case types.String:
		return string(x), nil
	case types.Int:
		return int64(x), nil
	case types.Uint:
		if uint64(x) > math.MaxInt64 {
			return uint64(x), nil // kept exact; only an int field refuses it
		}
		return int64(x), nil
	case types.Double:
		return float64(x), nil
	case types.Bool:
		return bool(x), nil
	case types.Null:
		return nil, nil
	case types.Timestamp:
		return x.Time, nil
	case types.Bytes:
		return []byte(x), nil
	}
	switch x := v.(type) {
	case traits.Mapper:
		out := map[string]any{}
		it := x.Iterator()
		for it.HasNext() == types.True {
			k := it.Next()
			ks, ok := k.(types.String)
			if !ok {
				return nil, fmt.Errorf("a map key of type %s cannot be sent, want string", k.Type().TypeName())
			}
			e, err := native(x.Get(k), depth+1)
			if err != nil {
				return nil, err
			}
			out[string(ks)] = e
		}
		return out, nil
	case traits.Lister:
		n, _ := x.Size().(types.Int)
		out := make([]any, int(n))
		for i := range out {
			e, err := native(x.Get(types.Int(i)), depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = e
		}
		return out, nil
	}
	return nil, fmt.Errorf("a value of type %s cannot be sent", v.Type().TypeName())
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case int64:
		return "int"
	case uint64:
		return "uint"
	case float64:
		return "double"
	case bool:
		return "bool"
	case []any:
		return "list"
	case map[string]any:
		return "map"
	}
	return fmt.Sprintf("%T", v)
}
