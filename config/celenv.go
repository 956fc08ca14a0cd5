package config

import (
	"fmt"
	"reflect"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/ext"
)

// eventVars is what expressions see as `event`.
type eventVars struct {
	ID      string            `cel:"id"`
	Type    string            `cel:"type"`
	Source  string            `cel:"source"`
	Subject string            `cel:"subject"`
	Time    time.Time         `cel:"time"`
	Meta    map[string]string `cel:"meta"`
}

// DefaultCostLimit bounds the work of one expression's evaluation, in CEL
// cost units (about one per operation, plus one per byte of text built).
// An expression that would go further fails with a mapping error.
const DefaultCostLimit = 1_000_000

// Limits on an expression's text and nesting, checked when it is parsed.
const (
	maxExprBytes     = 10_000
	maxExprRecursion = 64
)

// newCELEnv returns the environment every mapping compiles in: variables
// event and data, the string extensions, and two functions of our own:
// date("2024-07-01"), a timestamp at midnight UTC, and unixNanos(t), a
// timestamp in nanoseconds since 1970 (the versions Go mappings make
// with ev.Time.UnixNano()).
func newCELEnv() (*cel.Env, error) {
	return cel.NewEnv(
		ext.NativeTypes(reflect.TypeFor[eventVars](), ext.ParseStructTags(true)),
		cel.Variable("event", cel.ObjectType("config.eventVars")),
		cel.Variable("data", cel.DynType),
		ext.Strings(),
		cel.CrossTypeNumericComparisons(true),
		cel.ParserRecursionLimit(maxExprRecursion),
		cel.ParserExpressionSizeLimit(maxExprBytes),
		unaryFunction("date", "date_string", cel.StringType, cel.TimestampType, func(s types.String) ref.Val {
			t, err := time.Parse(time.DateOnly, string(s))
			if err != nil {
				return types.NewErr("date(%q): want a date as yyyy-mm-dd", clipQuoted(string(s)))
			}
			return types.Timestamp{Time: t}
		}),
		unaryFunction("unixNanos", "unixNanos_timestamp", cel.TimestampType, cel.IntType, func(t types.Timestamp) ref.Val {
			return types.Int(t.UnixNano())
		}),
	)
}

// unaryFunction declares the CEL function name with one overload, id
// overload, of one argument of type arg (a CEL value A) and a result of
// type result. A call with another argument type is no such overload.
func unaryFunction[A ref.Val](name, overload string, arg, result *cel.Type, f func(A) ref.Val) cel.EnvOption {
	return cel.Function(name,
		cel.Overload(overload, []*cel.Type{arg}, result,
			cel.UnaryBinding(func(v ref.Val) ref.Val {
				a, ok := v.(A)
				if !ok {
					return types.MaybeNoSuchOverloadErr(v)
				}
				return f(a)
			})))
}

func clipQuoted(s string) string {
	if len(s) > 64 {
		return fmt.Sprintf("%.64s…", s)
	}
	return s
}

// celType is the CEL type of a record field type.
func celType(t FieldType) *cel.Type {
	switch t {
	case String:
		return cel.StringType
	case Int:
		return cel.IntType
	case Double:
		return cel.DoubleType
	case Bool:
		return cel.BoolType
	case Timestamp:
		return cel.TimestampType
	case Map:
		return cel.MapType(cel.StringType, cel.DynType)
	}
	return cel.DynType
}

// assignable reports whether an expression of type got may give a field of
// type want. An expression whose type is only known at run time (data.x)
// is checked when it runs.
func assignable(want FieldType, got *cel.Type) bool {
	switch got.Kind() {
	case types.DynKind, types.AnyKind:
		return true
	}
	switch want {
	case Any:
		return true
	case Double:
		return got.Kind() == types.DoubleKind || got.Kind() == types.IntKind
	case Map:
		return got.Kind() == types.MapKind && jsonKey(got.Parameters()[0])
	}
	return celType(want).IsExactType(got)
}

// unsendable returns why a value of type t, given for a record, could
// never be sent, or "" when it can be (or when only its value at run time
// tells). A record goes to a partner as JSON (see native): a map key must
// be a string, and a duration, a type or an object has no JSON form.
func unsendable(t *cel.Type) string {
	switch t.Kind() {
	case types.ListKind:
		return unsendable(t.Parameters()[0])
	case types.MapKind:
		if k := t.Parameters()[0]; !jsonKey(k) {
			return fmt.Sprintf("a map key of type %s (want string)", k)
		}
		return unsendable(t.Parameters()[1])
	case types.DurationKind, types.TypeKind, types.StructKind, types.OpaqueKind:
		return fmt.Sprintf("a value of type %s", t)
	}
	return ""
}

// jsonKey reports whether map keys of type k may be a JSON object's keys:
// strings, or keys whose type only the value at run time tells.
func jsonKey(k *cel.Type) bool {
	switch k.Kind() {
	case types.StringKind, types.DynKind, types.AnyKind, types.TypeParamKind:
		return true
	}
	return false
}
