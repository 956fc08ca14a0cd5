package soap

import (
	"bytes"
	"encoding/xml"
	"errors"
	"math/big"
	"slices"
	"strings"
	"time"
)

// rootField names the whole record in Verdict.Fields when the payload is a
// single element of text.
const rootField = "$"

// xnode is an element of a record's XML: its local name (an attribute is a
// child named "@name"), its trimmed text and its children.
type xnode struct {
	name     string
	text     string
	children []*xnode
}

// parseTree reads the XML of one element into a tree. Namespaces are
// dropped: elements compare by local name.
func parseTree(b []byte) (*xnode, error) {
	d := xml.NewDecoder(bytes.NewReader(b))
	var stack []*xnode
	var root *xnode
	for {
		tok, err := d.Token()
		if err != nil {
			if root != nil && len(stack) == 0 {
				return root, nil
			}
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			n := &xnode{name: t.Name.Local}
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
					continue
				}
				n.children = append(n.children, &xnode{name: "@" + a.Name.Local, text: strings.TrimSpace(a.Value)})
			}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.children = append(p.children, n)
			} else if root != nil {
				return nil, errors.New("more than one root element")
			} else {
				root = n
			}
			stack = append(stack, n)
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text += string(t)
			}
		case xml.EndElement:
			n := stack[len(stack)-1]
			n.text = strings.TrimSpace(n.text)
			stack = stack[:len(stack)-1]
		}
	}
}

// elements reports whether n has child elements (not only attributes).
func (n *xnode) elements() bool {
	return slices.ContainsFunc(n.children, func(c *xnode) bool { return !strings.HasPrefix(c.name, "@") })
}

// groups returns n's children by name, names in the order they first
// appear.
func (n *xnode) groups() (names []string, by map[string][]*xnode) {
	by = map[string][]*xnode{}
	for _, c := range n.children {
		if _, ok := by[c.name]; !ok {
			names = append(names, c.name)
		}
		by[c.name] = append(by[c.name], c)
	}
	return names, by
}

// differences returns the sorted dotted paths of the elements (and
// "@attributes") of want that got does not hold as the partner would
// store them. Paths in owned are skipped; what got holds beyond want is
// ignored; an empty element of want that got leaves out is the same.
func differences(want, got *xnode, owned map[string]bool) []string {
	var out []string
	diffNode("", want, got, owned, &out)
	for i, f := range out {
		if f == "" {
			out[i] = rootField
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func diffNode(path string, w, g *xnode, owned map[string]bool, out *[]string) {
	switch we, ge := w.elements(), g.elements(); {
	case !we && ge, we && !ge:
		*out = append(*out, path)
		return
	case !we && !equalText(w.text, g.text):
		*out = append(*out, path)
		return
	}
	names, ws := w.groups()
	_, gs := g.groups()
	for _, name := range names {
		p := name
		if path != "" {
			p = path + "." + name
		}
		if owned[p] {
			continue
		}
		wl, gl := ws[name], gs[name]
		switch {
		case len(gl) == 0:
			if len(wl) > 1 || wl[0].text != "" || len(wl[0].children) > 0 {
				*out = append(*out, p)
			}
		case len(wl) == 1 && len(gl) == 1:
			diffNode(p, wl[0], gl[0], owned, out)
		case len(wl) != len(gl):
			*out = append(*out, p)
		default:
			for i := range wl {
				var sub []string
				if diffNode(p, wl[i], gl[i], nil, &sub); len(sub) > 0 {
					*out = append(*out, p)
					break
				}
			}
		}
	}
}

// equalText compares the text of two leaves as XML Schema values: equal
// strings; numbers as numbers ("1" and "1.0"); dateTimes with zones as
// instants; booleans as "true"/"1" and "false"/"0".
func equalText(a, b string) bool {
	if a == b {
		return true
	}
	x, _, errA := big.ParseFloat(a, 10, 256, big.ToNearestEven)
	y, _, errB := big.ParseFloat(b, 10, 256, big.ToNearestEven)
	if errA == nil && errB == nil {
		return x.Cmp(y) == 0
	}
	ta, errA := time.Parse(time.RFC3339Nano, a)
	tb, errB := time.Parse(time.RFC3339Nano, b)
	if errA == nil && errB == nil {
		return ta.Equal(tb)
	}
	bools := map[string]string{"true": "true", "1": "true", "false": "false", "0": "false"}
	ba, okA := bools[a]
	bb, okB := bools[b]
	return okA && okB && ba == bb
}
