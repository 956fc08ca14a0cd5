package config

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/hmsplatform/synclayer/internal/option"
)

// Option configures [Load] and [Parse]. A nil Option is skipped.
type Option func(*options) error

type options struct {
	kinds     []*Kind
	costLimit uint64
}

// WithKind adds a connector kind beside the built-in ones ([Kinds]), so a
// program's own connectors can be named in its configuration. A kind with
// the name of a built-in one replaces it. A nil kind adds nothing; a kind
// without a Name, Settings, New or Payload is an error wrapping
// synclayer.ErrInvalidOption.
func WithKind(k *Kind) Option {
	return func(o *options) error {
		if k == nil {
			return nil
		}
		if k.Name == "" || k.Settings == nil || k.New == nil || k.Payload == nil {
			return option.Invalid("WithKind", k.Name, "a kind needs a Name, Settings, New and Payload")
		}
		o.kinds = append(o.kinds, k)
		return nil
	}
}

// WithCostLimit sets the cost limit of each expression's evaluation; 0
// keeps the default, [DefaultCostLimit].
func WithCostLimit(n uint64) Option {
	return func(o *options) error {
		o.costLimit = option.Default(n, DefaultCostLimit)
		return nil
	}
}

// Load reads, checks and compiles the configuration in a file, YAML or
// JSON. It returns [Errors] listing every problem, each with its file,
// line, column and field path. Secret references are checked for form
// here and resolved by [Build].
func Load(path string, opts ...Option) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, Errors{{File: path, Msg: fmt.Sprintf("cannot read the file: %v", err)}}
	}
	return Parse(path, data, opts...)
}

// Parse is [Load] of data, reported as the file name.
func Parse(name string, data []byte, opts ...Option) (*Config, error) {
	o := options{costLimit: DefaultCostLimit}
	if err := option.Apply("config: Parse", &o, opts); err != nil {
		return nil, err
	}
	tree, perr := parseTree(name, data)
	if perr != nil {
		return nil, Errors{perr}
	}
	d := newDecoder(name)
	cfg := &Config{file: name, dir: filepath.Dir(name), kinds: map[string]*Kind{}}
	for _, k := range append(Kinds(), o.kinds...) {
		cfg.kinds[k.Name] = k
	}
	d.decode(tree, "", reflect.ValueOf(cfg).Elem())
	cfg.places = d.places
	v := &validator{d: d, cfg: cfg}
	v.sections()
	v.partners()
	if len(d.errs) == 0 {
		env, err := newCELEnv()
		if err != nil {
			return nil, fmt.Errorf("config: CEL environment: %w", err)
		}
		c := &compiler{env: env, file: name, costLimit: o.costLimit}
		for _, p := range cfg.Partners {
			for _, r := range p.Routes {
				r.mapping = c.compileRoute(p.Name, cfg.kinds[p.Kind], r)
			}
		}
		d.errs = append(d.errs, c.errs...)
	}
	if len(d.errs) > 0 {
		sortErrors(d.errs)
		return nil, d.errs
	}
	return cfg, nil
}

func sortErrors(es Errors) {
	slices.SortStableFunc(es, func(a, b *Error) int {
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.Column - b.Column
	})
}

// validator checks what decoding cannot: kinds, names, URLs, ranges and
// which settings apply to which kind.
type validator struct {
	d   *decoder
	cfg *Config
}

// at reports a problem at the place of a field path (or of its nearest
// parent that the file has).
func (v *validator) at(path, format string, args ...any) {
	p := path
	for {
		if at, ok := v.d.places[p]; ok {
			v.d.errorAt(at, path, format, args...)
			return
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			v.d.errorAt(pos{1, 1}, path, format, args...)
			return
		}
		p = p[:i]
	}
}

func (v *validator) given(path string) bool { _, ok := v.d.places[path]; return ok }

// only reports every setting of section given that does not apply to its
// kind.
func (v *validator) only(section, kind string, allowed ...string) {
	val := reflect.ValueOf(v.cfg).Elem()
	var t reflect.Type
	switch section {
	case "bus":
		t = val.FieldByName("Bus").Type()
	case "store":
		t = val.FieldByName("Store").Type()
	case "log":
		t = val.FieldByName("Log").Type()
	}
	for _, f := range structFields(t) {
		if f.name != "kind" && !slices.Contains(allowed, f.name) && v.given(section+"."+f.name) {
			v.at(section+"."+f.name, "setting %q does not apply to %s kind %q", f.name, section, kind)
		}
	}
}

