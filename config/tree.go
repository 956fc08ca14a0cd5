package config

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
	"github.com/hmsplatform/synclayer/internal/clip"
)

// Limits on a configuration file, so that a hostile file (deep nesting,
// aliases that expand exponentially, a huge document) costs little.
const (
	MaxFileBytes = 1 << 20 // the largest file Load reads
	maxDepth     = 64      // nesting of mappings and sequences
	maxNodes     = 200_000 // nodes after aliases are expanded
)

// pos is a place in the file.
type pos struct{ line, col int }

// nodeKind is the shape of a node.
type nodeKind int

const (
	scalarNode nodeKind = iota
	mappingNode
	sequenceNode
)

// node is one YAML value with its place in the file, aliases expanded.
type node struct {
	kind   nodeKind
	at     pos
	text   string // a scalar's value
	null   bool   // a null scalar (~, null, or nothing)
	quoted bool   // a quoted scalar: never a number, bool or null
	block  bool   // a literal or folded block scalar (| or >)
	textAt pos    // a block scalar's first line of text
	keys   []*node
	values []*node // mapping values beside keys, or sequence items
}

func (n *node) kindName() string {
	switch n.kind {
	case mappingNode:
		return "a mapping"
	case sequenceNode:
		return "a list"
	}
	if n.null {
		return "null"
	}
	return "a scalar"
}

// parseTree parses a YAML (or JSON) document into a tree of nodes.
func parseTree(file string, data []byte) (*node, *Error) {
	if len(data) > MaxFileBytes {
		return nil, &Error{File: file, Msg: fmt.Sprintf("file is %d bytes, more than the limit of %d", len(data), MaxFileBytes)}
	}
	if line, col, ok := flowTooDeep(data); !ok {
		return nil, &Error{File: file, Line: line, Column: col, Msg: fmt.Sprintf("nesting deeper than %d levels", maxDepth)}
	}
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, yamlError(file, err)
	}
	if len(f.Docs) == 0 || f.Docs[0].Body == nil {
		return nil, &Error{File: file, Line: 1, Column: 1, Msg: "the file is empty"}
	}
	if len(f.Docs) > 1 {
		d := f.Docs[1]
		at := pos{1, 1}
		if d.Start != nil {
			at = tokenPos(d.Start)
		} else if d.Body != nil {
			at = tokenPos(d.Body.GetToken())
		}
		return nil, &Error{File: file, Line: at.line, Column: at.col, Msg: "more than one YAML document"}
	}
	c := &converter{file: file, data: data, anchors: map[string]ast.Node{}}
	n, cerr := c.convert(f.Docs[0].Body, 0)
	if cerr != nil {
		return nil, cerr
	}
	return n, nil
}

// flowTooDeep reports the place of the first '[' or '{' nested deeper than
// maxDepth, before the parser (which recurses) sees the file.
func flowTooDeep(data []byte) (line, col int, ok bool) {
	depth, line, col := 0, 1, 0
	for _, b := range data {
		col++
		switch b {
		case '\n':
			line, col = line+1, 0
		case '[', '{':
			depth++
			if depth > maxDepth {
				return line, col, false
			}
		case ']', '}':
			if depth > 0 {
				depth--
			}
		}
	}
	return 0, 0, true
}

// yamlError turns a parser error into an Error with its place.
func yamlError(file string, err error) *Error {
	e := &Error{File: file, Msg: "YAML: " + err.Error()}
	type tokenError interface {
		GetToken() *token.Token
		GetMessage() string
	}
	if te, ok := err.(tokenError); ok {
		e.Msg = "YAML: " + te.GetMessage()
		if tk := te.GetToken(); tk != nil {
			at := tokenPos(tk)
			e.Line, e.Column = at.line, at.col
		}
	}
	return e
}

func tokenPos(tk *token.Token) pos {
	if tk == nil || tk.Position == nil {
		return pos{}
	}
	return pos{tk.Position.Line, tk.Position.Column}
}

// converter walks the parser's syntax tree, expanding aliases within a
// budget of nodes.
type converter struct {
	file    string
	data    []byte
	anchors map[string]ast.Node
	nodes   int
}

func (c *converter) fail(tk *token.Token, format string, args ...any) *Error {
	at := tokenPos(tk)
	return &Error{File: c.file, Line: at.line, Column: at.col, Msg: fmt.Sprintf(format, args...)}
}

