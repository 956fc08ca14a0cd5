package config

import (
	"cel.dev/cel-go/cel"
	celast "cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/types"

	"github.com/hmsplatform/synclayer/internal/clip"
)

// checkLiteral checks the whole record r of the closed kind k, checked as
// ast, when it is written as one map literal, such as
// '{"summary": event.subject, "start": event.time}', as a record given
// field by field is checked: each key written as a string is a field k
// takes, given once, by an expression of a type the field takes, and,
// when every key is written as a string, every required field is there.
// A key that is an expression (data.k) is known only when the record is
// made, and so is every field of a whole record that is not a map literal
// (data.record, a conditional): those are checked for each event.
func (c *compiler) checkLiteral(k *Kind, r Record, ast *cel.Ast) {
	native := ast.NativeRep()
	root := native.Expr()
	if root.Kind() != celast.MapKind {
		return
	}
	seen := map[string]bool{}
	allKnown := true
	for _, entry := range root.AsMap().Entries() {
		me := entry.AsMapEntry()
		name, ok := constantKey(me.Key())
		if !ok || me.IsOptional() {
			allKnown = false
			continue
		}
		at := r.Whole.at
		if loc := native.SourceInfo().GetStartLocation(me.Key().ID()); loc.Line() > 0 {
			at = r.Whole.place(loc.Line(), loc.Column())
		}
		p := pathKey(r.path, name)
		if seen[name] {
			c.errorAt(at, p, "field %q given twice", clip.String(name, 64))
			continue
		}
		seen[name] = true
		kf, ok := k.field(name)
		if !ok {
			c.errorAt(at, p, "kind %s takes no record field %q (it takes %s)", k.Name, clip.String(name, 64), fieldNames(k))
			continue
		}
		if got := native.GetType(me.Value().ID()); !literalAssignable(kf.Type, got) {
			c.errorAt(at, p, "expression gives %s, but record field %q takes %s", got, name, kf.Type)
		}
	}
	if !allKnown {
		return
	}
	for _, kf := range k.Fields {
		if kf.Required && !seen[kf.Name] {
			c.errorAt(r.at, pathKey(r.path, kf.Name), "kind %s needs record field %q (%s)", k.Name, kf.Name, kf.Type)
		}
	}
}

// constantKey returns the key of a map literal's entry when it is written
// as a string.
func constantKey(key celast.Expr) (string, bool) {
	if key.Kind() != celast.LiteralKind {
		return "", false
	}
	s, ok := key.AsLiteral().(types.String)
	return string(s), ok
}

// literalAssignable is assignable for a value inside a whole record:
// there a uint is also taken for an int or a double field, as it is when
// the record is made (a uint up to the largest int is an int).
func literalAssignable(want FieldType, got *cel.Type) bool {
	if got.Kind() == types.UintKind && (want == Int || want == Double) {
		return true
	}
	return assignable(want, got)
}