func (v *validator) sections() {
	c := v.cfg
	switch c.Bus.Kind {
	case "", "memory":
		v.only("bus", "memory", "concurrency", "maxDeliveries", "redeliveryDelay")
	case "nats":
		v.only("bus", "nats", "url", "stream", "prefix", "group", "concurrency", "maxDeliveries", "redeliveryDelay", "ackWait")
		v.required("bus.url", c.Bus.URL.Set())
		v.required("bus.stream", c.Bus.Stream != "")
		v.scheme("bus.url", c.Bus.URL, "nats", "tls")
	case "redisstream":
		v.only("bus", "redisstream", "url", "prefix", "group", "concurrency", "maxDeliveries", "redeliveryDelay", "claimIdle")
		v.required("bus.url", c.Bus.URL.Set())
		v.scheme("bus.url", c.Bus.URL, "redis", "rediss")
	case "amqp":
		v.only("bus", "amqp", "url", "exchange", "group", "concurrency", "maxDeliveries", "redeliveryDelay")
		v.required("bus.url", c.Bus.URL.Set())
		v.required("bus.exchange", c.Bus.Exchange != "")
		v.scheme("bus.url", c.Bus.URL, "amqp", "amqps")
	case "kafka":
		v.only("bus", "kafka", "brokers", "prefix", "group", "concurrency", "maxDeliveries", "redeliveryDelay", "metadataMaxAge")
		v.required("bus.brokers", len(c.Bus.Brokers) > 0)
		v.brokers(c.Bus.Brokers)
	default:
		v.at("bus.kind", "unknown bus kind %q (want memory, nats, redisstream, amqp or kafka)", c.Bus.Kind)
	}
	v.positive("bus.concurrency", c.Bus.Concurrency)
	v.positive("bus.maxDeliveries", c.Bus.MaxDeliveries)

	switch c.Store.Kind {
	case "", "memory":
		v.only("store", "memory", "maxEntries")
	case "postgres", "mariadb":
		v.only("store", c.Store.Kind, "dsn", "table", "migrate")
		v.required("store.dsn", c.Store.DSN.Set())
	case "sqlite":
		v.only("store", "sqlite", "dsn", "table", "migrate")
		v.required("store.dsn", c.Store.DSN.Set())
	case "redis":
		v.only("store", "redis", "url", "prefix")
		v.required("store.url", c.Store.URL.Set())
		v.scheme("store.url", c.Store.URL, "redis", "rediss")
	default:
		v.at("store.kind", "unknown store kind %q (want memory, postgres, mariadb, sqlite or redis)", c.Store.Kind)
	}
	v.positive("store.maxEntries", c.Store.MaxEntries)
	if c.Store.Kind == "postgres" {
		v.dsn("store.dsn", c.Store.DSN, "postgres", "postgresql")
	}
	if c.Log.Kind == "postgres" {
		v.dsn("log.dsn", c.Log.DSN, "postgres", "postgresql")
	}

	switch c.Log.Kind {
	case "", "memory":
		v.only("log", "memory", "maxEntries")
	case "none":
		v.only("log", "none")
	case "postgres", "mariadb", "sqlite":
		v.only("log", c.Log.Kind, "dsn", "table", "migrate")
		if !c.Log.DSN.Set() && c.Store.Kind != c.Log.Kind {
			v.at("log.dsn", "required setting is missing (it defaults to store.dsn only when the store is of the same kind)")
		}
	case "redis":
		v.only("log", "redis", "url", "prefix", "retention", "deadRetention")
		if !c.Log.URL.Set() && c.Store.Kind != "redis" {
			v.at("log.url", "required setting is missing (it defaults to store.url only when the store is redis)")
		}
		v.scheme("log.url", c.Log.URL, "redis", "rediss")
		if strings.ContainsAny(c.Log.Prefix, "{}") {
			v.at("log.prefix", "must not contain a brace (the log's keys carry the hash tag {log} after it), got %q", c.Log.Prefix)
		}
	default:
		v.at("log.kind", "unknown log kind %q (want memory, postgres, mariadb, sqlite, redis or none)", c.Log.Kind)
	}
	v.positive("log.maxEntries", c.Log.MaxEntries)
	v.table("store.table", c.Store.Table)
	v.table("log.table", c.Log.Table)

	if c.Monitor != nil && c.HTTP.Addr == "" {
		v.at("monitor", "the monitor needs http.addr, the address to serve it on")
	}
	if c.Monitor != nil {
		v.trustedOrigins(c.Monitor.TrustedOrigins)
	}
	if c.HTTP.Addr != "" && !strings.Contains(c.HTTP.Addr, ":") {
		v.at("http.addr", "want host:port, got %q", c.HTTP.Addr)
	}
	v.positive("dispatcher.maxEventBytes", c.Dispatcher.MaxEventBytes)
}

// trustedOrigins checks the monitor's trusted origins as the monitor
// will (monitor.WithTrustedOrigin, which Build calls, refuses the same
// ones, without a place in the file), and refuses an empty one, which it
// would skip.
func (v *validator) trustedOrigins(origins []string) {
	cop := http.NewCrossOriginProtection()
	for i, o := range origins {
		path := fmt.Sprintf("monitor.trustedOrigins[%d]", i)
		if o == "" {
			v.at(path, "want scheme://host[:port], got nothing")
		} else if err := cop.AddTrustedOrigin(o); err != nil {
			v.at(path, "want scheme://host[:port]: %v", err)
		}
	}
}

func (v *validator) required(path string, ok bool) {
	if !ok {
		v.at(path, "required setting is missing")
	}
}

func (v *validator) positive(path string, n int) {
	if v.given(path) && n < 1 {
		v.at(path, "must be at least 1, got %d", n)
	}
}