func (c *converter) convert(n ast.Node, depth int) (*node, *Error) {
	c.nodes++
	if c.nodes > maxNodes {
		return nil, c.fail(n.GetToken(), "more than %d values once aliases are expanded", maxNodes)
	}
	if depth > maxDepth {
		return nil, c.fail(n.GetToken(), "nesting deeper than %d levels", maxDepth)
	}
	at := tokenPos(n.GetToken())
	switch v := n.(type) {
	case *ast.DocumentNode:
		return c.convert(v.Body, depth)
	case *ast.AnchorNode:
		name := v.Name.GetToken().Value
		c.anchors[name] = v.Value
		if v.Value == nil {
			return &node{kind: scalarNode, at: at, null: true}, nil
		}
		return c.convert(v.Value, depth)
	case *ast.AliasNode:
		name := v.Value.GetToken().Value
		target, ok := c.anchors[name]
		if !ok {
			return nil, c.fail(v.GetToken(), "alias *%s names no anchor defined before it", name)
		}
		out, err := c.convert(target, depth+1)
		if err != nil {
			return nil, err
		}
		return out, nil
	case *ast.TagNode:
		return nil, c.fail(v.GetToken(), "YAML tags (%s) are not supported", v.Start.Value)
	case *ast.MappingNode:
		out := &node{kind: mappingNode, at: at}
		for _, mv := range v.Values {
			if err := c.pair(out, mv, depth); err != nil {
				return nil, err
			}
		}
		if len(out.keys) > 0 {
			out.at = out.keys[0].at
		}
		return out, nil
	case *ast.MappingValueNode:
		out := &node{kind: mappingNode, at: at}
		if err := c.pair(out, v, depth); err != nil {
			return nil, err
		}
		out.at = out.keys[0].at
		return out, nil
	case *ast.SequenceNode:
		out := &node{kind: sequenceNode, at: at}
		for _, item := range v.Values {
			if item == nil {
				out.values = append(out.values, &node{kind: scalarNode, at: at, null: true})
				continue
			}
			cn, err := c.convert(item, depth+1)
			if err != nil {
				return nil, err
			}
			out.values = append(out.values, cn)
		}
		return out, nil
	case *ast.SequenceEntryNode:
		return c.convert(v.Value, depth)
	case *ast.NullNode:
		return &node{kind: scalarNode, at: at, null: true}, nil
	case *ast.StringNode:
		tt := v.Token.Type
		return &node{kind: scalarNode, at: at, text: v.Value,
			quoted: tt == token.SingleQuoteType || tt == token.DoubleQuoteType}, nil
	case *ast.LiteralNode:
		return &node{kind: scalarNode, at: tokenPos(v.Start), text: v.Value.Value, quoted: true, block: true,
			textAt: c.blockTextStart(tokenPos(v.Start).line)}, nil
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		return &node{kind: scalarNode, at: at, text: n.GetToken().Value}, nil
	case *ast.MergeKeyNode:
		return nil, c.fail(v.GetToken(), "merge keys (<<) are not supported")
	case *ast.CommentNode, *ast.CommentGroupNode:
		return &node{kind: scalarNode, at: at, null: true}, nil
	}
	return nil, c.fail(n.GetToken(), "unsupported YAML construct (%s)", n.Type())
}

// blockTextStart returns where the text of a block scalar whose
// indicator (| or >) is on line header begins: its line 1 is the next
// line, and its columns start at the block's indentation, that of its
// first line that is not blank. (The parser's place for the text is not
// its first line when the block ends the file.)
func (c *converter) blockTextStart(header int) pos {
	rest := c.data
	for i := 0; i < header; i++ {
		nl := bytes.IndexByte(rest, '\n')
		if nl < 0 {
			return pos{header + 1, 1}
		}
		rest = rest[nl+1:]
	}
	for len(rest) > 0 {
		line := rest
		if nl := bytes.IndexByte(rest, '\n'); nl >= 0 {
			line, rest = rest[:nl], rest[nl+1:]
		} else {
			rest = nil
		}
		indent := len(line) - len(bytes.TrimLeft(line, " "))
		if indent < len(bytes.TrimRight(line, " \r")) {
			return pos{header + 1, indent + 1}
		}
	}
	return pos{header + 1, 1}
}

// pair adds one key and value to the mapping out.
func (c *converter) pair(out *node, mv *ast.MappingValueNode, depth int) *Error {
	if _, ok := mv.Key.(*ast.MergeKeyNode); ok {
		return c.fail(mv.Key.GetToken(), "merge keys (<<) are not supported")
	}
	k, err := c.convert(mv.Key, depth+1)
	if err != nil {
		return err
	}
	if k.kind != scalarNode || k.null {
		return &Error{File: c.file, Line: k.at.line, Column: k.at.col, Msg: "a mapping key must be a plain text, not " + k.kindName()}
	}
	for _, prev := range out.keys {
		if prev.text == k.text {
			return &Error{File: c.file, Line: k.at.line, Column: k.at.col,
				Msg: fmt.Sprintf("key %q appears twice (first at line %d)", clip.String(k.text, 64), prev.at.line)}
		}
	}
	var v *node
	if mv.Value == nil {
		v = &node{kind: scalarNode, at: k.at, null: true}
	} else if v, err = c.convert(mv.Value, depth+1); err != nil {
		return err
	}
	out.keys = append(out.keys, k)
	out.values = append(out.values, v)
	return nil
}

// pathKey renders a mapping key as a step of a field path.
func pathKey(parent, key string) string {
	if key != "" && strings.IndexFunc(key, func(r rune) bool {
		return !(r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) < 0 {
		if parent == "" {
			return key
		}
		return parent + "." + key
	}
	return fmt.Sprintf("%s[%q]", parent, key)
}
