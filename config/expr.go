package config

// Expr is one CEL expression as written in the file, with its place, so
// that compile errors point into the file.
type Expr struct {
	Text   string
	at     pos
	quoted bool // written in quotes: columns inside are one further right
	block  bool // a block scalar: the text starts on the next line
	textAt pos  // a block scalar's first line of text
	path   string
}

// Set reports whether the expression was given.
func (e Expr) Set() bool { return e.Text != "" }

func (e *Expr) decodeNode(d *decoder, n *node, path string) {
	text, ok := d.scalar(n, path, "a CEL expression")
	if !ok {
		return
	}
	*e = Expr{Text: text, at: n.at, quoted: n.quoted && !n.block, block: n.block, path: path}
	if n.block {
		e.textAt = n.textAt
	}
}

// place returns the file position of a 1-based line and 0-based column
// inside the expression.
func (e Expr) place(line, col int) pos {
	switch {
	case e.block:
		return pos{e.textAt.line + line - 1, e.textAt.col + col}
	case line > 1:
		return pos{e.at.line + line - 1, col + 1}
	case e.quoted:
		return pos{e.at.line, e.at.col + 1 + col}
	}
	return pos{e.at.line, e.at.col + col}
}

// RecordField is one field of a record given as a map from field name to
// expression.
type RecordField struct {
	Name string
	Expr Expr
	at   pos
}

// Record is a route's record: one expression giving the whole record (an
// object), or a map from field name to expression.
type Record struct {
	Whole  Expr
	Fields []RecordField
	at     pos
	path   string
}

func (r *Record) decodeNode(d *decoder, n *node, path string) {
	r.at, r.path = n.at, path
	switch {
	case n.null:
		return
	case n.kind == scalarNode:
		r.Whole.decodeNode(d, n, path)
	case n.kind == mappingNode:
		for i, k := range n.keys {
			f := RecordField{Name: k.text, at: k.at}
			f.Expr.decodeNode(d, n.values[i], pathKey(path, k.text))
			d.places[pathKey(path, k.text)] = n.values[i].at
			r.Fields = append(r.Fields, f)
		}
	default:
		d.errorAt(n.at, path, "want an expression or a mapping from field name to expression, got %s", n.kindName())
	}
}

// Set reports whether the record was given.
func (r Record) Set() bool { return r.Whole.Set() || len(r.Fields) > 0 }