// scheme checks the scheme of a URL given in the file (not a secret).
func (v *validator) scheme(path string, val Value, schemes ...string) {
	if val.IsSecret() || val.lit == "" {
		return
	}
	scheme, rest, ok := strings.Cut(val.lit, "://")
	if !ok || rest == "" || !slices.Contains(schemes, strings.ToLower(scheme)) {
		v.at(path, "want a %s:// URL", strings.Join(schemes, ":// or "))
	}
}

// dsn checks a DSN that may be a URL or key=value pairs.
func (v *validator) dsn(path string, val Value, schemes ...string) {
	if strings.Contains(val.lit, "://") {
		v.scheme(path, val, schemes...)
	}
}

var tableRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,54}$`)

func (v *validator) table(path, name string) {
	if name != "" && !tableRE.MatchString(name) {
		v.at(path, "want a table name of letters, digits and _ (at most 55), got %q", name)
	}
}

// eventTypeRE is the form of an event type a route names.
var eventTypeRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.:-]{0,127}$`)

// partnerNameRE is the form of a partner name.
var partnerNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

func (v *validator) partners() {
	c := v.cfg
	if len(c.Partners) == 0 && v.given("partners") {
		v.at("partners", "at least one partner is required")
	}
	names := map[string]int{}
	for i := range c.Partners {
		p := &c.Partners[i]
		p.path = fmt.Sprintf("partners[%d]", i)
		if p.Name != "" {
			if !partnerNameRE.MatchString(p.Name) {
				v.at(p.path+".name", "want a name of letters, digits, '.', '_' and '-' (at most 64), got %q", p.Name)
			}
			if j, dup := names[p.Name]; dup {
				v.at(p.path+".name", "partner %q is already named by partners[%d]", p.Name, j)
			} else {
				names[p.Name] = i
			}
		}
		v.partnerLimits(p)
		for _, r := range p.Routes {
			if !eventTypeRE.MatchString(r.EventType) {
				v.d.errorAt(r.at, r.path, "event type %q is not a valid name (a letter, then letters, digits, '.', '_', ':' or '-')", r.EventType)
			}
		}
		if len(p.Routes) == 0 && v.given(p.path+".routes") {
			v.at(p.path+".routes", "at least one route is required")
		}
		if p.Kind == "" {
			continue
		}
		k, ok := c.kinds[p.Kind]
		if !ok {
			v.at(p.path+".kind", "unknown connector kind %q (want one of %s)", p.Kind, strings.Join(v.kindNames(), ", "))
			continue
		}
		v.settings(p, k)
	}
}

func (v *validator) kindNames() []string {
	var out []string
	for name := range v.cfg.kinds {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

func (v *validator) partnerLimits(p *Partner) {
	if v.given(p.path+".timeout") && p.Timeout == 0 {
		v.at(p.path+".timeout", "must be more than 0")
	}
	v.positive(p.path+".concurrency", p.Concurrency)
	if r := p.Retry; r != nil {
		if r.MaxAttempts < 0 {
			v.at(p.path+".retry.maxAttempts", "must not be negative, got %d", r.MaxAttempts)
		}
		if r.Multiplier < 0 || (r.Multiplier > 0 && r.Multiplier < 1) {
			v.at(p.path+".retry.multiplier", "must be at least 1, got %v", r.Multiplier)
		}
		if j := r.Jitter; j != nil && (*j < 0 || *j > 1) {
			v.at(p.path+".retry.jitter", "must be between 0 and 1, got %v", *j)
		}
		if r.MaxInterval > 0 && r.InitialInterval > r.MaxInterval {
			v.at(p.path+".retry.initialInterval", "is longer than maxInterval")
		}
	}
	if r := p.RateLimit; r != nil {
		if v.given(p.path+".rateLimit.perSecond") && r.PerSecond <= 0 {
			v.at(p.path+".rateLimit.perSecond", "must be more than 0, got %v", r.PerSecond)
		}
		v.positive(p.path+".rateLimit.burst", r.Burst)
	}
	if b := p.Breaker; b != nil {
		if b.FailureRate < 0 || b.FailureRate > 1 {
			v.at(p.path+".breaker.failureRate", "must be between 0 and 1, got %v", b.FailureRate)
		}
		if b.MinRequests < 0 {
			v.at(p.path+".breaker.minRequests", "must not be negative, got %d", b.MinRequests)
		}
	}
}

// settings decodes a partner's settings for its kind and checks them.
func (v *validator) settings(p *Partner, k *Kind) {
	s := k.Settings()
	path := p.path + ".settings"
	n := p.Settings.n
	if n == nil {
		n = &node{kind: scalarNode, null: true, at: v.d.places[p.path+".kind"]}
	}
	before := len(v.d.errs)
	v.d.decode(n, path, reflect.ValueOf(s).Elem())
	p.settings = s
	if len(v.d.errs) > before || k.Check == nil {
		return
	}
	for _, fe := range k.Check(s) {
		v.at(path+"."+fe.Field, "%s", fe.Msg)
	}
}
