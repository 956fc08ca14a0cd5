package monitor

import (
	"embed"
	"html/template"
	"io/fs"
	"net/http"
)

//go:embed assets
var assets embed.FS

var pageTmpl = template.Must(template.ParseFS(assets, "assets/index.html"))

func (h *Handler) servePage(w http.ResponseWriter, r *http.Request) {
	if err := noQuery(r.URL.RawQuery); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	hd.Set("X-Frame-Options", "DENY")
	data := struct {
		Title  string
		Token  string
		TTL    int64
		Writes bool
	}{Title: h.title, Writes: h.writes}
	if h.writes {
		t := h.session(w, r)
		data.Token, data.TTL = t.Token, int64(t.TTLSeconds)
	}
	_ = pageTmpl.Execute(w, data)
}

func serveAsset(w http.ResponseWriter, r *http.Request, name string) {
	var ctype string
	switch name {
	case "app.js":
		ctype = "text/javascript; charset=utf-8"
	case "style.css":
		ctype = "text/css; charset=utf-8"
	default:
		writeError(w, http.StatusNotFound, "monitor: not found")
		return
	}
	b, err := fs.ReadFile(assets, "assets/"+name)
	if err != nil {
		writeError(w, http.StatusNotFound, "monitor: not found")
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "no-cache")
	if r.Method != http.MethodHead {
		_, _ = w.Write(b)
	}
}
